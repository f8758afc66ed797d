/* trainer: the trainer thread (DQN updates under the replay rate limit, weights snapshots)
 * and the eval thread (greedy evaluation of the newest snapshot). Neither touches a socket:
 * they wake the net thread with uv_async_send. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
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

static void *trainer_thread(void *arg) {
  learner_t *L = arg;
  nn_flush_denormals();
  size_t B = (size_t)L->run.cfg.batch_size, od = (size_t)L->run.pol.obs_dim,
         ad = (size_t)L->run.pol.act_dim;
  float *obs = malloc(B * od * sizeof(float)), *next = malloc(B * od * sizeof(float));
  float *act = malloc(B * ad * sizeof(float)), *rew = malloc(B * sizeof(float));
  float *term = malloc(B * sizeof(float));
  if (!obs || !next || !act || !rew || !term) {
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
  uint64_t batches = 0, unlogged = 0;
  double last_skip_log = 0;
  while (!atomic_load(&L->stop)) {
    if (replay_sample_wait(&L->replay, &L->tr.rng, B, obs, act, rew, next, term, 100) != 0)
      continue;
    algo_batch_t batch = {obs, act, rew, next, term};
    algo_stats_t st;
    long before = *view.steps[0];
    L->run.algo->update(L->tr.algo_state, &batch, &st);
    batches++;
    if (guard_commit(&guard, st.loss, st.mean_q, why, sizeof why) != 0) {
      note_skip(L, before, why, &last_skip_log, &unlogged);
      /* The net thread still needs its wake-ups to pay withheld credit. */
      if (flow_wake_due(batches)) uv_async_send(&L->net.wake);
      continue;
    }
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
      if (now - L->tr.last_checkpoint_at >= L->run.cfg.checkpoint_interval_s) {
        L->tr.last_checkpoint_at = now;
        learner_save_state(L);
      }
    }
    int publish_now = updates % publish == 0;
    if (publish_now) snapshot_publish(&L->snap, L->tr.w.online, L->tr.w.target, (uint64_t)updates);
    /* New weights to broadcast, or room in replay for the credit the net thread withheld. */
    if (publish_now || flow_wake_due(batches)) uv_async_send(&L->net.wake);
  }
  guard_free(&guard);
out:
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(term);
  return NULL;
}

static void *eval_thread(void *arg) {
  learner_t *L = arg;
  nn_flush_denormals();
  size_t n = L->tr.w.n;
  float *params = malloc(n * sizeof(float));
  if (!params) {
    LOG_E("eval", "out of memory");
    return NULL;
  }
  for (;;) {
    pthread_mutex_lock(&L->sh.mu);
    for (;;) {
      if (atomic_load(&L->stop) || L->sh.solved) break; /* solved: nothing left to find out */
      int due = L->run.cfg.eval_interval > 0 && L->sh.env_steps >= L->sh.next_eval_at;
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
    if (atomic_load(&L->stop) || L->sh.solved) {
      pthread_mutex_unlock(&L->sh.mu);
      break;
    }
    int final = L->sh.final_eval_requested;
    uint64_t at = L->sh.env_steps;
    if (L->run.cfg.eval_interval > 0 && L->sh.next_eval_at <= at) {
      /* The first of next_eval_at + k * interval past `at`: in O(1), saturating, never wrapping
       * (a loop of additions that wraps never ends, and it holds the lock). */
      uint64_t iv = (uint64_t)L->run.cfg.eval_interval, k = (at - L->sh.next_eval_at) / iv + 1;
      uint64_t room = UINT64_MAX - L->sh.next_eval_at;
      L->sh.next_eval_at = k <= room / iv ? L->sh.next_eval_at + k * iv : UINT64_MAX;
    }
    L->sh.eval_running = 1;
    pthread_mutex_unlock(&L->sh.mu);

    snapshot_copy_online(&L->snap, params);
    eval_result_t r;
    char err[256];
    int rc =
        eval_policy(L->run.cfg.env, L->run.algo, &L->run.pol, params, (int)L->run.cfg.eval_episodes,
                    (uint64_t)L->run.cfg.eval_seed, &r, err, sizeof err);
    pthread_mutex_lock(&L->sh.mu);
    L->sh.eval_running = 0;
    if (rc == 0) {
      L->sh.eval = r;
      L->sh.eval_at_steps = at;
      L->sh.have_eval = 1;
      memcpy(L->sh.eval_params, params, n * sizeof(float));
      if (r.mean >= L->run.threshold && !L->sh.solved) {
        L->sh.solved = 1;
        L->sh.solved_at_steps = at;
        L->sh.solved_eval = r;
        memcpy(L->sh.solved_params, params, n * sizeof(float));
      }
    } else {
      LOG_E("eval", "%s", err);
    }
    if (final) {
      L->sh.final_eval_requested = 0;
      L->sh.final_eval_done = 1;
    }
    pthread_mutex_unlock(&L->sh.mu);
    if (rc == 0)
      LOG_I("eval", "greedy eval at %llu env steps: %.2f +- %.2f over %d episodes",
            (unsigned long long)at, r.mean, r.std, r.episodes);
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
