#include "eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

#define EVAL_CHUNK 128

/* scale == NULL: greedy over Q values; otherwise actor outputs mapped onto the bounds. */
static int eval_run(const char *env_id, const nn_layout_t *l, const float *params,
                    const float *scale, const float *bias, int episodes, uint64_t seed,
                    eval_result_t *out, char *err, size_t errlen) {
  const env_spec_t *spec = env_find(env_id);
  if (!spec) {
    snprintf(err, errlen, "eval: unknown env '%s'", env_id);
    return -1;
  }
  int discrete = spec->act.kind == ENV_DISCRETE;
  int want_out = discrete ? spec->act.n : spec->act.dim;
  if (discrete != (scale == NULL) || l->sizes[0] != spec->obs.dim ||
      l->sizes[l->n_layers] != want_out) {
    snprintf(err, errlen, "eval: network %d -> %d does not fit %s (obs %d, %s %d)", l->sizes[0],
             l->sizes[l->n_layers], env_id, spec->obs.dim, discrete ? "actions" : "action dims",
             want_out);
    return -1;
  }
  const int od = spec->obs.dim, A = want_out;
  float acts[ENV_MAX_DIM];
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
    return -1;
  }
  long steps = 0;
  for (int first = 0; first < episodes; first += EVAL_CHUNK) {
    int k = episodes - first < EVAL_CHUNK ? episodes - first : EVAL_CHUNK;
    int active[EVAL_CHUNK], n_active = k;
    for (int i = 0; i < k; i++) {
      env_init(&envs[i], env_id, err, errlen);
      env_reset(&envs[i], seed + (uint64_t)(first + i), obs + (size_t)i * od);
      active[i] = i;
    }
    while (n_active > 0) {
      for (int j = 0; j < n_active; j++)
        memcpy(x + (size_t)j * od, obs + (size_t)active[j] * od, (size_t)od * sizeof(float));
      const float *q = nn_forward(&ws, params, x, n_active);
      int still = 0;
      for (int j = 0; j < n_active; j++) {
        int i = active[j];
        float r;
        if (discrete)
          acts[0] = (float)nn_argmax(q + (size_t)j * A, A);
        else
          for (int d = 0; d < A; d++) acts[d] = bias[d] + scale[d] * q[(size_t)j * A + d];
        int term, trunc;
        env_step(&envs[i], acts, obs + (size_t)i * od, &r, &term, &trunc);
        returns[first + i] += r;
        steps++;
        if (!term && !trunc) active[still++] = i;
      }
      n_active = still;
    }
    for (int i = 0; i < k; i++) env_free(&envs[i]);
  }
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
  free(obs);
  free(x);
  free(returns);
  nn_ws_free(&ws);
  return 0;
}

int eval_greedy(const char *env_id, const nn_layout_t *l, const float *params, int episodes,
                uint64_t seed, eval_result_t *out, char *err, size_t errlen) {
  return eval_run(env_id, l, params, NULL, NULL, episodes, seed, out, err, errlen);
}

int eval_actor(const char *env_id, const nn_layout_t *l, const float *params, const float *scale,
               const float *bias, int episodes, uint64_t seed, eval_result_t *out, char *err,
               size_t errlen) {
  return eval_run(env_id, l, params, scale, bias, episodes, seed, out, err, errlen);
}
