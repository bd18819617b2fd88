/* Server-Sent Events for the inbox: to be built (see issue #4). */
#include "hub.h"

void parleyd_stream_wake(const char *state, const char *poc) {
  (void)state;
  (void)poc;
}
