#include "ddpg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "errmsg.h"
#include "gemm.h"
#include "nnpar.h"
#include "policy.h"
#include "tbatch.h"

typedef struct ddpg_par ddpg_par_t;
static void par_free(ddpg_par_t *p);

static int layout_for(nn_layout_t *l, const config_t *c, int n_in, int n_out, nn_act_t out_act) {
  return policy_layout_out(l, c, n_in, n_out, out_act);
}

/* Actor and critics are MLPs (the critic reads [s, a], no image): a `net` with a conv layer or
 * a dueling head is refused by name. 0, or -1 with a message. */
static int check_mlp_net(const config_t *c, char *err, size_t errlen) {
  if (c->dueling)
    return errmsg(err, errlen,
                  "dueling = 1 is for the DQN family (a Q-network over discrete "
                  "actions); %s has an actor and a critic Q(s, a)",
                  c->algo);
  nn_spec_t spec;
  if (!c->net[0]) return 0;
  if (nn_spec_parse(&spec, c->net, err, errlen) != 0) return -1;
  for (int i = 0; i < spec.n; i++)
    if (spec.layer[i].kind != NN_DENSE)
      return errmsg(err, errlen,
                    "net = '%s': layer %d is not fc:N; %s builds its actor and "
                    "critics as MLPs (fc:N layers only)",
                    c->net, i + 1, c->algo);
  return 0;
}

int ddpg_actor_layout(nn_layout_t *l, const config_t *c, int obs_dim, int act_dim) {
  return layout_for(l, c, obs_dim, act_dim, NN_TANH);
}

int ddpg_action_affine(const env_space_t *act, float *scale, float *bias) {
  if (act->kind != ENV_BOX || act->dim < 1 || act->dim > ENV_MAX_DIM) return -1;
  return policy_action_affine(act->dim, act->low, act->high, scale, bias);
}

int ddpg_init(ddpg_t *d, const config_t *c, int obs_dim, const env_space_t *act, rng_t *rng,
              char *err, size_t errlen) {
  memset(d, 0, sizeof *d);
  if (strcmp(c->algo, "ddpg") != 0 && strcmp(c->algo, "td3") != 0) {
    snprintf(err, errlen, "ddpg: algo = '%s'; expected ddpg or td3", c->algo);
    return -1;
  }
  if (ddpg_action_affine(act, d->act_scale, d->act_bias) != 0) {
    snprintf(err, errlen, "ddpg: needs a bounded continuous (box) action space of 1..%d floats",
             ENV_MAX_DIM);
    return -1;
  }
  char why[400];
  if (check_mlp_net(c, why, sizeof why) != 0) {
    snprintf(err, errlen, "ddpg: %s", why);
    return -1;
  }
  int A = act->dim, S = obs_dim;
  if (S < 1 || ddpg_actor_layout(&d->actor_l, c, S, A) != 0 ||
      layout_for(&d->critic_l, c, S + A, 1, NN_IDENTITY) != 0) {
    snprintf(err, errlen,
             "ddpg: bad network shape hidden = '%s', net = '%s' (obs_dim %d, "
             "act_dim %d)",
             c->hidden, c->net, S, A);
    return -1;
  }
  d->twin = strcmp(c->algo, "td3") == 0;
  d->batch = (int)c->batch_size;
  d->obs_dim = S;
  d->act_dim = A;
  d->gamma = (float)c->gamma;
  d->tau = (float)c->tau;
  d->grad_clip = (float)c->grad_clip;
  d->policy_delay = d->twin ? (long)c->policy_delay : 1;
  d->target_noise = d->twin ? (float)c->target_noise : 0.0f;
  d->target_noise_clip = (float)c->target_noise_clip;
  d->n_actor = d->actor_l.n_params;
  d->n_critic = d->critic_l.n_params;
  d->n_online = d->n_actor + (size_t)(1 + d->twin) * d->n_critic;
  size_t n = d->n_online, B = (size_t)d->batch, W = (size_t)(S + A);
  d->online = malloc(n * sizeof(float));
  d->target = malloc(n * sizeof(float));
  d->grads = calloc(n, sizeof(float));
  d->sa = malloc(B * W * sizeof(float));
  d->sa_next = malloc(B * W * sizeof(float));
  d->y = malloc(B * sizeof(float));
  d->dq = malloc(B * sizeof(float));
  d->dx = malloc(B * W * sizeof(float));
  d->du = malloc(B * (size_t)A * sizeof(float));
  int bad = !d->online || !d->target || !d->grads || !d->sa || !d->sa_next || !d->y || !d->dq ||
            !d->dx || !d->du;
  bad = bad || adam_init(&d->adam_actor, d->n_actor, (float)c->actor_lr, 0.9f, 0.999f,
                         (float)c->adam_eps) != 0;
  bad = bad || adam_init(&d->adam_critic, n - d->n_actor, (float)c->critic_lr, 0.9f, 0.999f,
                         (float)c->adam_eps) != 0;
  bad = bad || nn_ws_init(&d->ws_actor, &d->actor_l, d->batch) != 0 ||
        nn_ws_init(&d->ws_actor_t, &d->actor_l, d->batch) != 0;
  for (int k = 0; k <= d->twin; k++)
    bad = bad || nn_ws_init(&d->ws_q[k], &d->critic_l, d->batch) != 0 ||
          nn_ws_init(&d->ws_qt[k], &d->critic_l, d->batch) != 0;
  if (bad) {
    snprintf(err, errlen, "ddpg: out of memory for %zu parameters, batch %d", n, d->batch);
    ddpg_free(d);
    return -1;
  }
  nn_init_params(&d->actor_l, d->online, rng);
  for (int k = 0; k <= d->twin; k++)
    nn_init_params(&d->critic_l, d->online + d->n_actor + (size_t)k * d->n_critic, rng);
  memcpy(d->target, d->online, n * sizeof(float));
  rng_seed(&d->rng, rng_u64(rng));
  return 0;
}

void ddpg_free(ddpg_t *d) {
  free(d->online);
  free(d->target);
  free(d->grads);
  free(d->sa);
  free(d->sa_next);
  free(d->y);
  free(d->dq);
  free(d->dx);
  free(d->du);
  adam_free(&d->adam_actor);
  adam_free(&d->adam_critic);
  nn_ws_free(&d->ws_actor);
  nn_ws_free(&d->ws_actor_t);
  for (int k = 0; k < 2; k++) {
    nn_ws_free(&d->ws_q[k]);
    nn_ws_free(&d->ws_qt[k]);
  }
  par_free(d->par);
  memset(d, 0, sizeof *d);
}

void ddpg_act(const nn_layout_t *actor_l, const float *actor_params, nn_ws_t *ws, const float *obs,
              int n, const float *scale, const float *bias, float *actions) {
  policy_actor_actions(actor_l, actor_params, ws, obs, n, scale, bias, actions);
}

/* sa[b] = [obs[b], bias + scale * u[b]] (u: tanh outputs, batch x act_dim). */
static void concat_scaled(const ddpg_t *d, const float *obs, const float *u, float *sa) {
  const int S = d->obs_dim, A = d->act_dim, W = S + A;
  for (int b = 0; b < d->batch; b++) {
    float *row = sa + (size_t)b * W;
    memcpy(row, obs + (size_t)b * S, (size_t)S * sizeof(float));
    for (int j = 0; j < A; j++)
      row[S + j] = d->act_bias[j] + d->act_scale[j] * u[(size_t)b * A + j];
  }
}

static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* sa_next = [s', a'] with a' = the target actor's action u (tanh outputs) scaled, plus TD3's
 * clipped target smoothing noise (d->rng). */
static void next_actions(ddpg_t *d, const float *next_obs, const float *u) {
  const int B = d->batch, S = d->obs_dim, A = d->act_dim, W = S + A;
  concat_scaled(d, next_obs, u, d->sa_next);
  if (d->target_noise > 0.0f) {
    for (int b = 0; b < B; b++) {
      float *a = d->sa_next + (size_t)b * W + S;
      for (int j = 0; j < A; j++) {
        float sc = d->act_scale[j], c = d->target_noise_clip * sc;
        float eps = clampf((float)rng_normal(&d->rng) * d->target_noise * sc, -c, c);
        a[j] = clampf(a[j] + eps, d->act_bias[j] - sc, d->act_bias[j] + sc);
      }
    }
  }
}

/* y = r + g * (1 - term) * min_k Q'_k(s', a') from the target critics' q1 (and q2: TD3), g =
 * gamma or the row's own bootstrap discount (disc: gamma^k of a k-step return). */
static void td_targets(ddpg_t *d, const float *q1, const float *q2, const float *rew,
                       const float *term, const float *disc) {
  for (int b = 0; b < d->batch; b++) {
    float q = q2 && q2[b] < q1[b] ? q2[b] : q1[b];
    d->y[b] = rew[b] + (disc ? disc[b] : d->gamma) * (1.0f - term[b]) * q;
  }
}

static void critic_targets(ddpg_t *d, const float *rew, const float *next_obs, const float *term,
                           const float *disc) {
  const int B = d->batch;
  next_actions(d, next_obs, nn_forward(&d->ws_actor_t, d->target, next_obs, B));
  const float *q1 = nn_forward(&d->ws_qt[0], d->target + d->n_actor, d->sa_next, B);
  const float *q2 =
      d->twin ? nn_forward(&d->ws_qt[1], d->target + d->n_actor + d->n_critic, d->sa_next, B)
              : NULL;
  td_targets(d, q1, q2, rew, term, disc);
}

/* sa = [s, a] of the batch's own actions. */
static void batch_inputs(ddpg_t *d, const float *obs, const float *act) {
  const int S = d->obs_dim, A = d->act_dim, W = S + A;
  for (int b = 0; b < d->batch; b++) {
    memcpy(d->sa + (size_t)b * W, obs + (size_t)b * S, (size_t)S * sizeof(float));
    memcpy(d->sa + (size_t)b * W + S, act + (size_t)b * A, (size_t)A * sizeof(float));
  }
}

/* Critic k's loss against d->y (importance-weighted MSE when weight) and dL/dq into dq; the
 * first critic's Q-values into *qsum and |TD errors| into td (the priorities). */
static float critic_loss(ddpg_t *d, int k, const float *q, const float *weight, float *td,
                         double *qsum, float *dq) {
  const int B = d->batch;
  if (k == 0)
    for (int b = 0; b < B; b++) {
      *qsum += q[b];
      if (td) td[b] = fabsf(q[b] - d->y[b]);
    }
  if (!weight) return nn_loss_mse(q, d->y, B, dq);
  double wl = 0;
  for (int b = 0; b < B; b++) {
    float e = q[b] - d->y[b];
    wl += (double)weight[b] * e * e;
  }
  nn_loss_mse(q, d->y, B, dq);
  for (int b = 0; b < B; b++) dq[b] *= weight[b];
  return (float)(wl / B);
}

/* du = dL/du from the critic's input gradient dx (batch x (S + A)): the action columns times
 * the action scale. */
static void action_grads(const ddpg_t *d, const float *dx, float *du) {
  const int S = d->obs_dim, A = d->act_dim, W = S + A;
  for (int b = 0; b < d->batch; b++)
    for (int j = 0; j < A; j++)
      du[(size_t)b * A + j] = dx[(size_t)b * W + S + j] * d->act_scale[j];
}

/* Ascent on mean_b Q1(s_b, mu(s_b)): dL/du = -(1/B) dQ1/da * scale, through the critic's
 * input gradient (grads = NULL: the critics are read, not trained). */
float ddpg_actor_step(ddpg_t *d, const float *obs, float *loss) {
  const int B = d->batch;
  const float *critic1 = d->online + d->n_actor;
  const float *u = nn_forward(&d->ws_actor, d->online, obs, B);
  concat_scaled(d, obs, u, d->sa);
  const float *q = nn_forward(&d->ws_q[0], critic1, d->sa, B);
  double qsum = 0;
  for (int b = 0; b < B; b++) {
    qsum += q[b];
    d->dq[b] = -1.0f / (float)B;
  }
  nn_backward(&d->ws_q[0], critic1, d->dq, NULL, d->dx);
  action_grads(d, d->dx, d->du);
  memset(d->grads, 0, d->n_actor * sizeof(float));
  nn_backward(&d->ws_actor, d->online, d->du, d->grads, NULL);
  float norm = /* clip + step, split across the pool when there is one */
      optim_step_pool(&d->adam_actor, d->online, d->grads, d->grad_clip, gemm_pool());
  if (loss) *loss = (float)(-qsum / B);
  return norm;
}

/* ---- the update split by units across the trainer's pool (nnpar.h) ---------------------------
 * One job per update. Every part runs the same sequence of networks; part 0 alone does what is
 * serial and small (the target actions and their noise, the losses, the critic inputs) between
 * barriers. */
struct ddpg_par {
  int parts;
  int usable;     /* 0: this pool is not used to split (remembered, so asked once) */
  int one_thread; /* dense but too narrow to split: the update is one thread's */
  nnp_plan_t actor, critic;
  nnp_ws_t *ws_actor, *ws_actor_t, *ws_q[2], *ws_qt[2];
  float *dq[2], *dqa; /* dL/dQ of each critic's update; of the actor step's Q1 (-1/B) */
  float *du;          /* NNP_MAX_PARTS x batch x act_dim: each part's dL/du */
  /* Owned spans: of the actor (adam_actor's buffer), of the critics (adam_critic's, from
   * online + n_actor), of the whole online buffer (the targets' Polyak average). */
  nnp_ranges_t own_actor[NNP_MAX_PARTS], own_critic[NNP_MAX_PARTS], own_all[NNP_MAX_PARTS];
};

static void par_free(ddpg_par_t *p) {
  if (!p) return;
  nnp_ws_free(p->ws_actor);
  nnp_ws_free(p->ws_actor_t);
  for (int k = 0; k < 2; k++) {
    nnp_ws_free(p->ws_q[k]);
    nnp_ws_free(p->ws_qt[k]);
    free(p->dq[k]);
  }
  free(p->dqa);
  free(p->du);
  free(p);
}

/* The split for a pool of `parts`, made at the first update with one; NULL (the update runs
 * as before, its products split by gemm.h) when neither network is wide enough to split or out
 * of memory, remembered for this pool size. */
static ddpg_par_t *par_for(ddpg_t *d, int parts) {
  if (d->par && d->par->parts == parts) return d->par->usable ? d->par : NULL;
  par_free(d->par);
  d->par = NULL;
  ddpg_par_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  d->par = p;
  p->parts = parts;
  char err[128];
  if (nnp_plan_init(&p->actor, &d->actor_l, parts, err, sizeof err) != 0 ||
      nnp_plan_init(&p->critic, &d->critic_l, parts, err, sizeof err) != 0)
    return NULL;
  if (!nnp_splits(&p->actor) && !nnp_splits(&p->critic)) {
    p->one_thread = 1;
    return NULL;
  }
  const size_t B = (size_t)d->batch;
  int ok = (p->ws_actor = nnp_ws_create(&p->actor, d->batch)) &&
           (p->ws_actor_t = nnp_ws_create(&p->actor, d->batch)) &&
           (p->dqa = malloc(B * sizeof(float))) &&
           (p->du = malloc(NNP_MAX_PARTS * B * (size_t)d->act_dim * sizeof(float)));
  for (int k = 0; k <= d->twin && ok; k++)
    ok = (p->ws_q[k] = nnp_ws_create(&p->critic, d->batch)) &&
         (p->ws_qt[k] = nnp_ws_create(&p->critic, d->batch)) &&
         (p->dq[k] = malloc(B * sizeof(float)));
  for (int q = 0; q < parts && ok; q++) {
    ok = nnp_owned(&p->actor, q, 0, &p->own_actor[q]) == 0 &&
         nnp_owned(&p->actor, q, 0, &p->own_all[q]) == 0;
    for (int k = 0; k <= d->twin && ok; k++)
      ok = nnp_owned(&p->critic, q, (size_t)k * d->n_critic, &p->own_critic[q]) == 0 &&
           nnp_owned(&p->critic, q, d->n_actor + (size_t)k * d->n_critic, &p->own_all[q]) == 0;
  }
  p->usable = ok;
  return ok ? p : NULL;
}

typedef struct par_job {
  ddpg_t *d;
  ddpg_par_t *p;
  tpool_t *pool;
  algo_batch_t b;
  long next; /* d->updates after this update */
  float loss, cnorm, anorm, aloss;
  double qsum;
} par_job_t;

static void par_part(void *arg, int part, int n_parts) {
  (void)n_parts;
  par_job_t *j = arg;
  ddpg_t *d = j->d;
  ddpg_par_t *p = j->p;
  tpool_t *pool = j->pool;
  const int B = d->batch;
  float *critics = d->online + d->n_actor, *cgrads = d->grads + d->n_actor;
  /* critic targets */
  const float *u = nnp_forward(p->ws_actor_t, part, pool, d->target, j->b.next_obs, B);
  if (part == 0) {
    next_actions(d, j->b.next_obs, u);
    batch_inputs(d, j->b.obs, j->b.act);
  }
  tpool_barrier(pool, part);
  const float *qt[2] = {NULL, NULL}, *q[2] = {NULL, NULL};
  for (int k = 0; k <= d->twin; k++)
    qt[k] = nnp_forward(p->ws_qt[k], part, pool, d->target + d->n_actor + (size_t)k * d->n_critic,
                        d->sa_next, B);
  /* the critics' step */
  for (int k = 0; k <= d->twin; k++)
    q[k] = nnp_forward(p->ws_q[k], part, pool, critics + (size_t)k * d->n_critic, d->sa, B);
  if (part == 0) {
    td_targets(d, qt[0], qt[1], j->b.rew, j->b.term, j->b.disc);
    j->loss = 0;
    j->qsum = 0;
    for (int k = 0; k <= d->twin; k++)
      j->loss += critic_loss(d, k, q[k], j->b.weight, j->b.td, &j->qsum, p->dq[k]);
  }
  tpool_barrier(pool, part);
  for (int k = 0; k <= d->twin; k++)
    nnp_backward(p->ws_q[k], part, pool, critics + (size_t)k * d->n_critic, p->dq[k], B,
                 cgrads + (size_t)k * d->n_critic, 0);
  float cnorm = nnp_optim_step(pool, part, &d->adam_critic, &p->own_critic[part], critics, cgrads,
                               d->grad_clip);
  if (part == 0) j->cnorm = cnorm;
  if (j->next % d->policy_delay != 0) return;
  /* the actor's step: ascent on Q1(s, mu(s)) through the critic's input gradient */
  u = nnp_forward(p->ws_actor, part, pool, d->online, j->b.obs, B);
  if (part == 0) {
    concat_scaled(d, j->b.obs, u, d->sa);
    for (int b = 0; b < B; b++) p->dqa[b] = -1.0f / (float)B;
  }
  tpool_barrier(pool, part);
  const float *qa = nnp_forward(p->ws_q[0], part, pool, critics, d->sa, B);
  const float *dx = nnp_backward(p->ws_q[0], part, pool, critics, p->dqa, B, NULL, 1);
  float *du = p->du + (size_t)part * B * (size_t)d->act_dim;
  action_grads(d, dx, du);
  nnp_backward(p->ws_actor, part, pool, d->online, du, B, d->grads, 0);
  float anorm = nnp_optim_step(pool, part, &d->adam_actor, &p->own_actor[part], d->online,
                               d->grads, d->grad_clip);
  nnp_polyak(&p->own_all[part], d->target, d->online, d->tau);
  if (part == 0) {
    double qsum = 0;
    for (int b = 0; b < B; b++) qsum += qa[b];
    j->aloss = (float)(-qsum / B);
    j->anorm = anorm;
  }
}

static void par_update(ddpg_t *d, ddpg_par_t *p, const float *obs, const float *act,
                       const float *rew, const float *next_obs, const float *term,
                       const float *disc, const float *weight, float *td, ddpg_stats_t *out) {
  tpool_t *pool = gemm_pool();
  par_job_t j = {.d = d, .p = p, .pool = pool, .next = d->updates + 1,
                 .b = {obs, act, rew, next_obs, term, disc, weight, td}};
  nnp_run(pool, par_part, &j);
  d->updates = j.next;
  int actor_now = d->updates % d->policy_delay == 0;
  if (actor_now) {
    d->last_actor_loss = j.aloss;
    d->last_actor_norm = j.anorm;
    d->actor_updates++;
  }
  if (out) {
    out->critic_loss = j.loss;
    out->mean_q = (float)(j.qsum / d->batch);
    out->critic_grad_norm = j.cnorm;
    out->actor_updated = actor_now;
    out->actor_loss = d->last_actor_loss;
    out->actor_grad_norm = d->last_actor_norm;
  }
}

void ddpg_update(ddpg_t *d, const float *obs, const float *act, const float *rew,
                 const float *next_obs, const float *term, ddpg_stats_t *out) {
  ddpg_update_ext(d, obs, act, rew, next_obs, term, NULL, NULL, NULL, out);
}

void ddpg_update_ext(ddpg_t *d, const float *obs, const float *act, const float *rew,
                     const float *next_obs, const float *term, const float *disc,
                     const float *weight, float *td, ddpg_stats_t *out) {
  const int B = d->batch;
  tpool_t *pool = gemm_pool();
  ddpg_par_t *par = tpool_size(pool) >= 2 ? par_for(d, tpool_size(pool)) : NULL;
  if (!par && tpool_size(pool) >= 2 && d->par && d->par->one_thread) { /* a 2nd thread would wait */
    gemm_set_pool(NULL);
    ddpg_update_ext(d, obs, act, rew, next_obs, term, disc, weight, td, out);
    gemm_set_pool(pool);
    return;
  }
  if (par) {
    par_update(d, par, obs, act, rew, next_obs, term, disc, weight, td, out);
    return;
  }
  critic_targets(d, rew, next_obs, term, disc);
  batch_inputs(d, obs, act);
  float *cgrads = d->grads + d->n_actor;
  memset(cgrads, 0, (d->n_online - d->n_actor) * sizeof(float));
  float loss = 0;
  double qsum = 0;
  for (int k = 0; k <= d->twin; k++) {
    const float *params = d->online + d->n_actor + (size_t)k * d->n_critic;
    const float *q = nn_forward(&d->ws_q[k], params, d->sa, B);
    loss += critic_loss(d, k, q, weight, td, &qsum, d->dq);
    nn_backward(&d->ws_q[k], params, d->dq, cgrads + (size_t)k * d->n_critic, NULL);
  }
  float cnorm =
      optim_step_pool(&d->adam_critic, d->online + d->n_actor, cgrads, d->grad_clip, gemm_pool());
  d->updates++;
  int actor_now = d->updates % d->policy_delay == 0;
  if (actor_now) {
    d->last_actor_norm = ddpg_actor_step(d, obs, &d->last_actor_loss);
    nn_polyak_pool(d->target, d->online, d->n_online, d->tau, gemm_pool());
    d->actor_updates++;
  }
  if (out) {
    out->critic_loss = loss;
    out->mean_q = (float)(qsum / B);
    out->critic_grad_norm = cnorm;
    out->actor_updated = actor_now;
    out->actor_loss = d->last_actor_loss;
    out->actor_grad_norm = d->last_actor_norm;
  }
}

/* The algo rows (algo.h) of ddpg and td3: workers act with the actor plus Gaussian or
 * Ornstein-Uhlenbeck noise (uniform random actions for the first random_steps of the run);
 * the published buffer is actor | critic(s), of which workers act with the actor (and, under
 * actor_priorities, compute initial priorities with the critics and the target buffer). */

static int ddpg_policy(const config_t *c, const env_spec_t *spec, algo_policy_t *p, char *err,
                       size_t errlen) {
  memset(p, 0, sizeof *p);
  p->obs_dim = spec->obs.dim;
  p->act_dim = p->n_out = spec->act.dim;
  memcpy(p->low, spec->act.low, sizeof p->low);
  memcpy(p->high, spec->act.high, sizeof p->high);
  if (ddpg_action_affine(&spec->act, p->scale, p->bias) != 0) {
    snprintf(err, errlen, "%s has unbounded actions", spec->id);
    return -1;
  }
  if (check_mlp_net(c, err, errlen) != 0) return -1;
  if (ddpg_actor_layout(&p->layout, c, p->obs_dim, p->act_dim) != 0) {
    snprintf(err, errlen, "bad network shape hidden = '%s', net = '%s'", c->hidden, c->net);
    return -1;
  }
  return 0;
}

static void ddpg_act_greedy(const algo_policy_t *p, const float *params, nn_ws_t *ws,
                            const float *obs, int n, float *actions) {
  policy_actor_actions(&p->layout, params, ws, obs, n, p->scale, p->bias, actions);
}

/* Noise std is noise_scale (this worker's) times the action half-width; OU follows
 * dx = -theta x dt + sigma sqrt(dt) N(0,1) with dt = 0.01, one process per env and dim. */
static void ddpg_act_explore(const algo_policy_t *p, const float *params, nn_ws_t *ws,
                             const float *obs, int n, algo_explorer_t *x, uint64_t run_steps,
                             float *actions) {
  const int A = p->act_dim;
  x->now = x->noise_scale;
  if (run_steps < (uint64_t)x->cfg->random_steps) {
    for (int i = 0; i < n * A; i++)
      actions[i] = (float)rng_range(x->rng, p->low[i % A], p->high[i % A]);
    return;
  }
  policy_actor_actions(&p->layout, params, ws, obs, n, p->scale, p->bias, actions);
  int ou = strcmp(x->cfg->noise_type, "ou") == 0;
  for (int i = 0; i < n * A; i++) {
    int d = i % A;
    double sigma = x->noise_scale * p->scale[d], e;
    if (ou) {
      const double dt = 0.01;
      x->ou[i] +=
          (float)(-x->cfg->ou_theta * x->ou[i] * dt + sigma * sqrt(dt) * rng_normal(x->rng));
      e = x->ou[i];
    } else {
      e = sigma * rng_normal(x->rng);
    }
    actions[i] = clampf(actions[i] + (float)e, p->low[d], p->high[d]);
  }
}

/* Ape-X DPG actor priorities (algo.h `priorities`): |Q1(s, a) - y| with
 * y = r + disc * (1 - terminated) * min_k Q'_k(s', mu'(s')), the learner's target
 * (critic_targets) without TD3's target smoothing noise (its expectation is what an actor can
 * estimate; the learner replaces the priority after the first update anyway). online and target
 * are the published layout: actor | critic 1 | (critic 2). ws is the actor's workspace; the
 * critics go through a workspace of their own, in chunks of at most 64 rows. 0, or -1 (no
 * memory for that workspace: out is not filled). */
static int ddpg_priorities(const config_t *c, const algo_policy_t *p, const float *online,
                           const float *target, nn_ws_t *ws, int n, const float *obs,
                           const float *act, const float *rew, const float *next_obs,
                           const uint8_t *flags, const float *disc, float *out) {
  enum { CHUNK = 64 };
  const int S = p->obs_dim, A = p->act_dim, W = S + A, twin = strcmp(c->algo, "td3") == 0;
  const size_t n_actor = p->layout.n_params;
  const int step = ws->max_batch < CHUNK ? ws->max_batch : CHUNK;
  nn_layout_t cl;
  nn_ws_t cws;
  float boot[CHUNK];
  float *sa = malloc((size_t)step * (size_t)W * sizeof(float));
  int ok = sa && layout_for(&cl, c, W, 1, NN_IDENTITY) == 0 && nn_ws_init(&cws, &cl, step) == 0;
  if (!ok) { /* no memory: the batch goes without priorities (the replay's largest) */
    free(sa);
    return -1;
  }
  for (int start = 0; start < n; start += step) {
    int m = n - start < step ? n - start : step;
    const float *nx = next_obs + (size_t)start * S;
    const float *u = nn_forward(ws, target, nx, m);
    for (int i = 0; i < m; i++) {
      memcpy(sa + (size_t)i * W, nx + (size_t)i * S, (size_t)S * sizeof(float));
      for (int j = 0; j < A; j++)
        sa[(size_t)i * W + S + j] = p->bias[j] + p->scale[j] * u[(size_t)i * A + j];
    }
    const float *q = nn_forward(&cws, target + n_actor, sa, m);
    for (int i = 0; i < m; i++) boot[i] = q[i];
    if (twin) {
      q = nn_forward(&cws, target + n_actor + cl.n_params, sa, m);
      for (int i = 0; i < m; i++)
        if (q[i] < boot[i]) boot[i] = q[i];
    }
    for (int i = 0; i < m; i++) {
      int r = start + i;
      float keep = (flags[r] & TBATCH_TERMINATED) ? 0.0f : 1.0f;
      boot[i] = rew[r] + disc[r] * keep * boot[i];
      memcpy(sa + (size_t)i * W, obs + (size_t)r * S, (size_t)S * sizeof(float));
      memcpy(sa + (size_t)i * W + S, act + (size_t)r * A, (size_t)A * sizeof(float));
    }
    q = nn_forward(&cws, online + n_actor, sa, m);
    for (int i = 0; i < m; i++) out[start + i] = fabsf(q[i] - boot[i]);
  }
  nn_ws_free(&cws);
  free(sa);
  return 0;
}

static double ddpg_explore_level(const config_t *c, int index, int n_workers) {
  return policy_apex_epsilon(c->noise_scale, c->noise_spread, index, n_workers);
}

static void *ddpg_create(const algo_t *a, const config_t *c, const env_spec_t *spec, rng_t *rng,
                         char *err, size_t errlen) {
  ddpg_t *d = malloc(sizeof *d);
  if (!d) {
    snprintf(err, errlen, "ddpg: out of memory");
    return NULL;
  }
  if (ddpg_init(d, c, spec->obs.dim, &spec->act, rng, err, errlen) != 0) {
    free(d);
    return NULL;
  }
  return d;
}

static void ddpg_destroy(void *s) {
  if (!s) return;
  ddpg_free(s);
  free(s);
}

static void ddpg_algo_update(void *s, const algo_batch_t *b, algo_stats_t *out) {
  ddpg_t *d = s;
  ddpg_stats_t st;
  ddpg_update_ext(d, b->obs, b->act, b->rew, b->next_obs, b->term, b->disc, b->weight, b->td,
                  &st);
  out->td_filled = b->td != NULL;
  d->last_critic_norm = st.critic_grad_norm;
  out->loss = st.critic_loss;
  out->mean_q = st.mean_q;
  out->updates = d->updates;
}

static void ddpg_weights(void *s, algo_weights_t *w) {
  ddpg_t *d = s;
  /* The online buffer carries the critics already; the target (target actor | target critics,
   * the same layout) rides along in the Weights frame only under actor_priorities. */
  *w = (algo_weights_t){d->online, d->n_online, d->n_actor, d->target};
}

static void ddpg_state_view(void *s, algo_state_view_t *v) {
  ddpg_t *d = s;
  *v = (algo_state_view_t){
      .n = 6,
      .name = {"online", "target", "adam_actor_m", "adam_actor_v", "adam_critic_m",
               "adam_critic_v"},
      .ptr = {d->online, d->target, d->adam_actor.m, d->adam_actor.v, d->adam_critic.m,
              d->adam_critic.v},
      .len = {d->n_online, d->n_online, d->adam_actor.n, d->adam_actor.n, d->adam_critic.n,
              d->adam_critic.n},
      .n_steps = 4,
      .steps = {&d->updates, &d->actor_updates, &d->adam_actor.t, &d->adam_critic.t}};
}

static int ddpg_status_fields(void *s, algo_field_t *f) {
  const ddpg_t *d = s;
  f[0] = (algo_field_t){"actor_loss", "-mean Q1(s, mu(s)) of the last actor step.",
                        d->last_actor_loss};
  f[1] = (algo_field_t){"actor_grad_norm", "Actor gradient norm of the last actor step.",
                        d->last_actor_norm};
  f[2] = (algo_field_t){"critic_grad_norm", "Critic gradient norm of the last update.",
                        d->last_critic_norm};
  return 3;
}

#define DDPG_ROW(id, text)                                       \
  const algo_t algo_##id = {.name = #id,                         \
                            .summary = text,                     \
                            .mode = ALGO_ACTOR_LEARNER,          \
                            .actions = ENV_BOX,                  \
                            .policy = ddpg_policy,               \
                            .act_greedy = ddpg_act_greedy,       \
                            .act_explore = ddpg_act_explore,     \
                            .priorities = ddpg_priorities,       \
                            .per = 1,                            \
                            .explore_name = "noise scale",       \
                            .explore_level = ddpg_explore_level, \
                            .create = ddpg_create,               \
                            .destroy = ddpg_destroy,             \
                            .update = ddpg_algo_update,          \
                            .weights = ddpg_weights,             \
                            .state_view = ddpg_state_view,       \
                            .status_fields = ddpg_status_fields}
DDPG_ROW(ddpg, "DDPG: deterministic actor, critic, Polyak targets, Gaussian or OU noise");
DDPG_ROW(td3, "TD3: DDPG with twin critics, target smoothing and a delayed actor");
