/* worker: the `rlserve worker` process. Single-threaded on a libuv loop: it connects to the
 * learner, learns everything else from the Welcome (env, network shape, exploration, seed,
 * its index), waits for the first Weights, then steps K envs with one batched policy forward
 * per step (an idle handle, so weights frames are applied between steps), sends transition
 * batches as msgpack frames within the learner's credit, and periodic Stats. Stepping pauses
 * when the credit or the write queue is used up. When the learner goes away it keeps acting
 * into a bounded away-queue and reconnects with exponential backoff and jitter. */
#ifndef RLSERVE_WORKER_H
#define RLSERVE_WORKER_H

int worker_main(int argc, char **argv);

#endif
