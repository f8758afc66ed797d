#include "replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int replay_init(replay_t *r, size_t capacity, size_t obs_dim, size_t act_dim,
                const flow_limits_t *lim) {
  memset(r, 0, sizeof *r);
  if (capacity == 0 || obs_dim == 0 || act_dim == 0) return -1;
  r->capacity = capacity;
  r->obs_dim = obs_dim;
  r->act_dim = act_dim;
  r->lim = *lim;
  r->obs = malloc(capacity * obs_dim * sizeof(float));
  r->next_obs = malloc(capacity * obs_dim * sizeof(float));
  r->act = malloc(capacity * act_dim * sizeof(float));
  r->rew = malloc(capacity * sizeof(float));
  r->term = malloc(capacity * sizeof(float));
  if (!r->obs || !r->next_obs || !r->act || !r->rew || !r->term) {
    replay_free(r);
    return -1;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&r->can_sample, &ca);
  pthread_condattr_destroy(&ca);
  return 0;
}

void replay_free(replay_t *r) {
  if (r->capacity && r->obs && r->next_obs && r->act && r->rew && r->term) {
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->can_sample);
  }
  free(r->obs);
  free(r->next_obs);
  free(r->act);
  free(r->rew);
  free(r->term);
  memset(r, 0, sizeof *r);
}

void replay_insert(replay_t *r, size_t n, const void *obs, const void *act, const void *rew,
                   const void *next_obs, const uint8_t *flags) {
  const uint8_t *o = obs, *a = act, *rw = rew, *no = next_obs;
  size_t od = r->obs_dim * sizeof(float), ad = r->act_dim * sizeof(float);
  pthread_mutex_lock(&r->mu);
  for (size_t i = 0; i < n; i++) {
    size_t h = r->head;
    memcpy(r->obs + h * r->obs_dim, o + i * od, od);
    memcpy(r->next_obs + h * r->obs_dim, no + i * od, od);
    memcpy(r->act + h * r->act_dim, a + i * ad, ad);
    memcpy(r->rew + h, rw + i * sizeof(float), sizeof(float));
    r->term[h] = (flags[i] & 1u) ? 1.0f : 0.0f;
    r->head = (h + 1 == r->capacity) ? 0 : h + 1;
    if (r->size < r->capacity) r->size++;
  }
  r->inserted += n;
  pthread_mutex_unlock(&r->mu);
  pthread_cond_broadcast(&r->can_sample);
}

int replay_insert_allowed(replay_t *r) {
  pthread_mutex_lock(&r->mu);
  int ok = !flow_ahead(&r->lim, r->inserted, r->sampled);
  pthread_mutex_unlock(&r->mu);
  return ok;
}

int replay_sample_wait(replay_t *r, rng_t *rng, size_t batch, float *obs, float *act, float *rew,
                       float *next_obs, float *term, int timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  if (timeout_ms >= 0) {
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&r->mu);
  while (!r->closed && (r->size < batch || !flow_may_sample(&r->lim, r->inserted, r->sampled))) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&r->can_sample, &r->mu);
    } else if (pthread_cond_timedwait(&r->can_sample, &r->mu, &deadline) == ETIMEDOUT) {
      pthread_mutex_unlock(&r->mu);
      return 1;
    }
  }
  if (r->closed) {
    pthread_mutex_unlock(&r->mu);
    return 1;
  }
  size_t od = r->obs_dim, ad = r->act_dim;
  for (size_t b = 0; b < batch; b++) {
    size_t i = (size_t)rng_below(rng, r->size);
    memcpy(obs + b * od, r->obs + i * od, od * sizeof(float));
    memcpy(next_obs + b * od, r->next_obs + i * od, od * sizeof(float));
    memcpy(act + b * ad, r->act + i * ad, ad * sizeof(float));
    rew[b] = r->rew[i];
    term[b] = r->term[i];
  }
  r->sampled += batch;
  pthread_mutex_unlock(&r->mu);
  return 0;
}

void replay_close(replay_t *r) {
  pthread_mutex_lock(&r->mu);
  r->closed = 1;
  pthread_mutex_unlock(&r->mu);
  pthread_cond_broadcast(&r->can_sample);
}

replay_counts_t replay_counts(replay_t *r) {
  pthread_mutex_lock(&r->mu);
  replay_counts_t c = {r->size, r->capacity, r->inserted, r->sampled};
  pthread_mutex_unlock(&r->mu);
  return c;
}
