/* trainer: the trainer thread (DQN updates under the replay rate limit, weights snapshots)
 * and the eval thread (greedy evaluation of the newest snapshot on fresh seeds, and the
 * confirmation that decides "solved": server/algo/solve.h). Neither touches a socket:
 * they wake the net thread with uv_async_send. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow.h"
#include "gemm.h"
#include "guard.h"
#include "learner.h"
#include "log.h"

#define SKIP_LOG_INTERVAL_S 5.0 /* skipped updates are logged at most this often */

/* A skipped update: counted, and logged (the first at once, then at most every
 * SKIP_LOG_INTERVAL_S with the count since). */
static void note_skip(learner_t *L, long updates, const char *why, double *last_log,
                      uint64_t *unlogged) {
  pthread_mutex_lock(&L->sh.mu);
  uint64_t total = ++L->sh.updates_skipped;
  pthread_mutex_unlock(&L->sh.mu);
  (*unlogged)++;
  double now = learner_now();
  if (*last_log > 0 && now - *last_log < SKIP_LOG_INTERVAL_S) return;
  LOG_W("trainer",
        "update %ld skipped: %s after the batch (non-finite); the last good state is kept "
        "(%llu skipped since the last message, %llu in all)",
        updates + 1, why, (unsigned long long)*unlogged, (unsigned long long)total);
  *last_log = now;
  *unlogged = 0;
}

/* Threads that split each update (gemm_set_pool: a dense network's whole update by units,
 * common/nnpar.h; a conv network's matrix products, gemm.h): trainer_threads, or for 0
 * the cores this process may run on minus the workers `rlserve run` starts beside the
 * learner (config `workers`), at least 1 and at most 64. A learner whose workers run on other
 * hosts sets trainer_threads to its own cores. */
static int trainer_threads(const config_t *c) {
  if (c->trainer_threads > 0) return (int)c->trainer_threads;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
#endif
  long t = cores - (long)c->workers;
  return t < 1 ? 1 : t > 64 ? 64 : (int)t;
}

static void *trainer_thread(void *arg) {
  learner_t *L = arg;
  nn_flush_denormals();
  int n_threads = trainer_threads(&L->run.cfg);
  tpool_t *pool = n_threads > 1 ? tpool_create(n_threads, nn_flush_denormals) : NULL;
  if (n_threads > 1 && !pool) {
    LOG_W("trainer", "cannot start %d trainer threads; each update runs on one", n_threads);
    n_threads = 1;
  }
  gemm_set_pool(pool);
  LOG_I("trainer", "%d thread(s) per update (trainer_threads = %lld%s)", n_threads,
        (long long)L->run.cfg.trainer_threads,
        L->run.cfg.trainer_threads ? "" : ": the cores minus the local workers");
  size_t B = (size_t)L->run.cfg.batch_size, od = (size_t)L->run.pol.obs_dim,
         ad = (size_t)L->run.pol.act_dim;
  replay_sample_t smp = {0};
  float *td = malloc(B * sizeof(float));
  if (replay_sample_alloc(&smp, B, od, ad) != 0 || !td) {
    LOG_E("trainer", "out of memory for batch buffers");
    atomic_store(&L->stop, 1);
    goto out;
  }
  algo_state_view_t view;
  L->run.algo->state_view(L->tr.algo_state, &view);
  guard_t guard;
  char why[256];
  if (guard_init(&guard, &view, why, sizeof why) != 0) {
    LOG_E("trainer", "cannot train from this state: %s", why);
    atomic_store(&L->stop, 1);
    goto out;
  }
  long publish = (long)L->run.cfg.publish_interval;
  int saved = 0; /* the first update saves at once: a run is resumable from its first seconds */
  uint64_t batches = 0, unlogged = 0;
  double last_skip_log = 0;
  while (!atomic_load(&L->stop)) {
    if (replay_sample_ext(&L->replay, &L->tr.rng, B, &smp, 100) != 0) continue;
    /* Rows that cannot use disc, weight and td get the one-step batch they always had. */
    algo_batch_t batch = {smp.obs, smp.act, smp.rew, smp.next_obs, smp.term, NULL, NULL, NULL};
    if (L->run.algo->per) {
      batch.disc = smp.disc;
      batch.weight = L->replay.prioritized ? smp.weight : NULL;
      batch.td = L->replay.prioritized ? td : NULL;
    }
    algo_stats_t st;
    long before = *view.steps[0];
    L->run.algo->update(L->tr.algo_state, &batch, &st);
    batches++;
    if (guard_commit_pool(&guard, st.loss, st.mean_q, why, sizeof why, pool) != 0) {
      note_skip(L, before, why, &last_skip_log, &unlogged);
      /* The net thread still needs its wake-ups to pay withheld credit. */
      if (flow_wake_due(batches)) uv_async_send(&L->net.wake);
      continue;
    }
    if (st.td_filled) replay_update_priorities(&L->replay, smp.id, td, B);
    float loss = st.loss, mean_q = st.mean_q;
    long updates = st.updates;
    pthread_mutex_lock(&L->sh.mu);
    L->sh.updates = (uint64_t)updates;
    L->sh.loss_ema = L->sh.updates == 1 ? loss : 0.99 * L->sh.loss_ema + 0.01 * loss;
    L->sh.q_ema = L->sh.updates == 1 ? mean_q : 0.99 * L->sh.q_ema + 0.01 * mean_q;
    if (L->run.algo->status_fields)
      L->sh.n_algo_fields = L->run.algo->status_fields(L->tr.algo_state, L->sh.algo_fields);
    pthread_mutex_unlock(&L->sh.mu);
    if (L->run.cfg.checkpoint_interval_s > 0 && L->run.out_dir[0]) {
      double now = learner_now();
      if (!saved || now - L->tr.last_checkpoint_at >= L->run.cfg.checkpoint_interval_s) {
        saved = 1;
        L->tr.last_checkpoint_at = now;
        learner_save_state(L);
      }
    }
    int publish_now = updates % publish == 0;
    if (publish_now) snapshot_publish_pair(&L->snap, L->tr.w.online, L->tr.w.target);
    /* New weights to broadcast, or room in replay for the credit the net thread withheld. */
    if (publish_now || flow_wake_due(batches)) uv_async_send(&L->net.wake);
  }
  guard_free(&guard);
out:
  gemm_set_pool(NULL);
  tpool_destroy(pool);
  replay_sample_free(&smp);
  free(td);
  return NULL;
}

/* Waits under sh.mu until an evaluation is due or asked for; 0 with the evaluation claimed
 * (eval_running set, the next one scheduled, fresh seeds taken), or -1 when the thread is
 * to end (stop or solved). */
static int eval_claim(learner_t *L, int *final, uint64_t *at, solve_seeds_t *seeds) {
  const config_t *c = &L->run.cfg;
  pthread_mutex_lock(&L->sh.mu);
  for (;;) {
    if (atomic_load(&L->stop) || L->sh.solved) { /* solved: nothing left to find out */
      pthread_mutex_unlock(&L->sh.mu);
      return -1;
    }
    int due = c->eval_interval > 0 && L->sh.env_steps >= L->sh.next_eval_at;
    if (due || L->sh.final_eval_requested) break;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&L->sh.eval_cv, &L->sh.mu, &ts);
  }
  *final = L->sh.final_eval_requested;
  *at = L->sh.env_steps;
  if (c->eval_interval > 0 && L->sh.next_eval_at <= *at) {
    /* The first of next_eval_at + k * interval past `at`: in O(1), saturating, never wrapping
     * (a loop of additions that wraps never ends, and it holds the lock). */
    uint64_t iv = (uint64_t)c->eval_interval, k = (*at - L->sh.next_eval_at) / iv + 1;
    uint64_t room = UINT64_MAX - L->sh.next_eval_at;
    L->sh.next_eval_at = k <= room / iv ? L->sh.next_eval_at + k * iv : UINT64_MAX;
  }
  L->sh.eval_running = 1;
  *seeds =
      solve_next_seeds((uint64_t)c->eval_seed, &L->sh.eval_seed_cursor, (uint64_t)c->eval_episodes);
  pthread_mutex_unlock(&L->sh.mu);
  return 0;
}

/* One greedy evaluation of params on the given seeds; stops early when the learner stops. */
static int eval_run(learner_t *L, const float *params, solve_seeds_t seeds, eval_result_t *r) {
  char err[256];
  int rc = L->run.worker_env /* the env lives in the workers: they play it (reval.h) */
               ? reval_run(L, params, snapshot_version(&L->snap), seeds, r, err, sizeof err)
               : eval_policy(L->run.cfg.env, L->run.algo, &L->run.pol, params, (int)seeds.count,
                             seeds.first, &L->stop, r, err, sizeof err);
  if (rc != EVAL_OK && rc != EVAL_ABORTED) LOG_E("eval", "%s", err);
  return rc;
}

/* Records a regular evaluation; its verdict, and the confirmation's seeds when it asks for one. */
static solve_verdict_t eval_record(learner_t *L, const float *params, uint64_t at,
                                   solve_seeds_t seeds, const eval_result_t *r,
                                   solve_seeds_t *confirm_seeds) {
  pthread_mutex_lock(&L->sh.mu);
  L->sh.eval = *r;
  L->sh.eval_seeds = seeds;
  L->sh.eval_at_steps = at;
  L->sh.have_eval = 1;
  L->sh.n_evals++;
  memcpy(L->sh.eval_params, params, L->tr.w.n * sizeof(float));
  solve_verdict_t v = solve_judge(r->mean, L->run.threshold, 0);
  if (v == SOLVE_CONFIRM)
    *confirm_seeds = solve_next_seeds((uint64_t)L->run.cfg.eval_seed, &L->sh.eval_seed_cursor,
                                      (uint64_t)L->run.cfg.confirm_episodes);
  pthread_mutex_unlock(&L->sh.mu);
  LOG_I("eval", "greedy eval at %llu env steps: %.2f +- %.2f over %d episodes (seeds %llu..%llu)%s",
        (unsigned long long)at, r->mean, r->std, r->episodes, (unsigned long long)seeds.first,
        (unsigned long long)(seeds.first + seeds.count - 1),
        v == SOLVE_CONFIRM ? ": meets the threshold, confirming on fresh seeds" : "");
  return v;
}

/* The confirmation of weights whose evaluation r met the threshold: the run is solved only when
 * it meets the threshold too; otherwise training goes on. */
static void eval_confirm(learner_t *L, const float *params, uint64_t at, solve_seeds_t seeds,
                         const eval_result_t *r, solve_seeds_t cseeds) {
  eval_result_t c;
  if (eval_run(L, params, cseeds, &c) != EVAL_OK) return;
  pthread_mutex_lock(&L->sh.mu);
  L->sh.confirm = c;
  L->sh.confirm_seeds = cseeds;
  L->sh.confirm_at_steps = at;
  L->sh.have_confirm = 1;
  L->sh.n_confirms++;
  int solved = solve_judge(c.mean, L->run.threshold, 1) == SOLVE_SOLVED;
  if (solved) {
    L->sh.solved = 1;
    L->sh.solved_at_steps = at;
    L->sh.solved_eval = *r;
    L->sh.solved_seeds = seeds;
    memcpy(L->sh.solved_params, params, L->tr.w.n * sizeof(float));
  }
  pthread_mutex_unlock(&L->sh.mu);
  LOG_I("eval",
        "confirmation at %llu env steps: %.2f +- %.2f over %d episodes (seeds %llu..%llu): %s",
        (unsigned long long)at, c.mean, c.std, c.episodes, (unsigned long long)cseeds.first,
        (unsigned long long)(cseeds.first + cseeds.count - 1),
        solved ? "confirmed, solved" : "below the threshold, training goes on");
}

static void *eval_thread(void *arg) {
  learner_t *L = arg;
  nn_flush_denormals();
  float *params = malloc(L->tr.w.n * sizeof(float));
  if (!params) {
    LOG_E("eval", "out of memory");
    return NULL;
  }
  int final;
  uint64_t at;
  solve_seeds_t seeds, cseeds;
  while (eval_claim(L, &final, &at, &seeds) == 0) {
    snapshot_copy_online(&L->snap, params);
    eval_result_t r;
    if (eval_run(L, params, seeds, &r) == EVAL_OK &&
        eval_record(L, params, at, seeds, &r, &cseeds) == SOLVE_CONFIRM)
      eval_confirm(L, params, at, seeds, &r, cseeds);
    pthread_mutex_lock(&L->sh.mu);
    L->sh.eval_running = 0;
    if (final) {
      L->sh.final_eval_requested = 0;
      L->sh.final_eval_done = 1;
    }
    pthread_mutex_unlock(&L->sh.mu);
    uv_async_send(&L->net.wake);
  }
  free(params);
  return NULL;
}

int trainer_start(learner_t *L, char *err, size_t errlen) {
  if (pthread_create(&L->trainer, NULL, trainer_thread, L) != 0) {
    snprintf(err, errlen, "cannot start the trainer thread");
    return -1;
  }
  if (pthread_create(&L->evaluator, NULL, eval_thread, L) != 0) {
    atomic_store(&L->stop, 1);
    replay_close(&L->replay);
    pthread_join(L->trainer, NULL);
    snprintf(err, errlen, "cannot start the eval thread");
    return -1;
  }
  L->threads_started = 1;
  return 0;
}

void trainer_join(learner_t *L) {
  if (!L->threads_started) return;
  atomic_store(&L->stop, 1);
  replay_close(&L->replay);
  pthread_mutex_lock(&L->sh.mu);
  pthread_cond_broadcast(&L->sh.eval_cv);
  pthread_mutex_unlock(&L->sh.mu);
  pthread_join(L->trainer, NULL);
  pthread_join(L->evaluator, NULL);
  L->threads_started = 0;
}
