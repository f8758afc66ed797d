/* worker: the `rlserve worker` process. Single-threaded on a libuv loop: it connects to the
 * learner, learns everything else from the Welcome (env, network shape, exploration, seed,
 * its index), waits for the first Weights, then steps K envs with one batched policy forward
 * per step (an idle handle, so weights frames are applied between steps), sends transition
 * batches as msgpack frames and periodic Stats. When the learner reads slowly the write queue
 * fills and stepping pauses (bounded outbox). When the learner goes away it reconnects with
 * exponential backoff and jitter. */
#ifndef RLSERVE_WORKER_H
#define RLSERVE_WORKER_H

int worker_main(int argc, char **argv);

#endif
