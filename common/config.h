/* config: one table of run settings (name, type, default, range, help). The table drives
 * the --set key=value flags, config files and presets ("key = value" lines), the Welcome
 * message a worker receives, the status echo and the config saved with a checkpoint.
 * A config_t is plain data (copyable); any thread may read its own copy. */
#ifndef RLSERVE_CONFIG_H
#define RLSERVE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_STR_MAX 256

/* X(name, TYPE, default, min, max, help); TYPE is INT, REAL, BOOL or STR (min/max unused). */
#define CONFIG_FIELDS(X)                                                                           \
  X(algo, STR, "dqn", 0, 0, "algorithm (rlserve run --help lists them)")                           \
  X(env, STR, "CartPole-v1", 0, 0, "environment id (rlserve run --help lists them)")               \
  X(preset, STR, "", 0, 0, "name of the preset this config came from")                             \
  X(seed, INT, "1", 0, 4294967295.0, "run seed; workers, envs and evaluation derive theirs")       \
  X(workers, INT, "2", 0, 1024, "workers `rlserve run` starts (and explore = annealed's spread)")  \
  X(envs_per_worker, INT, "4", 1, 4096, "environments each worker steps in one batch")             \
  X(env_steps_budget, INT, "100000", 1, 1e15,                                                      \
    "stop after this many env steps (transitions ingested)")                                       \
  X(solve_threshold, REAL, "nan", -1e300, 1e300,                                                   \
    "greedy eval mean that counts as solved (nan: the env's)")                                     \
  X(eval_interval, INT, "5000", 0, 1e15, "env steps between greedy evaluations (0: never)")        \
  X(eval_episodes, INT, "100", 1, 100000, "episodes per greedy evaluation")                        \
  X(eval_seed, INT, "1000000", 0, 4294967295.0,                                                    \
    "base reset seed of the evaluations: each takes fresh seeds from it (server/algo/solve.h)")    \
  X(confirm_episodes, INT, "100", 1, 100000,                                                       \
    "episodes of the confirmation on fresh seeds a passing evaluation needs to count as solved")   \
  X(eval_timeout_s, REAL, "60", 0.1, 86400,                                                        \
    "env = worker:ID: seconds a worker has for its share of an evaluation before it is "           \
    "reassigned")                                                                                  \
  X(hidden, STR, "128,128", 0, 0, "hidden layer sizes, comma separated")                           \
  X(activation, STR, "relu", 0, 0, "hidden activation: relu or tanh")                              \
  X(net, STR, "", 0, 0,                                                                            \
    "network layers, e.g. conv:16x3x3,fc:128 or fc:256,fc:256 (empty: the hidden sizes)")          \
  X(dueling, BOOL, "false", 0, 1, "DQN: dueling head (value and advantage streams)")               \
  X(gamma, REAL, "0.99", 0, 1, "discount factor")                                                  \
  X(lr, REAL, "0.001", 1e-9, 10, "Adam learning rate")                                             \
  X(adam_eps, REAL, "1e-8", 1e-12, 1, "Adam epsilon")                                              \
  X(optimizer, STR, "adam", 0, 0,                                                                  \
    "DQN optimizer: adam or rmsprop_centered (lr; rmsprop_alpha, rmsprop_eps)")                    \
  X(rmsprop_alpha, REAL, "0.95", 0, 1, "centered RMSprop: squared-gradient average decay (alpha)") \
  X(rmsprop_eps, REAL, "0.01", 1e-12, 1, "centered RMSprop: epsilon added to the RMS")             \
  X(trainer_threads, INT, "0", 0, 256,                                                             \
    "threads splitting each update: a dense net's by units, a conv net's products (0: online "     \
    "cores minus workers, >= 1)")                                                                  \
  X(ingest_threads, INT, "0", 0, 64,                                                               \
    "threads opening, decoding and inserting TRANSITIONS frames (1: the net thread; 0: auto, "     \
    "a quarter of the cores minus workers, 1 under 8, at most 4)")                                 \
  X(batch_size, INT, "64", 1, 65536, "transitions per gradient update")                            \
  X(replay_capacity, INT, "100000", 1, 1e9, "replay buffer size in transitions")                   \
  X(learning_starts, INT, "1000", 0, 1e15, "transitions in replay before updates begin")           \
  X(samples_per_insert, REAL, "8", 0.01, 1e6,                                                      \
    "sampled / inserted transitions the rate limiter keeps")                                       \
  X(rate_limit_slack, INT, "1000", 1, 1e9,                                                         \
    "transitions ingest may run ahead of the rate before credit top-ups wait")                     \
  X(target_update_interval, INT, "250", 1, 1e9, "updates between target network copies (tau = 1)") \
  X(tau, REAL, "1", 0, 1,                                                                          \
    "target update: 1 = hard copy every interval, < 1 = Polyak every update")                      \
  X(loss, STR, "huber", 0, 0, "TD loss: huber or mse")                                             \
  X(huber_delta, REAL, "1", 1e-9, 1e9, "Huber loss threshold")                                     \
  X(grad_clip, REAL, "10", 0, 1e9, "global gradient-norm clip (0: off)")                           \
  X(double_dqn, BOOL, "true", 0, 1, "double DQN targets")                                          \
  X(eps_start, REAL, "1", 0, 1, "epsilon at the start of annealing")                               \
  X(eps_final, REAL, "0.05", 0, 1, "explore = annealed: final epsilon of worker 0 (not Ape-X)")    \
  X(eps_alpha, REAL, "7", 0, 100,                                                                  \
    "explore = annealed: worker i of `workers` ends at eps_final^(1+alpha*i/(workers-1))")         \
  X(eps_anneal_steps, INT, "10000", 1, 1e15, "env steps (whole run) over which epsilon anneals")   \
  X(explore, STR, "annealed", 0, 0,                                                                \
    "worker exploration: annealed (eps_start -> eps_final^(1+eps_alpha*i/(workers-1)) over "       \
    "eps_anneal_steps) or apex (fixed apex_eps^(1+apex_alpha*i/(N-1)) over the N actors "          \
    "connected)")                                                                                  \
  X(apex_eps, REAL, "0.4", 0, 1,                                                                   \
    "explore = apex: base epsilon (noise scale: noise_scale) of actor 0")                          \
  X(apex_alpha, REAL, "7", 0, 100, "explore = apex: spread exponent over the connected actors")    \
  X(replay, STR, "uniform", 0, 0, "replay sampling: uniform or prioritized (proportional PER)")    \
  X(per_alpha, REAL, "0.6", 0, 10, "prioritized replay: priority exponent alpha")                  \
  X(per_beta0, REAL, "0.4", 0, 1, "prioritized replay: importance exponent at the start (-> 1)")   \
  X(per_eps, REAL, "1e-6", 1e-12, 1, "prioritized replay: added to |TD error| before ^alpha")      \
  X(n_step, INT, "1", 1, 64, "n-step returns built on the workers (1: one-step transitions)")      \
  X(actor_priorities, BOOL, "false", 0, 1,                                                         \
    "prioritized replay: workers send initial priorities (|n-step TD error|, online + target)")    \
  X(checkpoint_replay, BOOL, "false", 0, 1,                                                        \
    "also checkpoint the replay buffer (replay.ckpt, written in the background); --resume "        \
    "restores it")                                                                                 \
  X(publish_interval, INT, "64", 1, 1e9, "updates between weights broadcasts")                     \
  X(send_batch, INT, "64", 1, 65536, "transitions per worker frame")                               \
  X(stats_interval_s, REAL, "1", 0.05, 3600, "seconds between worker Stats frames")                \
  X(outbox_bytes, INT, "32768", 4096, 1e12,                                                        \
    "bytes a worker may have queued for the learner before it pauses stepping")                    \
  X(credit_window, INT, "256", 1, 1e9,                                                             \
    "transitions a worker may have in flight to the learner (flow control)")                       \
  X(max_frame_bytes, INT, "67108864", 1024, 67108864, "largest frame accepted")                    \
  X(max_workers, INT, "256", 1, 65536, "most worker connections at once")                          \
  X(bounds_tolerance, REAL, "0.01", 0, 1e9,                                                        \
    "ingest: slack past the env's observation / reward bounds, times max(1, |bound|)")             \
  X(progress_interval_s, REAL, "2", 0.1, 3600, "seconds between progress lines")                   \
  X(history_limit, INT, "2000", 8, 1e6,                                                            \
    "metrics rows the status socket keeps for GET /history (older ones are downsampled)")          \
  X(env_plugin, STR, "", 0, 0,                                                                     \
    "shared library with user environments (envs/rlserve_env_plugin.h)")                           \
  X(checkpoint_interval_s, REAL, "60", 0, 1e9,                                                     \
    "seconds between periodic checkpoints (0: only at the end)")                                   \
  X(heartbeat_interval_s, REAL, "1", 0.05, 3600, "seconds between heartbeats on an idle link")     \
  X(idle_timeout_s, REAL, "10", 0.1, 86400, "a connection silent this long is closed")             \
  X(handshake_timeout_s, REAL, "5", 0.1, 3600,                                                     \
    "a connection must finish the handshake (Hello, token proofs) within this many seconds")       \
  X(max_unauth_conns, INT, "64", 1, 65536, "most connections not yet through the handshake")       \
  X(max_unauth_per_addr, INT, "8", 1, 65536,                                                       \
    "most connections not yet through the handshake from one IP address")                          \
  X(actor_lr, REAL, "0.001", 1e-9, 10, "DDPG/TD3 actor learning rate")                             \
  X(critic_lr, REAL, "0.001", 1e-9, 10, "DDPG/TD3 critic learning rate")                           \
  X(noise_type, STR, "gaussian", 0, 0, "DDPG/TD3 exploration noise: gaussian or ou")               \
  X(noise_scale, REAL, "0.1", 0, 100,                                                              \
    "exploration noise std as a fraction of the action range half-width")                          \
  X(noise_spread, REAL, "0", 0, 100,                                                               \
    "Ape-X style spread: worker i of N uses noise_scale^(1+spread*i/(N-1)) relative")              \
  X(ou_theta, REAL, "0.15", 0, 10, "Ornstein-Uhlenbeck mean reversion")                            \
  X(policy_delay, INT, "2", 1, 1000, "TD3: critic updates per actor and target update")            \
  X(target_noise, REAL, "0.2", 0, 100,                                                             \
    "TD3 target policy smoothing noise std (fraction of half-width)")                              \
  X(target_noise_clip, REAL, "0.5", 0, 100, "TD3 target noise clip (fraction of half-width)")      \
  X(random_steps, INT, "0", 0, 1e15, "DDPG/TD3: uniform random actions until this many env steps") \
  X(features, STR, "tiles", 0, 0,                                                                  \
    "on-policy algorithms: aggregation, polynomial, fourier, tiles, constant, or mlp (pg only)")   \
  X(feature_order, INT, "5", 0, 64, "polynomial / Fourier basis order")                            \
  X(tiles, INT, "8", 1, 1e6, "tiles per dimension (tile coding) or groups (state aggregation)")    \
  X(tilings, INT, "8", 1, 1024, "tile coding: number of offset tilings")                           \
  X(tile_hash, INT, "0", 0, 1e9, "tile coding: hash into this many features (0: no hashing)")      \
  X(feature_low, STR, "", 0, 0, "feature bounds: lowest observation, comma list (empty: env's)")   \
  X(feature_high, STR, "", 0, 0, "feature bounds: highest observation, comma list (empty: env's)") \
  X(alpha, REAL, "0.0001", 0, 1e3, "linear weights / policy step size (Adam lr: mlp policy)")      \
  X(alpha_w, REAL, "0.01", 0, 1e3, "state-value step size (REINFORCE baseline, critic)")           \
  X(epsilon, REAL, "0", 0, 1, "Sarsa / Q-learning epsilon-greedy exploration")                     \
  X(episodes, INT, "1000", 1, 1e12, "on-policy algorithms: training episodes")                     \
  X(metrics_every, INT, "1", 1, 1e12, "on-policy algorithms: episodes per metrics.jsonl line")     \
  X(policy_init, STR, "", 0, 0, "linear policy: initial theta values, comma list (the rest 0)")    \
  X(policy_min_prob, REAL, "0", 0, 0.5, "policy gradient: least probability of every action")      \
  X(target_rmse, REAL, "nan", -1e300, 1e300,                                                       \
    "prediction: value RMSE (mu-weighted) that counts as reached (nan: report only)")

typedef enum { CONFIG_INT, CONFIG_REAL, CONFIG_BOOL, CONFIG_STR } config_type_t;

#define CONFIG_DECL_INT(n) int64_t n;
#define CONFIG_DECL_REAL(n) double n;
#define CONFIG_DECL_BOOL(n) int n;
#define CONFIG_DECL_STR(n) char n[CONFIG_STR_MAX];

typedef struct config {
#define CONFIG_X(name, type, def, lo, hi, help) CONFIG_DECL_##type(name)
  CONFIG_FIELDS(CONFIG_X)
#undef CONFIG_X
} config_t;

typedef struct config_field {
  const char *name;
  config_type_t type;
  const char *def;
  double lo, hi;
  const char *help;
  size_t offset;
} config_field_t;

size_t config_field_count(void);
const config_field_t *config_field_at(size_t i);
const config_field_t *config_field_find(const char *name);

void config_init(config_t *c); /* every field at its default */
/* Sets one field from text; 0, or -1 with a message naming the key and the problem. */
int config_set(config_t *c, const char *key, const char *value, char *err, size_t errlen);
/* "key=value" */
int config_set_arg(config_t *c, const char *arg, char *err, size_t errlen);
/* "key = value" lines, '#' comments, blank lines; origin names the source in errors. */
int config_load_text(config_t *c, const char *text, const char *origin, char *err, size_t errlen);
int config_load_file(config_t *c, const char *path, char *err, size_t errlen);
/* The embedded presets (deploy/presets/NAME.conf compiled in). */
int config_load_preset(config_t *c, const char *name, char *err, size_t errlen);
const char *const *config_preset_names(void);
/* Checks cross-field rules (e.g. batch_size <= replay_capacity). */
int config_validate(const config_t *c, char *err, size_t errlen);

/* A field's value as text (round-trips through config_set). */
void config_format(const config_t *c, const config_field_t *f, char *buf, size_t len);
/* All fields as "key = value" lines; malloc'd, caller frees. */
char *config_to_text(const config_t *c);
/* Parses the hidden-size list "128,128"; returns the count or -1. */
int config_parse_hidden(const char *s, int *sizes, int max);
/* Prints the table (name, type, default, help) for --help. */
void config_print_help(FILE *f);

#endif
