#include "sumtree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sumtree_init(sumtree_t *t, size_t n) {
  memset(t, 0, sizeof *t);
  if (n == 0 || n > ((size_t)1 << 40)) return -1;
  size_t cap = 1;
  while (cap < n) cap <<= 1;
  t->sum = calloc(2 * cap, sizeof(double));
  t->min = malloc(2 * cap * sizeof(double));
  if (!t->sum || !t->min) {
    sumtree_free(t);
    return -1;
  }
  for (size_t j = 0; j < 2 * cap; j++) t->min[j] = INFINITY;
  t->n = n;
  t->cap = cap;
  return 0;
}

void sumtree_free(sumtree_t *t) {
  free(t->sum);
  free(t->min);
  memset(t, 0, sizeof *t);
}

void sumtree_set(sumtree_t *t, size_t i, double p) {
  size_t j = t->cap + i;
  t->sum[j] = p;
  t->min[j] = p;
  for (j >>= 1; j >= 1; j >>= 1) {
    t->sum[j] = t->sum[2 * j] + t->sum[2 * j + 1];
    double a = t->min[2 * j], b = t->min[2 * j + 1];
    t->min[j] = a < b ? a : b;
  }
}

double sumtree_get(const sumtree_t *t, size_t i) { return t->sum[t->cap + i]; }

double sumtree_total(const sumtree_t *t) { return t->sum[1]; }

double sumtree_min(const sumtree_t *t) { return t->min[1]; }

size_t sumtree_find(const sumtree_t *t, double u) {
  size_t j = 1;
  while (j < t->cap) {
    size_t l = 2 * j;
    /* Go left while u falls in the left subtree; a right subtree of zero mass is never entered
     * (float64 rounding near the total would otherwise reach an unset leaf). */
    if (u < t->sum[l] || t->sum[l + 1] <= 0) {
      j = l;
    } else {
      u -= t->sum[l];
      j = l + 1;
    }
  }
  return j - t->cap;
}
