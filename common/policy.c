#include "policy.h"

#include <math.h>
#include <string.h>

#include "errmsg.h"

int policy_net_layout(nn_layout_t *l, const config_t *c, int obs_dim, const int *obs_shape,
                      int n_out, nn_act_t out_act, int dueling, char *err, size_t errlen) {
  nn_act_t act = strcmp(c->activation, "tanh") == 0 ? NN_TANH : NN_RELU;
  nn_spec_t spec;
  if (c->net[0]) {
    if (nn_spec_parse(&spec, c->net, err, errlen) != 0) return -1;
  } else {
    int hidden[NN_MAX_LAYERS];
    int nh = config_parse_hidden(c->hidden, hidden, NN_MAX_LAYERS - 1);
    if (nh < 0)
      return errmsg(err, errlen, "hidden = '%s' is not a list of at most %d sizes like 128,128",
                    c->hidden, NN_MAX_LAYERS - 1);
    /* The MLP as it always was, so old checkpoints keep their meaning. */
    if (!dueling) {
      if (nn_layout_init(l, obs_dim, hidden, nh, n_out, act, out_act) != 0)
        return errmsg(err, errlen, "hidden = '%s' with %d inputs and %d outputs is not a network",
                      c->hidden, obs_dim, n_out);
      return 0;
    }
    memset(&spec, 0, sizeof spec);
    spec.n = nh;
    for (int i = 0; i < nh; i++) spec.layer[i] = (nn_layer_spec_t){NN_DENSE, hidden[i], 0, 0};
  }
  const int *shape = obs_shape && obs_shape[0] > 0 ? obs_shape : NULL;
  return nn_layout_build(l, &spec, obs_dim, shape, n_out, act, out_act, dueling, err, errlen);
}

int policy_layout_out(nn_layout_t *l, const config_t *c, int obs_dim, int n_out, nn_act_t out_act) {
  return policy_net_layout(l, c, obs_dim, NULL, n_out, out_act, 0, NULL, 0);
}

int policy_layout(nn_layout_t *l, const config_t *c, int obs_dim, int n_out) {
  return policy_layout_out(l, c, obs_dim, n_out, NN_IDENTITY);
}

int policy_action_affine(int dim, const float *low, const float *high, float *scale, float *bias) {
  for (int i = 0; i < dim; i++) {
    double lo = low[i], hi = high[i];
    if (!isfinite(lo) || !isfinite(hi) || lo > hi) return -1;
    scale[i] = (float)((hi - lo) / 2);
    bias[i] = (float)((hi + lo) / 2);
  }
  return 0;
}

void policy_actor_actions(const nn_layout_t *l, const float *params, nn_ws_t *ws, const float *obs,
                          int n, const float *scale, const float *bias, float *actions) {
  const int S = l->sizes[0], A = l->sizes[l->n_layers];
  for (int start = 0; start < n; start += ws->max_batch) {
    int m = n - start < ws->max_batch ? n - start : ws->max_batch;
    const float *u = nn_forward(ws, params, obs + (size_t)start * S, m);
    float *out = actions + (size_t)start * A;
    for (int b = 0; b < m; b++)
      for (int j = 0; j < A; j++)
        out[(size_t)b * A + j] = bias[j] + scale[j] * u[(size_t)b * A + j];
  }
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
