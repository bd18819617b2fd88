/* Operator commands that parleyd runs instead of serving (docs/operations.md §6):
 *   parleyd backup --store URL --out FILE      SQLite's online backup, safe while hubs write
 *   parleyd check-log --store URL --checkpoint FILE --log-key VKEY --witness-key VKEY...
 *                                              a restored store against the last checkpoint
 *                                              the witnesses cosigned
 * Each takes argv from the command's name on and returns the process's exit status:
 * 0 done, 1 refused or failed, 2 usage. */
#ifndef PARLEYD_BACKUP_H
#define PARLEYD_BACKUP_H

int parleyd_backup_main(int argc, char **argv);
int parleyd_check_log_main(int argc, char **argv);

#endif
