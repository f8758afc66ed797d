/* A library that must never be loaded: its constructor, which runs at dlopen before any
 * rlserve check, writes the file named by RLSERVE_MARKER. The security tests name it in a
 * fake Welcome and in crafted checkpoints, and require that the marker never appears. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void marker_mark(void) {
  const char *p = getenv("RLSERVE_MARKER");
  if (!p) return;
  FILE *f = fopen(p, "w");
  if (f) {
    fputs("loaded\n", f);
    fclose(f);
  }
}
