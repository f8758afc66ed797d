/* vec: K copies of one env stepped together with automatic reset (see env.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

int env_vec_init(env_vec_t *v, const char *id, int k, uint64_t seed, char *err, size_t errlen) {
  memset(v, 0, sizeof *v);
  const env_spec_t *s = env_find(id);
  if (k < 1) {
    if (err && errlen) snprintf(err, errlen, "env_vec %s: k = %d, must be >= 1", id, k);
    return -1;
  }
  if (!s) return env_init(&(env_t){0}, id, err, errlen); /* fills err with the unknown id */
  v->envs = calloc((size_t)k, sizeof *v->envs);
  v->obs = calloc((size_t)k * (size_t)s->obs.dim, sizeof *v->obs);
  v->ep_return = calloc((size_t)k, sizeof *v->ep_return);
  v->ep_len = calloc((size_t)k, sizeof *v->ep_len);
  if (!v->envs || !v->obs || !v->ep_return || !v->ep_len) {
    if (err && errlen) snprintf(err, errlen, "env_vec %s: out of memory for k = %d", id, k);
    env_vec_free(v);
    return -1;
  }
  for (int i = 0; i < k; i++) {
    if (env_init(&v->envs[i], id, err, errlen) != 0) {
      env_vec_free(v);
      return -1;
    }
    v->k = i + 1;
    env_reset(&v->envs[i], rng_derive(seed, (uint64_t)i), v->obs + (size_t)i * s->obs.dim);
  }
  return 0;
}

void env_vec_free(env_vec_t *v) {
  if (v->envs)
    for (int i = 0; i < v->k; i++) env_free(&v->envs[i]);
  free(v->envs);
  free(v->obs);
  free(v->ep_return);
  free(v->ep_len);
  memset(v, 0, sizeof *v);
}

int env_vec_step(env_vec_t *v, const float *actions, float *next_obs, float *rewards,
                 uint8_t *terminated, uint8_t *truncated, float *done_returns, int *done_lens) {
  if (v->k < 1) return 0;
  const env_spec_t *s = v->envs[0].spec;
  const size_t od = (size_t)s->obs.dim, ad = (size_t)s->act.dim;
  int ndone = 0;
  for (int i = 0; i < v->k; i++) {
    float *no = next_obs + (size_t)i * od, *o = v->obs + (size_t)i * od;
    float r;
    int term, trunc;
    env_step(&v->envs[i], actions + (size_t)i * ad, no, &r, &term, &trunc);
    rewards[i] = r;
    terminated[i] = (uint8_t)term;
    truncated[i] = (uint8_t)trunc;
    v->ep_return[i] += r;
    v->ep_len[i]++;
    if (term || trunc) {
      if (done_returns) done_returns[ndone] = (float)v->ep_return[i];
      if (done_lens) done_lens[ndone] = v->ep_len[i];
      ndone++;
      v->ep_return[i] = 0.0;
      v->ep_len[i] = 0;
      env_reset(&v->envs[i], ENV_SEED_NONE, o);
    } else {
      memcpy(o, no, od * sizeof *o);
    }
  }
  return ndone;
}
