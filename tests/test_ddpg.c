/* test_ddpg: the DDPG/TD3 update core (server/algo/ddpg.c).
 *
 *   test_ddpg            gradient, Polyak, target-smoothing and twin-min checks (label unit)
 *   test_ddpg --learn    TD3 on Pendulum-v1 for 15000 env steps, greedy eval >= -400
 *   test_ddpg --run FILE SEED [ENV_STEPS]
 *                        the single-process loop on a preset file, printing the eval curve
 *                        (how the presets were tuned)
 *
 * The learning loop is deterministic (one thread, fixed seeds, an env-step budget): one env,
 * a replay_t whose rate limiter allows samples_per_insert / batch_size updates per env step,
 * uniform random actions for the first random_steps, Gaussian or OU exploration noise, greedy
 * evaluation over eval_episodes episodes every eval_interval env steps. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "ddpg.h"
#include "env.h"
#include "nn.h"
#include "nn_ref.h"
#include "replay.h"
#include "rng.h"

/* J(theta) = mean_b Q1(s_b, bias + scale * mu_theta(s_b)), all in double. */
static double objective_d(const ddpg_t *d, const double *actor, const double *critic,
                          const float *obs) {
  double sum = 0;
  for (int b = 0; b < d->batch; b++) {
    double s[64], u[ENV_MAX_DIM], q;
    for (int i = 0; i < d->obs_dim; i++) s[i] = obs[(size_t)b * d->obs_dim + i];
    nn_ref_row(&d->actor_l, actor, s, u);
    for (int j = 0; j < d->act_dim; j++)
      s[d->obs_dim + j] = d->act_bias[j] + d->act_scale[j] * u[j];
    nn_ref_row(&d->critic_l, critic, s, &q);
    sum += q;
  }
  return sum / d->batch;
}

static void to_double(const float *f, size_t n, double *out) {
  for (size_t i = 0; i < n; i++) out[i] = f[i];
}

static env_space_t box2(void) {
  env_space_t s;
  memset(&s, 0, sizeof s);
  s.kind = ENV_BOX;
  s.dim = 2;
  s.low[0] = -2.0f;
  s.high[0] = 2.0f;
  s.low[1] = 0.0f;
  s.high[1] = 1.0f;
  return s;
}

static void small_config(config_t *c, const char *algo, const char *hidden, const char *act) {
  config_init(c);
  snprintf(c->algo, sizeof c->algo, "%s", algo);
  snprintf(c->hidden, sizeof c->hidden, "%s", hidden);
  snprintf(c->activation, sizeof c->activation, "%s", act);
  c->batch_size = 16;
  c->grad_clip = 0;
  c->tau = 0.005;
  c->gamma = 0.9;
}

static void fill_batch(rng_t *r, int n, float *x, double lo, double hi) {
  for (int i = 0; i < n; i++) x[i] = (float)rng_range(r, lo, hi);
}

/* 1. The actor gradient through the critic against central differences of J in double, and
 * the actor step leaves every critic parameter bit-identical. */
static void test_actor_gradient(const char *algo, const char *activation) {
  config_t c;
  small_config(&c, algo, "8,8", activation);
  env_space_t as = box2();
  ddpg_t d;
  char err[256];
  rng_t rng;
  rng_seed(&rng, 7);
  int rc = ddpg_init(&d, &c, 3, &as, &rng, err, sizeof err);
  CHECK(rc == 0, "ddpg_init: %s", err);
  if (rc) return;
  const int B = d.batch;
  float obs[16 * 3], act[16 * 2], rew[16], nobs[16 * 3], term[16] = {0};
  fill_batch(&rng, B * 3, obs, -1, 1);
  fill_batch(&rng, B * 3, nobs, -1, 1);
  fill_batch(&rng, B, rew, -1, 1);
  for (int b = 0; b < B; b++) {
    act[b * 2] = (float)rng_range(&rng, -2, 2);
    act[b * 2 + 1] = (float)rng_range(&rng, 0, 1);
  }
  /* A few updates first, so the critic is not at its initialization. */
  for (int i = 0; i < 5; i++) ddpg_update(&d, obs, act, rew, nobs, term, NULL);

  size_t na = d.n_actor, nc = d.n_critic, nall = d.n_online;
  float *before = malloc(nall * sizeof(float));
  float *target_before = malloc(nall * sizeof(float));
  double *actor = malloc(na * sizeof(double)), *critic = malloc(nc * sizeof(double));
  memcpy(before, d.online, nall * sizeof(float));
  memcpy(target_before, d.target, nall * sizeof(float));
  to_double(d.online, na, actor);
  to_double(d.online + na, nc, critic);
  float loss = 0;
  ddpg_actor_step(&d, obs, &loss);
  double j0 = objective_d(&d, actor, critic, obs);
  CHECK_NEAR(loss, -j0, 1e-4 * (1 + fabs(j0)));

  CHECK(memcmp(before + na, d.online + na, (nall - na) * sizeof(float)) == 0,
        "%s/%s: the actor step changed critic parameters", algo, activation);
  CHECK(memcmp(target_before, d.target, nall * sizeof(float)) == 0,
        "%s/%s: the actor step changed target parameters", algo, activation);
  CHECK(memcmp(before, d.online, na * sizeof(float)) != 0, "%s/%s: the actor did not move", algo,
        activation);

  /* d.grads holds dL/dtheta with L = -J. */
  double gmax = 0, errmax = 0;
  size_t worst = 0;
  double worst_a = 0, worst_n = 0;
  double *fd = malloc(na * sizeof(double));
  for (size_t i = 0; i < na; i++) {
    double h = 1e-6 * (1 + fabs(actor[i])), keep = actor[i];
    actor[i] = keep + h;
    double jp = objective_d(&d, actor, critic, obs);
    actor[i] = keep - h;
    double jm = objective_d(&d, actor, critic, obs);
    actor[i] = keep;
    fd[i] = (jp - jm) / (2 * h);
    if (fabs(fd[i]) > gmax) gmax = fabs(fd[i]);
  }
  for (size_t i = 0; i < na; i++) {
    double e = fabs(-(double)d.grads[i] - fd[i]);
    if (e > errmax) {
      errmax = e;
      worst = i;
      worst_a = -(double)d.grads[i];
      worst_n = fd[i];
    }
  }
  CHECK(gmax > 1e-6, "%s/%s: actor gradient is all zero", algo, activation);
  CHECK(errmax <= 1e-3 * gmax + 1e-7,
        "%s/%s: actor gradient param %zu: analytic %.9g, central difference %.9g "
        "(max |g| %.3g, max err %.3g)",
        algo, activation, worst, worst_a, worst_n, gmax, errmax);
  printf("actor gradient %s/%s: %zu params, max |dJ/dtheta| %.4g, max abs error %.3g\n", algo,
         activation, na, gmax, errmax);
  free(fd);
  free(before);
  free(target_before);
  free(actor);
  free(critic);
  ddpg_free(&d);
}

/* 2a. Polyak: after one DDPG update, target = tau * online + (1 - tau) * target_before for the
 * actor and the critic; TD3 leaves the targets alone on the non-delayed update. */
static void test_polyak(void) {
  const char *algos[2] = {"ddpg", "td3"};
  for (int a = 0; a < 2; a++) {
    config_t c;
    small_config(&c, algos[a], "8,8", "relu");
    c.tau = 0.25;
    c.policy_delay = 2;
    env_space_t as = box2();
    ddpg_t d;
    char err[256];
    rng_t rng;
    rng_seed(&rng, 11);
    if (ddpg_init(&d, &c, 3, &as, &rng, err, sizeof err) != 0) {
      CHECK(0, "ddpg_init: %s", err);
      return;
    }
    float obs[16 * 3], act[16 * 2], rew[16], nobs[16 * 3], term[16] = {0};
    fill_batch(&rng, 16 * 3, obs, -1, 1);
    fill_batch(&rng, 16 * 3, nobs, -1, 1);
    fill_batch(&rng, 16, rew, -1, 1);
    fill_batch(&rng, 16 * 2, act, 0, 1);
    size_t n = d.n_online;
    float *tb = malloc(n * sizeof(float));
    double maxerr = 0;
    for (int u = 1; u <= 4; u++) {
      memcpy(tb, d.target, n * sizeof(float));
      ddpg_stats_t st;
      ddpg_update(&d, obs, act, rew, nobs, term, &st);
      int moved = !d.twin || u % 2 == 0;
      CHECK(st.actor_updated == moved, "%s update %d: actor_updated %d", algos[a], u,
            st.actor_updated);
      for (size_t i = 0; i < n; i++) {
        double want = moved ? 0.25 * (double)d.online[i] + 0.75 * (double)tb[i] : tb[i];
        double e = fabs(want - d.target[i]);
        if (e > maxerr) maxerr = e;
      }
    }
    CHECK(maxerr <= 1e-6, "%s: Polyak target differs from hand computation by %g", algos[a],
          maxerr);
    CHECK(d.updates == 4 && d.actor_updates == (d.twin ? 2 : 4), "%s: updates %ld actor %ld",
          algos[a], d.updates, d.actor_updates);
    free(tb);
    ddpg_free(&d);
  }
}

/* Sets a critic (layout obs_dim + act_dim -> H -> ... -> 1, relu) to Q(s, a) = sign * a[0]:
 * hidden unit 0 of the first layer is a[0] + 10 (> 0, so relu passes it), carried by unit 0
 * of the following layers, and the output is sign * (h - 10). */
static void critic_linear_in_action(const ddpg_t *d, float *p, float sign) {
  const nn_layout_t *l = &d->critic_l;
  memset(p, 0, l->n_params * sizeof(float));
  p[l->w_off[0] + (size_t)d->obs_dim] = 1.0f; /* unit 0 <- a[0] */
  p[l->b_off[0]] = 10.0f;
  for (int i = 1; i + 1 < l->n_layers; i++) p[l->w_off[i]] = 1.0f;
  int last = l->n_layers - 1;
  p[l->w_off[last]] = sign;
  p[l->b_off[last]] = -10.0f * sign;
}

/* 2b. TD3 target smoothing stays within the clip and the bounds; the target takes the min of
 * the twin target critics (Q1' = a'[0], Q2' = -a'[0], so min = -|a'[0]|); DDPG uses Q1' only
 * without noise; terminated transitions do not bootstrap. */
static void test_targets(void) {
  const char *algos[2] = {"ddpg", "td3"};
  for (int a = 0; a < 2; a++) {
    config_t c;
    small_config(&c, algos[a], "8,8", "relu");
    c.batch_size = 64;
    c.gamma = 0.9;
    c.target_noise = 0.4; /* wide, so that clipping happens often */
    c.target_noise_clip = 0.5;
    env_space_t as = box2();
    ddpg_t d;
    char err[256];
    rng_t rng;
    rng_seed(&rng, 5);
    if (ddpg_init(&d, &c, 3, &as, &rng, err, sizeof err) != 0) {
      CHECK(0, "ddpg_init: %s", err);
      return;
    }
    /* Target actor: make the output saturate for some rows (large last-layer weights), so
     * the clip to the bounds matters too. */
    nn_scale_last_layer(&d.actor_l, d.target, 8.0f);
    critic_linear_in_action(&d, d.target + d.n_actor, 1.0f);
    if (d.twin) critic_linear_in_action(&d, d.target + d.n_actor + d.n_critic, -1.0f);
    const int B = 64, S = 3, A = 2, W = S + A;
    float obs[64 * 3], act[64 * 2], rew[64], nobs[64 * 3], term[64], mu[64 * 2];
    nn_ws_t ws;
    nn_ws_init(&ws, &d.actor_l, B);
    long n_clipped = 0, n_noisy = 0, n_total = 0, bad_noise = 0, bad_bounds = 0, bad_y = 0;
    for (int it = 0; it < 20; it++) {
      fill_batch(&rng, B * S, obs, -1, 1);
      fill_batch(&rng, B * S, nobs, -3, 3);
      fill_batch(&rng, B, rew, -1, 1);
      fill_batch(&rng, B * A, act, 0, 1);
      for (int b = 0; b < B; b++) term[b] = b % 4 == 0;
      ddpg_act(&d.actor_l, d.target, &ws, nobs, B, d.act_scale, d.act_bias, mu);
      /* Keep the target critics fixed: tau 0 would be rejected by nothing, but the online
       * update would move them; copy them back after each update instead. */
      float *tcrit = malloc((d.n_online - d.n_actor) * sizeof(float));
      memcpy(tcrit, d.target + d.n_actor, (d.n_online - d.n_actor) * sizeof(float));
      float *tactor = malloc(d.n_actor * sizeof(float));
      memcpy(tactor, d.target, d.n_actor * sizeof(float));
      ddpg_update(&d, obs, act, rew, nobs, term, NULL);
      for (int b = 0; b < B; b++) {
        const float *an = d.sa_next + (size_t)b * W + S;
        for (int j = 0; j < A; j++) {
          float lo = d.act_bias[j] - d.act_scale[j], hi = d.act_bias[j] + d.act_scale[j];
          float eps = an[j] - mu[b * A + j], lim = c.target_noise_clip * d.act_scale[j];
          if (an[j] < lo || an[j] > hi) bad_bounds++;
          if (!d.twin && fabsf(an[j] - mu[b * A + j]) > 1e-6f) bad_noise++;
          /* Not clipped to the bounds: the noise itself must be within the clip. */
          if (an[j] > lo && an[j] < hi) {
            if (fabsf(eps) > lim * (1 + 1e-5f) + 1e-6f) bad_noise++;
            if (fabsf(eps) >= lim * (1 - 1e-5f)) n_clipped++;
            if (eps != 0.0f) n_noisy++;
            n_total++;
          }
        }
        double q = d.twin ? -fabs((double)an[0]) : (double)an[0];
        double y = rew[b] + 0.9 * (1.0 - term[b]) * q;
        if (fabs(y - d.y[b]) > 1e-4 * (1 + fabs(y))) {
          if (bad_y < 3)
            fprintf(stderr, "%s: y[%d] = %.7g, expected %.7g (a'[0] = %g, term %g)\n", algos[a], b,
                    d.y[b], y, an[0], term[b]);
          bad_y++;
        }
      }
      memcpy(d.target + d.n_actor, tcrit, (d.n_online - d.n_actor) * sizeof(float));
      memcpy(d.target, tactor, d.n_actor * sizeof(float));
      free(tcrit);
      free(tactor);
    }
    CHECK(bad_bounds == 0, "%s: %ld target actions outside the bounds", algos[a], bad_bounds);
    CHECK(bad_noise == 0, "%s: %ld target actions with noise beyond the clip (or noise in DDPG)",
          algos[a], bad_noise);
    CHECK(bad_y == 0, "%s: %ld targets differ from r + gamma (1 - term) min Q'", algos[a], bad_y);
    if (d.twin) {
      CHECK(n_clipped > 0 && n_noisy > n_total / 2,
            "td3: %ld noisy, %ld at the clip of %ld target actions", n_noisy, n_clipped, n_total);
      printf("td3 target smoothing: %ld of %ld actions at the noise clip\n", n_clipped, n_total);
    }
    nn_ws_free(&ws);
    ddpg_free(&d);
  }
}

/* ddpg_act: chunks larger than the workspace and the affine map into the bounds. */
static void test_act(void) {
  config_t c;
  small_config(&c, "td3", "8", "tanh");
  env_space_t as = box2();
  nn_layout_t l;
  CHECK(ddpg_actor_layout(&l, &c, 3, 2) == 0, "actor layout");
  float *p = malloc(l.n_params * sizeof(float));
  rng_t rng;
  rng_seed(&rng, 3);
  nn_init_params(&l, p, &rng);
  nn_scale_last_layer(&l, p, 20.0f);
  float sc[2], bi[2];
  CHECK(ddpg_action_affine(&as, sc, bi) == 0, "affine");
  CHECK(sc[0] == 2 && bi[0] == 0 && sc[1] == 0.5f && bi[1] == 0.5f, "scale %g %g bias %g %g", sc[0],
        sc[1], bi[0], bi[1]);
  nn_ws_t ws;
  nn_ws_init(&ws, &l, 7);
  float obs[50 * 3], a[50 * 2];
  fill_batch(&rng, 150, obs, -2, 2);
  ddpg_act(&l, p, &ws, obs, 50, sc, bi, a);
  int bad = 0;
  for (int b = 0; b < 50; b++) {
    double s[3], u[2];
    for (int i = 0; i < 3; i++) s[i] = obs[b * 3 + i];
    double pd[1024];
    to_double(p, l.n_params, pd);
    nn_ref_row(&l, pd, s, u);
    for (int j = 0; j < 2; j++) {
      if (fabs(bi[j] + sc[j] * u[j] - a[b * 2 + j]) > 1e-4) bad++;
      if (a[b * 2 + j] < as.low[j] || a[b * 2 + j] > as.high[j]) bad++;
    }
  }
  CHECK(bad == 0, "ddpg_act: %d actions wrong or out of bounds", bad);
  env_space_t unbounded = as;
  unbounded.high[1] = INFINITY;
  CHECK(ddpg_action_affine(&unbounded, sc, bi) != 0, "unbounded space accepted");
  ddpg_t d;
  char err[256];
  CHECK(ddpg_init(&d, &c, 3, &unbounded, &rng, err, sizeof err) != 0, "init on unbounded");
  nn_ws_free(&ws);
  free(p);
}

/* The presets load, validate and match this module's expectations. */
static void test_presets(void) {
  const char *names[] = {"pendulum-ddpg", "pendulum-td3", "mountaincarcontinuous-td3"};
  const char *algos[] = {"ddpg", "td3", "td3"};
  for (int i = 0; i < 3; i++) {
    config_t c;
    config_init(&c);
    char err[512] = "";
    int rc = config_load_preset(&c, names[i], err, sizeof err);
    CHECK(rc == 0, "preset %s: %s", names[i], err);
    if (rc) continue;
    CHECK(config_validate(&c, err, sizeof err) == 0, "preset %s: %s", names[i], err);
    CHECK(strcmp(c.algo, algos[i]) == 0, "preset %s: algo %s", names[i], c.algo);
    CHECK(c.samples_per_insert == (double)c.batch_size,
          "preset %s: samples_per_insert %g != batch_size %lld (one update per env step)", names[i],
          c.samples_per_insert, (long long)c.batch_size);
    const env_spec_t *sp = env_find(c.env);
    CHECK(sp != NULL, "preset %s: env %s", names[i], c.env);
    if (!sp) continue;
    ddpg_t d;
    rng_t rng;
    rng_seed(&rng, 1);
    CHECK(ddpg_init(&d, &c, sp->obs.dim, &sp->act, &rng, err, sizeof err) == 0, "preset %s: %s",
          names[i], err);
    ddpg_free(&d);
  }
}

/* ---- The single-process learning loop. ---- */

typedef struct learn_result {
  double final_eval; /* last evaluation */
  long solved_at;    /* first env step whose evaluation reached the threshold, or -1 */
  int n_evals;
  long steps[256];
  double evals[256];
} learn_result_t;

/* Greedy mean return over c->eval_episodes episodes (reset seeds eval_seed + i). */
static double evaluate(const config_t *c, const ddpg_t *d, nn_ws_t *ws) {
  int n = (int)c->eval_episodes;
  env_t *envs = calloc((size_t)n, sizeof(env_t));
  char err[256];
  const env_spec_t *sp = env_find(c->env);
  int S = sp->obs.dim, A = sp->act.dim;
  float *obs = calloc((size_t)n * S, sizeof(float)), *act = calloc((size_t)n * A, sizeof(float));
  float *o2 = calloc((size_t)n * S, sizeof(float));
  double *ret = calloc((size_t)n, sizeof(double));
  int *live = calloc((size_t)n, sizeof(int)), idx_buf[4096];
  for (int i = 0; i < n; i++) {
    env_init(&envs[i], c->env, err, sizeof err);
    env_reset(&envs[i], (uint64_t)c->eval_seed + (uint64_t)i, obs + (size_t)i * S);
    live[i] = 1;
  }
  int n_live = n;
  while (n_live > 0) {
    int m = 0;
    for (int i = 0; i < n; i++)
      if (live[i]) {
        memcpy(o2 + (size_t)m * S, obs + (size_t)i * S, (size_t)S * sizeof(float));
        idx_buf[m++] = i;
      }
    ddpg_act(&d->actor_l, d->online, ws, o2, m, d->act_scale, d->act_bias, act);
    for (int k = 0; k < m; k++) {
      int i = idx_buf[k], te = 0, tr = 0;
      float r;
      env_step(&envs[i], act + (size_t)k * A, obs + (size_t)i * S, &r, &te, &tr);
      ret[i] += r;
      if (te || tr) {
        live[i] = 0;
        n_live--;
      }
    }
  }
  double sum = 0;
  for (int i = 0; i < n; i++) {
    sum += ret[i];
    env_free(&envs[i]);
  }
  free(envs);
  free(obs);
  free(act);
  free(o2);
  free(ret);
  free(live);
  return sum / n;
}

static int learn(const config_t *c, int verbose, learn_result_t *res) {
  char err[256];
  memset(res, 0, sizeof *res);
  res->solved_at = -1;
  const env_spec_t *sp = env_find(c->env);
  if (!sp) {
    fprintf(stderr, "unknown env %s\n", c->env);
    return -1;
  }
  const int S = sp->obs.dim, A = sp->act.dim, B = (int)c->batch_size;
  uint64_t seed = (uint64_t)c->seed;
  env_vec_t v;
  if (env_vec_init(&v, c->env, 1, rng_derive(seed, 1), err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  replay_t r;
  flow_limits_t lim = {(uint64_t)c->learning_starts, c->samples_per_insert, 1u << 30};
  replay_init(&r, (size_t)c->replay_capacity, (size_t)S, (size_t)A, &lim);
  rng_t init_rng, act_rng, sample_rng;
  rng_seed(&init_rng, rng_derive(seed, 2));
  rng_seed(&act_rng, rng_derive(seed, 3));
  rng_seed(&sample_rng, rng_derive(seed, 4));
  ddpg_t d;
  if (ddpg_init(&d, c, S, &sp->act, &init_rng, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    env_vec_free(&v);
    replay_free(&r);
    return -1;
  }
  nn_ws_t ws_act, ws_eval;
  nn_ws_init(&ws_act, &d.actor_l, 1);
  nn_ws_init(&ws_eval, &d.actor_l, (int)c->eval_episodes);
  float *bo = malloc((size_t)B * S * sizeof(float)), *ba = malloc((size_t)B * A * sizeof(float));
  float *br = malloc((size_t)B * sizeof(float)), *bn = malloc((size_t)B * S * sizeof(float));
  float *bt = malloc((size_t)B * sizeof(float));
  float obs[ENV_MAX_DIM], next[ENV_MAX_DIM], a[ENV_MAX_DIM], ou[ENV_MAX_DIM] = {0}, rew;
  int use_ou = strcmp(c->noise_type, "ou") == 0;
  const double ou_dt = 0.01; /* as Stable-Baselines3's OrnsteinUhlenbeckActionNoise */
  uint8_t te, tr;
  float ret;
  int len;
  double ep_sum = 0;
  int ep_n = 0;
  clock_t t0 = clock();
  ddpg_stats_t st = {0};
  for (long step = 0; step < (long)c->env_steps_budget; step++) {
    memcpy(obs, v.obs, (size_t)S * sizeof(float));
    if (step < (long)c->random_steps) {
      for (int j = 0; j < A; j++)
        a[j] = (float)rng_range(&act_rng, sp->act.low[j], sp->act.high[j]);
    } else {
      ddpg_act(&d.actor_l, d.online, &ws_act, obs, 1, d.act_scale, d.act_bias, a);
      for (int j = 0; j < A; j++) {
        double sigma = c->noise_scale * d.act_scale[j], n;
        if (use_ou) {
          ou[j] +=
              (float)(-c->ou_theta * ou[j] * ou_dt + sigma * sqrt(ou_dt) * rng_normal(&act_rng));
          n = ou[j];
        } else {
          n = sigma * rng_normal(&act_rng);
        }
        a[j] += (float)n;
        if (a[j] < sp->act.low[j]) a[j] = sp->act.low[j];
        if (a[j] > sp->act.high[j]) a[j] = sp->act.high[j];
      }
    }
    int done = env_vec_step(&v, a, next, &rew, &te, &tr, &ret, &len);
    uint8_t flag = te ? 1 : 0;
    replay_insert(&r, 1, obs, a, &rew, next, &flag);
    if (done) {
      memset(ou, 0, sizeof ou);
      ep_sum += ret;
      ep_n++;
    }
    while (replay_sample_wait(&r, &sample_rng, (size_t)B, bo, ba, br, bn, bt, 0) == 0)
      ddpg_update(&d, bo, ba, br, bn, bt, &st);
    if (c->eval_interval > 0 && (step + 1) % c->eval_interval == 0) {
      double e = evaluate(c, &d, &ws_eval);
      if (res->n_evals < 256) {
        res->steps[res->n_evals] = step + 1;
        res->evals[res->n_evals++] = e;
      }
      res->final_eval = e;
      if (res->solved_at < 0 && e >= c->solve_threshold) res->solved_at = step + 1;
      if (verbose)
        printf(
            "step %6ld  eval %8.2f  train(last %d eps) %8.2f  q %7.2f  closs %8.4f  "
            "updates %ld  %.1fs\n",
            step + 1, e, ep_n, ep_n ? ep_sum / ep_n : 0.0, st.mean_q, st.critic_loss, d.updates,
            (double)(clock() - t0) / CLOCKS_PER_SEC);
      fflush(stdout);
      ep_sum = 0;
      ep_n = 0;
    }
  }
  free(bo);
  free(ba);
  free(br);
  free(bn);
  free(bt);
  nn_ws_free(&ws_act);
  nn_ws_free(&ws_eval);
  ddpg_free(&d);
  replay_free(&r);
  env_vec_free(&v);
  return 0;
}

/* 3. TD3 learns Pendulum-v1 in 15000 env steps (small networks so it stays fast). */
static void test_learn_pendulum(void) {
  config_t c;
  config_init(&c);
  char err[256];
  const char *set[] = {"algo=td3",
                       "env=Pendulum-v1",
                       "seed=1",
                       "hidden=64,64",
                       "actor_lr=0.001",
                       "critic_lr=0.001",
                       "tau=0.005",
                       "gamma=0.98",
                       "batch_size=128",
                       "replay_capacity=100000",
                       "learning_starts=1000",
                       "random_steps=1000",
                       "samples_per_insert=128",
                       "noise_type=gaussian",
                       "noise_scale=0.1",
                       "grad_clip=0",
                       "env_steps_budget=15000",
                       "eval_interval=5000",
                       "eval_episodes=10",
                       "solve_threshold=-400"};
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
    CHECK(config_set_arg(&c, set[i], err, sizeof err) == 0, "%s: %s", set[i], err);
  learn_result_t res;
  CHECK(learn(&c, 1, &res) == 0, "learning loop failed to start");
  CHECK(res.final_eval >= -400, "TD3 Pendulum-v1 after 15000 env steps: greedy eval %.1f < -400",
        res.final_eval);
}

/* ddpg_update_ext: weights 1 and disc = gamma give the plain update bit for bit (same seeds);
 * td holds critic 1's |Q1(s, a) - y|: finite, >= 0, not all 0. */
static void test_per_inputs(const char *algo) {
  config_t c;
  small_config(&c, algo, "8,8", "relu");
  env_space_t as = box2();
  ddpg_t a, b;
  char err[256];
  rng_t rng;
  rng_seed(&rng, 7);
  CHECK(ddpg_init(&a, &c, 3, &as, &rng, err, sizeof err) == 0, "init: %s", err);
  rng_seed(&rng, 7);
  CHECK(ddpg_init(&b, &c, 3, &as, &rng, err, sizeof err) == 0, "init: %s", err);
  const int B = a.batch;
  float obs[16 * 3], act[16 * 2], rew[16], nobs[16 * 3], term[16] = {0}, one[16], gam[16], td[16];
  rng_seed(&rng, 3);
  fill_batch(&rng, B * 3, obs, -1, 1);
  fill_batch(&rng, B * 3, nobs, -1, 1);
  fill_batch(&rng, B, rew, -1, 1);
  for (int i = 0; i < B; i++) {
    act[i * 2] = (float)rng_range(&rng, -2, 2);
    act[i * 2 + 1] = (float)rng_range(&rng, 0, 1);
    one[i] = 1;
    gam[i] = (float)c.gamma;
  }
  term[1] = 1;
  ddpg_stats_t sa, sb;
  ddpg_update(&a, obs, act, rew, nobs, term, &sa);
  ddpg_update_ext(&b, obs, act, rew, nobs, term, gam, one, td, &sb);
  CHECK(!memcmp(a.online, b.online, a.n_online * sizeof(float)), "%s: ext differs from plain",
        algo);
  int nz = 0;
  for (int i = 0; i < B; i++) {
    CHECK(isfinite(td[i]) && td[i] >= 0, "td[%d] = %g", i, td[i]);
    nz += td[i] > 0;
  }
  CHECK(nz > 0, "%s: every TD error is 0", algo);
  ddpg_free(&a);
  ddpg_free(&b);
}

int main(int argc, char **argv) {
  nn_flush_denormals();
  if (argc >= 3 && strcmp(argv[1], "--run") == 0) {
    config_t c;
    config_init(&c);
    char err[512];
    if (config_load_file(&c, argv[2], err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 2;
    }
    if (argc >= 4) c.seed = atoll(argv[3]);
    if (argc >= 5) c.env_steps_budget = atoll(argv[4]);
    for (int i = 5; i < argc; i++)
      if (config_set_arg(&c, argv[i], err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
      }
    if (config_validate(&c, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 2;
    }
    learn_result_t res;
    if (learn(&c, 1, &res) != 0) return 2;
    printf("RESULT %s %s seed %lld: solved_at %ld final %.2f\n", c.algo, c.env, (long long)c.seed,
           res.solved_at, res.final_eval);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "--learn") == 0) {
    test_learn_pendulum();
    CHECK_DONE();
  }
  test_per_inputs("ddpg");
  test_per_inputs("td3");
  test_actor_gradient("ddpg", "tanh");
  test_actor_gradient("td3", "tanh");
  test_actor_gradient("td3", "relu");
  test_polyak();
  test_targets();
  test_act();
  test_presets();
  CHECK_DONE();
}
