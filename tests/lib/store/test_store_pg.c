/* The store tests against a real PostgreSQL server that this program starts itself:
 * initdb into a private temporary directory, a server listening only on a Unix socket
 * in that directory, one fresh database per test, and a reaper process that stops the
 * server and removes the directory when this program ends, however it ends.
 *
 * The server binaries are looked up in $PARLEY_PG_BINDIR, /usr/lib/postgresql/<N>/bin
 * (highest N), /usr/local/pgsql/bin, then $PATH. Without them the test FAILS: CI
 * installs postgresql. Run as root, the server runs as user postgres (or nobody). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/base.h"

#ifndef PARLEY_HAVE_PQ

int main(void) {
  fprintf(stderr, "FAIL: libparley was built without PostgreSQL support, so the postgres store\n"
                  "engine is untested. Add to CMakeLists.txt:\n"
                  "  pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)\n"
                  "  target_link_libraries(parley PUBLIC PkgConfig::PQ)\n"
                  "  target_compile_definitions(parley PUBLIC PARLEY_HAVE_PQ)\n");
  return 1;
}

#else

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const suite_engine = "postgres";

static char tmpdir[] = "/tmp/parley-pg-XXXXXX";
static char bindir[512];
static char datadir[600];
static int port;
static uid_t run_uid;
static gid_t run_gid;
static bool drop_privileges;
static unsigned counter;
static int reaper_pipe = -1;
static pid_t reaper_pid = -1;

/* ---- running the server's programs ---------------------------------------------- */

static bool executable(const char *dir, const char *prog) {
  char p[700];
  int n = snprintf(p, sizeof p, "%s/%s", dir, prog);
  return n > 0 && n < (int)sizeof p && access(p, X_OK) == 0;
}

static bool has_server(const char *dir) {
  return executable(dir, "initdb") && executable(dir, "pg_ctl") && executable(dir, "postgres");
}

static bool find_bindir(void) {
  const char *env = getenv("PARLEY_PG_BINDIR");
  if (env && env[0]) return has_server(env) && parley_strlcpy(bindir, env, sizeof bindir);
  int best = -1;
  DIR *d = opendir("/usr/lib/postgresql");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      uint64_t v;
      char dir[300];
      if (!parley_parse_u64(e->d_name, &v) || v > 1000) continue;
      snprintf(dir, sizeof dir, "/usr/lib/postgresql/%s/bin", e->d_name);
      if ((int)v > best && has_server(dir)) {
        best = (int)v;
        parley_strlcpy(bindir, dir, sizeof bindir);
      }
    }
    closedir(d);
  }
  if (best >= 0) return true;
  if (has_server("/usr/local/pgsql/bin"))
    return parley_strlcpy(bindir, "/usr/local/pgsql/bin", sizeof bindir);
  const char *path = getenv("PATH");
  while (path && *path) {
    const char *end = strchr(path, ':');
    size_t n = end ? (size_t)(end - path) : strlen(path);
    if (n > 0 && n < sizeof bindir) {
      memcpy(bindir, path, n);
      bindir[n] = '\0';
      if (has_server(bindir)) return true;
    }
    path = end ? end + 1 : NULL;
  }
  bindir[0] = '\0';
  return false;
}

/* Runs bindir/argv[0] (as the unprivileged user when we are root), output to the
 * server log; returns its exit status, or -1. */
static int run(char *const argv[]) {
  char prog[700];
  snprintf(prog, sizeof prog, "%s/%s", bindir, argv[0]);
  char logpath[700];
  snprintf(logpath, sizeof logpath, "%s/tools.log", tmpdir);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (drop_privileges &&
        (setgroups(0, NULL) != 0 || setgid(run_gid) != 0 || setuid(run_uid) != 0))
      _exit(126);
    execv(prog, argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void stop_server(void) {
  char *stop[] = {"pg_ctl", "-D", datadir, "-m", "immediate", "-w", "-t", "30", "stop", NULL};
  run(stop);
}

/* Waits for this program to end (its pipe closes), then stops the server and removes
 * the directory: also after a crash or a failed assertion outside a test. */
static bool start_reaper(void) {
  int fds[2];
  /* close-on-exec: the server's processes must not hold the pipe open */
  if (pipe(fds) != 0) return false;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fds[1]);
    signal(SIGINT, SIG_IGN);
    char c;
    while (read(fds[0], &c, 1) != 0 && errno == EINTR) {
    }
    stop_server();
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    _exit(0);
  }
  close(fds[0]);
  reaper_pipe = fds[1];
  reaper_pid = pid;
  return true;
}

static void finish_reaper(void) {
  if (reaper_pipe < 0) return;
  close(reaper_pipe);
  reaper_pipe = -1;
  int status;
  while (waitpid(reaper_pid, &status, 0) < 0 && errno == EINTR) {
  }
}

static void show_server_log(void) {
  char path[700];
  snprintf(path, sizeof path, "%s/tools.log", tmpdir);
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f))
    fprintf(stderr, "  | %s", line);
  fclose(f);
}

static bool start_server(void) {
  if (!find_bindir()) {
    fprintf(stderr, "FAIL: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in\n"
                    "$PARLEY_PG_BINDIR, /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin or $PATH.\n"
                    "Install the server (Debian: apt-get install postgresql) or set "
                    "PARLEY_PG_BINDIR.\n");
    return false;
  }
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "FAIL: mkdtemp: %s\n", strerror(errno));
    return false;
  }
  /* initdb and postgres refuse to run as root */
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (!pw) pw = getpwnam("nobody");
    if (!pw) {
      fprintf(stderr, "FAIL: running as root and neither user postgres nor nobody exists\n");
      return false;
    }
    drop_privileges = true;
    run_uid = pw->pw_uid;
    run_gid = pw->pw_gid;
    if (chown(tmpdir, run_uid, run_gid) != 0) {
      fprintf(stderr, "FAIL: chown %s: %s\n", tmpdir, strerror(errno));
      return false;
    }
  }
  snprintf(datadir, sizeof datadir, "%s/data", tmpdir);
  /* the socket lives in our own directory: the port only names it, and cannot clash */
  port = 20000 + (int)(getpid() % 20000);
  /* after everything the reaper needs to know is set */
  if (!start_reaper()) {
    fprintf(stderr, "FAIL: cannot start the cleanup process\n");
    return false;
  }
  char *initdb[] = {"initdb", "-D", datadir, "-U",         "parley",    "-A",
                    "trust",  "-E", "UTF8",  "--locale=C", "--no-sync", NULL};
  if (run(initdb) != 0) {
    fprintf(stderr, "FAIL: initdb failed:\n");
    show_server_log();
    return false;
  }
  char opts[800];
  /* test server only: no fsync (the store's own durability is SQLite-tested and is
   * PostgreSQL's business); TCP off */
  snprintf(opts, sizeof opts,
           "-k %s -p %d -c listen_addresses= -c fsync=off -c synchronous_commit=off "
           "-c full_page_writes=off -c max_connections=60",
           tmpdir, port);
  char logfile[700];
  snprintf(logfile, sizeof logfile, "%s/server.log", tmpdir);
  char *start[] = {"pg_ctl", "-D", datadir, "-l", logfile, "-o",
                   opts,     "-w", "-t",    "30", "start", NULL};
  if (run(start) != 0) {
    fprintf(stderr, "FAIL: pg_ctl start failed:\n");
    show_server_log();
    FILE *f = fopen(logfile, "r");
    if (f) {
      char line[512];
      while (fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
      fclose(f);
    }
    return false;
  }
  return true;
}

/* ---- suite hooks --------------------------------------------------------------------- */

static PGconn *admin_connect(const char *db) {
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  const char *const keys[] = {"host", "port", "user", "dbname", NULL};
  const char *const vals[] = {tmpdir, portstr, "parley", db, NULL};
  PGconn *c = PQconnectdbParams(keys, vals, 0);
  if (PQstatus(c) != CONNECTION_OK) {
    print_error("connect: %s", PQerrorMessage(c));
    PQfinish(c);
    return NULL;
  }
  return c;
}

static char *suite_fresh_url(void) {
  char db[32];
  snprintf(db, sizeof db, "t_%u", ++counter);
  PGconn *c = admin_connect("postgres");
  if (!c) return NULL;
  char create[64];
  snprintf(create, sizeof create, "CREATE DATABASE %s", db); /* db is our own counter */
  PGresult *r = PQexec(c, create);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) print_error("%s: %s", create, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  if (!ok) return NULL;
  char *url = malloc(256);
  if (!url) return NULL;
  /* alternate the two schemes libpq accepts */
  int n = snprintf(url, 256, "%s:///%s?host=%s&port=%d&user=parley",
                   counter % 2 ? "postgresql" : "postgres", db, tmpdir, port);
  if (n < 0 || n >= 256) {
    free(url);
    return NULL;
  }
  return url;
}

static void suite_raw_exec(const char *url, const char *sql) {
  PGconn *c = PQconnectdb(url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  if (!ok) print_error("%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  assert_true(ok);
}

#include "store_suite.h"

/* ---- PostgreSQL-only checks ------------------------------------------------------------ */

static void test_pg_unreachable(void **state) {
  (void)state;
  /* a well-formed URL naming a server that is not there: STORE_OPEN, quickly */
  char url[256];
  snprintf(url, sizeof url, "postgresql:///nodb?host=%s/nowhere&port=1&connect_timeout=2", tmpdir);
  parley_error err;
  parley_store *s = NULL;
  assert_int_equal(parley_store_open(url, &s, &err), PARLEY_E_STORE_OPEN);
  assert_null(s);
  /* and a database that does not exist */
  snprintf(url, sizeof url, "postgresql:///no_such_db?host=%s&port=%d&user=parley", tmpdir, port);
  assert_int_equal(parley_store_open(url, &s, &err), PARLEY_E_STORE_OPEN);
}

/* A connection killed by the server between transactions is replaced transparently. */
static parley_qs tx_backend_pid(parley_tx *tx, void *cls, parley_error *err) {
  (void)err;
  (void)cls;
  uint64_t n;
  return parley_store_log_size(tx, &n);
}

static void test_pg_connection_lost(void **state) {
  fixture *f = *state;
  run_ok(f->s, false, tx_backend_pid, NULL);
  /* waits (up to 5 s) until the pooled connection's server process is gone */
  suite_raw_exec(f->url, "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                         "WHERE application_name = 'parley' AND datname = current_database()");
  parley_store_stats a, b;
  parley_store_get_stats(f->s, &a);
  run_ok(f->s, false, tx_backend_pid, NULL);
  parley_store_get_stats(f->s, &b);
  assert_int_equal(b.retries - a.retries, 1); /* the dead connection cost one attempt */
  run_ok(f->s, true, tx_durable_write, NULL);
}

static void test_pg_types(void **state) {
  fixture *f = *state;
  PGconn *c = PQconnectdb(f->url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, "SELECT table_name, column_name, data_type FROM "
                          "information_schema.columns WHERE table_schema = 'public' AND "
                          "((table_name = 'log_leaves' AND column_name IN ('idx', 'hash', "
                          "'entry')) OR (table_name = 'states' AND column_name = 'root_pk')) "
                          "ORDER BY 1, 2");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  assert_int_equal(PQntuples(r), 4);
  assert_string_equal(PQgetvalue(r, 0, 2), "bytea");  /* log_leaves.entry */
  assert_string_equal(PQgetvalue(r, 1, 2), "bytea");  /* log_leaves.hash */
  assert_string_equal(PQgetvalue(r, 2, 2), "bigint"); /* log_leaves.idx */
  assert_string_equal(PQgetvalue(r, 3, 2), "bytea");  /* states.root_pk */
  PQclear(r);
  r = PQexec(c, "SELECT column_name, data_type, is_identity FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = 'messages' AND column_name IN "
                "('seq', 'envelope_hash', 'envelope', 'next_escalation') ORDER BY 1");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  assert_int_equal(PQntuples(r), 4);
  assert_string_equal(PQgetvalue(r, 0, 1), "text");   /* envelope */
  assert_string_equal(PQgetvalue(r, 1, 1), "bytea");  /* envelope_hash */
  assert_string_equal(PQgetvalue(r, 2, 1), "bigint"); /* next_escalation */
  assert_string_equal(PQgetvalue(r, 3, 1), "bigint"); /* seq */
  assert_string_equal(PQgetvalue(r, 3, 2), "YES");    /* assigned by the server */
  PQclear(r);
  /* the scheduler's index holds only messages that may still escalate */
  r = PQexec(c, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND "
                "indexname IN ('messages_due', 'message_recipients_inbox') ORDER BY indexname");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  assert_int_equal(PQntuples(r), 2);
  assert_non_null(strstr(PQgetvalue(r, 0, 0), "(state, poc, message_seq)"));
  assert_non_null(strstr(PQgetvalue(r, 1, 0), "WHERE ((status < 2) AND (next_escalation > 0))"));
  PQclear(r);
  PQfinish(c);
}

int main(void) {
  if (!parley_init()) return 1;
  parley_log_set_level(PARLEY_LOG_ERROR);
  uint64_t t0 = parley_mono_ns();
  if (!start_server()) {
    finish_reaper();
    return 1;
  }
  fprintf(stderr, "postgres from %s started in %.1f s\n", bindir,
          (double)(parley_mono_ns() - t0) / 1e9);
  const struct CMUnitTest tests[] = {
      SUITE_TESTS,
      cmocka_unit_test(test_pg_unreachable),
      SUITE_TEST(test_pg_connection_lost),
      SUITE_TEST(test_pg_types),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  finish_reaper();
  fprintf(stderr, "postgres tests took %.1f s\n", (double)(parley_mono_ns() - t0) / 1e9);
  return failed;
}

#endif
