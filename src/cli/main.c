#include <stdio.h>
int main(void) {
  puts("parley: under construction");
  return 0;
}
