#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obsbits.h"

int replay_init(replay_t *r, size_t capacity, size_t obs_dim, size_t act_dim,
                const flow_limits_t *lim) {
  memset(r, 0, sizeof *r);
  if (capacity == 0 || obs_dim == 0 || act_dim == 0) return -1;
  r->capacity = capacity;
  r->obs_dim = obs_dim;
  r->act_dim = act_dim;
  r->lim = *lim;
  r->obs_row = obs_dim * sizeof(float);
  r->obs = malloc(capacity * obs_dim * sizeof(float));
  r->next_obs = malloc(capacity * obs_dim * sizeof(float));
  r->act = malloc(capacity * act_dim * sizeof(float));
  r->rew = malloc(capacity * sizeof(float));
  r->term = malloc(capacity * sizeof(float));
  r->disc = malloc(capacity * sizeof(float));
  r->gamma = 1.0f;
  if (!r->obs || !r->next_obs || !r->act || !r->rew || !r->term || !r->disc) {
    replay_free(r);
    return -1;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&r->can_sample, &ca);
  pthread_condattr_destroy(&ca);
  r->locks = 1;
  return 0;
}

int replay_set_obs_bits(replay_t *r) {
  free(r->obs);
  free(r->next_obs);
  r->obs = r->next_obs = NULL;
  r->obs_bits = 1;
  r->obs_row = obsbits_bytes(r->obs_dim);
  r->obs_b = malloc(r->capacity * r->obs_row);
  r->next_obs_b = malloc(r->capacity * r->obs_row);
  return (r->obs_b && r->next_obs_b) ? 0 : -1;
}

size_t replay_bytes_per_transition(const replay_t *r) {
  size_t b = 2 * r->obs_row + r->act_dim * sizeof(float) + 3 * sizeof(float); /* rew term disc */
  /* The sum tree: sum and min arrays of 2 * tree.cap doubles each (tree.cap: the power of two
   * >= capacity), shared by the capacity slots (rounded up). */
  if (r->prioritized) b += (4 * r->tree.cap * sizeof(double) + r->capacity - 1) / r->capacity;
  return b;
}

void replay_free(replay_t *r) {
  if (r->locks) {
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->can_sample);
  }
  free(r->obs);
  free(r->next_obs);
  free(r->act);
  free(r->rew);
  free(r->term);
  free(r->disc);
  free(r->obs_b);
  free(r->next_obs_b);
  sumtree_free(&r->tree);
  memset(r, 0, sizeof *r);
}

int replay_set_prioritized(replay_t *r, const replay_per_t *per) {
  if (!(per->alpha >= 0) || !(per->eps > 0) || !isfinite(per->eps) || !(per->beta0 >= 0) ||
      per->beta0 > 1)
    return -1;
  if (sumtree_init(&r->tree, r->capacity) != 0) return -1;
  r->per = *per;
  r->prioritized = 1;
  r->max_prio = 1.0;
  return 0;
}

void replay_set_gamma(replay_t *r, float gamma) { r->gamma = gamma; }

static double per_priority(const replay_t *r, double td) {
  return pow(fabs(td) + r->per.eps, r->per.alpha);
}

static double beta_locked(const replay_t *r) {
  if (r->per.beta_steps == 0) return 1.0;
  double f = (double)r->inserted / (double)r->per.beta_steps;
  if (f > 1) f = 1;
  return r->per.beta0 + (1.0 - r->per.beta0) * f;
}

double replay_beta(replay_t *r) {
  pthread_mutex_lock(&r->mu);
  double b = r->prioritized ? beta_locked(r) : 0;
  pthread_mutex_unlock(&r->mu);
  return b;
}

void replay_insert(replay_t *r, size_t n, const void *obs, const void *act, const void *rew,
                   const void *next_obs, const uint8_t *flags) {
  replay_insert_ext(r, n, obs, act, rew, next_obs, flags, NULL, NULL);
}

void replay_insert_ext(replay_t *r, size_t n, const void *obs, const void *act, const void *rew,
                       const void *next_obs, const uint8_t *flags, const void *disc,
                       const void *prio) {
  char err[200];
  if (replay_insert_enc(r, n, 0, obs, act, rew, next_obs, flags, disc, prio, err, sizeof err))
    fprintf(stderr, "replay: %s\n", err); /* float rows into a bits replay that are not 0/1 */
}

/* Floats (LE, any alignment) packed into rows of r->obs_row bytes; 0 or -1 with a message. */
static int pack_rows(const replay_t *r, size_t n, const uint8_t *src, uint8_t *dst,
                     const char *what, char *err, size_t errlen) {
  size_t od = r->obs_dim;
  float *row = malloc(od * sizeof(float));
  if (!row) return snprintf(err, errlen, "out of memory"), -1;
  for (size_t i = 0; i < n; i++) {
    memcpy(row, src + i * od * sizeof(float), od * sizeof(float));
    char e[160];
    if (obsbits_pack(row, od, dst + i * r->obs_row, e, sizeof e) != 0) {
      snprintf(err, errlen, "%s row %zu: %s", what, i, e);
      free(row);
      return -1;
    }
  }
  free(row);
  return 0;
}

int replay_insert_enc(replay_t *r, size_t n, int obs_enc, const void *obs, const void *act,
                      const void *rew, const void *next_obs, const uint8_t *flags,
                      const void *disc, const void *prio, char *err, size_t errlen) {
  const uint8_t *o = obs, *a = act, *rw = rew, *no = next_obs, *dc = disc, *pr = prio;
  size_t od = r->obs_dim, ad = r->act_dim * sizeof(float);
  uint8_t *packed = NULL;
  if (r->obs_bits && !obs_enc && n) { /* pack outside the lock, refusing before any insert */
    packed = malloc(2 * n * r->obs_row);
    if (!packed) return snprintf(err, errlen, "out of memory packing %zu observations", n), -1;
    if (pack_rows(r, n, o, packed, "obs", err, errlen) ||
        pack_rows(r, n, no, packed + n * r->obs_row, "next_obs", err, errlen)) {
      free(packed);
      return -1;
    }
    o = packed;
    no = packed + n * r->obs_row;
    obs_enc = 1;
  }
  size_t in_row = obs_enc ? obsbits_bytes(od) : od * sizeof(float);
  pthread_mutex_lock(&r->mu);
  for (size_t i = 0; i < n; i++) {
    size_t h = r->head;
    if (r->obs_bits) {
      memcpy(r->obs_b + h * r->obs_row, o + i * in_row, r->obs_row);
      memcpy(r->next_obs_b + h * r->obs_row, no + i * in_row, r->obs_row);
    } else if (obs_enc) {
      obsbits_unpack(o + i * in_row, od, r->obs + h * od);
      obsbits_unpack(no + i * in_row, od, r->next_obs + h * od);
    } else {
      memcpy(r->obs + h * od, o + i * in_row, in_row);
      memcpy(r->next_obs + h * od, no + i * in_row, in_row);
    }
    memcpy(r->act + h * r->act_dim, a + i * ad, ad);
    memcpy(r->rew + h, rw + i * sizeof(float), sizeof(float));
    r->term[h] = (flags[i] & 1u) ? 1.0f : 0.0f;
    if (dc)
      memcpy(r->disc + h, dc + i * sizeof(float), sizeof(float));
    else
      r->disc[h] = r->gamma;
    if (r->prioritized) {
      double p = r->max_prio;
      if (pr) {
        float td;
        memcpy(&td, pr + i * sizeof(float), sizeof td);
        if (isfinite(td)) p = per_priority(r, td);
        if (p > r->max_prio) r->max_prio = p;
      }
      sumtree_set(&r->tree, h, p);
    }
    r->head = (h + 1 == r->capacity) ? 0 : h + 1;
    if (r->size < r->capacity) r->size++;
  }
  r->inserted += n;
  int wake =
      r->waiters && r->size >= r->wait_batch && flow_may_sample(&r->lim, r->inserted, r->sampled);
  pthread_mutex_unlock(&r->mu);
  if (wake) pthread_cond_broadcast(&r->can_sample);
  free(packed);
  return 0;
}

int replay_insert_allowed(replay_t *r) {
  pthread_mutex_lock(&r->mu);
  int ok = !flow_ahead(&r->lim, r->inserted, r->sampled);
  pthread_mutex_unlock(&r->mu);
  return ok;
}

/* Waits under r->mu until a batch may be sampled; 0 with the lock held, or 1 (closed or timed
 * out) with it released. */
static int wait_sample_locked(replay_t *r, size_t batch, int timeout_ms) {
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
  int timed_out = 0;
  while (!r->closed && (r->size < batch || !flow_may_sample(&r->lim, r->inserted, r->sampled))) {
    if (r->waiters++ == 0 || batch < r->wait_batch) r->wait_batch = batch;
    int rc = timeout_ms < 0 ? pthread_cond_wait(&r->can_sample, &r->mu)
                            : pthread_cond_timedwait(&r->can_sample, &r->mu, &deadline);
    r->waiters--;
    if (rc == ETIMEDOUT) {
      timed_out = 1;
      break;
    }
  }
  if (r->closed || timed_out) {
    pthread_mutex_unlock(&r->mu);
    return 1;
  }
  return 0;
}

/* The id (run-wide insertion number) of the transition in slot i. */
static uint64_t slot_id(const replay_t *r, size_t i) {
  uint64_t cap = r->capacity, newest = r->inserted - 1; /* in slot (inserted - 1) % cap */
  uint64_t back = ((uint64_t)(newest % cap) + cap - i) % cap;
  return newest - back;
}

static void copy_row(const replay_t *r, size_t i, size_t b, float *obs, float *act, float *rew,
                     float *next_obs, float *term) {
  size_t od = r->obs_dim, ad = r->act_dim;
  if (r->obs_bits) {
    obsbits_unpack(r->obs_b + i * r->obs_row, od, obs + b * od);
    obsbits_unpack(r->next_obs_b + i * r->obs_row, od, next_obs + b * od);
  } else {
    memcpy(obs + b * od, r->obs + i * od, od * sizeof(float));
    memcpy(next_obs + b * od, r->next_obs + i * od, od * sizeof(float));
  }
  memcpy(act + b * ad, r->act + i * ad, ad * sizeof(float));
  rew[b] = r->rew[i];
  term[b] = r->term[i];
}

int replay_sample_wait(replay_t *r, rng_t *rng, size_t batch, float *obs, float *act, float *rew,
                       float *next_obs, float *term, int timeout_ms) {
  if (wait_sample_locked(r, batch, timeout_ms) != 0) return 1;
  for (size_t b = 0; b < batch; b++)
    copy_row(r, (size_t)rng_below(rng, r->size), b, obs, act, rew, next_obs, term);
  r->sampled += batch;
  pthread_mutex_unlock(&r->mu);
  return 0;
}

int replay_sample_ext(replay_t *r, rng_t *rng, size_t batch, replay_sample_t *s, int timeout_ms) {
  if (wait_sample_locked(r, batch, timeout_ms) != 0) return 1;
  if (!r->prioritized) {
    for (size_t b = 0; b < batch; b++) {
      size_t i = (size_t)rng_below(rng, r->size);
      copy_row(r, i, b, s->obs, s->act, s->rew, s->next_obs, s->term);
      s->disc[b] = r->disc[i];
      s->weight[b] = 1.0f;
      s->id[b] = slot_id(r, i);
    }
  } else {
    double total = sumtree_total(&r->tree), seg = total / (double)batch;
    double beta = beta_locked(r), pmin = sumtree_min(&r->tree);
    for (size_t b = 0; b < batch; b++) {
      double u = seg * ((double)b + rng_uniform(rng));
      size_t i = sumtree_find(&r->tree, u);
      copy_row(r, i, b, s->obs, s->act, s->rew, s->next_obs, s->term);
      s->disc[b] = r->disc[i];
      /* (N P(i))^-beta / max_j (N P(j))^-beta = (p_i / p_min)^-beta */
      s->weight[b] = (float)pow(sumtree_get(&r->tree, i) / pmin, -beta);
      s->id[b] = slot_id(r, i);
    }
  }
  r->sampled += batch;
  pthread_mutex_unlock(&r->mu);
  return 0;
}

void replay_update_priorities(replay_t *r, const uint64_t *id, const float *td, size_t n) {
  if (!r->prioritized) return;
  pthread_mutex_lock(&r->mu);
  for (size_t b = 0; b < n; b++) {
    /* Overwritten since it was sampled: its slot holds a newer transition now. */
    if (id[b] >= r->inserted || r->inserted - id[b] > r->capacity || !isfinite(td[b])) continue;
    double p = per_priority(r, td[b]);
    if (p > r->max_prio) r->max_prio = p;
    sumtree_set(&r->tree, (size_t)(id[b] % r->capacity), p);
  }
  pthread_mutex_unlock(&r->mu);
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

void replay_image_free(replay_image_t *im) {
  free(im->obs);
  free(im->act);
  free(im->rew);
  free(im->next_obs);
  free(im->term);
  free(im->disc);
  free(im->prio);
  free(im->obs_b);
  free(im->next_obs_b);
  memset(im, 0, sizeof *im);
}

int replay_image_take(replay_t *r, replay_image_t *im) {
  memset(im, 0, sizeof *im);
  /* Sized at full capacity outside the lock, so the copy under it is memcpy alone. */
  size_t cap = r->capacity, od = r->obs_dim, ad = r->act_dim;
  size_t orow = r->obs_row;
  if (r->obs_bits) {
    im->obs_b = malloc(cap * orow);
    im->next_obs_b = malloc(cap * orow);
  } else {
    im->obs = malloc(cap * od * sizeof(float));
    im->next_obs = malloc(cap * od * sizeof(float));
  }
  im->act = malloc(cap * ad * sizeof(float));
  im->rew = malloc(cap * sizeof(float));
  im->term = malloc(cap * sizeof(float));
  im->disc = malloc(cap * sizeof(float));
  if (r->prioritized) im->prio = malloc(cap * sizeof(double));
  if ((r->obs_bits ? (!im->obs_b || !im->next_obs_b) : (!im->obs || !im->next_obs)) ||
      !im->act || !im->rew || !im->term || !im->disc || (r->prioritized && !im->prio)) {
    replay_image_free(im);
    return -1;
  }
  pthread_mutex_lock(&r->mu);
  size_t n = r->size;
  if (r->obs_bits) {
    memcpy(im->obs_b, r->obs_b, n * orow);
    memcpy(im->next_obs_b, r->next_obs_b, n * orow);
  } else {
    memcpy(im->obs, r->obs, n * od * sizeof(float));
    memcpy(im->next_obs, r->next_obs, n * od * sizeof(float));
  }
  memcpy(im->act, r->act, n * ad * sizeof(float));
  memcpy(im->rew, r->rew, n * sizeof(float));
  memcpy(im->term, r->term, n * sizeof(float));
  memcpy(im->disc, r->disc, n * sizeof(float));
  if (r->prioritized) memcpy(im->prio, r->tree.sum + r->tree.cap, n * sizeof(double));
  im->capacity = cap;
  im->obs_dim = od;
  im->act_dim = ad;
  im->size = n;
  im->inserted = r->inserted;
  im->sampled = r->sampled;
  im->prioritized = (uint64_t)r->prioritized;
  im->obs_bits = (uint64_t)r->obs_bits;
  im->max_prio = r->max_prio;
  pthread_mutex_unlock(&r->mu);
  return 0;
}

static int bad_float(const float *v, size_t n, float lo, float hi, const char *what, char *err,
                     size_t errlen) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]) || v[i] < lo || v[i] > hi) {
      snprintf(err, errlen, "replay image: %s[%zu] is %g, outside [%g, %g]", what, i, (double)v[i],
               (double)lo, (double)hi);
      return 1;
    }
  return 0;
}

int replay_image_restore(replay_t *r, const replay_image_t *im, int n_actions, char *err,
                         size_t errlen) {
  if (im->capacity != r->capacity || im->obs_dim != r->obs_dim || im->act_dim != r->act_dim) {
    snprintf(err, errlen,
             "replay image: capacity %llu, obs_dim %llu, act_dim %llu; this run has %zu, %zu, %zu",
             (unsigned long long)im->capacity, (unsigned long long)im->obs_dim,
             (unsigned long long)im->act_dim, r->capacity, r->obs_dim, r->act_dim);
    return -1;
  }
  if (im->prioritized != (uint64_t)r->prioritized) {
    snprintf(err, errlen, "replay image: saved by a %s replay, this run's is %s",
             im->prioritized ? "prioritized" : "uniform", r->prioritized ? "prioritized" : "uniform");
    return -1;
  }
  if (im->obs_bits != (uint64_t)r->obs_bits) {
    snprintf(err, errlen, "replay image: observations stored as %s, this run's replay stores %s",
             im->obs_bits ? "packed bits" : "float32", r->obs_bits ? "packed bits" : "float32");
    return -1;
  }
  uint64_t want = im->inserted < im->capacity ? im->inserted : im->capacity;
  if (im->size != want) {
    snprintf(err, errlen, "replay image: size %llu, but %llu inserted into capacity %llu",
             (unsigned long long)im->size, (unsigned long long)im->inserted,
             (unsigned long long)im->capacity);
    return -1;
  }
  size_t n = (size_t)im->size, od = r->obs_dim, ad = r->act_dim;
  const float inf = INFINITY;
  for (size_t i = 0; im->obs_bits && i < n; i++)
    if (!obsbits_padding_ok(im->obs_b + i * r->obs_row, od) ||
        !obsbits_padding_ok(im->next_obs_b + i * r->obs_row, od)) {
      snprintf(err, errlen, "replay image: row %zu (bits) has nonzero padding bits", i);
      return -1;
    }
  if ((!im->obs_bits && (bad_float(im->obs, n * od, -inf, inf, "obs", err, errlen) ||
                         bad_float(im->next_obs, n * od, -inf, inf, "next_obs", err, errlen))) ||
      bad_float(im->act, n * ad, -inf, inf, "act", err, errlen) ||
      bad_float(im->rew, n, -inf, inf, "rew", err, errlen) ||
      bad_float(im->term, n, 0, 1, "term", err, errlen) ||
      bad_float(im->disc, n, 0, 1, "disc", err, errlen))
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (im->term[i] != 0 && im->term[i] != 1) {
      snprintf(err, errlen, "replay image: term[%zu] is %g, not 0 or 1", i, (double)im->term[i]);
      return -1;
    }
    for (size_t j = 0; n_actions > 0 && j < ad; j++) {
      float a = im->act[i * ad + j];
      if (a != floorf(a) || a < 0 || a >= (float)n_actions) {
        snprintf(err, errlen, "replay image: act[%zu] is %g, not an action index below %d", i,
                 (double)a, n_actions);
        return -1;
      }
    }
    if (im->prio && (!isfinite(im->prio[i]) || !(im->prio[i] > 0))) {
      snprintf(err, errlen, "replay image: priority[%zu] is %g, not finite and > 0", i,
               im->prio[i]);
      return -1;
    }
  }
  if (im->prio && (!isfinite(im->max_prio) || !(im->max_prio > 0))) {
    snprintf(err, errlen, "replay image: max priority %g, not finite and > 0", im->max_prio);
    return -1;
  }
  pthread_mutex_lock(&r->mu);
  if (r->obs_bits) {
    memcpy(r->obs_b, im->obs_b, n * r->obs_row);
    memcpy(r->next_obs_b, im->next_obs_b, n * r->obs_row);
  } else {
    memcpy(r->obs, im->obs, n * od * sizeof(float));
    memcpy(r->next_obs, im->next_obs, n * od * sizeof(float));
  }
  memcpy(r->act, im->act, n * ad * sizeof(float));
  memcpy(r->rew, im->rew, n * sizeof(float));
  memcpy(r->term, im->term, n * sizeof(float));
  memcpy(r->disc, im->disc, n * sizeof(float));
  for (size_t i = 0; im->prio && i < n; i++) sumtree_set(&r->tree, i, im->prio[i]);
  if (im->prio) r->max_prio = im->max_prio;
  r->size = n;
  r->inserted = im->inserted;
  r->sampled = im->sampled;
  r->head = (size_t)(im->inserted % im->capacity);
  pthread_mutex_unlock(&r->mu);
  return 0;
}

int replay_sample_alloc(replay_sample_t *s, size_t batch, size_t obs_dim, size_t act_dim) {
  s->obs = malloc(batch * obs_dim * sizeof(float));
  s->next_obs = malloc(batch * obs_dim * sizeof(float));
  s->act = malloc(batch * act_dim * sizeof(float));
  s->rew = malloc(batch * sizeof(float));
  s->term = malloc(batch * sizeof(float));
  s->disc = malloc(batch * sizeof(float));
  s->weight = malloc(batch * sizeof(float));
  s->id = malloc(batch * sizeof(uint64_t));
  if (s->obs && s->next_obs && s->act && s->rew && s->term && s->disc && s->weight && s->id)
    return 0;
  replay_sample_free(s);
  return -1;
}

void replay_sample_free(replay_sample_t *s) {
  free(s->obs);
  free(s->next_obs);
  free(s->act);
  free(s->rew);
  free(s->term);
  free(s->disc);
  free(s->weight);
  free(s->id);
  memset(s, 0, sizeof *s);
}
