/* flow: the learner's flow-control rule, in one place.
 *
 *   Limiter (Reverb's SampleToInsertRatio, spi = samples per insert): no batch is sampled
 *   before min_size transitions were inserted; after that the k-th batch (k = 0, 1, ...) of B
 *   transitions may be sampled once min_size + k * B / spi were inserted. Replay is "ahead"
 *   when ingest runs more than `slack` transitions beyond that rate.
 *   Credits: a worker may send only what the learner granted over its connection. The learner
 *   tops a connection up to `window` outstanding transitions, once at least half the window is
 *   used (so Credit frames are few); after an ingest that finds replay ahead the top-up is
 *   withheld (the connection is owed) and paid when replay has caught up. A connection's first
 *   window goes out on join whatever the rate: it adds at most `window` to replay. A worker
 *   that sends beyond its grant is closed (429). So in flight per worker <= window.
 *   Wakes: the trainer wakes the net thread after each weights publish and every
 *   FLOW_WAKE_UPDATES updates, so the net thread sees the room sampling made and pays what it
 *   owes.
 *
 * Why common/: replay (common/) checks the limit under its lock while the trainer waits, and
 * common/ cannot include server/ headers; so the arithmetic lives here, and the learner's net
 * and trainer threads call the same functions. All are pure or touch only the struct passed:
 * no locks, sockets or threads. Threads: flow_may_sample and flow_ahead from whoever holds
 * replay's lock; flow_credit_* from the net thread (one flow_credit_t per connection);
 * flow_wake_due from the trainer thread. */
#ifndef RLSERVE_FLOW_H
#define RLSERVE_FLOW_H

#include <stdint.h>

/* Every few updates the trainer wakes the net thread (an eventfd write): each update makes
 * room for batch_size / samples_per_insert transitions (1 or 2 with the presets), so waking
 * every 8 tells the net thread of the room within a few dozen transitions, far below
 * rate_limit_slack (1000 by default), at an eighth of the wake-ups. */
#define FLOW_WAKE_UPDATES 8

typedef struct flow_limits {
  uint64_t min_size; /* transitions inserted before sampling starts (learning_starts) */
  double spi;        /* samples per insert */
  uint64_t slack;    /* transitions ingest may run ahead of the rate */
} flow_limits_t;

/* Whether one more batch may be sampled, `inserted` and `sampled` being totals over the run in
 * transitions (sampled = k * B before the k-th batch). */
int flow_may_sample(const flow_limits_t *l, uint64_t inserted, uint64_t sampled);
/* Whether ingest runs more than slack transitions ahead of the rate (never before min_size). */
int flow_ahead(const flow_limits_t *l, uint64_t inserted, uint64_t sampled);

/* One connection's credit, in transitions over the connection; granted - received is what the
 * worker may still send. owed: a top-up was withheld because replay was ahead. */
typedef struct flow_credit {
  uint64_t granted, received;
  int owed;
} flow_credit_t;

/* Records n transitions received; -1 when they go beyond what was granted. */
int flow_credit_receive(flow_credit_t *c, uint64_t n);
/* The top-up to grant now (0: none, the Credit frame is not sent). While replay is ahead it is
 * 0 and the connection is marked owed. */
uint64_t flow_credit_due(flow_credit_t *c, uint64_t window, int ahead);
/* A Credit frame of n transitions went out: what was owed is paid (n = 0: nothing changes). */
void flow_credit_sent(flow_credit_t *c, uint64_t n);

/* Whether the trainer wakes the net thread after update number `updates` (1, 2, ...) to hand
 * out withheld credit; a weights publish wakes it too, whatever this says. */
int flow_wake_due(uint64_t updates);

#endif
