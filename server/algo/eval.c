#include "eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

#define EVAL_CHUNK 128

void eval_summarize(const double *returns, int episodes, long steps, eval_result_t *out) {
  double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
  for (int i = 0; i < episodes; i++) {
    sum += returns[i];
    sq += returns[i] * returns[i];
    if (returns[i] < mn) mn = returns[i];
    if (returns[i] > mx) mx = returns[i];
  }
  out->episodes = episodes;
  out->mean = sum / episodes;
  double var = sq / episodes - out->mean * out->mean;
  out->std = var > 0 ? sqrt(var) : 0;
  out->min = mn;
  out->max = mx;
  out->steps = steps;
}

int eval_policy(const char *env_id, const algo_t *a, const algo_policy_t *p, const float *params,
                int episodes, uint64_t seed, const atomic_int *abort, eval_result_t *out, char *err,
                size_t errlen) {
  const env_spec_t *spec = env_find(env_id);
  if (!spec) {
    snprintf(err, errlen, "eval: unknown env '%s'", env_id);
    return EVAL_ERROR;
  }
  const nn_layout_t *l = &p->layout;
  int discrete = spec->act.kind == ENV_DISCRETE;
  int want_out = discrete ? spec->act.n : spec->act.dim;
  if (a->actions != spec->act.kind || l->sizes[0] != spec->obs.dim ||
      l->sizes[l->n_layers] != want_out) {
    snprintf(err, errlen, "eval: network %d -> %d does not fit %s (obs %d, %s %d)", l->sizes[0],
             l->sizes[l->n_layers], env_id, spec->obs.dim, discrete ? "actions" : "action dims",
             want_out);
    return EVAL_ERROR;
  }
  const int od = spec->obs.dim, A = p->act_dim;
  float acts[EVAL_CHUNK * ENV_MAX_DIM];
  env_t envs[EVAL_CHUNK];
  float *obs = malloc((size_t)EVAL_CHUNK * od * sizeof(float));
  float *x = malloc((size_t)EVAL_CHUNK * od * sizeof(float));
  double *returns = calloc((size_t)episodes, sizeof(double));
  nn_ws_t ws;
  int ws_ok = nn_ws_init(&ws, l, EVAL_CHUNK) == 0;
  if (!obs || !x || !returns || !ws_ok) {
    snprintf(err, errlen, "eval: out of memory");
    free(obs);
    free(x);
    free(returns);
    if (ws_ok) nn_ws_free(&ws);
    return EVAL_ERROR;
  }
  long steps = 0;
  int aborted = 0;
  for (int first = 0; first < episodes && !aborted; first += EVAL_CHUNK) {
    int k = episodes - first < EVAL_CHUNK ? episodes - first : EVAL_CHUNK;
    int active[EVAL_CHUNK], n_active = k;
    for (int i = 0; i < k; i++) {
      env_init(&envs[i], env_id, err, errlen);
      env_reset(&envs[i], seed + (uint64_t)(first + i), obs + (size_t)i * od);
      active[i] = i;
    }
    while (n_active > 0) {
      if (abort && atomic_load(abort)) {
        aborted = 1;
        break;
      }
      for (int j = 0; j < n_active; j++)
        memcpy(x + (size_t)j * od, obs + (size_t)active[j] * od, (size_t)od * sizeof(float));
      a->act_greedy(p, params, &ws, x, n_active, acts);
      int still = 0;
      for (int j = 0; j < n_active; j++) {
        int i = active[j];
        float r;
        int term, trunc;
        env_step(&envs[i], acts + (size_t)j * A, obs + (size_t)i * od, &r, &term, &trunc);
        returns[first + i] += r;
        steps++;
        if (!term && !trunc) active[still++] = i;
      }
      n_active = still;
    }
    for (int i = 0; i < k; i++) env_free(&envs[i]);
  }
  if (aborted)
    snprintf(err, errlen, "eval: stopped after %ld steps", steps);
  else
    eval_summarize(returns, episodes, steps, out);
  free(obs);
  free(x);
  free(returns);
  nn_ws_free(&ws);
  return aborted ? EVAL_ABORTED : EVAL_OK;
}
