/* parleyd: the Parley hub. Reads its configuration, opens the store, loads the hub
 * key, serves HTTP until SIGTERM or SIGINT, then shuts down cleanly. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "backup.h"
#include "hub.h"
#include "handlers.h"
#include "cluster.h"
#include "log_guard.h"
#include "nonce_cache.h"
#include "signer_client.h"

parleyd_hub *parleyd;

static parley_err load_hub_key(parleyd_hub *hub, parley_error *err) {
  const char *pass = getenv("PARLEYD_KEY_PASSPHRASE");
  if (pass && !*pass) pass = NULL;
  if (!pass && !hub->cfg.insecure_hub_key)
    return parley_fail(err, PARLEY_E_CONFIG,
                       "set PARLEYD_KEY_PASSPHRASE for the hub key, or pass --insecure-hub-key "
                       "(tests and demo only)");
  struct stat st;
  if (stat(hub->cfg.hub_key_file, &st) != 0) {
    if (errno != ENOENT)
      return parley_fail(err, PARLEY_E_CONFIG, "%s: %s", hub->cfg.hub_key_file, strerror(errno));
    parley_identity_generate(&hub->hub_key);
    parley_err e = parley_identity_save(hub->cfg.hub_key_file, &hub->hub_key, pass, err);
    if (e) return e;
    parley_log(PARLEY_LOG_INFO, "hub.key_created", "file=%s", hub->cfg.hub_key_file);
  } else {
    parley_err e = parley_identity_load(hub->cfg.hub_key_file, pass, &hub->hub_key, err);
    if (e) return e;
  }
  parley_sign_pk_key_id(&hub->hub_key.sign_pk, hub->hub_key_id);
  return PARLEY_E_OK;
}

/* Operator keys come from the configuration: at every start the stored ones are
 * deleted and the configured ones registered, in one transaction, so removing a key
 * from the configuration revokes it. */
static parley_qs sync_operators(parley_tx *tx, void *cls, parley_error *err) {
  parleyd_hub *hub = cls;
  parley_qs dq = parley_store_operators_delete(tx);
  if (dq < 0) return dq;
  for (size_t i = 0; i < hub->cfg.n_operator_keys; i++) {
    parley_key_row row;
    memset(&row, 0, sizeof row);
    parley_sign_pk pk;
    if (parley_sign_pk_from_b64(hub->cfg.operator_keys[i], &pk) != PARLEY_E_OK) {
      parley_fail(err, PARLEY_E_CONFIG, "operator_key %zu is not a base64url Ed25519 key", i + 1);
      return PARLEY_QS_HARD;
    }
    memcpy(row.pk, pk.b, 32);
    parley_sign_pk_key_id(&pk, row.key_id);
    row.role = PARLEY_ROLE_OPERATOR;
    snprintf(row.name, sizeof row.name, "operator %zu", i + 1);
    parley_qs qs = parley_store_key_put(tx, &row);
    if (qs < 0) return qs;
  }
  return PARLEY_QS_ONE;
}

int main(int argc, char **argv) {
  static parleyd_hub hub;
  parleyd = &hub;
  /* Operator commands (backup.h) instead of serving. */
  if (argc > 1 && (strcmp(argv[1], "backup") == 0 || strcmp(argv[1], "check-log") == 0)) {
    if (!parley_init()) {
      fprintf(stderr, "parleyd: cannot initialise libsodium\n");
      return 1;
    }
    parley_log_set_level(PARLEY_LOG_WARN);
    return strcmp(argv[1], "backup") == 0 ? parleyd_backup_main(argc - 1, argv + 1)
                                          : parleyd_check_log_main(argc - 1, argv + 1);
  }
  /* `parleyd restore --from BACKUP [parleyd's own flags]`: the store of that
   * configuration is replaced by BACKUP once BACKUP passes the start-up check. */
  const char *restore_from = NULL;
  bool restore_force = false;
  static char *args[256];
  if (argc > 1 && strcmp(argv[1], "restore") == 0) {
    if (argc > (int)(sizeof args / sizeof args[0])) {
      fprintf(stderr, "parleyd restore: too many arguments\n");
      return 2;
    }
    int n = 0;
    args[n++] = argv[0];
    for (int i = 2; i < argc; i++) {
      if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
        restore_from = argv[++i];
      else if (strncmp(argv[i], "--from=", 7) == 0)
        restore_from = argv[i] + 7;
      else if (strcmp(argv[i], "--force") == 0)
        restore_force = true;
      else
        args[n++] = argv[i];
    }
    args[n] = NULL;
    if (!restore_from || !*restore_from) {
      fputs(parleyd_restore_usage, stderr);
      return 2;
    }
    argc = n;
    argv = args;
  }
  /* Freed memory stays with the process up to this much: trimming a thread's heap after
   * every transaction cost an madvise and a TLB flush on every core under load. */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  parleyd_config_defaults(&hub.cfg);
  int rc = parleyd_config_parse_args(&hub.cfg, argc, argv);
  if (rc != 0) return rc > 0 ? 0 : 2;
  parley_error err;
  if (parleyd_config_finish(&hub.cfg, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd: %s\n", err.detail);
    return 2;
  }
  parley_log_set_level((parley_log_level)hub.cfg.log_level);
  if (!parley_init()) {
    fprintf(stderr, "parleyd: cannot initialise libsodium\n");
    return 1;
  }
  umask(077);
  if (mkdir(hub.cfg.data_dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "parleyd: %s: %s\n", hub.cfg.data_dir, strerror(errno));
    return 1;
  }
  /* Block the stop signals in every thread; main waits for them with sigwait. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct stat key_st;
  if (restore_from && !hub.cfg.signer_socket[0] && stat(hub.cfg.hub_key_file, &key_st) != 0) {
    fprintf(stderr, "parleyd restore: hub key %s: %s (give parleyd's own configuration)\n",
            hub.cfg.hub_key_file, strerror(errno));
    return 1;
  }
  if (hub.cfg.signer_socket[0] ? parleyd_signer_start(&err) != PARLEY_E_OK
                               : load_hub_key(&hub, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd: hub key: %s (%s)\n", err.detail, parley_err_name(err.code));
    return 1;
  }
  if (restore_from) {
    rc = parleyd_restore(restore_from, restore_force);
    parley_identity_wipe(&hub.hub_key);
    return rc;
  }
  if (parley_store_open(hub.cfg.store_url, &hub.store, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd: store: %s (%s)\n", err.detail, parley_err_name(err.code));
    return 1;
  }
  /* Before anything is written: a store whose log does not extend what this hub
   * published (a restore from too early, another log) is not served. */
  static char why[2048], summary[2048];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (!parleyd_log_guard_check(hub.store, why, sizeof why, summary, sizeof summary)) {
    fprintf(stderr, "parleyd: refusing to serve this store: %s\n", why);
    parley_store_close(hub.store);
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  parley_log(PARLEY_LOG_INFO, "log_guard.checked", "detail=\"%s\" ms=%.1f", summary,
             (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  if (parley_store_run_named(hub.store, "sync_operators", true, sync_operators, &hub, &err) !=
      PARLEY_E_OK) {
    fprintf(stderr, "parleyd: %s\n", err.detail);
    parley_store_close(hub.store);
    return 1;
  }
  if (parleyd_dir_startup(&err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd: directory commitment: %s\n", err.detail);
    parley_store_close(hub.store);
    return 1;
  }
  parleyd_metrics_init(parleyd_n_routes);
  if (!parleyd_nonce_cache_init(1u << 22)) {
    fprintf(stderr, "parleyd: out of memory\n");
    return 1;
  }
  hub.started = parley_now();
  if (parleyd_writer_start(&err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd: %s\n", err.detail);
    parley_store_close(hub.store);
    return 1;
  }
  if (parleyd_http_start(&hub, &err) != PARLEY_E_OK) {
    fprintf(stderr, "parleyd: %s\n", err.detail);
    parleyd_writer_stop();
    parley_store_close(hub.store);
    return 1;
  }
  parleyd_notify_start();
  if (!parleyd_cluster_start()) {
    fprintf(stderr, "parleyd: cannot start the cluster threads\n");
    return 1;
  }
  parleyd_scheduler_start();
  if (!hub.cfg.public_url[0])
    snprintf(hub.cfg.public_url, sizeof hub.cfg.public_url, "http://%s:%u", hub.cfg.listen_addr,
             hub.cfg.port);
  atomic_store(&hub.ready, true);
  char fpr[PARLEY_FINGERPRINT_HEX_LEN];
  parley_sign_pk_fingerprint(&hub.hub_key.sign_pk, fpr);
  parley_log(PARLEY_LOG_INFO, "hub.started", "url=%s store=%s origin=%s hub_key_fingerprint=%s",
             hub.cfg.public_url, parley_store_engine(hub.store), hub.cfg.origin, fpr);
  printf("parleyd listening on %s\n", hub.cfg.public_url);
  fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  parley_log(PARLEY_LOG_INFO, "hub.stopping", "signal=%d", sig);
  parleyd_http_stop(&hub); /* the writer still answers the writes in flight */
  parleyd_writer_stop();
  parleyd_scheduler_stop();
  parleyd_cluster_stop();
  parleyd_notify_stop();
  parley_store_close(hub.store);
  parley_identity_wipe(&hub.hub_key);
  parleyd_nonce_cache_free();
  parley_log(PARLEY_LOG_INFO, "hub.stopped", NULL);
  return 0;
}
