/* Operator commands that parleyd runs instead of serving (docs/operations.md §6):
 *   parleyd backup --store URL --out FILE      SQLite's online backup, safe while hubs write
 *   parleyd check-log --store URL --checkpoint FILE --log-key VKEY --witness-key VKEY...
 *                                              a restored store against the last checkpoint
 *                                              the witnesses cosigned
 *   parleyd restore --from FILE [parleyd's flags]   installs an SQLite backup as the
 *                                              store, once it passes check-log's full check
 * Each takes argv from the command's name on and returns the process's exit status:
 * 0 done, 1 refused or failed, 2 usage. */
#ifndef PARLEYD_BACKUP_H
#define PARLEYD_BACKUP_H

#include <stdbool.h>

int parleyd_backup_main(int argc, char **argv);
int parleyd_check_log_main(int argc, char **argv);
/* Run by main once the configuration is parsed and the hub's public key known
 * (parleyd->cfg, parleyd->hub_key). */
int parleyd_restore(const char *from, bool force);
extern const char parleyd_restore_usage[];

#endif
