/* linear: gradient MC, semi-gradient TD(0), Sarsa and Q-learning with linear features. */
#include "linear.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int linear_pred_init(linear_pred_t *p, const linfeat_t *f, int td, double alpha, double gamma,
                     char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  p->f = *f;
  p->td = td;
  p->alpha = alpha;
  p->gamma = gamma;
  p->cap = 1024;
  p->w = calloc((size_t)f->size, sizeof *p->w);
  p->idx = malloc((size_t)f->nnz * sizeof *p->idx);
  p->val = malloc((size_t)f->nnz * sizeof *p->val);
  p->traj = malloc(p->cap * (size_t)f->dim * sizeof *p->traj);
  p->rew = malloc(p->cap * sizeof *p->rew);
  if (!p->w || !p->idx || !p->val || !p->traj || !p->rew) {
    linear_pred_free(p);
    snprintf(err, errlen, "linear: out of memory for %d features", f->size);
    return -1;
  }
  return 0;
}

void linear_pred_free(linear_pred_t *p) {
  free(p->w);
  free(p->idx);
  free(p->val);
  free(p->traj);
  free(p->rew);
  memset(p, 0, sizeof *p);
}

double linear_pred_value(linear_pred_t *p, const float *obs) {
  int n = linfeat_eval(&p->f, obs, p->idx, p->val);
  return linfeat_dot(p->w, p->idx, p->val, n);
}

static int pred_grow(linear_pred_t *p) {
  size_t cap = p->cap * 2;
  float *t = realloc(p->traj, cap * (size_t)p->f.dim * sizeof *t);
  if (!t) return -1;
  p->traj = t;
  double *r = realloc(p->rew, cap * sizeof *r);
  if (!r) return -1;
  p->rew = r;
  p->cap = cap;
  return 0;
}

int linear_pred_episode(linear_pred_t *p, env_t *env, uint64_t seed, long *len, double *ret) {
  const int dim = p->f.dim;
  float obs[ENV_MAX_DIM], next[ENV_MAX_DIM], action[ENV_MAX_DIM] = {0};
  env_reset(env, seed, obs);
  size_t t = 0;
  double g = 0.0, discount = 1.0;
  for (;;) {
    float r;
    int term, trunc;
    env_step(env, action, next, &r, &term, &trunc);
    g += discount * r;
    discount *= p->gamma;
    if (p->td) {
      double target = r;
      if (!term) target += p->gamma * linear_pred_value(p, next);
      int n = linfeat_eval(&p->f, obs, p->idx, p->val);
      double delta = target - linfeat_dot(p->w, p->idx, p->val, n);
      linfeat_axpy(p->w, p->alpha * delta, p->idx, p->val, n);
    } else {
      if (t == p->cap && pred_grow(p)) return -1;
      memcpy(p->traj + t * (size_t)dim, obs, (size_t)dim * sizeof *obs);
      p->rew[t] = r;
    }
    t++;
    memcpy(obs, next, sizeof obs);
    if (term || trunc) break;
  }
  if (!p->td) { /* G_t backwards; a truncated episode's tail is simply cut (no bootstrap) */
    double gt = 0.0;
    for (size_t k = t; k-- > 0;) {
      gt = p->rew[k] + p->gamma * gt;
      int n = linfeat_eval(&p->f, p->traj + k * (size_t)dim, p->idx, p->val);
      double delta = gt - linfeat_dot(p->w, p->idx, p->val, n);
      linfeat_axpy(p->w, p->alpha * delta, p->idx, p->val, n);
    }
  }
  *len = (long)t;
  *ret = g;
  return 0;
}

int linear_randomwalk_mu(double *mu, int n) {
  if (n < 1) return -1;
  const int jump = ENV_RANDOMWALK_JUMP, start = n / 2;
  const double p = 1.0 / (2 * jump);
  for (int s = 0; s <= n + 1; s++) mu[s] = 0.0;
  int sweeps = 0;
  double delta;
  do { /* eta(s) = h(s) + sum_prev eta(prev) p(s | prev); p is symmetric in the interior */
    delta = 0.0;
    for (int s = 1; s <= n; s++) {
      double sum = 0.0;
      int lo = s - jump < 1 ? 1 : s - jump, hi = s + jump > n ? n : s + jump;
      for (int q = lo; q <= hi; q++)
        if (q != s) sum += mu[q];
      double nv = (s == start ? 1.0 : 0.0) + p * sum;
      double change = fabs(nv - mu[s]);
      if (change > delta) delta = change;
      mu[s] = nv;
    }
    sweeps++;
  } while (delta >= 1e-12);
  double total = 0.0;
  for (int s = 1; s <= n; s++) total += mu[s];
  for (int s = 1; s <= n; s++) mu[s] /= total;
  return sweeps;
}

void linear_value_error(linear_pred_t *p, const double *v_true, const double *mu, int n,
                        double *rmse_mu, double *rmse_plain) {
  double wsum = 0.0, plain = 0.0;
  for (int s = 1; s <= n; s++) {
    float obs = (float)s;
    double e = linear_pred_value(p, &obs) - v_true[s];
    wsum += mu[s] * e * e;
    plain += e * e;
  }
  *rmse_mu = sqrt(wsum);
  *rmse_plain = sqrt(plain / n);
}

int linear_ctl_init(linear_ctl_t *c, const linfeat_t *f, int n_actions, int qlearning, double alpha,
                    double gamma, double epsilon, uint64_t seed, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  c->f = *f;
  c->n_actions = n_actions;
  c->qlearning = qlearning;
  c->alpha = alpha;
  c->gamma = gamma;
  c->epsilon = epsilon;
  c->size = linfeat_size_sa(f, n_actions);
  rng_seed(&c->rng, seed);
  c->w = calloc((size_t)c->size, sizeof *c->w);
  c->idx = malloc((size_t)f->nnz * sizeof *c->idx);
  c->val = malloc((size_t)f->nnz * sizeof *c->val);
  c->q = malloc((size_t)n_actions * sizeof *c->q);
  if (n_actions < 1 || !c->w || !c->idx || !c->val || !c->q) {
    linear_ctl_free(c);
    snprintf(err, errlen, "linear: %d actions, %d state-action features: cannot allocate",
             n_actions, c->size);
    return -1;
  }
  return 0;
}

void linear_ctl_free(linear_ctl_t *c) {
  free(c->w);
  free(c->idx);
  free(c->val);
  free(c->q);
  memset(c, 0, sizeof *c);
}

double linear_ctl_q(linear_ctl_t *c, const float *obs, int action) {
  int n = linfeat_eval_sa(&c->f, obs, action, c->n_actions, c->idx, c->val);
  return linfeat_dot(c->w, c->idx, c->val, n);
}

/* Greedy action with random tie-breaking; *qmax receives its value. */
static int ctl_greedy(linear_ctl_t *c, const float *obs, double *qmax) {
  int best = 0, ties = 0;
  for (int a = 0; a < c->n_actions; a++) {
    double q = linear_ctl_q(c, obs, a);
    if (a == 0 || q > *qmax) {
      *qmax = q;
      best = a;
      ties = 1;
    } else if (q == *qmax && rng_below(&c->rng, (uint64_t)++ties) == 0) {
      best = a;
    }
  }
  return best;
}

int linear_ctl_act(linear_ctl_t *c, const float *obs, double epsilon) {
  if (epsilon > 0 && rng_uniform(&c->rng) < epsilon)
    return (int)rng_below(&c->rng, (uint64_t)c->n_actions);
  double q;
  return ctl_greedy(c, obs, &q);
}

void linear_ctl_episode(linear_ctl_t *c, env_t *env, uint64_t seed, long *len, double *ret) {
  float obs[ENV_MAX_DIM], next[ENV_MAX_DIM];
  env_reset(env, seed, obs);
  int a = linear_ctl_act(c, obs, c->epsilon);
  long t = 0;
  double g = 0.0, discount = 1.0;
  for (;;) {
    float act = (float)a, r;
    int term, trunc;
    env_step(env, &act, next, &r, &term, &trunc);
    t++;
    g += discount * r;
    discount *= c->gamma;
    double target = r;
    int a2 = 0;
    if (!term) {
      a2 = linear_ctl_act(c, next, c->epsilon);
      double qn;
      if (c->qlearning)
        ctl_greedy(c, next, &qn);
      else
        qn = linear_ctl_q(c, next, a2);
      target += c->gamma * qn;
    }
    int n = linfeat_eval_sa(&c->f, obs, a, c->n_actions, c->idx, c->val);
    double delta = target - linfeat_dot(c->w, c->idx, c->val, n);
    linfeat_axpy(c->w, c->alpha * delta, c->idx, c->val, n);
    if (term || trunc) break;
    memcpy(obs, next, sizeof obs);
    a = a2;
  }
  *len = t;
  *ret = g;
}
