#include "dqn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "gemm.h"
#include "nnpar.h"
#include "policy.h"
#include "tbatch.h"

int dqn_init(dqn_t *d, const config_t *c, int obs_dim, int n_actions, rng_t *rng, char *err,
             size_t errlen) {
  return dqn_init_shaped(d, c, obs_dim, NULL, n_actions, rng, err, errlen);
}

int dqn_init_shaped(dqn_t *d, const config_t *c, int obs_dim, const int *obs_shape, int n_actions,
                    rng_t *rng, char *err, size_t errlen) {
  memset(d, 0, sizeof *d);
  char why[400];
  if (policy_net_layout(&d->layout, c, obs_dim, obs_shape, n_actions, NN_IDENTITY, c->dueling, why,
                        sizeof why) != 0) {
    snprintf(err, errlen, "dqn: %s", why);
    return -1;
  }
  size_t n = d->layout.n_params;
  d->batch = (int)c->batch_size;
  d->obs_dim = obs_dim;
  d->n_actions = n_actions;
  d->gamma = (float)c->gamma;
  d->huber_delta = (float)c->huber_delta;
  d->grad_clip = (float)c->grad_clip;
  d->tau = (float)c->tau;
  d->use_huber = strcmp(c->loss, "huber") == 0;
  d->double_dqn = c->double_dqn;
  d->target_update_interval = (long)c->target_update_interval;
  d->online = malloc(n * sizeof(float));
  d->target = malloc(n * sizeof(float));
  d->grads = calloc(n, sizeof(float));
  d->q_sel = malloc((size_t)d->batch * sizeof(float));
  d->y = malloc((size_t)d->batch * sizeof(float));
  d->dq = malloc((size_t)d->batch * (size_t)n_actions * sizeof(float));
  d->dsel = malloc((size_t)d->batch * sizeof(float));
  if (!d->online || !d->target || !d->grads || !d->q_sel || !d->y || !d->dq || !d->dsel ||
      optim_init_named(&d->adam, c->optimizer, n, (float)c->lr, 0.9f, 0.999f, (float)c->adam_eps,
                       (float)c->rmsprop_alpha, (float)c->rmsprop_eps) != 0 ||
      nn_ws_init(&d->ws, &d->layout, d->double_dqn ? 2 * d->batch : d->batch) != 0 ||
      (d->double_dqn &&
       (!(d->stack = malloc(2 * (size_t)d->batch * (size_t)obs_dim * sizeof(float))) ||
        !(d->qn = malloc((size_t)d->batch * (size_t)n_actions * sizeof(float))) ||
        nn_ws_init(&d->ws_next, &d->layout, d->batch) != 0)) ||
      nn_ws_init(&d->ws_target, &d->layout, d->batch) != 0) {
    snprintf(err, errlen, "dqn: out of memory for %zu parameters, batch %d", n, d->batch);
    dqn_free(d);
    return -1;
  }
  nn_init_params(&d->layout, d->online, rng);
  memcpy(d->target, d->online, n * sizeof(float));
  return 0;
}

/* The update split by units (nnpar.h): one plan for the online and the target network (the
 * same layout), a workspace for each forward, and the parameters each part owns. */
typedef struct dqn_par {
  int parts;
  int usable;     /* 0: this pool is not used to split (remembered, so asked once) */
  int one_thread; /* dense but too narrow to split: the update is one thread's */
  nnp_plan_t plan;
  nnp_ws_t *ws, *ws_t;
  nnp_ranges_t own[NNP_MAX_PARTS];
} dqn_par_t;

static void par_free(dqn_par_t *p) {
  if (!p) return;
  nnp_ws_free(p->ws);
  nnp_ws_free(p->ws_t);
  free(p);
}

/* The split for a pool of `parts`, made at the first update that has one; NULL (the update
 * runs as before, its products split by gemm.h) for a network nnpar does not split (conv,
 * dueling, too narrow) or when out of memory, remembered for this pool size. */
static dqn_par_t *par_for(dqn_t *d, int parts) {
  if (d->par && d->par->parts == parts) return d->par->usable ? d->par : NULL;
  par_free(d->par);
  d->par = NULL;
  dqn_par_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  d->par = p;
  p->parts = parts;
  char err[128];
  if (nnp_plan_init(&p->plan, &d->layout, parts, err, sizeof err) != 0) return NULL;
  if (!nnp_splits(&p->plan)) {
    p->one_thread = 1;
    return NULL;
  }
  p->ws = nnp_ws_create(&p->plan, d->double_dqn ? 2 * d->batch : d->batch);
  p->ws_t = nnp_ws_create(&p->plan, d->batch);
  int ok = p->ws && p->ws_t;
  for (int q = 0; q < parts && ok; q++) ok = nnp_owned(&p->plan, q, 0, &p->own[q]) == 0;
  p->usable = ok;
  return ok ? p : NULL;
}

void dqn_free(dqn_t *d) {
  free(d->online);
  free(d->target);
  free(d->grads);
  free(d->q_sel);
  free(d->y);
  free(d->dq);
  free(d->dsel);
  adam_free(&d->adam);
  nn_ws_free(&d->ws);
  free(d->stack);
  free(d->qn);
  nn_ws_free(&d->ws_next);
  nn_ws_free(&d->ws_target);
  par_free(d->par);
  memset(d, 0, sizeof *d);
}

void dqn_update(dqn_t *d, const float *obs, const float *act, const float *rew,
                const float *next_obs, const float *term, dqn_stats_t *out) {
  dqn_update_ext(d, obs, act, rew, next_obs, term, NULL, NULL, NULL, out);
}

/* The independent forward passes of one update, each whole on one thread of the trainer's pool
 * (gemm_pool(): trainer_threads), so each gives the bits it would on one thread. Plain DQN:
 * Q_online(s) on part 0, Q_target(s') on part 1. Double DQN (the rows s then s' in d->stack):
 * Q_online of the first 1.5 B rows on part 0; Q_target(s') and Q_online of the last B / 2 rows
 * on part 1 (the same multiply-adds on each part; each packs the online weights once). */
typedef struct fwd_job {
  dqn_t *d;
  const float *obs, *next_obs;
  const float *q, *qt, *qn_tail;
  int head; /* double DQN: rows of d->stack on part 0 */
} fwd_job_t;

static void fwd_part(void *arg, int part, int n_parts) {
  fwd_job_t *j = arg;
  dqn_t *d = j->d;
  const int B = d->batch;
  if (!d->double_dqn) {
    if (part == 0) j->q = nn_forward(&d->ws, d->online, j->obs, B);
    if (part == 1) j->qt = nn_forward(&d->ws_target, d->target, j->next_obs, B);
  } else if (part == 0) {
    j->q = nn_forward(&d->ws, d->online, d->stack, j->head);
  } else if (part == 1) {
    j->qt = nn_forward(&d->ws_target, d->target, j->next_obs, B);
    j->qn_tail = nn_forward(&d->ws_next, d->online,
                            d->stack + (size_t)j->head * (size_t)d->obs_dim, 2 * B - j->head);
  }
  /* and this part's share of the gradient buffer zeroed for the backward */
  size_t n = d->layout.n_params, lo = n * (size_t)part / (size_t)n_parts,
         hi = n * (size_t)(part + 1) / (size_t)n_parts;
  memset(d->grads + lo, 0, (hi - lo) * sizeof(float));
}

/* The TD targets y = r + g (1 - term) Q_target(s', argmax_a Q(s', a)) (qn: the Q-values the
 * argmax reads), the loss of Q(s, a) against them (Huber or MSE; importance-weighted when
 * weight), |TD errors| into td, and dL/dQ into d->dq. Returns the loss; *qsum the sum of Q(s, a). */
static float td_loss(dqn_t *d, const float *q, const float *qn, const float *qt, const float *act,
                     const float *rew, const float *term, const float *disc, const float *weight,
                     float *td, double *qsum_out) {
  const int B = d->batch, A = d->n_actions;
  for (int b = 0; b < B; b++) {
    int a_star = nn_argmax(qn + (size_t)b * A, A);
    float g = disc ? disc[b] : d->gamma;
    d->y[b] = rew[b] + g * (1.0f - term[b]) * qt[(size_t)b * A + a_star];
  }
  double qsum = 0;
  for (int b = 0; b < B; b++) {
    int a = (int)act[b];
    d->q_sel[b] = q[(size_t)b * A + a];
    qsum += d->q_sel[b];
    if (td) td[b] = fabsf(d->q_sel[b] - d->y[b]);
  }
  float *dsel = d->dsel;
  float loss;
  if (weight) {
    /* Importance-weighted: mean_b w_b l_b, so d/dq_b is w_b times the unweighted one. */
    double wl = 0;
    for (int b = 0; b < B; b++) {
      float e = d->q_sel[b] - d->y[b], a = fabsf(e), l;
      if (!d->use_huber)
        l = e * e;
      else
        l = a <= d->huber_delta ? 0.5f * e * e : d->huber_delta * (a - 0.5f * d->huber_delta);
      wl += (double)weight[b] * l;
    }
    loss = (float)(wl / B);
    if (d->use_huber)
      nn_loss_huber(d->q_sel, d->y, B, d->huber_delta, dsel);
    else
      nn_loss_mse(d->q_sel, d->y, B, dsel);
    for (int b = 0; b < B; b++) dsel[b] *= weight[b];
  } else {
    loss = d->use_huber ? nn_loss_huber(d->q_sel, d->y, B, d->huber_delta, dsel)
                        : nn_loss_mse(d->q_sel, d->y, B, dsel);
  }
  memset(d->dq, 0, (size_t)B * A * sizeof(float));
  for (int b = 0; b < B; b++) d->dq[(size_t)b * A + (int)act[b]] = dsel[b];
  *qsum_out = qsum;
  return loss;
}

/* One update split by units: every part runs this with the same arguments (nnpar.h). Part 0
 * computes the loss from the replicated Q-values while the others wait at a barrier. */
typedef struct par_job {
  dqn_t *d;
  dqn_par_t *p;
  tpool_t *pool;
  algo_batch_t b;
  long next; /* d->updates after this update */
  float loss, norm;
  double qsum;
} par_job_t;

static void par_part(void *arg, int part, int n_parts) {
  (void)n_parts;
  par_job_t *j = arg;
  dqn_t *d = j->d;
  dqn_par_t *p = j->p;
  const int B = d->batch, A = d->n_actions;
  const float *q, *qn, *qt;
  if (d->double_dqn) { /* Q_online(s) and Q_online(s') in one forward of 2B rows */
    q = nnp_forward(p->ws, part, j->pool, d->online, d->stack, 2 * B);
    qn = q + (size_t)B * A;
    qt = nnp_forward(p->ws_t, part, j->pool, d->target, j->b.next_obs, B);
  } else {
    q = nnp_forward(p->ws, part, j->pool, d->online, j->b.obs, B);
    qn = qt = nnp_forward(p->ws_t, part, j->pool, d->target, j->b.next_obs, B);
  }
  if (part == 0)
    j->loss = td_loss(d, q, qn, qt, j->b.act, j->b.rew, j->b.term, j->b.disc, j->b.weight, j->b.td,
                      &j->qsum);
  tpool_barrier(j->pool, part);
  nnp_backward(p->ws, part, j->pool, d->online, d->dq, B, d->grads, 0);
  float norm =
      nnp_optim_step(j->pool, part, &d->adam, &p->own[part], d->online, d->grads, d->grad_clip);
  if (d->tau < 1.0f)
    nnp_polyak(&p->own[part], d->target, d->online, d->tau);
  else if (j->next % d->target_update_interval == 0)
    nnp_polyak(&p->own[part], d->target, d->online, 1.0f);
  if (part == 0) j->norm = norm;
}

void dqn_update_ext(dqn_t *d, const float *obs, const float *act, const float *rew,
                    const float *next_obs, const float *term, const float *disc,
                    const float *weight, float *td, dqn_stats_t *out) {
  const int B = d->batch, A = d->n_actions;
  tpool_t *pool = gemm_pool();
  dqn_par_t *par = tpool_size(pool) >= 2 ? par_for(d, tpool_size(pool)) : NULL;
  if (!par && tpool_size(pool) >= 2 && d->par && d->par->one_thread) { /* a 2nd thread would wait */
    gemm_set_pool(NULL);
    dqn_update_ext(d, obs, act, rew, next_obs, term, disc, weight, td, out);
    gemm_set_pool(pool);
    return;
  }
  if (par) {
    if (d->double_dqn) {
      size_t rows = (size_t)B * (size_t)d->obs_dim;
      memcpy(d->stack, obs, rows * sizeof(float));
      memcpy(d->stack + rows, next_obs, rows * sizeof(float));
    }
    par_job_t j = {.d = d, .p = par, .pool = pool, .next = d->updates + 1,
                   .b = {obs, act, rew, next_obs, term, disc, weight, td}};
    nnp_run(pool, par_part, &j);
    d->updates = j.next;
    if (out) {
      out->loss = j.loss;
      out->mean_q = (float)(j.qsum / B);
      out->grad_norm = j.norm;
    }
    return;
  }
  const float *q, *qt, *qn;
  if (d->double_dqn) {
    /* Q_online(s) and Q_online(s') in one forward of 2B rows (the weights packed once, products
     * twice as tall), the backward on its first B rows; then Q_target(s'). With a pool of two
     * or more, split between two threads as fwd_part says. */
    size_t rows = (size_t)B * (size_t)d->obs_dim;
    memcpy(d->stack, obs, rows * sizeof(float));
    memcpy(d->stack + rows, next_obs, rows * sizeof(float));
    if (tpool_size(pool) >= 2) {
      fwd_job_t j = {.d = d, .obs = obs, .next_obs = next_obs, .head = B + B / 2};
      gemm_set_pool(NULL);
      tpool_run(pool, fwd_part, &j);
      gemm_set_pool(pool);
      q = j.q;
      qt = j.qt;
      size_t h = (size_t)(B / 2) * (size_t)A, t = (size_t)(B - B / 2) * (size_t)A;
      memcpy(d->qn, q + (size_t)B * A, h * sizeof(float));
      memcpy(d->qn + h, j.qn_tail, t * sizeof(float));
      qn = d->qn;
    } else {
      q = nn_forward(&d->ws, d->online, d->stack, 2 * B);
      qn = q + (size_t)B * A;
      qt = nn_forward(&d->ws_target, d->target, next_obs, B);
    }
    nn_ws_keep_rows(&d->ws, B);
  } else if (tpool_size(pool) >= 2) {
    /* Two threads or more: the online and the target forwards at once (their products
     * unsplit: the pool is this job's). */
    fwd_job_t j = {.d = d, .obs = obs, .next_obs = next_obs};
    gemm_set_pool(NULL);
    tpool_run(pool, fwd_part, &j);
    gemm_set_pool(pool);
    q = j.q;
    qn = qt = j.qt;
  } else {
    qn = qt = nn_forward(&d->ws_target, d->target, next_obs, B);
    q = nn_forward(&d->ws, d->online, obs, B);
  }
  double qsum;
  float loss = td_loss(d, q, qn, qt, act, rew, term, disc, weight, td, &qsum);
  if (tpool_size(pool) < 2) /* else zeroed by the forward's parts */
    memset(d->grads, 0, d->layout.n_params * sizeof(float));
  nn_backward(&d->ws, d->online, d->dq, d->grads, NULL);
  /* clip + step, fused; split across the pool when there is one */
  float norm = optim_step_pool(&d->adam, d->online, d->grads, d->grad_clip, pool);
  d->updates++;
  if (d->tau < 1.0f)
    nn_polyak_pool(d->target, d->online, d->layout.n_params, d->tau, pool);
  else if (d->updates % d->target_update_interval == 0)
    memcpy(d->target, d->online, d->layout.n_params * sizeof(float));
  if (out) {
    out->loss = loss;
    out->mean_q = (float)(qsum / B);
    out->grad_norm = norm;
  }
}

/* The algo row (algo.h): acting is epsilon-greedy on the Q-network; the published buffer is
 * exactly the network. */

static int dqn_policy(const config_t *c, const env_spec_t *spec, algo_policy_t *p, char *err,
                      size_t errlen) {
  memset(p, 0, sizeof *p);
  p->obs_dim = spec->obs.dim;
  p->act_dim = 1;
  p->n_actions = p->n_out = spec->act.n;
  p->weights_exact = 1;
  char why[400];
  if (policy_net_layout(&p->layout, c, p->obs_dim, spec->obs.shape, p->n_out, NN_IDENTITY,
                        c->dueling, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s (env %s)", why, spec->id);
    return -1;
  }
  return 0;
}

static void dqn_act_greedy(const algo_policy_t *p, const float *params, nn_ws_t *ws,
                           const float *obs, int n, float *actions) {
  for (int start = 0; start < n; start += ws->max_batch) {
    int m = n - start < ws->max_batch ? n - start : ws->max_batch;
    const float *q = nn_forward(ws, params, obs + (size_t)start * p->obs_dim, m);
    for (int i = 0; i < m; i++)
      actions[start + i] = (float)nn_argmax(q + (size_t)i * p->n_actions, p->n_actions);
  }
}

/* explore = annealed: epsilon annealed from eps_start to this worker's epsilon_final over
 * eps_anneal_steps run steps; explore = apex: this worker's epsilon_final as it is (Ape-X, no
 * annealing). n at most ws->max_batch (a worker's k envs). */
static void dqn_act_explore(const algo_policy_t *p, const float *params, nn_ws_t *ws,
                            const float *obs, int n, algo_explorer_t *x, uint64_t run_steps,
                            float *actions) {
  double eps = !strcmp(x->cfg->explore, "apex")
                   ? x->epsilon_final
                   : policy_anneal(x->cfg->eps_start, x->epsilon_final, (double)run_steps,
                                   (double)x->cfg->eps_anneal_steps);
  x->now = eps;
  const float *q = nn_forward(ws, params, obs, n);
  for (int i = 0; i < n; i++)
    actions[i] = (float)policy_eps_greedy(q + (size_t)i * p->n_actions, p->n_actions, eps, x->rng);
}

/* The same target as dqn_update_ext, in chunks of at most 64 rows through ws: Q_online(s') for
 * a* (double DQN) or Q_target(s'), then Q_target(s', a*), then Q_online(s, a). */
static int dqn_priorities(const config_t *c, const algo_policy_t *p, const float *online,
                          const float *target, nn_ws_t *ws, int n, const float *obs,
                          const float *act, const float *rew, const float *next_obs,
                          const uint8_t *flags, const float *disc, float *out) {
  enum { CHUNK = 64 };
  const int A = p->n_actions, S = p->obs_dim;
  int astar[CHUNK];
  float boot[CHUNK];
  const int step = ws->max_batch < CHUNK ? ws->max_batch : CHUNK;
  for (int start = 0; start < n; start += step) {
    int m = n - start < step ? n - start : step;
    const float *nx = next_obs + (size_t)start * S;
    const float *q = nn_forward(ws, c->double_dqn ? online : target, nx, m);
    for (int i = 0; i < m; i++) astar[i] = nn_argmax(q + (size_t)i * A, A);
    q = nn_forward(ws, target, nx, m);
    for (int i = 0; i < m; i++) {
      int r = start + i;
      float keep = (flags[r] & TBATCH_TERMINATED) ? 0.0f : 1.0f;
      boot[i] = rew[r] + disc[r] * keep * q[(size_t)i * A + astar[i]];
    }
    q = nn_forward(ws, online, obs + (size_t)start * S, m);
    for (int i = 0; i < m; i++)
      out[start + i] = fabsf(q[(size_t)i * A + (int)act[start + i]] - boot[i]);
  }
  return 0;
}

static double dqn_explore_level(const config_t *c, int index, int n_workers) {
  return policy_apex_epsilon(c->eps_final, c->eps_alpha, index, n_workers);
}

static void *dqn_create(const algo_t *a, const config_t *c, const env_spec_t *spec, rng_t *rng,
                        char *err, size_t errlen) {
  dqn_t *d = malloc(sizeof *d);
  if (!d) {
    snprintf(err, errlen, "dqn: out of memory");
    return NULL;
  }
  if (dqn_init_shaped(d, c, spec->obs.dim, spec->obs.shape, spec->act.n, rng, err, errlen) != 0) {
    free(d);
    return NULL;
  }
  return d;
}

static void dqn_destroy(void *s) {
  if (!s) return;
  dqn_free(s);
  free(s);
}

static void dqn_algo_update(void *s, const algo_batch_t *b, algo_stats_t *out) {
  dqn_t *d = s;
  dqn_stats_t st;
  dqn_update_ext(d, b->obs, b->act, b->rew, b->next_obs, b->term, b->disc, b->weight, b->td, &st);
  d->last = st;
  out->loss = st.loss;
  out->mean_q = st.mean_q;
  out->updates = d->updates;
  out->td_filled = b->td != NULL;
}

static void dqn_weights(void *s, algo_weights_t *w) {
  dqn_t *d = s;
  *w = (algo_weights_t){d->online, d->layout.n_params, d->layout.n_params, d->target};
}

static void dqn_state_view(void *s, algo_state_view_t *v) {
  dqn_t *d = s;
  size_t n = d->layout.n_params;
  *v = (algo_state_view_t){.n = 4,
                           .name = {"online", "target", "adam_m", "adam_v"},
                           .ptr = {d->online, d->target, d->adam.m, d->adam.v},
                           .len = {n, n, d->adam.n, d->adam.n},
                           .n_steps = 2,
                           .steps = {&d->updates, &d->adam.t}};
}

static int dqn_status_fields(void *s, algo_field_t *f) {
  const dqn_t *d = s;
  f[0] = (algo_field_t){"grad_norm", "Global gradient norm of the last update, before clipping.",
                        d->last.grad_norm};
  return 1;
}

const algo_t algo_dqn = {
    .name = "dqn",
    .summary = "DQN (double-DQN targets as an option), epsilon-greedy workers",
    .mode = ALGO_ACTOR_LEARNER,
    .actions = ENV_DISCRETE,
    .per = 1,
    .policy = dqn_policy,
    .act_greedy = dqn_act_greedy,
    .act_explore = dqn_act_explore,
    .priorities = dqn_priorities,
    .explore_name = "epsilon",
    .explore_level = dqn_explore_level,
    .create = dqn_create,
    .destroy = dqn_destroy,
    .update = dqn_algo_update,
    .weights = dqn_weights,
    .state_view = dqn_state_view,
    .status_fields = dqn_status_fields,
};
