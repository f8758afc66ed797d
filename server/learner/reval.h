/* reval: greedy evaluation on the workers, for a run whose env lives in the workers
 * (env = worker:ID, extenv.h), where the learner has no copy of the env to play.
 *
 * The eval thread posts a job (reval_run: the weights and the seeds) and waits; the net thread
 * takes it (copying the weights), splits the seeds into contiguous shares over the workers whose
 * Hello said they evaluate, sends each an EVAL frame, and collects the EVAL_RESULT answers
 * (per-episode returns and lengths). A share whose worker leaves, or does not answer within
 * eval_timeout_s, goes to another worker (at most REVAL_MAX_ASSIGN assignments per share); a
 * share no worker took within eval_timeout_s, or one assigned REVAL_MAX_ASSIGN times, fails the
 * evaluation (the eval thread logs it and training goes on). The returns are combined exactly as
 * eval_policy combines its own (eval_summarize), in seed order. */
#ifndef RLSERVE_REVAL_H
#define RLSERVE_REVAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "eval.h"
#include "solve.h"

#define REVAL_MAX_ASSIGN 4

struct learner;
struct worker_conn;

typedef struct reval_share {
  uint64_t first;     /* seed of its first episode */
  uint32_t count, at; /* episodes; offset into the job's returns */
  uint64_t assign_id; /* the current assignment's eval_id, 0 when unassigned */
  uint32_t conn_id;   /* the worker it is assigned to */
  double since;       /* learner_now() of the assignment, or of becoming unassigned */
  int assigned, done, attempts;
} reval_share_t;

typedef struct reval {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* Under mu: the job the eval thread posted (params stay valid until it is finished or
   * abandoned) and the answer the net thread hands back. */
  int posted, taken, finished, abandoned, rc;
  const float *params;
  uint64_t version;
  solve_seeds_t seeds;
  double *out_returns; /* seeds.count, the eval thread's */
  long out_steps;
  char err[256];
  /* The net thread's own copy of the job it took. */
  int active;
  float *w;
  size_t n_params;
  uint64_t w_version, next_id;
  reval_share_t *shares;
  int n_shares;
  double *returns;
  long steps;
} reval_t;

/* Learner set-up (before the threads start) and end (after they are joined). 0 or -1. */
int reval_init(reval_t *r);
void reval_free(reval_t *r);

/* Eval thread: evaluates params (the snapshot of `version`) on seeds on the workers; blocks
 * until the answers are in, the evaluation failed (EVAL_ERROR, err) or the learner stops
 * (EVAL_ABORTED). */
int reval_run(struct learner *L, const float *params, uint64_t version, solve_seeds_t seeds,
              eval_result_t *out, char *err, size_t errlen);

/* Net thread. reval_poll: takes a posted job, hands out shares to idle workers, times out
 * shares; called on every wake-up and sweep. reval_conn_gone: c is leaving (its share goes back).
 * reval_handle_result: an EVAL_RESULT frame from c; 0, or -1 with the reason (the caller closes
 * the connection with ERROR 400). */
void reval_poll(struct learner *L);
void reval_conn_gone(struct worker_conn *c);
int reval_handle_result(struct worker_conn *c, const uint8_t *p, size_t len, char *err,
                        size_t errlen);

#endif
