/* report: a run's metrics.jsonl (and summary.json) as one self-contained HTML page with inline
 * SVG line charts: no scripts, no external assets, readable offline and attachable to a mail.
 *
 * Charts, all against env steps: training return (mean of the last 100 episodes) with the
 * greedy evaluation mean (a band of +- one std, one point per evaluation) and the solve
 * threshold; loss (log scale when every value is positive); env steps/s and updates/s.
 * A table from summary.json heads the page when one is given (solved, env steps, wall
 * seconds, eval mean +- std, and what else the summary names).
 *
 * metrics.jsonl: one JSON object per line with the fields the learner writes (t, env_steps,
 * env_steps_per_s, updates, updates_per_s, replay_size, loss, mean_q, train_return_mean100,
 * eval_mean, eval_std, eval_env_steps, workers, episodes); null or absent values leave a gap.
 * A line that is not a JSON object is an error naming the file and the line number, so a
 * corrupt file is never charted silently; the one exception is a last line with no newline
 * that does not parse (a learner killed mid-write), which is skipped with a warning in the log.
 * Blank lines are ignored.
 *
 * Threads: any; the function shares nothing. */
#ifndef RLSERVE_REPORT_H
#define RLSERVE_REPORT_H

#include <stddef.h>

/* Reads metrics_jsonl_path (and summary_json_path when not NULL) and writes out_html_path
 * atomically (a temporary file beside it, then rename). Returns 0, or a negative errno
 * (-ENOENT, -EINVAL for malformed input, -ENOMEM, ...) with a message naming the file (and
 * line) in err. */
int report_write(const char *metrics_jsonl_path, const char *summary_json_path_or_NULL,
                 const char *out_html_path, char *err, size_t errlen);

#endif
