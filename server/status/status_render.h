/* status_render: a status snapshot (status_snapshot.h) as the bodies of the status socket's
 * GET /status (JSON) and GET /metrics (Prometheus text). The learner fills the snapshot
 * (server/learner/status_fill.h); the renderers only print it.
 *
 * /status JSON (numbers that have no value yet, or are NaN, are null):
 *   run:     algo, env, preset (null when none), started (ISO-8601 UTC), uptime_s,
 *            config {every config field: its value as text}
 *   learner: updates, updates_per_s, env_steps, env_steps_per_s, replay_size, replay_capacity,
 *            samples_per_insert (configured), samples_per_insert_actual (sampled / (inserted -
 *            learning_starts), null until learning starts), loss, mean_q, weights_version,
 *            train_return_mean100, episodes, bytes_in, bytes_out, ingest_paused (bool),
 *            last_checkpoint (path of the last save, null before the first)
 *   eval:    {mean, std, episodes, env_steps, solved, threshold}, or null before the first
 *   workers: [{id, index, name, addr, connected_since (ISO-8601 UTC), envs, env_steps,
 *            worker_steps, steps_per_s, episodes, return_mean100, epsilon, version_lag,
 *            dropped, bytes_in, bytes_out}] for the active connections
 * Rates are over the time since the last progress tick (null when that is under 0.05 s; the
 * filler decides, the snapshot holds NAN).
 *
 * /metrics: families named rlserve_*, counters ending in _total, each with # HELP and # TYPE.
 * A gauge with no value yet (NaN: no eval, no finished episode, learning not started) has no
 * sample, and a family with no samples is left out entirely (as the Prometheus client
 * libraries do), so "no value" reads as an absent series, never as NaN.
 *
 * Threads: any; pure functions of the snapshot (no clocks, no locks). */
#ifndef RLSERVE_STATUS_RENDER_H
#define RLSERVE_STATUS_RENDER_H

#include "status_snapshot.h"

/* malloc'd JSON text for GET /status, or NULL when out of memory. */
char *status_render_json(const status_snapshot_t *s);
/* malloc'd Prometheus text for GET /metrics, or NULL when out of memory. */
char *status_render_metrics(const status_snapshot_t *s);

#endif
