#include <stdio.h>
int main(void) {
  puts("parleyd: under construction");
  return 0;
}
