/* status_render: the learner's state as the bodies of the status socket's GET /status (JSON)
 * and GET /metrics (Prometheus text), for status_http_sources_t (ctx = the learner_t *).
 *
 * /status JSON (numbers that have no value yet, or are NaN, are null):
 *   run:     algo, env, preset (null when none), started (ISO-8601 UTC), uptime_s,
 *            config {every config field: its value as text}
 *   learner: updates, updates_per_s, env_steps, env_steps_per_s, replay_size, replay_capacity,
 *            samples_per_insert (configured), samples_per_insert_actual (sampled / (inserted -
 *            learning_starts), null until learning starts), loss, mean_q, weights_version,
 *            train_return_mean100, episodes, bytes_in, bytes_out, ingest_paused (bool),
 *            last_checkpoint (null: not tracked yet)
 *   eval:    {mean, std, episodes, env_steps, solved, threshold}, or null before the first
 *   workers: [{id, index, name, addr, connected_since (ISO-8601 UTC), envs, env_steps,
 *            worker_steps, steps_per_s, episodes, return_mean100, epsilon, version_lag,
 *            dropped, bytes_in, bytes_out}] for the active connections
 * Rates are over the time since the last progress tick (null when that is under 0.05 s).
 *
 * /metrics: families named rlserve_*, counters ending in _total, each with # HELP and # TYPE.
 * A gauge with no value yet (NaN: no eval, no finished episode, learning not started) has no
 * sample, and a family with no samples is left out entirely (as the Prometheus client
 * libraries do), so "no value" reads as an absent series, never as NaN.
 *
 * Threads: net thread only (reads net-thread state directly, shared counters under L->mu). */
#ifndef RLSERVE_STATUS_RENDER_H
#define RLSERVE_STATUS_RENDER_H

/* malloc'd JSON text for GET /status, or NULL when out of memory. */
char *status_render_json(void *learner);
/* malloc'd Prometheus text for GET /metrics, or NULL when out of memory. */
char *status_render_metrics(void *learner);

#endif
