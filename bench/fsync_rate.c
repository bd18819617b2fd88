/* fsync_rate: how many durable writes per second the file system under DIR takes: a
 * loop of pwrite(BYTES, default 512) + fdatasync on one file, for a fixed time. This
 * bounds the rate of committed store transactions (SQLite WAL, synchronous=FULL); with
 * BYTES set to what one transaction writes, it bounds that transaction's rate. Prints one
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
  size_t bytes = 512;
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: fsync_rate DIR [SECONDS, default 2] [BYTES, default 512]\n");
    return 2;
  }
  if (argc == 4) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(argv[3], &end, 10);
    if (errno || end == argv[3] || *end || v == 0 || v > (8ul << 20)) {
      fprintf(stderr, "fsync_rate: bad BYTES (1 to 8 MiB)\n");
      return 2;
    }
    bytes = v;
  }
  if (argc >= 3) {
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
  char *block = malloc(bytes);
  if (!block) {
    close(fd);
    unlink(path);
    return 1;
  }
  memset(block, 'x', bytes);
  size_t cap = 1 << 20, count = 0;
  uint64_t *lat = malloc(cap * sizeof *lat);
  if (!lat) {
    free(block);
    close(fd);
    unlink(path);
    return 1;
  }
  const uint64_t budget = (uint64_t)(seconds * 1e9);
  size_t wrap = (4u << 20) / bytes;
  if (wrap > 4096) wrap = 4096;
  if (wrap < 1) wrap = 1;
  uint64_t t0 = mono_ns(), t = t0;
  int rc = 0;
  while (t - t0 < budget && count < cap) {
    uint64_t a = mono_ns();
    /* Appends, like a log, then starts over at 4096 writes or 4 MiB, like SQLite's WAL
     * after a checkpoint, to keep the file small. */
    off_t off = (off_t)((count % wrap) * bytes);
    block[0] = (char)('a' + count % 26);
    if (pwrite(fd, block, bytes, off) != (ssize_t)bytes || fdatasync(fd) != 0) {
      fprintf(stderr, "fsync_rate: write/fdatasync: %s\n", strerror(errno));
      rc = 1;
      break;
    }
    t = mono_ns();
    lat[count++] = t - a;
  }
  close(fd);
  unlink(path);
  free(block);
  if (rc == 0 && count > 0) {
    double rate = (double)count / ((double)(t - t0) / 1e9);
    qsort(lat, count, sizeof *lat, cmp);
    printf(
        "{\"fsync_per_s\":%.0f,\"ops\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"write_bytes\":%zu}\n",
        rate, count, (double)lat[count / 2] / 1e3, (double)lat[(count - 1) * 99 / 100] / 1e3,
        bytes);
  }
  free(lat);
  return rc;
}
