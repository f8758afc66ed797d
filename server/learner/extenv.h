/* extenv: a run whose env lives in the workers (config `env = worker:ID`, e.g.
 * `worker:MyGrid-v0`): a user's own Gymnasium env the learner has no code for. The learner takes
 * the env's spaces (observation size and bounds, discrete actions or box bounds) as data from the
 * first worker's Hello that declares ID, builds the run (network, replay, trainer) from them, and
 * refuses later workers that declare anything else (ERROR 409). Transitions are bounds-checked
 * against the declared spaces; evaluations run on the workers (reval.h). Nothing about the env
 * is loaded as code. Net thread. */
#ifndef RLSERVE_EXTENV_H
#define RLSERVE_EXTENV_H

#include <stddef.h>

#include "rlserve.pb-c.h"

#define EXTENV_PREFIX "worker:"

struct learner;

/* The ID of a `worker:ID` env string, or NULL when env is not one. */
const char *extenv_id(const char *env);

/* For a worker's Hello in a worker-env run: 0 when it may join (the first declaration builds the
 * run: it fills L->run.spec and calls learner_setup_declared), 1 with the reason when it is
 * refused (ERROR 409), -1 when the run could not be built from the declared spaces (the learner
 * stops, err names why). */
int extenv_hello(struct learner *L, const Rlserve__Hello *h, char *err, size_t errlen);

#endif
