/* reval: evaluations played by the workers (reval.h). reval_run runs on the eval thread; the
 * rest on the net thread, which alone touches the job it took (active, w, shares, returns). */
#include "reval.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learner.h"
#include "log.h"
#include "wire.h"

int reval_init(reval_t *r) {
  memset(r, 0, sizeof *r);
  if (pthread_mutex_init(&r->mu, NULL) != 0) return -1;
  if (pthread_cond_init(&r->cv, NULL) != 0) {
    pthread_mutex_destroy(&r->mu);
    return -1;
  }
  return 0;
}

void reval_free(reval_t *r) {
  free(r->w);
  free(r->shares);
  free(r->returns);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  memset(r, 0, sizeof *r);
}

static void wait_100ms(pthread_cond_t *cv, pthread_mutex_t *mu) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 100000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(cv, mu, &ts);
}

int reval_run(learner_t *L, const float *params, uint64_t version, solve_seeds_t seeds,
              eval_result_t *out, char *err, size_t errlen) {
  reval_t *r = &L->reval;
  if (seeds.count < 1 || seeds.count > WIRE_MAX_EVAL_EPISODES) {
    snprintf(err, errlen, "eval: %llu episodes, the workers play 1..%d per evaluation",
             (unsigned long long)seeds.count, WIRE_MAX_EVAL_EPISODES);
    return EVAL_ERROR;
  }
  double *returns = malloc((size_t)seeds.count * sizeof *returns);
  if (!returns) {
    snprintf(err, errlen, "eval: out of memory");
    return EVAL_ERROR;
  }
  pthread_mutex_lock(&r->mu);
  r->posted = 1;
  r->taken = r->finished = r->abandoned = 0;
  r->params = params;
  r->version = version;
  r->seeds = seeds;
  r->out_returns = returns;
  pthread_mutex_unlock(&r->mu);
  uv_async_send(&L->net.wake);
  pthread_mutex_lock(&r->mu);
  int stopped = 0;
  while (!r->finished) {
    if (atomic_load(&L->stop)) { /* the net thread drops the job at its next poll */
      r->abandoned = 1;
      stopped = 1;
      break;
    }
    wait_100ms(&r->cv, &r->mu);
  }
  int rc = stopped ? EVAL_ABORTED : r->rc;
  long steps = r->out_steps;
  if (!stopped && rc != EVAL_OK) snprintf(err, errlen, "%s", r->err);
  r->posted = 0;
  r->finished = 0;
  r->params = NULL;
  r->out_returns = NULL;
  pthread_mutex_unlock(&r->mu);
  if (stopped) snprintf(err, errlen, "eval: stopped while the workers played it");
  if (rc == EVAL_OK) eval_summarize(returns, (int)seeds.count, steps, out);
  free(returns);
  return rc;
}

/* --- net thread ------------------------------------------------------------------------- */

static worker_conn_t *conn_by_id(learner_t *L, uint32_t id) {
  for (worker_conn_t *c = L->net.conns; c; c = c->next)
    if (c->id == id && c->state == CONN_ACTIVE) return c;
  return NULL;
}

static int n_evaluators(const learner_t *L) {
  int n = 0;
  for (const worker_conn_t *c = L->net.conns; c; c = c->next)
    n += c->state == CONN_ACTIVE && c->evaluates;
  return n;
}

/* Ends the job taken: hands the answer (or the failure) to the eval thread unless it gave up.
 * Workers still playing a share of it answer late, which is ignored. */
static void job_end(learner_t *L, int rc, const char *why) {
  reval_t *r = &L->reval;
  pthread_mutex_lock(&r->mu);
  if (r->posted && r->taken && !r->abandoned) {
    if (rc == EVAL_OK)
      memcpy(r->out_returns, r->returns, (size_t)r->seeds.count * sizeof *r->returns);
    r->out_steps = r->steps;
    r->rc = rc;
    snprintf(r->err, sizeof r->err, "%s", why ? why : "");
    r->finished = 1;
    pthread_cond_signal(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  r->active = 0;
  for (worker_conn_t *c = L->net.conns; c; c = c->next)
    if (c->eval_assign) {
      c->eval_late = c->eval_assign;
      c->eval_assign = 0;
    }
}

/* Takes a posted job: copies the weights and splits the seeds into one contiguous share per
 * worker that evaluates (at least one share, at most one per episode). 0, or -1 (none). */
static int take(learner_t *L) {
  reval_t *r = &L->reval;
  size_t n = L->tr.w.n;
  pthread_mutex_lock(&r->mu);
  int have = r->posted && !r->taken && !r->abandoned;
  solve_seeds_t seeds = r->seeds;
  if (have && r->n_params != n) {
    free(r->w);
    r->w = malloc(n * sizeof *r->w);
    r->n_params = r->w ? n : 0;
  }
  if (have && r->w) {
    memcpy(r->w, r->params, n * sizeof *r->w);
    r->w_version = r->version;
    r->taken = 1;
  }
  pthread_mutex_unlock(&r->mu);
  if (!have) return -1;
  if (!r->w) {
    r->active = 1; /* so job_end answers */
    job_end(L, EVAL_ERROR, "eval: out of memory for the weights");
    return -1;
  }
  int e = n_evaluators(L);
  int parts = e < 1 ? 1 : (uint64_t)e > seeds.count ? (int)seeds.count : e;
  free(r->shares);
  free(r->returns);
  r->shares = calloc((size_t)parts, sizeof *r->shares);
  r->returns = calloc((size_t)seeds.count, sizeof *r->returns);
  r->active = 1;
  if (!r->shares || !r->returns) {
    job_end(L, EVAL_ERROR, "eval: out of memory for the shares");
    return -1;
  }
  r->n_shares = parts;
  r->steps = 0;
  double now = learner_now();
  uint32_t at = 0, count = (uint32_t)seeds.count;
  for (int i = 0; i < parts; i++) {
    reval_share_t *s = &r->shares[i];
    uint32_t k = count / (uint32_t)parts + ((uint32_t)i < count % (uint32_t)parts);
    s->first = seeds.first + at;
    s->count = k;
    s->at = at;
    s->since = now;
    at += k;
  }
  LOG_D("eval", "evaluating weights %llu on seeds %llu..%llu: %d share(s) over %d worker(s)",
        (unsigned long long)r->w_version, (unsigned long long)seeds.first,
        (unsigned long long)(seeds.first + seeds.count - 1), parts, e);
  return 0;
}

static int send_share(learner_t *L, worker_conn_t *c, int i) {
  reval_t *r = &L->reval;
  reval_share_t *s = &r->shares[i];
  Rlserve__EvalRequest m = RLSERVE__EVAL_REQUEST__INIT;
  m.eval_id = ++r->next_id;
  m.weights_version = r->w_version;
  m.n_params = (uint32_t)r->n_params;
  m.online.data = (uint8_t *)r->w; /* little-endian host (common/f32le.h) */
  m.online.len = r->n_params * sizeof *r->w;
  m.seed_first = s->first;
  m.count = s->count;
  size_t len;
  uint8_t *f = wire_encode(FRAME_EVAL, &m.base, &len);
  if (!f) return -1;
  s->assign_id = m.eval_id;
  s->conn_id = c->id;
  s->assigned = 1;
  s->attempts++;
  s->since = learner_now();
  c->eval_assign = m.eval_id;
  c->eval_share = i;
  return net_send_frame(c, f, len); /* on failure conn_close gave the share back */
}

/* Hands each unassigned share to an idle worker that evaluates. 0, or -1 when the job ended. */
static int dispatch(learner_t *L) {
  reval_t *r = &L->reval;
  char why[256];
  for (int i = 0; r->active && i < r->n_shares; i++) {
    reval_share_t *s = &r->shares[i];
    if (s->done || s->assigned) continue;
    if (s->attempts >= REVAL_MAX_ASSIGN) {
      snprintf(why, sizeof why,
               "eval: seeds %llu..%llu were given to %d workers and none answered; this "
               "evaluation is dropped",
               (unsigned long long)s->first, (unsigned long long)(s->first + s->count - 1),
               s->attempts);
      job_end(L, EVAL_ERROR, why);
      return -1;
    }
    worker_conn_t *idle = NULL;
    for (worker_conn_t *c = L->net.conns; c && !idle; c = c->next)
      if (c->state == CONN_ACTIVE && c->evaluates && !c->eval_assign && !c->eval_late)
        idle = c; /* eval_late: still playing a share taken from it; a second EVAL is an error */
    if (!idle) return 0;
    send_share(L, idle, i);
  }
  return 0;
}

void reval_poll(learner_t *L) {
  reval_t *r = &L->reval;
  if (!L->run.worker_env || !learner_built(L)) return;
  pthread_mutex_lock(&r->mu);
  int abandoned = r->abandoned;
  pthread_mutex_unlock(&r->mu);
  if (r->active && abandoned) job_end(L, EVAL_ABORTED, "stopped");
  if (!r->active && take(L) != 0) return;
  double now = learner_now(), limit = L->run.cfg.eval_timeout_s;
  char why[256];
  for (int i = 0; r->active && i < r->n_shares; i++) {
    reval_share_t *s = &r->shares[i];
    if (s->done || now - s->since <= limit) continue;
    if (!s->assigned) {
      snprintf(why, sizeof why,
               "eval: no worker that evaluates took seeds %llu..%llu within eval_timeout_s = %g; "
               "this evaluation is dropped",
               (unsigned long long)s->first, (unsigned long long)(s->first + s->count - 1), limit);
      job_end(L, EVAL_ERROR, why);
      return;
    }
    worker_conn_t *c = conn_by_id(L, s->conn_id);
    LOG_W("eval",
          "worker %u did not answer its evaluation share (seeds %llu..%llu) within "
          "eval_timeout_s = %g; it goes to another worker",
          s->conn_id, (unsigned long long)s->first, (unsigned long long)(s->first + s->count - 1),
          limit);
    if (c && c->eval_assign == s->assign_id) {
      c->eval_late = c->eval_assign;
      c->eval_assign = 0;
    }
    s->assigned = 0;
    s->since = now;
  }
  if (r->active) dispatch(L);
}

void reval_conn_gone(worker_conn_t *c) {
  learner_t *L = c->L;
  reval_t *r = &L->reval;
  if (!c->eval_assign || !r->active) return;
  for (int i = 0; i < r->n_shares; i++) {
    reval_share_t *s = &r->shares[i];
    if (!s->assigned || s->assign_id != c->eval_assign) continue;
    LOG_W("eval",
          "worker %u left while playing seeds %llu..%llu of an evaluation; they go to "
          "another worker",
          c->id, (unsigned long long)s->first, (unsigned long long)(s->first + s->count - 1));
    s->assigned = 0;
    s->since = learner_now();
  }
  c->eval_assign = 0;
  if (!L->net.finishing) uv_async_send(&L->net.wake); /* reval_poll reassigns it */
}

int reval_handle_result(worker_conn_t *c, const uint8_t *p, size_t len, char *err, size_t errlen) {
  learner_t *L = c->L;
  reval_t *r = &L->reval;
  if (!L->run.worker_env)
    return snprintf(err, errlen, "unexpected EVAL_RESULT frame: this learner evaluates itself"), -1;
  Rlserve__EvalResult *m;
  if (wire_decode_eval_result(p, len, &m, err, errlen) != 0) return -1;
  int rc = 0;
  if (m->eval_id && m->eval_id == c->eval_late) { /* a share taken from it on a timeout */
    LOG_I("eval", "worker %u: late answer to evaluation share #%llu ignored", c->id,
          (unsigned long long)m->eval_id);
    c->eval_late = 0; /* free for the next share */
    if (r->active) dispatch(L);
    goto out;
  }
  if (!r->active || !c->eval_assign || m->eval_id != c->eval_assign || c->eval_share < 0 ||
      c->eval_share >= r->n_shares || r->shares[c->eval_share].assign_id != m->eval_id) {
    snprintf(err, errlen, "eval result #%llu: this worker was not asked for it (%s #%llu)",
             (unsigned long long)m->eval_id, c->eval_assign ? "it plays" : "last asked",
             (unsigned long long)(c->eval_assign ? c->eval_assign : c->eval_late));
    rc = -1;
    goto out;
  }
  reval_share_t *s = &r->shares[c->eval_share];
  if (m->seed_first != s->first || m->n_returns != s->count) {
    snprintf(
        err, errlen,
        "eval result #%llu: %zu returns from seed %llu, but it was asked for %u from seed %llu",
        (unsigned long long)m->eval_id, m->n_returns, (unsigned long long)m->seed_first, s->count,
        (unsigned long long)s->first);
    rc = -1;
    goto out;
  }
  long steps = 0;
  for (size_t i = 0; i < m->n_returns; i++) {
    r->returns[s->at + i] = m->returns[i];
    steps += (long)m->lengths[i];
  }
  r->steps += steps;
  s->done = 1;
  s->assigned = 0;
  c->eval_assign = 0;
  int all = 1;
  for (int i = 0; i < r->n_shares; i++) all &= r->shares[i].done;
  if (all)
    job_end(L, EVAL_OK, NULL);
  else
    dispatch(L);
out:
  rlserve__eval_result__free_unpacked(m, NULL);
  return rc;
}
