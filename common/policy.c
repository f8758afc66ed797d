#include "policy.h"

#include <math.h>
#include <string.h>

int policy_layout(nn_layout_t *l, const config_t *c, int obs_dim, int n_out) {
  int hidden[NN_MAX_LAYERS];
  int nh = config_parse_hidden(c->hidden, hidden, NN_MAX_LAYERS - 1);
  if (nh < 0) return -1;
  nn_act_t act = strcmp(c->activation, "tanh") == 0 ? NN_TANH : NN_RELU;
  return nn_layout_init(l, obs_dim, hidden, nh, n_out, act, NN_IDENTITY);
}

int policy_eps_greedy(const float *q, int n, double eps, rng_t *rng) {
  if (eps > 0 && rng_uniform(rng) < eps) return (int)rng_below(rng, (uint64_t)n);
  return nn_argmax(q, n);
}

double policy_apex_epsilon(double eps, double alpha, int index, int n) {
  if (n <= 1) return eps;
  if (index > n - 1) index = n - 1;
  return pow(eps, 1.0 + alpha * (double)index / (double)(n - 1));
}

double policy_anneal(double start, double final, double steps_done, double steps) {
  double f = steps > 0 ? steps_done / steps : 1.0;
  if (f > 1) f = 1;
  if (f < 0) f = 0;
  return start + (final - start) * f;
}
