/* The notifier's API beyond handlers.h: alerts with an explicit priority, and its
 * counters for /metrics. */
#ifndef PARLEYD_NOTIFY_H
#define PARLEYD_NOTIFY_H

#include <stdint.h>

enum { PARLEYD_PRIO_ROUTINE = 0, PARLEYD_PRIO_URGENT = 1, PARLEYD_PRIO_CRITICAL = 2 };

/* As parleyd_notify_email / parleyd_notify_webhook, with the alert's priority given
 * (those read it from the subject "[Parley] [OVERDUE ]<priority> ..." or from the
 * webhook body's "priority"). Higher priorities are sent first. Never block. */
void parleyd_notify_email_prio(const char *to, const char *subject, const char *body, int prio);
void parleyd_notify_webhook_prio(const char *url, const char *json_body, int prio);

typedef struct {
  uint64_t sent;        /* delivered */
  uint64_t failed;      /* tried and given up (attempts exhausted) */
  uint64_t dropped;     /* never tried: queue full, or queued at shutdown */
  uint64_t refused;     /* destination refused by policy (webhooks): never sent */
  uint64_t queued;      /* waiting now */
  uint64_t backing_off; /* destinations waiting after a failure */
} parleyd_notify_channel_stats;

void parleyd_notify_counters(parleyd_notify_channel_stats *email,
                             parleyd_notify_channel_stats *webhook);

#endif
