/* pg: REINFORCE (with and without baseline) and one-step actor-critic, linear or MLP. */
#include "pg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_init(pg_t *p, const pg_opts_t *o, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  p->o = *o;
  p->o.theta_init = NULL; /* copied into theta below */
  const int na = o->n_actions, dim = o->obs_dim, cap = o->max_len;
  if (na < 2 || na > PG_MAX_ACTIONS || dim < 1 || dim > ENV_MAX_DIM || cap < 1) {
    snprintf(err, errlen, "pg: %d actions, observation dim %d, max_len %d: need 2..%d, 1..%d, >= 1",
             na, dim, cap, PG_MAX_ACTIONS, ENV_MAX_DIM);
    return -1;
  }
  rng_seed(&p->rng, o->seed);
  p->obs = malloc((size_t)(cap + 1) * (size_t)dim * sizeof *p->obs);
  p->act = malloc((size_t)cap * sizeof *p->act);
  p->rew = malloc((size_t)cap * sizeof *p->rew);
  p->ret = malloc((size_t)cap * sizeof *p->ret);
  p->dy = malloc((size_t)cap * (size_t)na * sizeof *p->dy);
  p->prob = malloc((size_t)na * sizeof *p->prob);
  int bad = !p->obs || !p->act || !p->rew || !p->ret || !p->dy || !p->prob;
  if (!bad && !o->mlp) {
    p->size = o->f.size;
    p->theta = calloc((size_t)na * (size_t)p->size, sizeof *p->theta);
    p->w = calloc((size_t)p->size, sizeof *p->w);
    p->idx = malloc((size_t)o->f.nnz * sizeof *p->idx);
    p->val = malloc((size_t)o->f.nnz * sizeof *p->val);
    bad = !p->theta || !p->w || !p->idx || !p->val;
    if (!bad && o->theta_init)
      for (int i = 0; i < o->n_init && i < na * p->size; i++) p->theta[i] = o->theta_init[i];
  } else if (!bad) {
    if (o->has_net) {
      const int *shape = o->obs_shape[0] > 0 ? o->obs_shape : NULL;
      char why[400];
      if (nn_layout_build(&p->pl, &o->net, dim, shape, na, o->activation, NN_IDENTITY, 0, why,
                          sizeof why) ||
          nn_layout_build(&p->vl, &o->net, dim, shape, 1, o->activation, NN_IDENTITY, 0, why,
                          sizeof why)) {
        pg_free(p);
        snprintf(err, errlen, "pg: %s", why);
        return -1;
      }
    } else if (nn_layout_init(&p->pl, dim, o->hidden, o->n_hidden, na, o->activation,
                              NN_IDENTITY) ||
               nn_layout_init(&p->vl, dim, o->hidden, o->n_hidden, 1, o->activation, NN_IDENTITY)) {
      pg_free(p);
      snprintf(err, errlen, "pg: bad MLP sizes (%d hidden layers)", o->n_hidden);
      return -1;
    }
    p->pp = malloc(p->pl.n_params * sizeof *p->pp);
    p->pgrad = calloc(p->pl.n_params, sizeof *p->pgrad);
    p->vp = malloc(p->vl.n_params * sizeof *p->vp);
    p->vgrad = calloc(p->vl.n_params, sizeof *p->vgrad);
    bad = !p->pp || !p->pgrad || !p->vp || !p->vgrad || nn_ws_init(&p->pws, &p->pl, cap) ||
          nn_ws_init(&p->vws, &p->vl, cap) ||
          adam_init(&p->pa, p->pl.n_params, (float)o->alpha, 0.9f, 0.999f, 1e-8f) ||
          adam_init(&p->va, p->vl.n_params, (float)o->alpha_w, 0.9f, 0.999f, 1e-8f);
    if (!bad) {
      nn_init_params(&p->pl, p->pp, &p->rng);
      nn_init_params(&p->vl, p->vp, &p->rng);
    }
  }
  if (bad) {
    pg_free(p);
    snprintf(err, errlen, "pg: out of memory (episode capacity %d)", cap);
    return -1;
  }
  return 0;
}

void pg_free(pg_t *p) {
  free(p->theta);
  free(p->w);
  free(p->idx);
  free(p->val);
  free(p->pp);
  free(p->pgrad);
  free(p->vp);
  free(p->vgrad);
  if (p->pws.l) nn_ws_free(&p->pws);
  if (p->vws.l) nn_ws_free(&p->vws);
  if (p->pa.m) adam_free(&p->pa);
  if (p->va.m) adam_free(&p->va);
  free(p->obs);
  free(p->act);
  free(p->rew);
  free(p->ret);
  free(p->dy);
  free(p->prob);
  memset(p, 0, sizeof *p);
}

/* Softmax of n preferences into prob, then every probability raised to at least min_prob
 * (the others scaled to fill the rest). */
static void softmax(const double *h, int n, double min_prob, double *prob) {
  double mx = h[0], sum = 0.0;
  for (int a = 1; a < n; a++) mx = h[a] > mx ? h[a] : mx;
  for (int a = 0; a < n; a++) sum += prob[a] = exp(h[a] - mx);
  for (int a = 0; a < n; a++) prob[a] /= sum;
  if (min_prob <= 0) return;
  int low = 0;
  double rest = 0.0;
  for (int a = 0; a < n; a++) {
    if (prob[a] < min_prob)
      low++;
    else
      rest += prob[a];
  }
  if (!low || rest <= 0) return;
  double scale = (1.0 - low * min_prob) / rest;
  for (int a = 0; a < n; a++) prob[a] = prob[a] < min_prob ? min_prob : prob[a] * scale;
}

/* Linear: also leaves x(obs) in p->idx / p->val, returning its nonzero count. */
static int lin_policy(pg_t *p, const float *obs, double *prob) {
  double h[PG_MAX_ACTIONS];
  const int na = p->o.n_actions;
  int n = linfeat_eval(&p->o.f, obs, p->idx, p->val);
  for (int a = 0; a < na; a++)
    h[a] = linfeat_dot(p->theta + (size_t)a * (size_t)p->size, p->idx, p->val, n);
  softmax(h, na, p->o.min_prob, prob);
  return n;
}

static const float *mlp_logits(pg_t *p, const float *obs, int batch) {
  return nn_forward(&p->pws, p->pp, obs, batch);
}

void pg_policy(pg_t *p, const float *obs, double *prob) {
  if (!p->o.mlp) {
    lin_policy(p, obs, prob);
    return;
  }
  const float *z = mlp_logits(p, obs, 1);
  double h[PG_MAX_ACTIONS] = {0};
  for (int a = 0; a < p->o.n_actions; a++) h[a] = z[a];
  softmax(h, p->o.n_actions, p->o.min_prob, prob);
}

int pg_act(pg_t *p, const float *obs, int greedy) {
  pg_policy(p, obs, p->prob);
  const int na = p->o.n_actions;
  if (greedy) {
    int best = 0;
    for (int a = 1; a < na; a++)
      if (p->prob[a] > p->prob[best]) best = a;
    return best;
  }
  double u = rng_uniform(&p->rng), c = 0.0;
  for (int a = 0; a < na - 1; a++) {
    c += p->prob[a];
    if (u < c) return a;
  }
  return na - 1;
}

double pg_value(pg_t *p, const float *obs) {
  if (p->o.algo == PG_REINFORCE) return 0.0;
  if (!p->o.mlp) {
    int n = linfeat_eval(&p->o.f, obs, p->idx, p->val);
    return linfeat_dot(p->w, p->idx, p->val, n);
  }
  return nn_forward(&p->vws, p->vp, obs, 1)[0];
}

/* theta += step * grad ln pi(a|s), with x(s) in idx / val (n entries) and pi in prob. */
static void lin_policy_step(pg_t *p, int a, double step, int n) {
  for (int b = 0; b < p->o.n_actions; b++)
    linfeat_axpy(p->theta + (size_t)b * (size_t)p->size, step * ((b == a) - p->prob[b]), p->idx,
                 p->val, n);
}

/* Linear REINFORCE / REINFORCE with baseline over the stored episode (the book's loop:
 * each step's update sees the parameters the earlier steps left). */
static void lin_reinforce(pg_t *p, int len) {
  const int dim = p->o.obs_dim;
  double discount = 1.0;
  for (int t = 0; t < len; t++) {
    const float *s = p->obs + (size_t)t * (size_t)dim;
    int n = lin_policy(p, s, p->prob);
    double delta = p->ret[t];
    if (p->o.algo == PG_REINFORCE_BASELINE) {
      delta -= linfeat_dot(p->w, p->idx, p->val, n);
      linfeat_axpy(p->w, p->o.alpha_w * delta, p->idx, p->val, n);
    }
    lin_policy_step(p, p->act[t], p->o.alpha * discount * delta, n);
    discount *= p->o.gamma;
  }
}

/* MLP REINFORCE: one Adam step on the episode for the value net (mean squared error to G_t)
 * and one for the policy (-mean of standardized advantages times ln pi). */
static void mlp_reinforce(pg_t *p, int len) {
  const int na = p->o.n_actions;
  double *adv = p->ret; /* overwritten in place: G_t -> advantage */
  if (p->o.algo == PG_REINFORCE_BASELINE) {
    const float *v = nn_forward(&p->vws, p->vp, p->obs, len);
    float *dv = p->dy; /* len x 1 scratch */
    for (int t = 0; t < len; t++) {
      dv[t] = (float)((v[t] - adv[t]) / len);
      adv[t] -= v[t];
    }
    memset(p->vgrad, 0, p->vl.n_params * sizeof *p->vgrad);
    nn_backward(&p->vws, p->vp, dv, p->vgrad, NULL);
    optim_step(&p->va, p->vp, p->vgrad, 0);
  }
  double mean = 0.0, var = 0.0;
  for (int t = 0; t < len; t++) mean += adv[t];
  mean /= len;
  for (int t = 0; t < len; t++) var += (adv[t] - mean) * (adv[t] - mean);
  double sd = sqrt(var / len);
  for (int t = 0; t < len; t++) adv[t] = len > 1 ? (adv[t] - mean) / (sd + 1e-8) : adv[t];
  const float *z = mlp_logits(p, p->obs, len);
  for (int t = 0; t < len; t++) {
    double h[PG_MAX_ACTIONS] = {0};
    for (int a = 0; a < na; a++) h[a] = z[(size_t)t * na + a];
    softmax(h, na, p->o.min_prob, p->prob);
    for (int a = 0; a < na; a++)
      p->dy[(size_t)t * na + a] = (float)(-adv[t] * ((a == p->act[t]) - p->prob[a]) / len);
  }
  memset(p->pgrad, 0, p->pl.n_params * sizeof *p->pgrad);
  nn_backward(&p->pws, p->pp, p->dy, p->pgrad, NULL);
  optim_step(&p->pa, p->pp, p->pgrad, 0);
}

/* One-step actor-critic update for S -> (A, R) -> S'. */
static void ac_update(pg_t *p, const float *s, int a, double r, const float *s2, int term,
                      double discount_i) {
  const int na = p->o.n_actions;
  double v2 = term ? 0.0 : pg_value(p, s2);
  if (!p->o.mlp) {
    int n = lin_policy(p, s, p->prob); /* also x(s) */
    double delta = r + p->o.gamma * v2 - linfeat_dot(p->w, p->idx, p->val, n);
    linfeat_axpy(p->w, p->o.alpha_w * delta, p->idx, p->val, n);
    lin_policy_step(p, a, p->o.alpha * discount_i * delta, n);
    return;
  }
  double v = nn_forward(&p->vws, p->vp, s, 1)[0];
  double delta = r + p->o.gamma * v2 - v;
  float dv = (float)-delta; /* d/dv of 0.5 (target - v)^2 */
  memset(p->vgrad, 0, p->vl.n_params * sizeof *p->vgrad);
  nn_backward(&p->vws, p->vp, &dv, p->vgrad, NULL);
  optim_step(&p->va, p->vp, p->vgrad, 0);
  pg_policy(p, s, p->prob);
  for (int b = 0; b < na; b++) p->dy[b] = (float)(-discount_i * delta * ((b == a) - p->prob[b]));
  memset(p->pgrad, 0, p->pl.n_params * sizeof *p->pgrad);
  nn_backward(&p->pws, p->pp, p->dy, p->pgrad, NULL);
  optim_step(&p->pa, p->pp, p->pgrad, 0);
}

void pg_episode(pg_t *p, env_t *env, uint64_t seed, long *len, double *ret) {
  const int dim = p->o.obs_dim, cap = p->o.max_len;
  env_reset(env, seed, p->obs);
  double g = 0.0, discount_i = 1.0;
  int t = 0;
  for (;;) {
    /* actor-critic keeps only S and S' (rows 0 and 1); REINFORCE keeps the episode */
    int row = p->o.algo == PG_ACTOR_CRITIC ? 0 : t;
    float *s = p->obs + (size_t)row * (size_t)dim, *s2 = s + dim;
    int a = pg_act(p, s, 0);
    float act = (float)a, r;
    int term, trunc;
    env_step(env, &act, s2, &r, &term, &trunc);
    g += r;
    if (p->o.algo == PG_ACTOR_CRITIC) {
      ac_update(p, s, a, r, s2, term, discount_i);
      discount_i *= p->o.gamma;
      memcpy(s, s2, (size_t)dim * sizeof *s);
    } else {
      p->act[t] = a;
      p->rew[t] = r;
    }
    t++;
    if (term || trunc || t >= cap) break;
  }
  if (p->o.algo != PG_ACTOR_CRITIC) {
    double gt = 0.0; /* a truncated episode's tail is cut: G_t counts the rewards seen */
    for (int k = t; k-- > 0;) p->ret[k] = gt = p->rew[k] + p->o.gamma * gt;
    if (p->o.mlp)
      mlp_reinforce(p, t);
    else
      lin_reinforce(p, t);
  }
  *len = t;
  *ret = g;
}
