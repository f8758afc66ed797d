/* trainer: the trainer thread (DQN updates under the replay rate limit, weights snapshots)
 * and the eval thread (greedy evaluation of the newest snapshot). Neither touches a socket:
 * they wake the net thread with uv_async_send. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "learner.h"
#include "log.h"

static void *trainer_thread(void *arg) {
  learner_t *L = arg;
  nn_flush_denormals();
  size_t B = (size_t)L->cfg.batch_size, od = (size_t)L->pol.obs_dim, ad = (size_t)L->pol.act_dim;
  float *obs = malloc(B * od * sizeof(float)), *next = malloc(B * od * sizeof(float));
  float *act = malloc(B * ad * sizeof(float)), *rew = malloc(B * sizeof(float));
  float *term = malloc(B * sizeof(float));
  if (!obs || !next || !act || !rew || !term) {
    LOG_E("trainer", "out of memory for batch buffers");
    atomic_store(&L->stop, 1);
    goto out;
  }
  long publish = (long)L->cfg.publish_interval;
  while (!atomic_load(&L->stop)) {
    if (replay_sample_wait(&L->replay, &L->trainer_rng, B, obs, act, rew, next, term, 100) != 0)
      continue;
    algo_batch_t batch = {obs, act, rew, next, term};
    algo_stats_t st;
    L->algo->update(L->algo_state, &batch, &st);
    float loss = st.loss, mean_q = st.mean_q;
    long updates = st.updates;
    pthread_mutex_lock(&L->mu);
    L->updates = (uint64_t)updates;
    L->loss_ema = L->updates == 1 ? loss : 0.99 * L->loss_ema + 0.01 * loss;
    L->q_ema = L->updates == 1 ? mean_q : 0.99 * L->q_ema + 0.01 * mean_q;
    if (L->algo->status_fields)
      L->n_algo_fields = L->algo->status_fields(L->algo_state, L->algo_fields);
    pthread_mutex_unlock(&L->mu);
    if (L->cfg.checkpoint_interval_s > 0 && L->out_dir[0]) {
      double now = learner_now();
      if (now - L->last_checkpoint_at >= L->cfg.checkpoint_interval_s) {
        L->last_checkpoint_at = now;
        learner_save_state(L);
      }
    }
    int publish_now = updates % publish == 0;
    if (publish_now) snapshot_publish(&L->snap, L->w.online, L->w.target, (uint64_t)updates);
    /* New weights to broadcast, or room in replay for the credit the net thread withheld. */
    if (publish_now || flow_wake_due((uint64_t)updates)) uv_async_send(&L->wake);
  }
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
  size_t n = L->w.n;
  float *params = malloc(n * sizeof(float));
  if (!params) {
    LOG_E("eval", "out of memory");
    return NULL;
  }
  for (;;) {
    pthread_mutex_lock(&L->mu);
    for (;;) {
      if (atomic_load(&L->stop) || L->solved) break; /* solved: nothing left to find out */
      int due = L->cfg.eval_interval > 0 && L->env_steps >= L->next_eval_at;
      if (due || L->final_eval_requested) break;
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 100000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&L->eval_cv, &L->mu, &ts);
    }
    if (atomic_load(&L->stop) || L->solved) {
      pthread_mutex_unlock(&L->mu);
      break;
    }
    int final = L->final_eval_requested;
    uint64_t at = L->env_steps;
    if (L->cfg.eval_interval > 0)
      while (L->next_eval_at <= at) L->next_eval_at += (uint64_t)L->cfg.eval_interval;
    L->eval_running = 1;
    pthread_mutex_unlock(&L->mu);

    snapshot_copy_online(&L->snap, params);
    eval_result_t r;
    char err[256];
    int rc = eval_policy(L->cfg.env, L->algo, &L->pol, params, (int)L->cfg.eval_episodes,
                         (uint64_t)L->cfg.eval_seed, &r, err, sizeof err);
    pthread_mutex_lock(&L->mu);
    L->eval_running = 0;
    if (rc == 0) {
      L->eval = r;
      L->eval_at_steps = at;
      L->have_eval = 1;
      memcpy(L->eval_params, params, n * sizeof(float));
      if (r.mean >= L->threshold && !L->solved) {
        L->solved = 1;
        L->solved_at_steps = at;
        L->solved_eval = r;
        memcpy(L->solved_params, params, n * sizeof(float));
      }
    } else {
      LOG_E("eval", "%s", err);
    }
    if (final) {
      L->final_eval_requested = 0;
      L->final_eval_done = 1;
    }
    pthread_mutex_unlock(&L->mu);
    if (rc == 0)
      LOG_I("eval", "greedy eval at %llu env steps: %.2f +- %.2f over %d episodes",
            (unsigned long long)at, r.mean, r.std, r.episodes);
    uv_async_send(&L->wake);
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
  pthread_mutex_lock(&L->mu);
  pthread_cond_broadcast(&L->eval_cv);
  pthread_mutex_unlock(&L->mu);
  pthread_join(L->trainer, NULL);
  pthread_join(L->evaluator, NULL);
  L->threads_started = 0;
}
