/* status_snapshot: everything the status socket shows, copied out of the learner at one moment
 * (server/learner/status_fill.c, net thread), so the renderers (status_render.h) read plain data
 * and are tested without a learner. Times are in seconds; NAN marks "no value yet". The
 * snapshot is plain data: whoever fills one frees what it allocated (status_fill_free). */
#ifndef RLSERVE_STATUS_SNAPSHOT_H
#define RLSERVE_STATUS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define STATUS_NAME_MAX 128  /* a worker's name as it said in Hello */
#define STATUS_ADDR_MAX 64   /* a worker's "ip:port" */
#define STATUS_HOST_MAX 257  /* a worker's host name as it said in Hello (256 bytes + NUL) */
#define STATUS_PATH_MAX 1100 /* the last checkpoint's path */

/* A number the run's algorithm reports (its row's status_fields): /status shows it under
 * learner.algo, /metrics as rlserve_algo_<name>. */
#define STATUS_ALGO_FIELDS 4
typedef struct status_field {
  char name[48], help[160];
  double value;
} status_field_t;

/* One active worker connection. */
typedef struct status_worker {
  uint32_t id;
  int index; /* the worker's place in the exploration spread (explore = apex: among those connected) */
  char name[STATUS_NAME_MAX], addr[STATUS_ADDR_MAX];
  char host[STATUS_HOST_MAX]; /* from its Hello: "" when it sent none */
  uint32_t pid;               /* from its Hello: 0 when it sent none */
  double connected_since;     /* wall clock, Unix seconds */
  uint32_t envs;
  uint64_t env_steps; /* transitions ingested from it */
  /* From its Stats frames. */
  uint64_t worker_steps, episodes, dropped;
  double steps_per_s, epsilon;
  double return_mean100;         /* mean of its last 100 episode returns; NAN before the first */
  double episode_length_mean100; /* mean length (env steps) of the same episodes; NAN before */
  uint64_t version_lag; /* weights versions its acting policy is behind the newest broadcast */
  uint64_t bytes_in, bytes_out;
} status_worker_t;

typedef struct status_snapshot {
  /* run */
  config_t cfg;    /* algo, env, preset and the config echo */
  double started;  /* wall clock, Unix seconds */
  double uptime_s; /* since the learner started */

  /* learner */
  uint64_t updates, env_steps;
  uint64_t updates_skipped; /* updates undone: the batch made the loss or the state non-finite */
  double updates_per_s, env_steps_per_s; /* since the last progress tick; NAN right after one */
  uint64_t replay_size, replay_capacity, replay_inserted, replay_sampled;
  double samples_per_insert_actual;        /* sampled / (inserted - learning_starts); NAN before */
  double loss, mean_q;                     /* exponential moving averages; NAN before learning */
  status_field_t algo[STATUS_ALGO_FIELDS]; /* after the first update */
  int n_algo;
  uint64_t weights_version;      /* of the newest weights broadcast */
  double train_return_mean100;   /* NAN before the first episode */
  double episode_length_mean100; /* of the run's last 100 episodes (env steps); NAN before */
  uint64_t episodes, bytes_in, bytes_out;
  int ingest_paused;
  char last_checkpoint[STATUS_PATH_MAX]; /* "" before the first save */

  /* eval: the latest greedy evaluation, when have_eval */
  int have_eval, solved;
  double eval_mean, eval_std;
  int eval_episodes;
  uint64_t eval_env_steps;
  double threshold; /* eval mean that counts as solved */

  /* the active workers, in join order */
  status_worker_t *workers;
  size_t n_workers;
} status_snapshot_t;

#endif
