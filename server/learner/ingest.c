/* ingest: the TRANSITIONS path and its decode threads. See ingest.h. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT, pthread_setname_np */
#include "ingest.h"

#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "flow.h"
#include "learner.h"
#include "tbatch.h"

struct ingest {
  struct learner *L;
  pthread_mutex_t mu;
  pthread_cond_t work;
  ingest_conn_t *run_head, *run_tail; /* connections with frames and no thread on them */
  ingest_job_t *done_head, *done_tail;
  void (*notify)(void *);
  void *notify_arg;
  int stop, stopped, n;
  int kicks; /* connections scheduled since the last ingest_kick (net thread only) */
  pthread_t threads[INGEST_MAX_THREADS];
};

int ingest_threads_for(const config_t *c) {
  if (c->ingest_threads > 0) return (int)c->ingest_threads;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  long t = (cores - (long)c->workers) / 4;
  return t < 2 ? 1 : t > 4 ? 4 : (int)t;
}

/* ---- the work on one batch (net thread or decode thread) ---- */

void ingest_transitions(learner_t *L, worker_conn_t *c, ingest_t *q, const uint8_t *p, size_t len,
                        ingest_result_t *res) {
  memset(res, 0, sizeof *res);
  tbatch_limits_t lim = {.obs_dim = (uint32_t)L->run.pol.obs_dim,
                         .act_dim = (uint32_t)L->run.pol.act_dim,
                         .n_actions = (uint32_t)L->run.pol.n_actions,
                         .max_n = 1u << 20,
                         .allow_bits = L->run.spec->obs.binary};
  tbatch_t tb;
  if (tbatch_decode(p, len, &lim, &tb, res->err, sizeof res->err) != 0) {
    res->code = 400;
    return;
  }
  /* Within the env's declared spaces (envs/bounds.h): finite is not enough. An n-step return
   * R = sum_{k<m} gamma^k r_k (m <= n_step) lies within the reward bounds times 1 .. G_n,
   * G_n = sum_{k<n} gamma^k. */
  const env_spec_t *spec = L->run.spec;
  env_spec_t nspec;
  if (L->run.cfg.n_step > 1) {
    double g = 0, gk = 1;
    for (int64_t k = 0; k < L->run.cfg.n_step; k++, gk *= L->run.cfg.gamma) g += gk;
    nspec = *spec;
    if (nspec.reward_low < 0) nspec.reward_low = (float)(nspec.reward_low * g);
    if (nspec.reward_high > 0) nspec.reward_high = (float)(nspec.reward_high * g);
    spec = &nspec;
  }
  if (tb.obs_enc == TBATCH_OBS_BITS) { /* 0/1 by construction, within a binary env's bounds */
    if (spec != &nspec) nspec = *spec;
    nspec.obs.dim = 0; /* rewards only */
    spec = &nspec;
  }
  if (env_bounds_check(spec, L->run.cfg.bounds_tolerance, tb.obs, tb.rew, tb.next_obs, tb.n,
                       res->err, sizeof res->err) != 0) {
    res->code = 422;
    return;
  }
  ingest_lock(q);
  int over = flow_credit_receive(&c->credit, tb.n);
  uint64_t received = c->credit.received, granted = c->credit.granted;
  ingest_unlock(q);
  if (over != 0) {
    snprintf(res->err, sizeof res->err, "transitions: %llu sent beyond the %llu granted (credit)",
             (unsigned long long)(received - granted), (unsigned long long)granted);
    res->code = 429;
    return;
  }
  /* The budget: this batch's share is taken (env_steps) before the insert, so decode threads
   * inserting at once never go past it; given back if the insert refuses the batch. */
  uint64_t budget = (uint64_t)L->run.cfg.env_steps_budget, n = tb.n;
  pthread_mutex_lock(&L->sh.mu);
  uint64_t have = L->sh.env_steps;
  int spent = have >= budget || (!q && L->net.finishing); /* a pool is stopped before finishing */
  if (!spent) {
    if (n > budget - have) n = budget - have;
    L->sh.env_steps += n;
  }
  pthread_mutex_unlock(&L->sh.mu);
  if (spent) return; /* the run's budget is spent: ignored, no credit */
  if (replay_insert_enc(&L->replay, (size_t)n, tb.obs_enc, tb.obs, tb.act, tb.rew, tb.next_obs,
                        tb.flags, tb.disc, tb.prio, res->err, sizeof res->err) != 0) {
    pthread_mutex_lock(&L->sh.mu);
    L->sh.env_steps -= n;
    pthread_mutex_unlock(&L->sh.mu);
    res->code = 422;
    return;
  }
  /* The eval thread waits for this (trainer.c eval_claim): wake it only then, not per batch. */
  pthread_mutex_lock(&L->sh.mu);
  int due = L->run.cfg.eval_interval > 0 && L->sh.env_steps >= L->sh.next_eval_at;
  pthread_mutex_unlock(&L->sh.mu);
  if (due) pthread_cond_signal(&L->sh.eval_cv);
  res->counted = 1;
  res->n = n;
  res->wv = tb.weights_version;
}

/* ---- the pool ---- */

void ingest_lock(ingest_t *q) {
  if (q) pthread_mutex_lock(&q->mu);
}

void ingest_unlock(ingest_t *q) {
  if (q) pthread_mutex_unlock(&q->mu);
}

int ingest_size(const ingest_t *q) { return q ? q->n : 1; }

void ingest_job_free(ingest_job_t *j) {
  if (!j) return;
  sodium_memzero(&j->rx, sizeof j->rx);
  free(j);
}

/* Under q->mu: appends the list first..last to the done list. */
static void done_append(ingest_t *q, ingest_job_t *first, ingest_job_t *last) {
  if (!first) return;
  last->next = NULL;
  if (q->done_tail)
    q->done_tail->next = first;
  else
    q->done_head = first;
  q->done_tail = last;
}

static void run_push(ingest_t *q, ingest_conn_t *ic) {
  ic->next_run = NULL;
  if (q->run_tail)
    q->run_tail->next_run = ic;
  else
    q->run_head = ic;
  q->run_tail = ic;
}

/* One frame on a decode thread: open it with its counter, then the batch. */
static void process(ingest_t *q, ingest_job_t *j) {
  const uint8_t *p = j->data;
  size_t len = j->h.length;
  if (j->sealed) {
    size_t n;
    int rc = seal_open(&j->rx, &j->h, j->data, &n);
    if (rc != SEAL_OK) {
      snprintf(j->res.err, sizeof j->res.err, "sealed %s frame #%llu refused: %s",
               frame_type_name(j->h.type), (unsigned long long)j->rx.counter, seal_strerror(rc));
      j->res.code = 400;
      return;
    }
    len = n;
  }
  ingest_transitions(q->L, j->c, q, p, len, &j->res);
}

static void *decode_main(void *arg) {
  ingest_t *q = arg;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (!q->stop && !q->run_head) pthread_cond_wait(&q->work, &q->mu);
    if (q->stop) break;
    ingest_conn_t *ic = q->run_head;
    q->run_head = ic->next_run;
    if (!q->run_head) q->run_tail = NULL;
    ingest_job_t *first = ic->head, *last = ic->tail;
    ic->head = ic->tail = NULL;
    int failed = ic->failed;
    pthread_mutex_unlock(&q->mu);
    for (ingest_job_t *j = first; j; j = j->next) { /* in arrival order */
      if (failed) {
        j->dropped = 1;
        continue;
      }
      process(q, j);
      failed = j->res.code != 0;
    }
    pthread_mutex_lock(&q->mu);
    ic->failed = failed;
    done_append(q, first, last);
    if (ic->head && failed) { /* handed over meanwhile: dropped too */
      for (ingest_job_t *j = ic->head; j; j = j->next) j->dropped = 1;
      done_append(q, ic->head, ic->tail);
      ic->head = ic->tail = NULL;
    }
    if (ic->head)
      run_push(q, ic); /* stays scheduled */
    else
      ic->scheduled = 0;
    pthread_mutex_unlock(&q->mu);
    q->notify(q->notify_arg);
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

ingest_t *ingest_start(learner_t *L, int n, void (*notify)(void *), void *arg, char *err,
                       size_t errlen) {
  if (n < 2 || n > INGEST_MAX_THREADS) {
    snprintf(err, errlen, "ingest: %d decode threads, expected 2..%d", n, INGEST_MAX_THREADS);
    return NULL;
  }
  ingest_t *q = calloc(1, sizeof *q);
  if (!q) {
    snprintf(err, errlen, "ingest: out of memory");
    return NULL;
  }
  q->L = L;
  q->notify = notify;
  q->notify_arg = arg;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->work, NULL);
  for (; q->n < n; q->n++) {
    int rc = pthread_create(&q->threads[q->n], NULL, decode_main, q);
    if (rc != 0) {
      snprintf(err, errlen, "ingest: cannot start decode thread %d of %d: %s", q->n + 1, n,
               strerror(rc));
      ingest_stop(q);
      ingest_free(q);
      return NULL;
    }
    char name[16];
    snprintf(name, sizeof name, "rl-ingest%d", q->n);
    pthread_setname_np(q->threads[q->n], name); /* the benchmark finds them by name */
  }
  return q;
}

void ingest_stop(ingest_t *q) {
  if (!q || q->stopped) return;
  pthread_mutex_lock(&q->mu);
  q->stop = 1;
  pthread_cond_broadcast(&q->work);
  pthread_mutex_unlock(&q->mu);
  for (int i = 0; i < q->n; i++) pthread_join(q->threads[i], NULL);
  q->stopped = 1;
  /* What no thread took: dropped, back to the net thread for its bookkeeping. */
  pthread_mutex_lock(&q->mu);
  for (ingest_conn_t *ic = q->run_head; ic; ic = ic->next_run) {
    for (ingest_job_t *j = ic->head; j; j = j->next) j->dropped = 1;
    done_append(q, ic->head, ic->tail);
    ic->head = ic->tail = NULL;
    ic->scheduled = 0;
  }
  q->run_head = q->run_tail = NULL;
  pthread_mutex_unlock(&q->mu);
}

void ingest_free(ingest_t *q) {
  if (!q) return;
  for (ingest_job_t *j = q->done_head, *next; j; j = next) {
    next = j->next;
    ingest_job_free(j);
  }
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->work);
  free(q);
}

int ingest_submit(ingest_t *q, worker_conn_t *c, const frame_header_t *h, const uint8_t *payload,
                  const seal_dir_t *rx) {
  ingest_job_t *j = malloc(sizeof *j + h->length);
  if (!j) return -1;
  memset(j, 0, sizeof *j);
  j->c = c;
  j->h = *h;
  j->bytes = h->length;
  if (rx) {
    j->sealed = 1;
    j->rx = *rx;
  }
  memcpy(j->data, payload, h->length);
  ingest_conn_t *ic = &c->ingest;
  ic->inflight++;
  ic->inflight_bytes += j->bytes;
  pthread_mutex_lock(&q->mu);
  if (q->stop || ic->failed) { /* will not be processed: straight back */
    j->dropped = 1;
    done_append(q, j, j);
  } else {
    if (ic->tail)
      ic->tail->next = j;
    else
      ic->head = j;
    ic->tail = j;
    if (!ic->scheduled) {
      ic->scheduled = 1;
      run_push(q, ic);
      q->kicks++;
    }
  }
  pthread_mutex_unlock(&q->mu);
  return 0;
}

void ingest_kick(ingest_t *q) {
  if (!q || !q->kicks) return;
  int k = q->kicks < q->n ? q->kicks : q->n;
  q->kicks = 0;
  for (int i = 0; i < k; i++) pthread_cond_signal(&q->work); /* a no-op without waiters */
}

int ingest_conn_full(const worker_conn_t *c) {
  const ingest_conn_t *ic = &c->ingest;
  return ic->inflight >= INGEST_CONN_FRAMES ||
         (ic->inflight && ic->inflight_bytes >= INGEST_CONN_BYTES);
}

ingest_job_t *ingest_take_done(ingest_t *q) {
  pthread_mutex_lock(&q->mu);
  ingest_job_t *j = q->done_head;
  q->done_head = q->done_tail = NULL;
  pthread_mutex_unlock(&q->mu);
  return j;
}
