#include "worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "addr.h"
#include "algo.h"
#include "auth.h"
#include "config.h"
#include "env.h"
#include "frame.h"
#include "log.h"
#include "nn.h"
#include "nstep.h"
#include "obsbits.h"
#include "plugin.h"
#include "policy.h"
#include "seal.h"
#include "tbatch.h"
#include "wire.h"

#define READ_CHUNK 65536
#define MAX_PENDING_RETURNS 10000
#define BACKOFF_MIN_MS 100.0
#define BACKOFF_MAX_MS 5000.0

typedef struct worker {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_getaddrinfo_t resolve_req;
  /* The learner's addresses from the last lookup, and the next one to try: a name such as
   * localhost gives ::1 and 127.0.0.1, and the learner may listen on only one of them. */
  struct addrinfo *addrs, *next_addr;
  uv_timer_t reconnect_timer, stats_timer;
  uv_idle_t stepper;
  uv_signal_t sigint, sigterm;
  char host[256], port[16];
  int requested_envs;
  int has_token;
  int exit_code;
  uint8_t auth_key[AUTH_KEY];
  /* Token auth of the current connection (auth.h): the two nonces, whether our Hello went out
   * and whether the learner proved the token. With a token nothing but Challenge, Proof and
   * Error is acted on before peer_proven. */
  uint8_t nonce_l[AUTH_NONCE], nonce_w[AUTH_NONCE];
  int hello_sent, peer_proven;
  seal_t seal; /* with a token: what we send after the Hello, what we read after the Proof */
  int tx_sealed;
  int tcp_open, connected, welcomed, stepping, stopping, attempt;
  frame_reader_t reader;

  /* From the Welcome. */
  config_t cfg;
  uint32_t id;
  int index, k;
  /* How this run acts (the algorithm's row): the policy network, and the exploration over
   * the k envs with this worker's epsilon or noise scale from the Welcome. */
  const algo_t *algo;
  algo_policy_t pol;
  algo_explorer_t x;
  env_vec_t vec;
  int vec_ready;
  nn_ws_t ws;
  int ws_ready;
  float *params; /* params_n floats: the policy's, or (actor_priorities) the online buffer */
  size_t params_n;
  /* actor_priorities: the target network from the Weights (tparams_n floats, the online
   * layout) and the priorities of the batch being filled. */
  float *tparams, *b_prio;
  size_t tparams_n;
  uint64_t version, global_steps;
  int have_weights;
  rng_t rng;

  /* Step buffers (k rows) and the batch being filled (send_batch + n_step * k rows): the
   * n-step builder turns each env's steps into transitions (common/nstep.h). */
  float *actions, *next_obs, *rewards, *done_ret, *cur_obs;
  int *done_len;
  uint8_t *term, *trunc;
  nstep_t ns;
  float *b_obs, *b_act, *b_rew, *b_next, *b_disc;
  uint8_t *b_flags;
  int b_n, b_cap;
  size_t inflight_bytes;

  /* Stats. */
  float pending_ret[MAX_PENDING_RETURNS];
  uint32_t pending_len[MAX_PENDING_RETURNS];
  int n_pending;
  uint64_t steps, episodes, dropped, steps_at_stats;
  double t_stats, eps_now;
  double last_rx;  /* when the learner last sent anything (it heartbeats when idle) */
  uint64_t credit; /* transitions the learner lets us send (Credit frames) */
  /* While the learner is away: encoded batches wait here (FIFO, at most outbox_bytes); stepping
   * pauses when it is full and the batches go first once a new connection grants credit. */
  struct away_frame *away_head, *away_tail;
  size_t away_bytes;
  uint64_t away_transitions, away_sent;
} worker_t;

typedef struct away_frame {
  struct away_frame *next;
  uint8_t *data;
  size_t len;
  uint32_t n;
} away_frame_t;

typedef struct wreq {
  uv_write_t req;
  worker_t *w;
  uint8_t *data;
  size_t len;
} wreq_t;

static double now_s(void) { return (double)uv_hrtime() * 1e-9; }

static void schedule_reconnect(worker_t *w);
static void worker_shutdown(worker_t *w);
static void send_hello(worker_t *w, const uint8_t *mac, const uint8_t *nonce);
static void start_stepping(worker_t *w);
static void on_step(uv_idle_t *h);

static void try_next_addr(worker_t *w);

static void free_addrs(worker_t *w) {
  if (w->addrs) uv_freeaddrinfo(w->addrs);
  w->addrs = w->next_addr = NULL;
}

static void on_tcp_closed(uv_handle_t *h) {
  worker_t *w = h->data;
  w->tcp_open = 0;
  if (w->stopping) {
    free_addrs(w);
  } else if (!w->connected && w->next_addr) {
    try_next_addr(w); /* this address refused: the lookup gave more */
  } else {
    free_addrs(w);
    schedule_reconnect(w);
  }
}

static void drop_connection(worker_t *w, const char *why) {
  if (!w->tcp_open || uv_is_closing((uv_handle_t *)&w->tcp)) return;
  if (w->connected) LOG_W("worker", "connection to the learner lost: %s", why);
  w->connected = 0;
  w->welcomed = 0;
  /* Keep acting with the last weights: batches go to the away queue until it is full. */
  w->credit = 0; /* a new connection starts with a new window */
  if (!w->stopping) start_stepping(w);
  frame_reader_free(&w->reader);
  uv_close((uv_handle_t *)&w->tcp, on_tcp_closed);
}

static void on_write(uv_write_t *req, int status) {
  wreq_t *r = (wreq_t *)req;
  worker_t *w = r->w;
  w->inflight_bytes -= r->len;
  free(r->data);
  free(r);
  if (status < 0)
    drop_connection(w, uv_strerror(status)); /* stepping goes on into the away queue */
  /* Resume stepping once the queue has drained below half the outbox bound. */
  if (!w->stepping && w->have_weights && !w->stopping &&
      w->inflight_bytes <= (size_t)w->cfg.outbox_bytes / 2)
    start_stepping(w);
}

static int send_frame(worker_t *w, uint8_t *data, size_t len) {
  if (!data) return -1;
  if (!w->connected) {
    free(data);
    return -1;
  }
  if (w->tx_sealed) { /* sealed in send order: the learner expects the counters in sequence */
    int rc;
    size_t slen;
    uint8_t *sealed = seal_frame_alloc(&w->seal.tx, data, len, &slen, &rc);
    free(data);
    if (!sealed) {
      drop_connection(w, seal_strerror(rc));
      return -1;
    }
    data = sealed;
    len = slen;
  }
  wreq_t *r = malloc(sizeof *r);
  if (!r) {
    free(data);
    return -1;
  }
  r->w = w;
  r->data = data;
  r->len = len;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int rc = uv_write(&r->req, (uv_stream_t *)&w->tcp, &b, 1, on_write);
  if (rc < 0) {
    free(data);
    free(r);
    drop_connection(w, uv_strerror(rc));
    return -1;
  }
  w->inflight_bytes += len;
  return 0;
}

/* Sends the batch if the learner's credit covers it; otherwise it waits for a Credit frame. */
static void flush_batch(worker_t *w) {
  if (w->b_n == 0 || (w->connected && w->credit < (uint64_t)w->b_n)) return;
  if (w->connected) w->credit -= (uint64_t)w->b_n;
  tbatch_t b = {.n = (uint32_t)w->b_n,
                .obs_dim = (uint32_t)w->pol.obs_dim,
                .act_dim = (uint32_t)w->pol.act_dim,
                .weights_version = w->version,
                .worker_id = w->id,
                .obs = w->b_obs,
                .act = w->b_act,
                .rew = w->b_rew,
                .next_obs = w->b_next,
                .flags = w->b_flags,
                .disc = w->cfg.n_step > 1 ? w->b_disc : NULL};
  if (w->cfg.actor_priorities && w->tparams && w->algo->priorities &&
      w->algo->priorities(&w->cfg, &w->pol, w->params, w->tparams, &w->ws, w->b_n, w->b_obs,
                          w->b_act, w->b_rew, w->b_next, w->b_flags, w->b_disc, w->b_prio) == 0)
    b.prio = w->b_prio;
  /* Binary observations (MinAtar) travel as packed bits: obs then next_obs rows of
   * ceil(obs_dim/8) bytes (tbatch.h "obs_enc"); floats when packing fails (never for 0/1). */
  uint8_t *bits = NULL;
  if (w->vec_ready && w->vec.envs[0].spec->obs.binary) {
    size_t od = (size_t)w->pol.obs_dim, row = obsbits_bytes(od), nb = (size_t)w->b_n;
    bits = malloc(2 * nb * row);
    int ok = bits != NULL;
    for (size_t i = 0; ok && i < nb; i++)
      ok = !obsbits_pack(w->b_obs + i * od, od, bits + i * row, NULL, 0) &&
           !obsbits_pack(w->b_next + i * od, od, bits + (nb + i) * row, NULL, 0);
    if (ok) {
      b.obs = bits;
      b.next_obs = bits + nb * row;
      b.obs_enc = TBATCH_OBS_BITS;
    }
  }
  size_t len;
  uint8_t *f = tbatch_encode(&b, &len);
  free(bits);
  if (!w->connected) { /* the learner is away: keep it for the next connection */
    away_frame_t *a = f ? malloc(sizeof *a) : NULL;
    if (!a) {
      free(f);
      w->dropped += (uint64_t)w->b_n;
    } else {
      *a = (away_frame_t){NULL, f, len, (uint32_t)w->b_n};
      if (w->away_tail)
        w->away_tail->next = a;
      else
        w->away_head = a;
      w->away_tail = a;
      w->away_bytes += len;
      w->away_transitions += (uint64_t)w->b_n;
    }
  } else if (send_frame(w, f, len) != 0) {
    w->dropped += (uint64_t)w->b_n;
  }
  w->b_n = 0;
}

/* Sends queued batches in order while the credit covers them. */
static void drain_away(worker_t *w) {
  uint64_t sent = 0;
  while (w->connected && w->away_head && w->credit >= w->away_head->n) {
    away_frame_t *a = w->away_head;
    w->away_head = a->next;
    if (!w->away_head) w->away_tail = NULL;
    w->away_bytes -= a->len;
    w->credit -= a->n;
    sent += a->n;
    if (send_frame(w, a->data, a->len) != 0) w->dropped += a->n;
    free(a);
  }
  if (sent) {
    w->away_transitions -= sent;
    w->away_sent += sent;
    if (!w->away_head) {
      LOG_I("worker", "sent the %llu transitions queued while the learner was away",
            (unsigned long long)w->away_sent);
      w->away_sent = 0;
    }
  }
}

static void free_away(worker_t *w) {
  while (w->away_head) {
    away_frame_t *a = w->away_head;
    w->away_head = a->next;
    w->dropped += a->n;
    free(a->data);
    free(a);
  }
  w->away_tail = NULL;
  w->away_bytes = 0;
  w->away_transitions = 0;
}

static void send_stats(worker_t *w) {
  if (!w->welcomed) return;
  double t = now_s(), dt = t - w->t_stats;
  Rlserve__Stats s = RLSERVE__STATS__INIT;
  s.env_steps = w->steps;
  s.episodes = w->episodes;
  s.n_episode_returns = (size_t)w->n_pending;
  s.episode_returns = w->pending_ret;
  s.n_episode_lengths = (size_t)w->n_pending;
  s.episode_lengths = w->pending_len;
  s.steps_per_sec = dt > 0 ? (double)(w->steps - w->steps_at_stats) / dt : 0;
  s.dropped = w->dropped;
  s.weights_version = w->version;
  s.epsilon = w->eps_now;
  size_t len;
  uint8_t *f = wire_encode(FRAME_STATS, &s.base, &len);
  if (send_frame(w, f, len) == 0) w->n_pending = 0;
  w->t_stats = t;
  w->steps_at_stats = w->steps;
}

static void on_stats_timer(uv_timer_t *t) {
  worker_t *w = t->data;
  if (w->connected && now_s() - w->last_rx > w->cfg.idle_timeout_s) {
    char why[128];
    snprintf(why, sizeof why, "learner silent for %.1f s (idle_timeout_s = %g)",
             now_s() - w->last_rx, w->cfg.idle_timeout_s);
    drop_connection(w, why);
    return;
  }
  send_stats(w);
}

static void start_stepping(worker_t *w) {
  if (w->stepping || !w->have_weights || !w->vec_ready) return;
  w->stepping = 1;
  uv_idle_start(&w->stepper, on_step);
}

/* One vectorized step of the K envs: batched forward, epsilon-greedy, step, append. */
static void on_step(uv_idle_t *h) {
  worker_t *w = h->data;
  if (w->inflight_bytes > (size_t)w->cfg.outbox_bytes) {
    uv_idle_stop(&w->stepper); /* the learner is reading slowly: wait for the queue */
    w->stepping = 0;
    return;
  }
  if (!w->connected && w->away_bytes >= (size_t)w->cfg.outbox_bytes) {
    LOG_W("worker", "learner away: outbox full (%llu transitions queued); stepping paused",
          (unsigned long long)w->away_transitions);
    uv_idle_stop(&w->stepper);
    w->stepping = 0;
    return;
  }
  const int room = w->k * (int)w->cfg.n_step; /* most transitions one step may emit */
  if (w->b_n + room > w->b_cap) flush_batch(w); /* queued if the learner is away */
  if (w->b_n + room > w->b_cap) { /* the batch is full and the learner's credit is used up */
    uv_idle_stop(&w->stepper);
    w->stepping = 0;
    return;
  }
  const int k = w->k, od = w->pol.obs_dim, ad = w->pol.act_dim;
  w->algo->act_explore(&w->pol, w->params, &w->ws, w->vec.obs, k, &w->x, w->global_steps,
                       w->actions);
  w->eps_now = w->x.now;
  memcpy(w->cur_obs, w->vec.obs, (size_t)k * od * sizeof(float));
  int done = env_vec_step(&w->vec, w->actions, w->next_obs, w->rewards, w->term, w->trunc,
                          w->done_ret, w->done_len);
  nstep_out_t out = {w->b_obs, w->b_act, w->b_rew, w->b_next, w->b_disc, w->b_flags, w->b_n};
  for (int i = 0; i < k; i++) {
    uint8_t fl =
        (uint8_t)((w->term[i] ? TBATCH_TERMINATED : 0) | (w->trunc[i] ? TBATCH_TRUNCATED : 0));
    nstep_push(&w->ns, i, w->cur_obs + (size_t)i * od, w->actions + (size_t)i * ad, w->rewards[i],
               w->next_obs + (size_t)i * od, fl, &out);
  }
  w->b_n = out.n;
  w->steps += (uint64_t)k;
  w->global_steps += (uint64_t)k; /* our share until the next Weights brings the total */
  for (int i = 0; i < done; i++) {
    w->episodes++;
    if (w->n_pending < MAX_PENDING_RETURNS) {
      w->pending_ret[w->n_pending] = w->done_ret[i];
      w->pending_len[w->n_pending] = (uint32_t)w->done_len[i];
      w->n_pending++;
    }
  }
  if (w->b_n >= w->cfg.send_batch) flush_batch(w);
}

static void free_buffers(worker_t *w) {
  free_away(w);
  free(w->actions);
  free(w->next_obs);
  free(w->rewards);
  free(w->done_ret);
  free(w->done_len);
  free(w->term);
  free(w->trunc);
  free(w->b_obs);
  free(w->b_act);
  algo_explorer_free(&w->x);
  free(w->b_rew);
  free(w->b_next);
  free(w->b_flags);
  free(w->b_disc);
  free(w->b_prio);
  free(w->tparams);
  w->tparams = w->b_prio = NULL;
  w->tparams_n = w->params_n = 0;
  free(w->cur_obs);
  nstep_free(&w->ns);
  free(w->params);
  w->actions = w->next_obs = w->rewards = w->done_ret = NULL;
  w->done_len = NULL;
  w->term = w->trunc = w->b_flags = NULL;
  w->b_obs = w->b_act = w->b_rew = w->b_next = w->params = w->b_disc = w->cur_obs = NULL;
  if (w->ws_ready) nn_ws_free(&w->ws);
  w->ws_ready = 0;
  if (w->vec_ready) env_vec_free(&w->vec);
  w->vec_ready = 0;
}

/* The step buffers (k rows) and the batch being filled (send_batch + n_step * k rows). */
static int alloc_buffers(worker_t *w, char *err, size_t errlen) {
  const int k = w->k;
  size_t od = (size_t)w->pol.obs_dim, ad = (size_t)w->pol.act_dim;
  size_t cap = (size_t)w->cfg.send_batch + (size_t)w->cfg.n_step * (size_t)k;
  w->b_cap = (int)cap;
  w->params = malloc(w->pol.layout.n_params * sizeof(float));
  w->params_n = w->params ? w->pol.layout.n_params : 0;
  w->actions = malloc((size_t)k * ad * sizeof(float));
  w->next_obs = malloc((size_t)k * od * sizeof(float));
  w->rewards = malloc((size_t)k * sizeof(float));
  w->done_ret = malloc((size_t)k * sizeof(float));
  w->done_len = malloc((size_t)k * sizeof(int));
  w->term = malloc((size_t)k);
  w->trunc = malloc((size_t)k);
  w->b_obs = malloc(cap * od * sizeof(float));
  w->b_next = malloc(cap * od * sizeof(float));
  w->b_act = malloc(cap * ad * sizeof(float));
  w->b_rew = malloc(cap * sizeof(float));
  w->b_flags = malloc(cap);
  w->b_disc = malloc(cap * sizeof(float));
  w->b_prio = malloc(cap * sizeof(float));
  w->cur_obs = malloc((size_t)k * od * sizeof(float));
  if (!w->b_disc || !w->b_prio || !w->cur_obs ||
      nstep_init(&w->ns, k, (int)w->cfg.n_step, (int)od, (int)ad, w->cfg.gamma) != 0) {
    snprintf(err, errlen, "out of memory for %d envs", k);
    return -1;
  }
  if (!w->params || !w->actions || !w->next_obs || !w->rewards || !w->done_ret || !w->done_len ||
      !w->term || !w->trunc || !w->b_obs || !w->b_next || !w->b_act || !w->b_rew || !w->b_flags ||
      algo_explorer_init(&w->x, &w->cfg, &w->pol, k, &w->rng) != 0) {
    snprintf(err, errlen, "out of memory for %d envs", k);
    return -1;
  }
  w->b_n = 0;
  return 0;
}

/* The env plugin named on this worker's command line (--env-plugin), loaded in worker_main
 * before the loop starts. A worker loads no other library: a path from the learner is never
 * opened. */
static struct {
  char path[CONFIG_STR_MAX];
  env_plugin_info_t info;
} local_plugin;

/* Whether this worker can run the plugin env the Welcome describes (its id and the library's
 * SHA-256): 0, or -1 with a message naming both sides. */
static int check_plugin(const Rlserve__Welcome *wm, char *err, size_t errlen) {
  if (wm->env_plugin_sha256.len == 0) return 0; /* the run's env is built in */
  char want[2 * ENV_PLUGIN_SHA256 + 1], have[2 * ENV_PLUGIN_SHA256 + 1];
  env_plugin_hex(wm->env_plugin_sha256.data, wm->env_plugin_sha256.len, want);
  const char *id = wm->env_plugin_id ? wm->env_plugin_id : "";
  if (!local_plugin.path[0]) {
    snprintf(err, errlen,
             "the run's env %.64s comes from an env plugin (sha256 %s) and this worker was "
             "given none: start it with --env-plugin PATH naming the same library",
             id, want);
    return -1;
  }
  env_plugin_hex(local_plugin.info.sha256, ENV_PLUGIN_SHA256, have);
  if (strcmp(id, local_plugin.info.id) != 0 ||
      memcmp(wm->env_plugin_sha256.data, local_plugin.info.sha256, ENV_PLUGIN_SHA256) != 0) {
    snprintf(err, errlen,
             "env plugin mismatch: the learner runs env %.64s from a library with sha256 %s; "
             "this worker's --env-plugin %.200s has env %s, sha256 %s",
             id, want, local_plugin.path, local_plugin.info.id, have);
    return -1;
  }
  return 0;
}

/* The run config the Welcome carries, and the row and policy it implies for our env. */
static int welcome_config(const Rlserve__Welcome *wm, config_t *c, const algo_t **algo,
                          algo_policy_t *pol, char *err, size_t errlen) {
  config_init(c);
  for (size_t i = 0; i < wm->n_config; i++) {
    char e[256];
    if (config_set(c, wm->config[i]->key, wm->config[i]->value, e, sizeof e) != 0)
      LOG_W("worker", "ignoring a setting from the learner: %s", e);
  }
  /* Only our own plugin, loaded at start: the learner's setting names nothing we open. */
  snprintf(c->env_plugin, sizeof c->env_plugin, "%s", local_plugin.path);
  if (check_plugin(wm, err, errlen) != 0) return -1;
  const env_spec_t *spec = env_find(c->env);
  *algo = algo_find(c->algo);
  if (!spec || !*algo || (*algo)->mode != ALGO_ACTOR_LEARNER ||
      (*algo)->actions != spec->act.kind) {
    snprintf(err, errlen,
             "learner asks for env %.100s with algo %.20s, which this worker cannot run", c->env,
             c->algo);
    return -1;
  }
  if ((*algo)->policy(c, spec, pol, err, errlen) != 0) return -1;
  if ((int)wm->obs_dim != pol->obs_dim || (int)wm->act_dim != pol->n_out) {
    snprintf(err, errlen, "learner's %s has obs %u / actions %u, ours has %d / %d", c->env,
             wm->obs_dim, wm->act_dim, pol->obs_dim, pol->n_out);
    return -1;
  }
  return 0;
}

/* Sets up envs, network and buffers for the run the Welcome describes. */
static int configure(worker_t *w, const Rlserve__Welcome *wm, char *err, size_t errlen) {
  config_t c;
  const algo_t *algo;
  algo_policy_t pol;
  if (welcome_config(wm, &c, &algo, &pol, err, errlen) != 0) return -1;
  int k = w->requested_envs > 0 ? w->requested_envs : (int)c.envs_per_worker;
  /* The same run again (the learner came back): keep envs, weights and the away queue. */
  int same = w->vec_ready && k == w->k && !strcmp(c.env, w->cfg.env) &&
             !strcmp(c.algo, w->cfg.algo) && !strcmp(c.hidden, w->cfg.hidden) &&
             !strcmp(c.activation, w->cfg.activation) && !strcmp(c.net, w->cfg.net) &&
             c.dueling == w->cfg.dueling && c.send_batch == w->cfg.send_batch &&
             c.n_step == w->cfg.n_step && c.gamma == w->cfg.gamma;
  w->cfg = c;
  w->id = wm->worker_id;
  w->index = (int)wm->worker_index;
  if (!same) {
    free_buffers(w);
    w->algo = algo;
    w->pol = pol;
    w->k = k;
    rng_seed(&w->rng, wm->seed);
    if (env_vec_init(&w->vec, c.env, k, rng_derive(wm->seed, 7), err, errlen) != 0) return -1;
    w->vec_ready = 1;
    if (nn_ws_init(&w->ws, &w->pol.layout, k) != 0) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    w->ws_ready = 1;
    if (alloc_buffers(w, err, errlen) != 0) return -1;
  }
  w->x.epsilon_final = wm->epsilon_final;
  w->x.noise_scale = wm->noise_scale;
  return 0;
}

/* One handler per frame type from the learner; p is the payload, len its length. */

static void handle_welcome(worker_t *w, const uint8_t *p, size_t len) {
  char err[512];
  Rlserve__Welcome *wm;
  if (wire_decode_welcome(p, len, &wm, err, sizeof err) != 0) {
    drop_connection(w, err);
    return;
  }
  int rc = configure(w, wm, err, sizeof err);
  rlserve__welcome__free_unpacked(wm, NULL);
  if (rc != 0) {
    LOG_E("worker", "%s", err);
    size_t ef_len = 0;
    uint8_t *ef = wire_encode_error(400, err, &ef_len);
    send_frame(w, ef, ef_len);
    w->stopping = 1; /* a config this worker cannot run will not change on retry */
    drop_connection(w, err);
    w->exit_code = 2;
    worker_shutdown(w); /* the timers and signals would keep the loop alive */
    return;
  }
  w->welcomed = 1;
  w->attempt = 0;
  LOG_I("worker", "welcomed as worker %u (index %d): %s, %d envs, epsilon -> %.4g", w->id, w->index,
        w->cfg.env, w->k, w->x.epsilon_final);
  uv_timer_start(&w->stats_timer, on_stats_timer, (uint64_t)(w->cfg.stats_interval_s * 1000),
                 (uint64_t)(w->cfg.stats_interval_s * 1000));
}

static void handle_weights(worker_t *w, const uint8_t *p, size_t len) {
  char err[512];
  if (!w->welcomed) {
    drop_connection(w, "weights before welcome");
    return;
  }
  Rlserve__Weights *wt;
  /* The online buffer starts with what acts (the Q-network, or the actor followed by the
   * critics); a DQN buffer is exactly the network. */
  uint32_t expect = w->pol.weights_exact ? (uint32_t)w->pol.layout.n_params : 0;
  if (wire_decode_weights(p, len, expect, &wt, err, sizeof err) != 0) {
    drop_connection(w, err);
    return;
  }
  if (wt->n_params < w->pol.layout.n_params) {
    snprintf(err, sizeof err, "weights: %u parameters, the actor alone needs %zu", wt->n_params,
             w->pol.layout.n_params);
    rlserve__weights__free_unpacked(wt, NULL);
    drop_connection(w, err);
    return;
  }
  /* actor_priorities: the whole online buffer (an actor's critics compute the priorities too)
   * and the target network, both n_params floats (the decoder checked the sizes). */
  int prio = wt->target_net.len && w->cfg.actor_priorities;
  size_t keep = prio ? wt->n_params : w->pol.layout.n_params;
  if (keep > w->params_n) {
    float *np = realloc(w->params, keep * sizeof(float));
    if (!np) {
      rlserve__weights__free_unpacked(wt, NULL);
      drop_connection(w, "out of memory for the online weights");
      return;
    }
    w->params = np;
    w->params_n = keep;
  }
  wire_floats_from_bytes(w->params, wt->online.data, keep);
  if (prio) {
    if (w->tparams_n != wt->n_params) {
      free(w->tparams);
      w->tparams = malloc((size_t)wt->n_params * sizeof(float));
      w->tparams_n = w->tparams ? wt->n_params : 0;
    }
    if (w->tparams) wire_floats_from_bytes(w->tparams, wt->target_net.data, wt->n_params);
  }
  w->version = wt->version;
  LOG_D("worker", "weights version %llu (%u params)", (unsigned long long)wt->version,
        wt->n_params);
  w->global_steps = wt->env_steps;
  rlserve__weights__free_unpacked(wt, NULL);
  if (!w->have_weights)
    LOG_I("worker", "first weights (version %llu): stepping", (unsigned long long)w->version);
  w->have_weights = 1;
  start_stepping(w);
}

static void handle_error(worker_t *w, const uint8_t *p, size_t len) {
  char err[512];
  Rlserve__Error *e;
  if (wire_decode_error(p, len, &e, err, sizeof err) == 0) {
    LOG_E("worker", "learner says: %s", e->reason);
    /* Retrying cannot fix these: authentication, a protocol version, envs the learner refuses,
     * an env that is not the run's. */
    int fatal = e->code == 401 || e->code == 409 || e->code == 422 || e->code == 426;
    rlserve__error__free_unpacked(e, NULL);
    if (fatal) {
      LOG_E("worker", "giving up (exit status 3)");
      w->exit_code = 3;
      worker_shutdown(w);
      return;
    }
  }
  drop_connection(w, "learner sent an error");
}

/* explore = apex: this worker's place among the actors connected and its fixed exploration. */
static void handle_explore(worker_t *w, const uint8_t *p, size_t len) {
  char err[512];
  if (!w->welcomed) {
    drop_connection(w, "explore before welcome");
    return;
  }
  Rlserve__Explore *ex;
  if (wire_decode_explore(p, len, &ex, err, sizeof err) != 0) {
    drop_connection(w, err);
    return;
  }
  w->index = (int)ex->worker_index;
  w->x.epsilon_final = ex->epsilon;
  w->x.noise_scale = ex->noise_scale;
  LOG_I("worker", "actor %u of %u: epsilon %.4g, noise scale %.4g", ex->worker_index, ex->actors,
        ex->epsilon, ex->noise_scale);
  rlserve__explore__free_unpacked(ex, NULL);
}

static void handle_credit(worker_t *w, const uint8_t *p, size_t len) {
  char err[512];
  Rlserve__Credit *cr;
  if (wire_decode_credit(p, len, &cr, err, sizeof err) != 0) {
    drop_connection(w, err);
    return;
  }
  w->credit += cr->transitions;
  rlserve__credit__free_unpacked(cr, NULL);
  drain_away(w);
  if (!w->away_head && w->b_n >= w->cfg.send_batch) flush_batch(w);
  if (!w->stepping && w->have_weights && !w->stopping &&
      w->inflight_bytes <= (size_t)w->cfg.outbox_bytes / 2)
    start_stepping(w);
}

/* A peer that does not prove the token is not our learner (or runs with another token):
 * nothing it sent is acted on, and retrying cannot change that. */
static void refuse_peer(worker_t *w, const char *why) {
  LOG_E("worker",
        "refusing the learner at %s:%s: %s; this worker has a token and acts only on a learner "
        "that proves it (start the learner with the same --token-file); giving up (exit status 3)",
        w->host, w->port, why);
  w->exit_code = 3;
  w->connected = 0;
  worker_shutdown(w);
}

static void handle_challenge(worker_t *w, const uint8_t *p, size_t len) {
  char err[512];
  Rlserve__Challenge *ch;
  if (w->welcomed || w->hello_sent || wire_decode_challenge(p, len, &ch, err, sizeof err) != 0) {
    drop_connection(w, w->welcomed || w->hello_sent ? "a second challenge" : err);
    return;
  }
  if (!w->has_token) {
    LOG_E("worker", "the learner requires a token: give the run's token with --token-file");
    rlserve__challenge__free_unpacked(ch, NULL);
    return; /* our Hello went out without an answer; the learner will refuse it */
  }
  if (ch->nonce.len != AUTH_NONCE) {
    snprintf(err, sizeof err, "challenge: nonce has %zu bytes, expected %d", ch->nonce.len,
             AUTH_NONCE);
    rlserve__challenge__free_unpacked(ch, NULL);
    drop_connection(w, err);
    return;
  }
  memcpy(w->nonce_l, ch->nonce.data, AUTH_NONCE);
  rlserve__challenge__free_unpacked(ch, NULL);
  auth_nonce(w->nonce_w);
  uint8_t mac[AUTH_MAC];
  auth_prove(w->auth_key, AUTH_WORKER, w->nonce_l, w->nonce_w, mac);
  send_hello(w, mac, w->nonce_w);
  w->hello_sent = 1;
  seal_init(&w->seal, w->auth_key, w->nonce_l, w->nonce_w, SEAL_AS_WORKER);
  w->tx_sealed = 1; /* what follows the Hello is sealed; what the learner sends after its Proof */
}

/* The learner's proof over both nonces: only after it verifies does anything else count. */
static void handle_proof(worker_t *w, const uint8_t *p, size_t len) {
  char err[512];
  Rlserve__Proof *pr;
  if (!w->has_token || !w->hello_sent || w->peer_proven) {
    drop_connection(w, "unexpected PROOF frame from the learner");
    return;
  }
  if (wire_decode_proof(p, len, &pr, err, sizeof err) != 0) {
    refuse_peer(w, err);
    return;
  }
  int ok =
      auth_verify(w->auth_key, AUTH_LEARNER, w->nonce_l, w->nonce_w, pr->proof.data, pr->proof.len);
  rlserve__proof__free_unpacked(pr, NULL);
  if (!ok) {
    refuse_peer(w, "its proof of the token does not verify (another token, or not the learner)");
    return;
  }
  w->peer_proven = 1;
  frame_reader_set_limit(&w->reader, (uint32_t)FRAME_MAX_PAYLOAD);
  LOG_D("worker", "the learner proved the token");
}

/* With a token, only the handshake's own frames count before the learner's proof. */
static int allowed_before_proof(int type) {
  return type == FRAME_CHALLENGE || type == FRAME_PROOF || type == FRAME_ERROR;
}

static void handle_frame(worker_t *w, const frame_header_t *h, const uint8_t *p) {
  if (w->has_token && !w->peer_proven && !allowed_before_proof(h->type)) {
    char why[160];
    snprintf(why, sizeof why, "it sent %s %s", frame_type_name(h->type),
             w->hello_sent ? "before proving the token" : "without a challenge");
    refuse_peer(w, why);
    return;
  }
  switch (h->type) {
    case FRAME_WELCOME:
      handle_welcome(w, p, h->length);
      break;
    case FRAME_WEIGHTS:
      handle_weights(w, p, h->length);
      break;
    case FRAME_ERROR:
      handle_error(w, p, h->length);
      break;
    case FRAME_HEARTBEAT:
      break;
    case FRAME_CREDIT:
      handle_credit(w, p, h->length);
      break;
    case FRAME_EXPLORE:
      handle_explore(w, p, h->length);
      break;
    case FRAME_CHALLENGE:
      handle_challenge(w, p, h->length);
      break;
    case FRAME_PROOF:
      handle_proof(w, p, h->length);
      break;
    default: {
      char err[512];
      snprintf(err, sizeof err, "unexpected %s frame from the learner", frame_type_name(h->type));
      drop_connection(w, err);
    }
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = malloc(READ_CHUNK);
  buf->len = buf->base ? READ_CHUNK : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  worker_t *w = s->data;
  if (nread < 0) {
    free(buf->base);
    drop_connection(w, nread == UV_EOF ? "learner closed the connection" : uv_strerror((int)nread));
    return;
  }
  if (nread > 0) {
    w->last_rx = now_s();
    if (frame_reader_feed(&w->reader, (const uint8_t *)buf->base, (size_t)nread) != FRAME_OK) {
      free(buf->base);
      drop_connection(w, "out of memory");
      return;
    }
    frame_header_t h;
    const uint8_t *payload;
    int rc = 0;
    while (w->connected && (rc = frame_reader_next(&w->reader, &h, &payload)) == 1) {
      if (w->peer_proven) { /* sealed since the Proof; the reader's buffer is ours to open in */
        size_t n;
        int src = seal_open(&w->seal.rx, &h, (uint8_t *)(uintptr_t)payload, &n);
        if (src != SEAL_OK) {
          char why[200];
          snprintf(why, sizeof why, "sealed %s frame #%llu refused: %s", frame_type_name(h.type),
                   (unsigned long long)w->seal.rx.counter, seal_strerror(src));
          drop_connection(w, why);
          break;
        }
        h.length = (uint32_t)n;
      }
      handle_frame(w, &h, payload);
    }
    if (rc < 0 && w->connected) drop_connection(w, frame_strerror(rc));
  }
  free(buf->base);
}

/* Hello: who we are and, with a token, our nonce and proof over the learner's challenge. */
static void send_hello(worker_t *w, const uint8_t *mac, const uint8_t *nonce) {
  char hostname[128] = "?";
  gethostname(hostname, sizeof hostname);
  char name[200];
  snprintf(name, sizeof name, "%s:%d", hostname, (int)getpid());
  Rlserve__Hello hello = RLSERVE__HELLO__INIT;
  hello.protocol_version = FRAME_PROTOCOL_VERSION;
  hello.worker_name = name;
  hello.host = hostname;
  hello.pid = (uint32_t)getpid();
  hello.num_envs = (uint32_t)(w->requested_envs > 0 ? w->requested_envs : 0);
  if (mac) {
    hello.auth.data = (uint8_t *)mac;
    hello.auth.len = AUTH_MAC;
    hello.nonce.data = (uint8_t *)nonce;
    hello.nonce.len = AUTH_NONCE;
  }
  size_t len = 0;
  uint8_t *hf = wire_encode(FRAME_HELLO, &hello.base, &len);
  send_frame(w, hf, len);
}

static void on_connect(uv_connect_t *req, int status) {
  worker_t *w = req->data;
  if (status < 0) {
    if (!w->next_addr && (w->attempt <= 1 || w->attempt % 10 == 0))
      LOG_W("worker", "cannot reach the learner at %s:%s: %s (retrying)", w->host, w->port,
            uv_strerror(status));
    uv_close((uv_handle_t *)&w->tcp, on_tcp_closed);
    return;
  }
  w->connected = 1;
  free_addrs(w); /* connected: the next reconnect looks the name up again */
  w->last_rx = now_s();
  uv_tcp_nodelay(&w->tcp, 1);
  /* A small kernel send buffer keeps the backlog (and the staleness of what we send) in
   * our own bounded outbox, where stepping pauses, instead of in megabytes of socket. */
  int sndbuf = 16384;
  uv_send_buffer_size((uv_handle_t *)&w->tcp, &sndbuf);
  /* With a token, what a peer sends before it proved the token is capped at a few KiB
   * (Challenge, Proof, Error): a fake learner cannot make us buffer a 64 MiB frame. */
  frame_reader_init(&w->reader, w->has_token ? FRAME_PREAUTH_MAX : (uint32_t)FRAME_MAX_PAYLOAD);
  /* With a token the Hello waits for the learner's Challenge (it carries the answer). */
  w->hello_sent = w->peer_proven = w->tx_sealed = 0;
  seal_wipe(&w->seal);
  if (!w->has_token) send_hello(w, NULL, NULL);
  uv_read_start((uv_stream_t *)&w->tcp, on_alloc, on_read);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  worker_t *w = req->data;
  if (w->stopping) {
    if (res) uv_freeaddrinfo(res);
    return;
  }
  if (status < 0 || !res) {
    LOG_W("worker", "cannot resolve %s: %s (retrying)", w->host, uv_strerror(status));
    if (res) uv_freeaddrinfo(res);
    schedule_reconnect(w);
    return;
  }
  free_addrs(w);
  w->addrs = w->next_addr = res;
  try_next_addr(w);
}

/* Connects to the next address of the lookup; on_tcp_closed moves on when it fails. */
static void try_next_addr(worker_t *w) {
  struct addrinfo *a = w->next_addr;
  w->next_addr = a->ai_next;
  uv_tcp_init(w->loop, &w->tcp);
  w->tcp.data = w;
  w->tcp_open = 1;
  w->connect_req.data = w;
  int rc = uv_tcp_connect(&w->connect_req, &w->tcp, a->ai_addr, on_connect);
  if (rc < 0) {
    LOG_W("worker", "connect: %s", uv_strerror(rc));
    uv_close((uv_handle_t *)&w->tcp, on_tcp_closed);
  }
}

static void start_connect(worker_t *w) {
  if (w->stopping) return;
  w->attempt++;
  struct addrinfo hints = {0};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  w->resolve_req.data = w;
  int rc = uv_getaddrinfo(w->loop, &w->resolve_req, on_resolved, w->host, w->port, &hints);
  if (rc < 0) {
    LOG_W("worker", "resolve %s: %s", w->host, uv_strerror(rc));
    schedule_reconnect(w);
  }
}

static void on_reconnect_timer(uv_timer_t *t) { start_connect(t->data); }

/* Exponential backoff with jitter: 100 ms doubling to 5 s, times U(0.5, 1.5). */
static void schedule_reconnect(worker_t *w) {
  if (w->stopping) return;
  double base = BACKOFF_MIN_MS * pow(2.0, w->attempt > 6 ? 6 : w->attempt);
  if (base > BACKOFF_MAX_MS) base = BACKOFF_MAX_MS;
  double ms = base * (0.5 + rng_uniform(&w->rng));
  uv_timer_start(&w->reconnect_timer, on_reconnect_timer, (uint64_t)ms, 0);
}

/* Closes every handle so the loop ends. A pending getaddrinfo finishes on its own. */
static void worker_shutdown(worker_t *w) {
  if (uv_is_closing((uv_handle_t *)&w->sigint)) return;
  w->stopping = 1;
  if (w->stepping) uv_idle_stop(&w->stepper);
  w->stepping = 0;
  if (w->tcp_open && !uv_is_closing((uv_handle_t *)&w->tcp)) {
    frame_reader_free(&w->reader);
    uv_close((uv_handle_t *)&w->tcp, on_tcp_closed);
  }
  uv_close((uv_handle_t *)&w->reconnect_timer, NULL);
  uv_close((uv_handle_t *)&w->stats_timer, NULL);
  uv_close((uv_handle_t *)&w->stepper, NULL);
  uv_close((uv_handle_t *)&w->sigint, NULL);
  uv_close((uv_handle_t *)&w->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
  worker_t *w = h->data;
  LOG_I("worker", "signal %d: stopping after %llu env steps", signum, (unsigned long long)w->steps);
  worker_shutdown(w);
}

static void usage(void) {
  fprintf(stderr,
          "usage: rlserve worker --connect HOST:PORT [--envs K] [--token-file F] [--log-level L]\n"
          "                      [--env-plugin PATH] [--check-args]\n"
          "  --check-args: check the command line (no name lookup, no connection), print ok\n"
          "  or the error, exit 0 or 2\n"
          "  everything else (env, network, exploration, seed) comes from the learner; an env\n"
          "  plugin is loaded only from --env-plugin, and must match the learner's (SHA-256)\n");
}

int worker_main(int argc, char **argv) {
  static worker_t w; /* one per process */
  memset(&w, 0, sizeof w);
  config_init(&w.cfg);
  const char *connect = NULL;
  int check = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return 0;
    }
    if (!strcmp(a, "--check-args")) { /* a flag: no value */
      check = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "rlserve worker: %s needs a value\n", a);
      return 2;
    }
    i++;
    if (!strcmp(a, "--connect"))
      connect = v;
    else if (!strcmp(a, "--envs")) {
      char *end;
      long k = strtol(v, &end, 10);
      if (*end || k < 1 || k > 4096) {
        fprintf(stderr, "rlserve worker: --envs %s is not a number in 1..4096\n", v);
        return 2;
      }
      w.requested_envs = (int)k;
    } else if (!strcmp(a, "--token-file")) {
      char err[512];
      if (auth_key_from_file(v, w.auth_key, err, sizeof err) != 0) {
        fprintf(stderr, "rlserve worker: %s\n", err);
        return 2;
      }
      w.has_token = 1;
    } else if (!strcmp(a, "--log-level")) {
      int lv = log_parse_level(v);
      if (lv < 0) {
        fprintf(stderr, "rlserve worker: unknown log level '%s'\n", v);
        return 2;
      }
      log_set_level((log_level_t)lv);
    } else if (!strcmp(a, "--env-plugin")) {
      char err[1024];
      if (strlen(v) >= sizeof local_plugin.path ||
          env_plugin_load_info(v, &local_plugin.info, err, sizeof err) != 0) {
        fprintf(stderr, "rlserve worker: --env-plugin %s\n",
                strlen(v) >= sizeof local_plugin.path ? "path too long" : err);
        return 2;
      }
      snprintf(local_plugin.path, sizeof local_plugin.path, "%s", v);
    } else {
      fprintf(stderr, "rlserve worker: unknown option '%s'\n", a);
      usage();
      return 2;
    }
  }
  if (!connect) {
    fprintf(stderr, "rlserve worker: --connect HOST:PORT is required\n");
    usage();
    return 2;
  }
  /* Split only: the name is looked up (uv_getaddrinfo) on every connection attempt, so a
   * learner that moves to another address is found again. */
  addr_t a;
  char aerr[512];
  if (addr_split(connect, &a, aerr, sizeof aerr) != 0) {
    fprintf(stderr, "rlserve worker: --connect %s\n", aerr);
    return 2;
  }
  if (a.port == 0) {
    fprintf(stderr, "rlserve worker: --connect '%s': port 0 is not a port to connect to\n",
            connect);
    return 2;
  }
  /* Everything a start checks is checked: the name is looked up only when connecting. */
  if (check) {
    printf("ok\n");
    return 0;
  }
  snprintf(w.host, sizeof w.host, "%s", a.host);
  snprintf(w.port, sizeof w.port, "%s", a.service);
  rng_seed(&w.rng, rng_derive((uint64_t)getpid(), (uint64_t)uv_hrtime()));

  nn_flush_denormals();
  w.loop = uv_default_loop();
  uv_timer_init(w.loop, &w.reconnect_timer);
  uv_timer_init(w.loop, &w.stats_timer);
  uv_idle_init(w.loop, &w.stepper);
  uv_signal_init(w.loop, &w.sigint);
  uv_signal_init(w.loop, &w.sigterm);
  w.reconnect_timer.data = w.stats_timer.data = w.stepper.data = &w;
  w.sigint.data = w.sigterm.data = &w;
  uv_signal_start(&w.sigint, on_signal, SIGINT);
  uv_signal_start(&w.sigterm, on_signal, SIGTERM);
  w.t_stats = now_s();
  start_connect(&w);
  uv_run(w.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(w.loop);
  if (rc != 0) LOG_W("worker", "loop closed with handles open: %s", uv_strerror(rc));
  free_buffers(&w);
  return w.exit_code;
}
