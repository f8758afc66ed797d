#include "dqn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int dqn_init(dqn_t *d, const config_t *c, int obs_dim, int n_actions, rng_t *rng, char *err,
             size_t errlen) {
  memset(d, 0, sizeof *d);
  if (policy_layout(&d->layout, c, obs_dim, n_actions) != 0) {
    snprintf(err, errlen, "dqn: bad network shape hidden = '%s'", c->hidden);
    return -1;
  }
  size_t n = d->layout.n_params;
  d->batch = (int)c->batch_size;
  d->obs_dim = obs_dim;
  d->n_actions = n_actions;
  d->gamma = (float)c->gamma;
  d->huber_delta = (float)c->huber_delta;
  d->grad_clip = (float)c->grad_clip;
  d->tau = (float)c->tau;
  d->use_huber = strcmp(c->loss, "huber") == 0;
  d->double_dqn = c->double_dqn;
  d->target_update_interval = (long)c->target_update_interval;
  d->online = malloc(n * sizeof(float));
  d->target = malloc(n * sizeof(float));
  d->grads = calloc(n, sizeof(float));
  d->q_sel = malloc((size_t)d->batch * sizeof(float));
  d->y = malloc((size_t)d->batch * sizeof(float));
  d->dq = malloc((size_t)d->batch * (size_t)n_actions * sizeof(float));
  d->dsel = malloc((size_t)d->batch * sizeof(float));
  if (!d->online || !d->target || !d->grads || !d->q_sel || !d->y || !d->dq || !d->dsel ||
      adam_init(&d->adam, n, (float)c->lr, 0.9f, 0.999f, (float)c->adam_eps) != 0 ||
      nn_ws_init(&d->ws, &d->layout, d->batch) != 0 ||
      nn_ws_init(&d->ws_next, &d->layout, d->batch) != 0 ||
      nn_ws_init(&d->ws_target, &d->layout, d->batch) != 0) {
    snprintf(err, errlen, "dqn: out of memory for %zu parameters, batch %d", n, d->batch);
    dqn_free(d);
    return -1;
  }
  nn_init_params(&d->layout, d->online, rng);
  memcpy(d->target, d->online, n * sizeof(float));
  return 0;
}

void dqn_free(dqn_t *d) {
  free(d->online);
  free(d->target);
  free(d->grads);
  free(d->q_sel);
  free(d->y);
  free(d->dq);
  free(d->dsel);
  adam_free(&d->adam);
  nn_ws_free(&d->ws);
  nn_ws_free(&d->ws_next);
  nn_ws_free(&d->ws_target);
  memset(d, 0, sizeof *d);
}

void dqn_update(dqn_t *d, const float *obs, const float *act, const float *rew,
                const float *next_obs, const float *term, dqn_stats_t *out) {
  const int B = d->batch, A = d->n_actions;
  const float *qt = nn_forward(&d->ws_target, d->target, next_obs, B);
  const float *qn = d->double_dqn ? nn_forward(&d->ws_next, d->online, next_obs, B) : qt;
  for (int b = 0; b < B; b++) {
    int a_star = nn_argmax(qn + (size_t)b * A, A);
    d->y[b] = rew[b] + d->gamma * (1.0f - term[b]) * qt[(size_t)b * A + a_star];
  }
  const float *q = nn_forward(&d->ws, d->online, obs, B);
  double qsum = 0;
  for (int b = 0; b < B; b++) {
    int a = (int)act[b];
    d->q_sel[b] = q[(size_t)b * A + a];
    qsum += d->q_sel[b];
  }
  float *dsel = d->dsel;
  float loss = d->use_huber ? nn_loss_huber(d->q_sel, d->y, B, d->huber_delta, dsel)
                            : nn_loss_mse(d->q_sel, d->y, B, dsel);
  memset(d->dq, 0, (size_t)B * A * sizeof(float));
  for (int b = 0; b < B; b++) d->dq[(size_t)b * A + (int)act[b]] = dsel[b];
  memset(d->grads, 0, d->layout.n_params * sizeof(float));
  nn_backward(&d->ws, d->online, d->dq, d->grads, NULL);
  float norm = nn_clip_grad_norm(d->grads, d->layout.n_params, d->grad_clip);
  adam_step(&d->adam, d->online, d->grads);
  d->updates++;
  if (d->tau < 1.0f)
    nn_polyak(d->target, d->online, d->layout.n_params, d->tau);
  else if (d->updates % d->target_update_interval == 0)
    memcpy(d->target, d->online, d->layout.n_params * sizeof(float));
  if (out) {
    out->loss = loss;
    out->mean_q = (float)(qsum / B);
    out->grad_norm = norm;
  }
}
