/* learner: the learner process. Threads:
 *   net thread (the libuv loop, main thread): accepts workers, decodes frames, inserts into
 *     replay, broadcasts the newest weights, prints progress, decides when the run ends;
 *   decode threads (ingest_threads > 1, ingest.h): open, decode, check and insert the
 *     TRANSITIONS frames the net thread hands them; the net thread grants the credit;
 *   trainer thread: samples replay under the rate limit, runs DQN updates, publishes weights
 *     snapshots and wakes the net thread (uv_async_send);
 *   eval thread: greedy evaluation of the newest snapshot every eval_interval env steps, each on
 *     fresh seeds, and a confirmation on fresh seeds when one meets the threshold (solve.h).
 * They meet at the replay buffer, the snapshot, and a few counters under `mu`. */
#ifndef RLSERVE_LEARNER_H
#define RLSERVE_LEARNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "algo.h"
#include "config.h"
#include "env.h"
#include "eval.h"
#include "flow.h"
#include "frame.h"
#include "history.h"
#include "ingest.h"
#include "plugin.h"
#include "replay.h"
#include "returns.h"
#include "reval.h"
#include "seal.h"
#include "snapshot.h"
#include "solve.h"
#include "status_http.h"

/* A reference-counted encoded frame shared by several writes (weights broadcast). */
typedef struct shared_frame {
  int refs;
  size_t len;
  uint8_t *data;
} shared_frame_t;

/* HELLO: waiting for Hello (not authenticated: a few KiB per frame, handshake_timeout_s);
 * ACTIVE: a worker; FAILING: an Error frame is on its way, then close (swept when it is not
 * taken). */
enum { CONN_HELLO = 0, CONN_ACTIVE = 1, CONN_FAILING = 2, CONN_CLOSING = 3 };

#define LEARNER_HOST_MAX 257 /* Hello.host: up to WIRE_MAX_NAME bytes (the decoder checks) + NUL \
                              */

typedef struct worker_conn {
  uv_tcp_t tcp; /* tcp.data points back to this struct */
  struct learner *L;
  struct worker_conn *next;
  frame_reader_t reader;
  int state, reading;
  int authed; /* reached ACTIVE once: no longer counted against the pre-auth caps */
  uint32_t id, num_envs;
  int index;
  /* explore = apex: the assignment last sent (Welcome or Explore): N actors, eps, noise. */
  int apex_n;
  double apex_eps, apex_noise;
  char addr[64], ip[48], name[128];
  char host[LEARNER_HOST_MAX]; /* from its Hello, valid UTF-8 (utf8_copy); "" if unsent */
  uint32_t pid;                /* from its Hello; 0 if unsent */
  double connected_at, failing_since;
  double last_rx, last_tx, weights_sent_at; /* learner_now() times */
  uint8_t nonce[32];      /* nonce_L: the challenge sent to this connection (token auth) */
  uint8_t peer_nonce[32]; /* nonce_W: the worker's, from its Hello (token auth) */
  seal_t seal;            /* with a token: every frame after the Proof, both ways (seal.h) */
  int sealed;
  flow_credit_t credit; /* what this worker may send over the connection (flow.h); with decode
                         * threads under their lock (ingest.h) */
  ingest_conn_t ingest; /* its TRANSITIONS frames on the decode threads (ingest.h) */
  uint64_t transitions, bytes_in, bytes_out, frames_in;
  /* From the worker's Stats (checked: net.c stats_sane). */
  int have_stats;
  uint64_t stats_base_steps; /* env_steps of its first Stats on this connection */
  uint64_t worker_steps, episodes, dropped, acting_version;
  double steps_per_s, epsilon;
  returns_window_t returns, lengths; /* its last episode returns and lengths (env steps) */
  /* Weights in flight: at most one; a newer version waits in `weights_pending`. */
  int weights_inflight, weights_pending;
  uint64_t weights_sent_version;
  /* env = worker:ID runs (reval.h): the worker answers EVAL frames; its share of an evaluation
   * (eval_assign, the eval_id; 0: none) and one taken from it on a timeout or at the end of its
   * evaluation (eval_late: it is still playing it, so it gets no other share until its answer,
   * which is ignored, not refused). */
  int evaluates, eval_share;
  uint64_t eval_assign, eval_late;
} worker_conn_t;

/* The learner's state, split by owner. Who may touch what:
 *   run      set up by learner_run before the threads start; read-only afterwards (any thread)
 *   net      the net thread only (the libuv loop: connections, timers, progress, the end)
 *   tr       the trainer thread while it runs; the net thread before start and after join
 *   sh       shared between the threads, under sh.mu (eval_cv signals the eval thread)
 *   replay, snap   their own locks (common/replay.h, snapshot.h)
 * The status socket gets a copy (status_fill.c), never a pointer into this struct. */
typedef struct learner_run {
  config_t cfg;
  const env_spec_t *spec;
  const algo_t *algo; /* the algorithm's row (server/algo): the learner never names one */
  algo_policy_t pol;  /* what acts (evaluation), from the config and the env */
  double threshold;
  char out_dir[1024];
  char port_file[1024];
  int auth; /* workers must answer a challenge with the token */
  uint8_t auth_key[32];
  /* The run's env comes from the plugin cfg.env_plugin names: workers must have the same one
   * (its id and file hash go in the Welcome, never its path). */
  int plugin;
  env_plugin_info_t plugin_info;
  uint8_t ckpt_key[32]; /* with auth: checkpoints are authenticated with this (checkpoint.h) */
  /* env = worker:ID (extenv.h): spec points at `declared` once the first worker declared the
   * spaces (NULL until then: no algorithm state, replay or threads yet). */
  int worker_env;
  env_spec_t declared;
  char declared_id[257];
  char resume[1024]; /* --resume, applied when the run is built from the declaration */
} learner_run_t;

typedef struct learner_net {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_async_t wake; /* the trainer and eval threads: new weights, room in replay, an eval */
  uv_timer_t progress;
  uv_timer_t sweep; /* heartbeats out, silent or non-reading connections closed */
  uv_signal_t sigint, sigterm;
  status_http_t *status; /* the status socket, or NULL */
  worker_conn_t *conns;
  int n_conns;
  uint32_t next_id;
  uint64_t refused_unauth; /* connections refused by max_unauth_conns / max_unauth_per_addr */
  int ingest_paused;       /* a credit top-up was withheld (replay ahead); net_on_wake pays it */
  shared_frame_t *weights_frame; /* newest encoded weights, or NULL */
  uint64_t weights_frame_version;
  returns_window_t returns, lengths; /* the run's last episode returns and lengths */
  double t_start, t_last_progress;
  uint64_t steps_at_last_progress, updates_at_last_progress;
  FILE *metrics;
  history_t history; /* the metrics rows for GET /history, fed with metrics.jsonl's */
  int finishing, interrupted, exit_code;
  int build_failed; /* env = worker:ID: the run could not be built from the declared spaces */
  uint64_t bytes_in, bytes_out;
  ingest_t *ingest;       /* the decode threads (ingest_threads > 1), or NULL: the net thread */
  uv_async_t ingest_wake; /* a decode thread handed frames back (when ingest is set) */
} learner_net_t;

typedef struct learner_trainer {
  void *algo_state;          /* from the row's create */
  algo_weights_t w;          /* points into algo_state: the flat weights published to workers */
  rng_t rng;                 /* replay sampling */
  double last_checkpoint_at; /* learner_now() of the last periodic save */
  /* checkpoint_replay: the background writer of replay.ckpt (replay_ckpt.c). Started by the
   * trainer thread, joined by it or, after the trainer is joined, by the net thread. */
  pthread_t replay_writer;
  int replay_writer_running;
  atomic_int replay_writer_done;
} learner_trainer_t;

typedef struct learner_shared {
  pthread_mutex_t mu;
  pthread_cond_t eval_cv;
  uint64_t env_steps; /* transitions ingested (the env-step count of the run) */
  uint64_t updates;
  uint64_t updates_skipped; /* batches whose update was undone: non-finite loss or state */
  uint64_t episodes;
  double loss_ema, q_ema;
  algo_field_t algo_fields[ALGO_MAX_FIELDS]; /* the algorithm's own numbers, last update */
  int n_algo_fields;
  char last_checkpoint[1100]; /* path of the last good save, "" if none */
  eval_result_t eval;         /* latest regular evaluation */
  solve_seeds_t eval_seeds;   /* its reset seeds */
  uint64_t eval_at_steps;
  int have_eval, eval_running, final_eval_requested, final_eval_done;
  uint64_t next_eval_at;
  /* Seeds eval_seed + [0, eval_seed_cursor) are spent (solve.h); evaluations and
   * confirmations so far. All three are checkpointed, so a resumed run goes on with fresh
   * seeds. eval_running covers an evaluation and its confirmation. */
  uint64_t eval_seed_cursor, n_evals, n_confirms;
  eval_result_t confirm; /* latest confirmation (have_confirm) */
  solve_seeds_t confirm_seeds;
  uint64_t confirm_at_steps;
  int have_confirm;
  float *solved_params;      /* the weights whose evaluation and confirmation met the threshold */
  eval_result_t solved_eval; /* the evaluation that nominated them (the confirmation: confirm) */
  solve_seeds_t solved_seeds;
  float *eval_params; /* the weights of the latest evaluation */
  int solved;         /* confirmed: a passing evaluation and a passing confirmation */
  uint64_t solved_at_steps;
  char checkpoint_error[1300]; /* the last failed save's message, "" if none failed */
  uint64_t checkpoint_failures;
} learner_shared_t;

typedef struct learner {
  learner_run_t run;
  learner_net_t net;
  learner_trainer_t tr;
  learner_shared_t sh;
  replay_t replay;
  snapshot_t snap;
  reval_t reval;                /* evaluations on the workers (env = worker:ID runs) */
  pthread_t trainer, evaluator; /* started and joined by the net thread */
  int threads_started;
  atomic_int stop;
} learner_t;

/* Whether the run's state (algorithm, replay, snapshot, threads) exists: always, but in an
 * env = worker:ID run only from its first worker's declaration on (extenv.h). */
static inline int learner_built(const learner_t *L) {
  return !L->run.worker_env || L->run.spec != NULL;
}

/* net.c (net thread) */
int net_start(learner_t *L, const char *listen_addr, char *err, size_t errlen);
void net_on_wake(learner_t *L); /* new weights or room in replay */
/* Queues a frame (taking it) to an active worker; on a write error the connection is closed.
 * 0 or -1. */
int net_send_frame(worker_conn_t *c, uint8_t *frame, size_t len);
void net_close_all(learner_t *L);
/* Stops the decode threads (ingest.h) when the run ends, before anything is saved. */
void net_stop_ingest(learner_t *L);
/* Sends heartbeats on quiet links and closes connections that stay silent or stop reading. */
void net_sweep(learner_t *L);

/* learner.c: builds the run (algorithm state, replay, trainer threads) once L->run.spec is
 * set, for an env = worker:ID run at its first worker's Hello (extenv.c). 0 or -1. Net thread. */
int learner_setup_declared(learner_t *L, char *err, size_t errlen);

/* trainer.c */
int trainer_start(learner_t *L, char *err, size_t errlen);
void trainer_join(learner_t *L);

/* checkpoint_state.c: the trainer state (config, counters, networks, Adam, RNG) in
 * out_dir/checkpoint.ckpt, the previous one kept as checkpoint.prev.ckpt. Called by the thread
 * that owns the algorithm state (the trainer while it runs, the net thread after it is joined).
 * A failed write is logged and kept in sh.checkpoint_error / checkpoint_failures (summary.json
 * and the learner's exit status 2 report it); returns 0 or -1. */
int learner_save_state(learner_t *L);
/* checkpoint_replay: writes replay.ckpt (atomic, keyed like checkpoint.ckpt) from a copy taken
 * under replay's lock; from the trainer thread in the background (skipped while the last write
 * runs), otherwise at once. 0, or -1 (logged). */
int learner_save_replay(learner_t *L);
/* Waits for a background replay write. */
void learner_replay_join(learner_t *L);
/* checkpoint_replay on --resume: restores dir/replay.ckpt. A missing file leaves replay empty
 * (logged); a bad or forged one is refused: 0, or -1 with a message. */
int learner_load_replay(learner_t *L, const char *dir, char *err, size_t errlen);
/* Restores from dir/checkpoint.ckpt, falling back to checkpoint.prev.ckpt when the newest is
 * corrupt or truncated (or, in a run with a token, not authenticated with it). Tensors must
 * be finite. Before the threads start. 0, or -1 with a message. */
int learner_load_state(learner_t *L, const char *dir, char *err, size_t errlen);
/* Reads only the config saved in dir's checkpoint (resume starts from it). ckpt_key: the
 * checkpoint key of the run's token (checkpoint_key_derive), or NULL for a run without one. */
int learner_load_config(const char *dir, const uint8_t *ckpt_key, config_t *cfg, char *err,
                        size_t errlen);

/* What `rlserve learner` was told (server/cli/learner_cmd.c parses it). */
typedef struct learner_opts {
  config_t cfg;       /* the run's config (from --resume's checkpoint, --config, --preset, --set) */
  const char *listen; /* HOST:PORT for workers */
  const char *status_addr; /* HOST:PORT of the status socket, or NULL (off) */
  const char *resume;      /* a run folder to resume from, or NULL */
  char out_dir[1024], port_file[1024];
  int auth; /* workers must prove auth_key (--token-file) */
  uint8_t auth_key[32];
  int insecure; /* --insecure: listen beyond loopback without a token */
} learner_opts_t;

/* Runs a learner until the run is solved, spent or interrupted; the exit status (0 solved,
 * 1 budget spent, 2 error, 130 interrupted). Main thread (it becomes the net thread). */
int learner_run(const learner_opts_t *o);
/* What learner_run checks before it builds anything (config, --listen and the token rule, env,
 * plugin, algorithm) and the --status address, without creating the run folder, binding or
 * starting a thread: `rlserve learner --check-args`. 0, or -1 with a message. */
int learner_check(const learner_opts_t *o, char *err, size_t errlen);

#endif
