/* sumtree: a sum tree and a min tree over n leaves (the replay ring's slots), for proportional
 * prioritized replay (Schaul et al. 2016): set a leaf's priority, find the leaf at a prefix sum,
 * read the total and the smallest set priority, each in O(log n).
 *
 * Layout: an implicit binary heap over P = the power of two >= n leaves; node 1 is the root,
 * node j has children 2j and 2j+1, leaf i is node P + i. Sums are float64 (a float32 sum of a
 * million priorities loses the small ones). A leaf never set holds 0 in the sum tree and +inf
 * in the min tree, so it is never sampled and never the minimum.
 *
 * Plain data, no locks: the caller (replay, under its mutex) serialises access. */
#ifndef RLSERVE_SUMTREE_H
#define RLSERVE_SUMTREE_H

#include <stddef.h>

typedef struct sumtree {
  size_t n, cap; /* leaves in use, leaves in the tree (power of two >= n) */
  double *sum;   /* 2 * cap nodes */
  double *min;   /* 2 * cap nodes */
} sumtree_t;

/* 0, or -1 (n == 0 or out of memory). Every leaf starts unset. */
int sumtree_init(sumtree_t *t, size_t n);
void sumtree_free(sumtree_t *t);
/* Sets leaf i (< n) to p (finite, >= 0). */
void sumtree_set(sumtree_t *t, size_t i, double p);
/* Leaf i's value (0 if never set). */
double sumtree_get(const sumtree_t *t, size_t i);
double sumtree_total(const sumtree_t *t);
/* The smallest value of a set leaf (+inf when none is set). */
double sumtree_min(const sumtree_t *t);
/* The leaf whose prefix range [S_{i-1}, S_i) holds u, u in [0, total); u at or past the total
 * gives the last leaf with a positive value. Only leaves with a value > 0 are returned. The
 * total must be > 0. */
size_t sumtree_find(const sumtree_t *t, double u);

#endif
