/* net: the learner's libuv side. One callback per event; per-connection state in
 * worker_conn_t reached through handle->data. Runs on the net thread only. */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "bounds.h"
#include "extenv.h"
#include "flow.h"
#include "learner.h"
#include "log.h"
#include "policy.h"
#include "seal.h"
#include "tbatch.h"
#include "utf8.h"
#include "wire.h"

#define READ_CHUNK 16384 /* small: what is read while ingest is paused waits in the reader */

typedef struct write_req {
  uv_write_t req;
  worker_conn_t *c;
  shared_frame_t *shared; /* weights: shared buffer; otherwise `own` is freed */
  uint8_t *own;
  int close_after;
  int weights; /* a weights frame (shared, or this connection's sealed copy of it) */
} write_req_t;

static void conn_close(worker_conn_t *c, const char *why);
static void send_weights(worker_conn_t *c);
static void grant(worker_conn_t *c, int ahead);

static void shared_unref(shared_frame_t *f) {
  if (f && --f->refs == 0) {
    free(f->data);
    free(f);
  }
}

static void on_write(uv_write_t *req, int status) {
  write_req_t *w = (write_req_t *)req;
  worker_conn_t *c = w->c;
  if (w->weights) c->weights_inflight = 0;
  if (w->shared) shared_unref(w->shared);
  free(w->own);
  int close_after = w->close_after;
  free(w);
  if (c->state == CONN_CLOSING) return;
  if (status < 0) {
    conn_close(c, uv_strerror(status));
    return;
  }
  if (close_after) {
    conn_close(c, "closed after error frame");
    return;
  }
  if (c->weights_pending) {
    c->weights_pending = 0;
    send_weights(c);
  }
}

/* Queues a frame; takes ownership of `own` (or a reference on `shared`). On a sealed connection
 * the frame is sealed here, in the order the bytes go out: each connection has its own keys, so
 * a shared weights frame becomes this connection's own sealed copy. */
static int conn_write(worker_conn_t *c, uint8_t *own, shared_frame_t *shared, size_t len,
                      int close_after) {
  int weights = shared != NULL;
  if (c->sealed) {
    int rc;
    size_t slen;
    uint8_t *sealed = seal_frame_alloc(&c->seal.tx, shared ? shared->data : own, len, &slen, &rc);
    free(own);
    if (!sealed) {
      LOG_W("net", "worker %u (%s): cannot seal a frame: %s", c->id, c->addr, seal_strerror(rc));
      return UV_ENOMEM;
    }
    own = sealed;
    shared = NULL;
    len = slen;
  }
  write_req_t *w = calloc(1, sizeof *w);
  if (!w) {
    free(own);
    return UV_ENOMEM;
  }
  w->weights = weights;
  w->c = c;
  w->own = own;
  w->shared = shared;
  w->close_after = close_after;
  if (shared) shared->refs++;
  uv_buf_t b = uv_buf_init((char *)(shared ? shared->data : own), (unsigned)len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc < 0) {
    if (shared) shared_unref(shared);
    free(own);
    free(w);
    return rc;
  }
  c->bytes_out += len;
  c->last_tx = learner_now();
  c->L->net.bytes_out += len;
  return 0;
}

int net_send_frame(worker_conn_t *c, uint8_t *frame, size_t len) {
  if (c->state != CONN_ACTIVE) {
    free(frame);
    return -1;
  }
  if (conn_write(c, frame, NULL, len, 0) != 0) {
    conn_close(c, "write failed");
    return -1;
  }
  return 0;
}

/* Sends an Error frame naming the problem, then closes the connection. */
static void conn_fail(worker_conn_t *c, uint32_t code, const char *reason) {
  if (c->state == CONN_CLOSING || c->state == CONN_FAILING) return;
  LOG_W("net", "worker %u (%s): %s; closing the connection", c->id, c->addr, reason);
  if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = 0;
  size_t len;
  uint8_t *f = wire_encode_error(code, reason, &len);
  if (!f || conn_write(c, f, NULL, len, 1) != 0)
    conn_close(c, reason);
  else {
    c->state = CONN_FAILING; /* no more frames are handled; on_write closes, or net_sweep */
    c->failing_since = learner_now();
  }
}

static void conn_free(worker_conn_t *c) {
  frame_reader_free(&c->reader);
  seal_wipe(&c->seal);
  free(c);
}

static void on_closed(uv_handle_t *h) {
  worker_conn_t *c = h->data;
  if (c->ingest.inflight) { /* frames on the decode threads point at it: the last frees it */
    c->ingest.free_pending = 1;
    return;
  }
  conn_free(c);
}

/* explore = apex: actor i of the N connected (in the order they joined) acts with
 * eps_i = apex_eps^(1 + apex_alpha i / (N - 1)) and noise_scale^(1 + noise_spread i / (N - 1)),
 * fixed. */
static void apex_assignment(const learner_t *L, int i, int n, double *eps, double *noise) {
  *eps = policy_apex_epsilon(L->run.cfg.apex_eps, L->run.cfg.apex_alpha, i, n);
  *noise = policy_apex_epsilon(L->run.cfg.noise_scale, L->run.cfg.noise_spread, i, n);
}

/* explore = apex: renumbers the active workers 0 .. N-1 in the order they joined and sends an
 * Explore frame to each whose assignment changed (after a join or a leave). */
static void apex_reassign(learner_t *L) {
  if (strcmp(L->run.cfg.explore, "apex") || L->net.finishing) return;
  int n = 0;
  for (worker_conn_t *o = L->net.conns; o; o = o->next) n += o->state == CONN_ACTIVE;
  /* The list is newest first: the oldest gets index 0. */
  int i = n;
  for (worker_conn_t *o = L->net.conns; o; o = o->next) {
    if (o->state != CONN_ACTIVE) continue;
    i--;
    double eps, noise;
    apex_assignment(L, i, n, &eps, &noise);
    if (o->index == i && o->apex_n == n) continue;
    o->index = i;
    o->apex_n = n;
    o->apex_eps = eps;
    o->apex_noise = noise;
    Rlserve__Explore ex = RLSERVE__EXPLORE__INIT;
    ex.worker_index = (uint32_t)i;
    ex.actors = (uint32_t)n;
    ex.epsilon = eps;
    ex.noise_scale = noise;
    size_t len;
    uint8_t *f = wire_encode(FRAME_EXPLORE, &ex.base, &len);
    if (!f || conn_write(o, f, NULL, len, 0) != 0) continue; /* conn_write frees f */
    LOG_I("net", "worker %u: actor %d of %d, %s %.4g", o->id, i, n, L->run.algo->explore_name,
          strcmp(L->run.algo->explore_name, "epsilon") ? noise : eps);
  }
}

static void conn_close(worker_conn_t *c, const char *why) {
  if (c->state == CONN_CLOSING) return;
  learner_t *L = c->L;
  if (c->state == CONN_ACTIVE)
    LOG_I("net",
          "worker %u (%s) left: %s; %llu transitions, %llu episodes (mean return %.1f), acting "
          "with weights %llu of %llu, epsilon %.3g",
          c->id, c->addr, why, (unsigned long long)c->transitions, (unsigned long long)c->episodes,
          returns_window_mean(&c->returns), (unsigned long long)c->acting_version,
          (unsigned long long)L->net.weights_frame_version, c->epsilon);
  reval_conn_gone(c); /* its share of an evaluation goes back (also after an Error frame) */
  c->state = CONN_CLOSING;
  for (worker_conn_t **p = &L->net.conns; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  L->net.n_conns--;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  apex_reassign(L); /* the actors left get their new places */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = malloc(READ_CHUNK);
  buf->len = buf->base ? READ_CHUNK : 0;
}

static void send_weights(worker_conn_t *c) {
  learner_t *L = c->L;
  if (c->state != CONN_ACTIVE || !L->net.weights_frame) return;
  if (c->weights_sent_version >= L->net.weights_frame_version) return;
  if (c->weights_inflight) {
    c->weights_pending = 1; /* the newest goes out when this write completes */
    return;
  }
  c->weights_inflight = 1;
  c->weights_sent_version = L->net.weights_frame_version;
  c->weights_sent_at = learner_now();
  if (conn_write(c, NULL, L->net.weights_frame, L->net.weights_frame->len, 0) != 0) {
    c->weights_inflight = 0;
    conn_close(c, "write failed");
  }
}

static int lowest_free_index(learner_t *L) {
  for (int i = 0;; i++) {
    int used = 0;
    for (worker_conn_t *o = L->net.conns; o; o = o->next)
      if (o->state == CONN_ACTIVE && o->index == i) used = 1;
    if (!used) return i;
  }
}

/* The learner's half of the mutual proof (auth.h): sent in the clear right after the worker's
 * Hello verified, before anything else; the worker acts on nothing until it checks. */
static int send_proof(worker_conn_t *c) {
  uint8_t mac[AUTH_MAC];
  auth_prove(c->L->run.auth_key, AUTH_LEARNER, c->nonce, c->peer_nonce, mac);
  Rlserve__Proof pr = RLSERVE__PROOF__INIT;
  pr.proof.data = mac;
  pr.proof.len = sizeof mac;
  size_t len;
  uint8_t *f = wire_encode(FRAME_PROOF, &pr.base, &len);
  if (!f || conn_write(c, f, NULL, len, 0) != 0) {
    conn_close(c, "proof write failed");
    return -1;
  }
  /* Everything after the Proof is sealed, both ways (seal.h). */
  seal_init(&c->seal, c->L->run.auth_key, c->nonce, c->peer_nonce, SEAL_AS_LEARNER);
  c->sealed = 1;
  return 0;
}

/* A worker stepping k envs sends batches of ceil(send_batch / k) * k transitions; one larger
 * than credit_window can never be granted and the worker would wait forever. 1 with a message
 * when k is refused. */
static int envs_refused(const learner_t *L, uint32_t k, int asked, char *err, size_t errlen) {
  uint64_t sb = (uint64_t)L->run.cfg.send_batch, cw = (uint64_t)L->run.cfg.credit_window;
  uint64_t batch = (sb + k - 1) / k * k;
  /* n-step: one step of the k envs may emit up to n_step * k transitions (episode ends). */
  uint64_t ns = (uint64_t)L->run.cfg.n_step;
  if (ns > 1) batch = sb - 1 + ns * k;
  if (batch <= cw) return 0;
  snprintf(err, errlen,
           "%s %u envs make batches of %llu transitions, more than this learner's credit_window "
           "= %llu, so it could never grant one: use %s <= %llu, or a learner with a larger "
           "credit_window",
           asked ? "--envs" : "envs_per_worker =", k, (unsigned long long)batch,
           (unsigned long long)cw, asked ? "--envs" : "envs_per_worker", (unsigned long long)cw);
  return 1;
}

/* A worker that brings its own env (the Python worker) declares its id and spaces in the Hello;
 * they must be the run's, or its batches would be refused one by one (or worse, accepted with
 * another meaning). 1 with a message naming both sides when they differ; an empty env_id
 * declares nothing (the C worker builds the env the Welcome names). */
static int env_refused(const learner_t *L, const Rlserve__Hello *h, char *err, size_t errlen) {
  if (!h->env_id || !h->env_id[0]) return 0;
  const env_spec_t *s = L->run.spec;
  int cont = s->act.kind == ENV_BOX;
  uint32_t act = (uint32_t)(cont ? s->act.dim : s->act.n);
  const char *what = NULL;
  if (strcmp(h->env_id, s->id) != 0)
    what = "env id";
  else if (h->obs_dim != (uint32_t)s->obs.dim)
    what = "observation size";
  else if (h->act_continuous != (protobuf_c_boolean)cont)
    what = "action space kind";
  else if (h->act_dim != act)
    what = cont ? "action dims" : "number of actions";
  else if (cont && (h->n_act_low != act || h->n_act_high != act))
    what = "number of action bounds";
  for (uint32_t i = 0; !what && cont && i < act; i++)
    if (h->act_low[i] != s->act.low[i] || h->act_high[i] != s->act.high[i]) what = "action bounds";
  if (!what) return 0;
  snprintf(err, errlen,
           "env mismatch (%s): this learner runs %s (obs %d, %s %u); the worker declares %.64s "
           "(obs %u, %s %u)",
           what, s->id, s->obs.dim, cont ? "continuous actions" : "actions", act, h->env_id,
           h->obs_dim, h->act_continuous ? "continuous actions" : "actions", h->act_dim);
  return 1;
}

static void handle_hello(worker_conn_t *c, const uint8_t *p, size_t len) {
  learner_t *L = c->L;
  char err[512];
  Rlserve__Hello *h;
  if (wire_decode_hello(p, len, &h, err, sizeof err) != 0) {
    conn_fail(c, 400, err);
    return;
  }
  if (L->run.auth) {
    const char *why = NULL;
    if (!h->auth.len)
      why = "authentication failed: this learner requires a token (rlserve worker --token-file F)";
    else if (h->nonce.len != AUTH_NONCE)
      why = "authentication failed: the Hello carries no 32-byte worker nonce";
    else if (!auth_verify(L->run.auth_key, AUTH_WORKER, c->nonce, h->nonce.data, h->auth.data,
                          h->auth.len))
      why = "authentication failed: wrong token";
    if (why) {
      rlserve__hello__free_unpacked(h, NULL);
      conn_fail(c, 401, why);
      return;
    }
    memcpy(c->peer_nonce, h->nonce.data, AUTH_NONCE);
  }
  if (h->protocol_version != FRAME_PROTOCOL_VERSION) {
    snprintf(err, sizeof err, "hello: protocol version %u, learner speaks %d", h->protocol_version,
             FRAME_PROTOCOL_VERSION);
    rlserve__hello__free_unpacked(h, NULL);
    conn_fail(c, 426, err);
    return;
  }
  int active = 0;
  for (worker_conn_t *o = L->net.conns; o; o = o->next) active += o->state == CONN_ACTIVE;
  if (active >= L->run.cfg.max_workers) {
    rlserve__hello__free_unpacked(h, NULL);
    snprintf(err, sizeof err, "learner has max_workers = %lld workers already",
             (long long)L->run.cfg.max_workers);
    conn_fail(c, 503, err);
    return;
  }
  uint32_t k = h->num_envs ? h->num_envs : (uint32_t)L->run.cfg.envs_per_worker;
  if (envs_refused(L, k, h->num_envs != 0, err, sizeof err)) {
    rlserve__hello__free_unpacked(h, NULL);
    conn_fail(c, 422, err);
    return;
  }
  /* env = worker:ID: the first declaration builds the run, later ones must match (extenv.h). */
  int refused =
      L->run.worker_env ? extenv_hello(L, h, err, sizeof err) : env_refused(L, h, err, sizeof err);
  if (refused) {
    rlserve__hello__free_unpacked(h, NULL);
    if (refused < 0) {
      LOG_E("learner", "cannot build the run from the declared env: %s", err);
      L->net.build_failed = 1; /* learner_check_finish ends the run (exit status 2) */
      uv_async_send(&L->net.wake);
    }
    conn_fail(c, refused < 0 ? 500 : 409, err);
    return;
  }
  c->evaluates = L->run.worker_env && h->evaluates;
  if (L->run.auth && send_proof(c) != 0) {
    rlserve__hello__free_unpacked(h, NULL);
    return;
  }
  utf8_copy(c->name, sizeof c->name, h->worker_name);
  utf8_copy(c->host, sizeof c->host, h->host);
  c->pid = h->pid;
  c->num_envs = k;
  rlserve__hello__free_unpacked(h, NULL);
  c->index = lowest_free_index(L);
  c->state = CONN_ACTIVE;
  c->authed = 1;
  frame_reader_set_limit(&c->reader, (uint32_t)L->run.cfg.max_frame_bytes);

  /* Welcome: the whole run config from the table, plus this worker's own settings. */
  size_t nf = config_field_count();
  Rlserve__ConfigEntry *entries = calloc(nf, sizeof *entries);
  Rlserve__ConfigEntry **ptrs = calloc(nf, sizeof *ptrs);
  char(*vals)[CONFIG_STR_MAX + 32] = calloc(nf, sizeof *vals);
  if (!entries || !ptrs || !vals) {
    free(entries);
    free(ptrs);
    free(vals);
    conn_fail(c, 500, "learner out of memory");
    return;
  }
  for (size_t i = 0; i < nf; i++) {
    const config_field_t *f = config_field_at(i);
    rlserve__config_entry__init(&entries[i]);
    config_format(&L->run.cfg, f, vals[i], sizeof vals[i]);
    if (!strcmp(f->name, "env_plugin")) vals[i][0] = 0; /* a path is never sent: the hash is */
    entries[i].key = (char *)f->name;
    entries[i].value = vals[i];
    ptrs[i] = &entries[i];
  }
  Rlserve__Welcome w = RLSERVE__WELCOME__INIT;
  w.worker_id = c->id;
  w.worker_index = (uint32_t)c->index;
  w.n_config = nf;
  w.config = ptrs;
  w.seed = rng_derive((uint64_t)L->run.cfg.seed, 1000u + c->id);
  /* Both exploration settings, spread over the workers (the row uses its own). explore =
   * annealed: over the `workers` setting, the end point of the annealing; explore = apex: over
   * the actors connected now (this one the newest), fixed, and reassigned as actors come and
   * go (Explore frames). */
  int apex = !strcmp(L->run.cfg.explore, "apex");
  int n_assign = L->run.cfg.workers > c->index + 1 ? (int)L->run.cfg.workers : c->index + 1;
  if (apex) {
    n_assign = 0;
    for (worker_conn_t *o = L->net.conns; o; o = o->next) n_assign += o->state == CONN_ACTIVE;
    c->index = n_assign - 1;
    c->apex_n = n_assign;
    apex_assignment(L, c->index, n_assign, &c->apex_eps, &c->apex_noise);
    w.worker_index = (uint32_t)c->index;
    w.epsilon_final = c->apex_eps;
    w.noise_scale = c->apex_noise;
  } else {
    w.epsilon_final =
        policy_apex_epsilon(L->run.cfg.eps_final, L->run.cfg.eps_alpha, c->index, n_assign);
    w.noise_scale =
        policy_apex_epsilon(L->run.cfg.noise_scale, L->run.cfg.noise_spread, c->index, n_assign);
  }
  w.obs_dim = (uint32_t)L->run.pol.obs_dim;
  w.act_dim = (uint32_t)L->run.pol.n_out;
  w.env_id = (char *)L->run.spec->id;
  if (L->run.plugin) {
    w.env_plugin_id = L->run.plugin_info.id;
    w.env_plugin_sha256.data = L->run.plugin_info.sha256;
    w.env_plugin_sha256.len = sizeof L->run.plugin_info.sha256;
  }
  size_t flen;
  uint8_t *frame = wire_encode(FRAME_WELCOME, &w.base, &flen);
  free(entries);
  free(ptrs);
  free(vals);
  if (!frame || conn_write(c, frame, NULL, flen, 0) != 0) {
    conn_close(c, "welcome failed");
    return;
  }
  LOG_I("net", "worker %u joined from %s (%s): index %d, %u envs, %s %.4g", c->id, c->addr, c->name,
        c->index, c->num_envs, L->run.algo->explore_name,
        apex ? (strcmp(L->run.algo->explore_name, "epsilon") ? c->apex_noise : c->apex_eps)
             : L->run.algo->explore_level(&L->run.cfg, c->index, n_assign));
  apex_reassign(L); /* the others' N changed */
  net_on_wake(L); /* make sure the newest weights are encoded */
  send_weights(c);
  if (c->state == CONN_ACTIVE) grant(c, 0); /* the first window, whatever the rate (flow.h) */
}

/* Sends the top-up flow_credit_due decides on. ahead: replay runs ahead of the sampling rate,
 * so the top-up is withheld until net_on_wake finds it caught up. */
static void grant(worker_conn_t *c, int ahead) {
  learner_t *L = c->L;
  ingest_lock(L->net.ingest); /* decode threads update c->credit.received */
  uint64_t n = flow_credit_due(&c->credit, (uint64_t)L->run.cfg.credit_window, ahead);
  ingest_unlock(L->net.ingest);
  if (ahead) L->net.ingest_paused = 1;
  if (n == 0) return;
  Rlserve__Credit cr = RLSERVE__CREDIT__INIT;
  cr.transitions = n;
  size_t len;
  uint8_t *f = wire_encode(FRAME_CREDIT, &cr.base, &len);
  if (!f || conn_write(c, f, NULL, len, 0) != 0) {
    conn_close(c, "credit write failed");
    return;
  }
  ingest_lock(L->net.ingest);
  flow_credit_sent(&c->credit, n);
  ingest_unlock(L->net.ingest);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void resume_ingest(learner_t *L) {
  if (!L->net.ingest_paused) return;
  L->net.ingest_paused = 0;
  worker_conn_t *next;
  for (worker_conn_t *c = L->net.conns; c; c = next) {
    next = c->next; /* a buffered bad frame may close c */
    if (c->state == CONN_ACTIVE && c->credit.owed) grant(c, 0);
  }
}

/* A count a Stats frame may claim: exact as a double (JSON, /metrics), far beyond any run. */
#define STATS_MAX_COUNT (1ull << 53)

/* The newest weights version this learner could have sent: a worker's claim above it (a
 * learner restarted from an older checkpoint, or a lie) counts as this, so lags stay sane. */
static uint64_t sane_version(const learner_t *L, uint64_t v) {
  return v < L->net.weights_frame_version ? v : L->net.weights_frame_version;
}

/* After a batch was inserted (on this thread or a decode thread): count it and grant credit,
 * after the insert as flow.h says; a refused batch fails the connection with its reason. */
static void transitions_done(worker_conn_t *c, const ingest_result_t *res) {
  learner_t *L = c->L;
  if (c->state != CONN_ACTIVE) return;
  if (res->code) {
    conn_fail(c, (uint32_t)res->code, res->err);
    return;
  }
  if (!res->counted) return; /* the run's budget is spent: ignored */
  c->transitions += res->n;
  /* The batch says which weights produced it: the freshest measure of this worker's lag. */
  uint64_t v = sane_version(L, res->wv);
  if (v > c->acting_version) c->acting_version = v;
  /* While replay is ahead the top-up waits (net_on_wake) and the worker pauses with at most
   * credit_window in flight. */
  grant(c, !replay_insert_allowed(&L->replay));
}

static void handle_transitions(worker_conn_t *c, const uint8_t *p, size_t len) {
  ingest_result_t res;
  ingest_transitions(c->L, c, NULL, p, len, &res);
  transitions_done(c, &res);
}

/* Whether a worker's Stats are possible for what it did on this connection: counts within
 * STATS_MAX_COUNT, never going down, episodes and drops within its steps, its steps since the
 * first Stats here within the credit the learner granted plus one batch being filled, and
 * no more episode returns than new episodes, each episode length within [1, env_steps]. 0, or -1
 * with the reason. */
static int stats_sane(const worker_conn_t *c, const Rlserve__Stats *st, char *err, size_t errlen) {
  const learner_t *L = c->L;
  if (st->env_steps > STATS_MAX_COUNT || st->episodes > STATS_MAX_COUNT ||
      st->dropped > STATS_MAX_COUNT)
    return snprintf(err, errlen,
                    "stats: env_steps %llu, episodes %llu, dropped %llu: a count above 2^53",
                    (unsigned long long)st->env_steps, (unsigned long long)st->episodes,
                    (unsigned long long)st->dropped),
           -1;
  if (!isfinite(st->steps_per_sec) || st->steps_per_sec < 0 || !isfinite(st->epsilon))
    return snprintf(err, errlen, "stats: steps_per_sec %g, epsilon %g", st->steps_per_sec,
                    st->epsilon),
           -1;
  if (st->episodes > st->env_steps || st->dropped > st->env_steps)
    return snprintf(err, errlen, "stats: %llu episodes and %llu dropped in %llu env steps",
                    (unsigned long long)st->episodes, (unsigned long long)st->dropped,
                    (unsigned long long)st->env_steps),
           -1;
  if (c->have_stats &&
      (st->env_steps < c->worker_steps || st->episodes < c->episodes || st->dropped < c->dropped))
    return snprintf(err, errlen,
                    "stats: counters went down (env_steps %llu -> %llu, episodes %llu -> %llu, "
                    "dropped %llu -> %llu)",
                    (unsigned long long)c->worker_steps, (unsigned long long)st->env_steps,
                    (unsigned long long)c->episodes, (unsigned long long)st->episodes,
                    (unsigned long long)c->dropped, (unsigned long long)st->dropped),
           -1;
  /* n-step: up to n_step * k steps more are queued in the worker's n-step builder. */
  uint64_t room =
      c->credit.granted + (uint64_t)L->run.cfg.send_batch + (uint64_t)L->run.cfg.n_step * c->num_envs;
  if (c->have_stats && st->env_steps - c->stats_base_steps > room)
    return snprintf(err, errlen,
                    "stats: env_steps %llu is %llu past the first report on this connection, "
                    "but only %llu transitions were granted",
                    (unsigned long long)st->env_steps,
                    (unsigned long long)(st->env_steps - c->stats_base_steps),
                    (unsigned long long)c->credit.granted),
           -1;
  uint64_t new_episodes = st->episodes - (c->have_stats ? c->episodes : 0);
  if (st->n_episode_returns > new_episodes)
    return snprintf(err, errlen, "stats: %zu episode returns for %llu new episodes",
                    st->n_episode_returns, (unsigned long long)new_episodes),
           -1;
  /* An episode is at least one step and no longer than all the steps the worker took. */
  for (size_t i = 0; i < st->n_episode_lengths; i++)
    if (st->episode_lengths[i] == 0 || st->episode_lengths[i] > st->env_steps)
      return snprintf(err, errlen, "stats: episode_lengths[%zu] is %u, outside [1, env_steps %llu]",
                      i, st->episode_lengths[i], (unsigned long long)st->env_steps),
             -1;
  return 0; /* the returns themselves are checked finite by wire_decode_stats */
}

static void handle_stats(worker_conn_t *c, const uint8_t *p, size_t len) {
  learner_t *L = c->L;
  Rlserve__Stats *st;
  char err[256];
  if (wire_decode_stats(p, len, &st, err, sizeof err) != 0) {
    conn_fail(c, 400, err);
    return;
  }
  if (stats_sane(c, st, err, sizeof err) != 0) {
    rlserve__stats__free_unpacked(st, NULL);
    conn_fail(c, 400, err);
    return;
  }
  if (!c->have_stats) c->stats_base_steps = st->env_steps;
  c->have_stats = 1;
  for (size_t i = 0; i < st->n_episode_returns; i++) { /* as many lengths (wire_decode_stats) */
    returns_window_add(&c->returns, st->episode_returns[i]);
    returns_window_add(&L->net.returns, st->episode_returns[i]);
    returns_window_add(&c->lengths, (float)st->episode_lengths[i]);
    returns_window_add(&L->net.lengths, (float)st->episode_lengths[i]);
  }
  pthread_mutex_lock(&L->sh.mu); /* the trainer's periodic checkpoint reads it */
  L->sh.episodes += st->n_episode_returns;
  pthread_mutex_unlock(&L->sh.mu);
  c->episodes = st->episodes;
  c->worker_steps = st->env_steps;
  c->steps_per_s = st->steps_per_sec;
  c->dropped = st->dropped;
  uint64_t v = sane_version(L, st->weights_version);
  if (v > c->acting_version) c->acting_version = v;
  c->epsilon = st->epsilon;
  rlserve__stats__free_unpacked(st, NULL);
}

/* Decode threads (ingest.h): the frame goes over with this connection's next counter, so the
 * sealed frames behind it (opened here or there) keep theirs. */
static void submit_transitions(worker_conn_t *c, const frame_header_t *sh, const uint8_t *p) {
  char err[200];
  seal_dir_t rx;
  if (c->sealed) {
    if (c->seal.rx.spent) {
      snprintf(err, sizeof err, "sealed %s frame #%llu refused: %s", frame_type_name(sh->type),
               (unsigned long long)c->seal.rx.counter, seal_strerror(SEAL_ESPENT));
      conn_fail(c, 400, err);
      return;
    }
    rx = c->seal.rx;
    if (++c->seal.rx.counter == 0) c->seal.rx.spent = 1;
  }
  if (ingest_submit(c->L->net.ingest, c, sh, p, c->sealed ? &rx : NULL) != 0)
    conn_fail(c, 500, "learner out of memory queueing a batch");
  sodium_memzero(&rx, sizeof rx);
}

static void handle_frame(worker_conn_t *c, const frame_header_t *sh, const uint8_t *p) {
  char err[200];
  frame_header_t plain = *sh, *h = &plain;
  c->frames_in++;
  if (c->L->net.ingest && c->state == CONN_ACTIVE && sh->type == FRAME_TRANSITIONS) {
    submit_transitions(c, sh, p);
    return;
  }
  if (c->sealed) {
    /* The reader's buffer is this connection's until the next feed: open in place. */
    size_t n;
    int rc = seal_open(&c->seal.rx, sh, (uint8_t *)(uintptr_t)p, &n);
    if (rc != SEAL_OK) {
      snprintf(err, sizeof err, "sealed %s frame #%llu refused: %s", frame_type_name(sh->type),
               (unsigned long long)c->seal.rx.counter, seal_strerror(rc));
      conn_fail(c, 400, err);
      return;
    }
    plain.length = (uint32_t)n;
  }
  if (c->state == CONN_HELLO) {
    if (h->type == FRAME_HELLO)
      handle_hello(c, p, h->length);
    else {
      snprintf(err, sizeof err, "expected Hello first, got %s", frame_type_name(h->type));
      conn_fail(c, 400, err);
    }
    return;
  }
  if (c->state != CONN_ACTIVE) return;
  switch (h->type) {
    case FRAME_TRANSITIONS:
      handle_transitions(c, p, h->length);
      break;
    case FRAME_STATS:
      handle_stats(c, p, h->length);
      break;
    case FRAME_HEARTBEAT:
      break;
    case FRAME_EVAL_RESULT: /* env = worker:ID runs (reval.h) */
      if (reval_handle_result(c, p, h->length, err, sizeof err) != 0) conn_fail(c, 400, err);
      break;
    case FRAME_ERROR: {
      Rlserve__Error *e;
      if (wire_decode_error(p, h->length, &e, err, sizeof err) == 0) {
        LOG_W("net", "worker %u reports: %s", c->id, e->reason);
        rlserve__error__free_unpacked(e, NULL);
      }
      conn_close(c, "worker sent an error");
      break;
    }
    default:
      snprintf(err, sizeof err, "unexpected %s frame from a worker", frame_type_name(h->type));
      conn_fail(c, 400, err);
  }
}

/* Hands the complete frames buffered in c's reader to handle_frame. */
static void process_frames(worker_conn_t *c) {
  frame_header_t h;
  const uint8_t *payload;
  int rc = 0;
  while ((c->state == CONN_HELLO || c->state == CONN_ACTIVE) && !ingest_conn_full(c) &&
         (rc = frame_reader_next(&c->reader, &h, &payload)) == 1)
    handle_frame(c, &h, payload);
  ingest_kick(c->L->net.ingest);
  if (c->state == CONN_ACTIVE && ingest_conn_full(c)) {
    /* At the cap: what follows waits in the reader and the socket until frames come back. */
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    c->ingest.blocked = 1;
    return;
  }
  if (rc < 0 && (c->state == CONN_HELLO || c->state == CONN_ACTIVE)) {
    char err[200];
    char why[160];
    if (frame_reader_explain(&c->reader, why, sizeof why) == FRAME_OK)
      snprintf(why, sizeof why, "%s", frame_strerror(rc)); /* explain saw no error */
    snprintf(err, sizeof err, "bad frame: %s", why);
    conn_fail(c, 400, err);
  }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  worker_conn_t *c = s->data;
  if (nread < 0) {
    free(buf->base);
    conn_close(c, nread == UV_EOF ? "disconnected" : uv_strerror((int)nread));
    return;
  }
  if (nread > 0 && c->state != CONN_CLOSING) {
    c->bytes_in += (uint64_t)nread;
    c->last_rx = learner_now();
    c->L->net.bytes_in += (uint64_t)nread;
    if (frame_reader_feed(&c->reader, (const uint8_t *)buf->base, (size_t)nread) != FRAME_OK) {
      free(buf->base);
      conn_fail(c, 500, "out of memory buffering a frame");
      return;
    }
    process_frames(c);
  }
  free(buf->base);
}

/* Connections not yet through the handshake cost memory and a slot until handshake_timeout_s:
 * at most max_unauth_conns of them, max_unauth_per_addr from one IP address. 1 when c is over
 * a cap (logged at 1, 2, 4, 8, ... refusals so a flood does not flood the log). */
static int unauth_refused(learner_t *L, const worker_conn_t *c) {
  int64_t total = 0, same = 0;
  for (const worker_conn_t *o = L->net.conns; o; o = o->next) {
    if (o->authed || o->state == CONN_CLOSING) continue;
    total++;
    same += !strcmp(o->ip, c->ip);
  }
  const config_t *cfg = &L->run.cfg;
  const char *key = NULL;
  int64_t limit = 0;
  if (total >= cfg->max_unauth_conns) {
    key = "max_unauth_conns";
    limit = cfg->max_unauth_conns;
  } else if (same >= cfg->max_unauth_per_addr) {
    key = "max_unauth_per_addr";
    limit = cfg->max_unauth_per_addr;
  }
  if (!key) return 0;
  uint64_t n = ++L->net.refused_unauth;
  if ((n & (n - 1)) == 0)
    LOG_W("net",
          "refusing a connection from %s: %lld connections not yet authenticated (%lld from "
          "that address; %s = %lld); %llu refused so far",
          c->addr, (long long)total, (long long)same, key, (long long)limit, (unsigned long long)n);
  return 1;
}

static void on_connection(uv_stream_t *server, int status) {
  learner_t *L = server->data;
  if (status < 0) {
    LOG_W("net", "accept: %s", uv_strerror(status));
    return;
  }
  worker_conn_t *c = calloc(1, sizeof *c);
  if (!c) return;
  c->L = L;
  uv_tcp_init(L->net.loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  frame_reader_init(&c->reader, FRAME_PREAUTH_MAX); /* max_frame_bytes once authenticated */
  c->id = ++L->net.next_id;
  c->index = -1;
  c->connected_at = c->last_rx = c->last_tx = learner_now();
  struct sockaddr_storage sa;
  int salen = sizeof sa;
  snprintf(c->addr, sizeof c->addr, "?");
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen) == 0) {
    char ip[48];
    int port = 0;
    if (sa.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
      snprintf(c->addr, sizeof c->addr, "[%s]:%d", ip, port);
    } else {
      uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
      snprintf(c->addr, sizeof c->addr, "%s:%d", ip, port);
    }
    snprintf(c->ip, sizeof c->ip, "%s", ip);
  }
  if (unauth_refused(L, c)) {
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  c->next = L->net.conns;
  L->net.conns = c;
  L->net.n_conns++;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = 1;
  if (L->run.auth) { /* a fresh nonce per connection: an answer cannot be replayed */
    auth_nonce(c->nonce);
    Rlserve__Challenge ch = RLSERVE__CHALLENGE__INIT;
    ch.nonce.data = c->nonce;
    ch.nonce.len = sizeof c->nonce;
    size_t len;
    uint8_t *f = wire_encode(FRAME_CHALLENGE, &ch.base, &len);
    if (!f || conn_write(c, f, NULL, len, 0) != 0) conn_close(c, "challenge write failed");
  }
}

/* Frames back from the decode threads: counted, credit granted or the connection failed; a
 * connection below its cap again reads on (after the frames already in its reader). */
static void ingest_drain(learner_t *L) {
  ingest_job_t *j = ingest_take_done(L->net.ingest), *next;
  for (; j; j = next) {
    next = j->next;
    worker_conn_t *c = j->c;
    c->ingest.inflight--;
    c->ingest.inflight_bytes -= j->bytes;
    if (!j->dropped) transitions_done(c, &j->res);
    ingest_job_free(j);
    if (c->ingest.free_pending) {
      if (!c->ingest.inflight) conn_free(c);
      continue;
    }
    if (c->ingest.blocked && c->state == CONN_ACTIVE && !ingest_conn_full(c)) {
      c->ingest.blocked = 0;
      process_frames(c);
      if (c->state == CONN_ACTIVE && !c->ingest.blocked && !c->reading &&
          uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = 1;
    }
  }
}

static void on_ingest_wake(uv_async_t *h) {
  learner_t *L = h->data;
  if (L->net.ingest) ingest_drain(L); /* NULL: net_close_all drained it and closes this handle */
}

static void ingest_notify(void *arg) { uv_async_send(arg); } /* any thread */

/* The decode threads ingest_threads asks for (ingest.h); on failure ingest stays on this thread. */
static void start_ingest(learner_t *L) {
  int n = ingest_threads_for(&L->run.cfg);
  if (n < 2) {
    LOG_I("net", "ingest on the net thread (ingest_threads = %lld%s)",
          (long long)L->run.cfg.ingest_threads, L->run.cfg.ingest_threads ? "" : ": auto");
    return;
  }
  char err[256];
  uv_async_init(L->net.loop, &L->net.ingest_wake, on_ingest_wake);
  L->net.ingest_wake.data = L;
  L->net.ingest = ingest_start(L, n, ingest_notify, &L->net.ingest_wake, err, sizeof err);
  if (!L->net.ingest) {
    LOG_W("net", "%s; ingest stays on the net thread", err);
    uv_close((uv_handle_t *)&L->net.ingest_wake, NULL);
    return;
  }
  LOG_I("net", "ingest on %d decode threads (ingest_threads = %lld%s)", n,
        (long long)L->run.cfg.ingest_threads, L->run.cfg.ingest_threads ? "" : ": auto");
}

void net_stop_ingest(learner_t *L) { ingest_stop(L->net.ingest); }

/* On failure the listener handle is closed (or was never initialised): the caller runs the
 * loop to let the close finish and must not close it again. */
int net_start(learner_t *L, const char *listen_addr, char *err, size_t errlen) {
  addr_t a;
  if (addr_resolve(listen_addr, &a, err, errlen) != 0) return -1;
  uv_tcp_init(L->net.loop, &L->net.listener);
  L->net.listener.data = L;
  int rc = uv_tcp_bind(&L->net.listener, (struct sockaddr *)&a.sa, 0);
  /* Accepted sockets inherit a small receive buffer: when ingest pauses, what a worker has
   * sent waits in its own bounded outbox, not in megabytes of kernel buffer that would make
   * replay data old by the time it is read. */
  int rcvbuf = 16384;
  if (rc == 0) uv_recv_buffer_size((uv_handle_t *)&L->net.listener, &rcvbuf);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&L->net.listener, 128, on_connection);
  if (rc != 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", listen_addr, uv_strerror(rc));
    uv_close((uv_handle_t *)&L->net.listener, NULL);
    return -1;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&L->net.listener, (struct sockaddr *)&bound, &blen);
  int port = addr_port(&bound);
  LOG_I("net", "listening on %s (port %d)", listen_addr, port);
  if (L->run.port_file[0]) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", L->run.port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, L->run.port_file) != 0) {
      snprintf(err, errlen, "cannot write the port file %s: %s", L->run.port_file, strerror(errno));
      uv_close((uv_handle_t *)&L->net.listener, NULL);
      return -1;
    }
  }
  start_ingest(L); /* last: a failed start leaves no threads or handle behind */
  return 0;
}

void net_on_wake(learner_t *L) {
  uint64_t v = snapshot_version(&L->snap);
  if (v > L->net.weights_frame_version) {
    shared_frame_t *f = calloc(1, sizeof *f);
    pthread_mutex_lock(&L->sh.mu);
    uint64_t steps = L->sh.env_steps;
    pthread_mutex_unlock(&L->sh.mu);
    uint64_t ver;
    if (f) f->data = snapshot_encode(&L->snap, steps, &f->len, &ver);
    if (f && f->data) {
      f->refs = 1;
      shared_unref(L->net.weights_frame);
      L->net.weights_frame = f;
      L->net.weights_frame_version = ver;
      for (worker_conn_t *c = L->net.conns; c; c = c->next) send_weights(c);
    } else {
      free(f);
      LOG_E("net", "out of memory encoding weights");
    }
  }
  if (L->net.ingest_paused && replay_insert_allowed(&L->replay)) resume_ingest(L);
}

void net_sweep(learner_t *L) {
  double now = learner_now(), idle = L->run.cfg.idle_timeout_s;
  double hs = L->run.cfg.handshake_timeout_s;
  char why[160];
  worker_conn_t *next;
  for (worker_conn_t *c = L->net.conns; c; c = next) {
    next = c->next; /* conn_fail may unlink c */
    if (c->state == CONN_FAILING) {
      /* A peer that does not read keeps its Error frame (and the connection) forever. */
      double grace = c->authed ? idle : hs;
      if (now - c->failing_since > grace) {
        LOG_W("net", "worker %u (%s): the error frame was not taken within %.1f s; dropping it",
              c->id, c->addr, now - c->failing_since);
        conn_close(c, "error frame not taken");
      }
      continue;
    }
    if (c->state != CONN_HELLO && c->state != CONN_ACTIVE) continue;
    /* The deadline counts from the connection, so bytes trickled in do not extend it. */
    if (c->state == CONN_HELLO && now - c->connected_at > hs) {
      snprintf(why, sizeof why, "handshake not finished within %.1f s (handshake_timeout_s = %g)",
               now - c->connected_at, hs);
      conn_fail(c, 408, why);
      continue;
    }
    /* A worker sends Stats every stats_interval_s even without credit: silence means trouble. */
    if (c->reading && now - c->last_rx > idle) {
      snprintf(why, sizeof why, "silent for %.1f s (idle_timeout_s = %g)", now - c->last_rx, idle);
      conn_fail(c, 408, why);
    } else if (c->weights_inflight && now - c->weights_sent_at > idle) {
      snprintf(why, sizeof why, "not reading: a weights frame has waited %.1f s to be taken",
               now - c->weights_sent_at);
      conn_close(c, why); /* an Error frame would queue behind the stuck weights */
    } else if (c->state == CONN_ACTIVE && now - c->last_tx > L->run.cfg.heartbeat_interval_s) {
      size_t len;
      uint8_t *f = wire_encode_empty(FRAME_HEARTBEAT, &len);
      if (f && conn_write(c, f, NULL, len, 0) != 0) conn_close(c, "heartbeat write failed");
    }
  }
}

void net_close_all(learner_t *L) {
  while (L->net.conns) conn_close(L->net.conns, "learner shutting down");
  if (L->net.ingest) { /* the frames still out come back dropped; then the pool goes */
    ingest_stop(L->net.ingest);
    ingest_drain(L);
    ingest_free(L->net.ingest);
    L->net.ingest = NULL;
    uv_close((uv_handle_t *)&L->net.ingest_wake, NULL);
  }
  if (!uv_is_closing((uv_handle_t *)&L->net.listener))
    uv_close((uv_handle_t *)&L->net.listener, NULL);
  shared_unref(L->net.weights_frame);
  L->net.weights_frame = NULL;
}
