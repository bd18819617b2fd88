/* Replays a fuzz target's corpus in the normal test run: every file in the
 * directory given as argv[1] (or the files given) is fed to LLVMFuzzerTestOneInput. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 1;
  }
  uint8_t *buf = malloc(1 << 20);
  if (!buf) {
    fclose(f);
    return 1;
  }
  size_t n = fread(buf, 1, 1 << 20, f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i])) return 1;
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) return 1;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char p[4096];
      int w = snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
      if (w < 0 || (size_t)w >= sizeof p || run_file(p)) {
        closedir(d);
        return 1;
      }
      count++;
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", count);
  return count > 0 ? 0 : 1;
}
