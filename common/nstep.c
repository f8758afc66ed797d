#include "nstep.h"

#include <stdlib.h>
#include <string.h>

#include "tbatch.h"

int nstep_init(nstep_t *t, int k, int n, int obs_dim, int act_dim, double gamma) {
  memset(t, 0, sizeof *t);
  if (k < 1 || n < 1 || obs_dim < 1 || act_dim < 1) return -1;
  size_t kn = (size_t)k * (size_t)n;
  t->obs = malloc(kn * (size_t)obs_dim * sizeof(float));
  t->act = malloc(kn * (size_t)act_dim * sizeof(float));
  t->rew = malloc(kn * sizeof(float));
  t->head = calloc((size_t)k, sizeof(int));
  t->len = calloc((size_t)k, sizeof(int));
  if (!t->obs || !t->act || !t->rew || !t->head || !t->len) {
    nstep_free(t);
    return -1;
  }
  t->k = k;
  t->n = n;
  t->obs_dim = obs_dim;
  t->act_dim = act_dim;
  t->gamma = gamma;
  return 0;
}

void nstep_free(nstep_t *t) {
  free(t->obs);
  free(t->act);
  free(t->rew);
  free(t->head);
  free(t->len);
  memset(t, 0, sizeof *t);
}

void nstep_clear(nstep_t *t) {
  if (t->len) memset(t->len, 0, (size_t)t->k * sizeof(int));
}

/* Emits env i's oldest queued step with the return over its `len` queued steps, then pops it. */
static void emit_oldest(nstep_t *t, int i, const float *next_obs, uint8_t flags, nstep_out_t *out) {
  const int n = t->n, od = t->obs_dim, ad = t->act_dim, m = t->len[i];
  size_t base = (size_t)i * (size_t)n;
  int h = t->head[i];
  double R = 0, g = 1;
  for (int l = 0; l < m; l++) {
    R += g * t->rew[base + (size_t)((h + l) % n)];
    g *= t->gamma;
  }
  int r = out->n++;
  memcpy(out->obs + (size_t)r * od, t->obs + (base + (size_t)h) * od, (size_t)od * sizeof(float));
  memcpy(out->act + (size_t)r * ad, t->act + (base + (size_t)h) * ad, (size_t)ad * sizeof(float));
  memcpy(out->next_obs + (size_t)r * od, next_obs, (size_t)od * sizeof(float));
  out->rew[r] = (float)R;
  out->disc[r] = (float)g;
  out->flags[r] = flags;
  t->head[i] = (h + 1) % n;
  t->len[i]--;
}

int nstep_push(nstep_t *t, int i, const float *obs, const float *act, float rew,
               const float *next_obs, uint8_t flags, nstep_out_t *out) {
  const int n = t->n, od = t->obs_dim, ad = t->act_dim;
  size_t slot = (size_t)i * (size_t)n + (size_t)((t->head[i] + t->len[i]) % n);
  memcpy(t->obs + slot * od, obs, (size_t)od * sizeof(float));
  memcpy(t->act + slot * ad, act, (size_t)ad * sizeof(float));
  t->rew[slot] = rew;
  t->len[i]++;
  int before = out->n;
  if (flags & (TBATCH_TERMINATED | TBATCH_TRUNCATED)) {
    while (t->len[i] > 0) emit_oldest(t, i, next_obs, flags, out);
    t->head[i] = 0;
  } else if (t->len[i] == n) {
    emit_oldest(t, i, next_obs, 0, out);
  }
  return out->n - before;
}
