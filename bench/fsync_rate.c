/* fsync_rate: how many small durable writes per second the file system under DIR takes:
 * a loop of pwrite(512 bytes) + fdatasync on one file, for a fixed time. This bounds
 * the rate of committed store transactions (SQLite WAL, synchronous=FULL). Prints one
 * JSON line; the file is removed afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  double seconds = 2;
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: fsync_rate DIR [SECONDS, default 2]\n");
    return 2;
  }
  if (argc == 3) {
    char *end;
    errno = 0;
    seconds = strtod(argv[2], &end);
    if (errno || end == argv[2] || *end || seconds <= 0 || seconds > 60) {
      fprintf(stderr, "fsync_rate: bad SECONDS\n");
      return 2;
    }
  }
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/fsync-rate.%ld.tmp", argv[1], (long)getpid());
  if (n < 0 || (size_t)n >= sizeof path) {
    fprintf(stderr, "fsync_rate: path too long\n");
    return 2;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    fprintf(stderr, "fsync_rate: %s: %s\n", path, strerror(errno));
    return 1;
  }
  char block[512];
  memset(block, 'x', sizeof block);
  size_t cap = 1 << 20, count = 0;
  uint64_t *lat = malloc(cap * sizeof *lat);
  if (!lat) {
    close(fd);
    unlink(path);
    return 1;
  }
  const uint64_t budget = (uint64_t)(seconds * 1e9);
  uint64_t t0 = mono_ns(), t = t0;
  int rc = 0;
  while (t - t0 < budget && count < cap) {
    uint64_t a = mono_ns();
    /* Appends, like a log; every 4096 writes start over to keep the file small. */
    off_t off = (off_t)((count % 4096) * sizeof block);
    block[0] = (char)('a' + count % 26);
    if (pwrite(fd, block, sizeof block, off) != (ssize_t)sizeof block || fdatasync(fd) != 0) {
      fprintf(stderr, "fsync_rate: write/fdatasync: %s\n", strerror(errno));
      rc = 1;
      break;
    }
    t = mono_ns();
    lat[count++] = t - a;
  }
  close(fd);
  unlink(path);
  if (rc == 0 && count > 0) {
    double rate = (double)count / ((double)(t - t0) / 1e9);
    qsort(lat, count, sizeof *lat, cmp);
    printf(
        "{\"fsync_per_s\":%.0f,\"ops\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"write_bytes\":%zu}\n",
        rate, count, (double)lat[count / 2] / 1e3, (double)lat[(count - 1) * 99 / 100] / 1e3,
        sizeof block);
  }
  free(lat);
  return rc;
}
