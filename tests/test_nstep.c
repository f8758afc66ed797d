/* Checks n-step transitions against hand-computed sequences: a full window, a termination that
 * flushes the queue with partial returns and no bootstrap, a truncation right after a reset
 * (bootstrap gamma^1 from the final observation), two envs kept apart, and n = 1 giving the
 * one-step transitions unchanged. */
#include "check.h"
#include "nstep.h"
#include "tbatch.h"

typedef struct rows {
  float obs[64], act[64], rew[64], next[64], disc[64];
  uint8_t flags[64];
  nstep_out_t out;
} rows_t;

static void rows_init(rows_t *r) {
  r->out = (nstep_out_t){r->obs, r->act, r->rew, r->next, r->disc, r->flags, 0};
}

static int push(nstep_t *t, int env, float s, float r, float s1, uint8_t fl, rows_t *o) {
  float a = s * 10;
  return nstep_push(t, env, &s, &a, r, &s1, fl, &o->out);
}

static void expect(const rows_t *o, int row, float s, float R, float s1, float disc, uint8_t fl) {
  CHECK(row < o->out.n, "row %d of %d", row, o->out.n);
  if (row >= o->out.n) return;
  CHECK(o->obs[row] == s && o->act[row] == s * 10, "row %d: obs %g act %g, expected %g", row,
        o->obs[row], o->act[row], s);
  CHECK_NEAR(o->rew[row], R, 1e-6);
  CHECK(o->next[row] == s1, "row %d: next %g, expected %g", row, o->next[row], s1);
  CHECK_NEAR(o->disc[row], disc, 1e-7);
  CHECK(o->flags[row] == fl, "row %d: flags %u, expected %u", row, o->flags[row], fl);
}

int main(void) {
  nstep_t t;
  rows_t o;
  /* n = 3, gamma = 0.5; step t from s = t with reward t + 1. */
  CHECK(nstep_init(&t, 2, 3, 1, 1, 0.5) == 0, "init");
  rows_init(&o);
  CHECK(push(&t, 0, 0, 1, 1, 0, &o) == 0, "t0 emits nothing");
  CHECK(push(&t, 0, 1, 2, 2, 0, &o) == 0, "t1 emits nothing");
  CHECK(push(&t, 0, 2, 3, 3, 0, &o) == 1, "t2 emits s0");
  expect(&o, 0, 0, 1 + 0.5f * 2 + 0.25f * 3, 3, 0.125f, 0);
  /* Terminated at t3: s1 (3 steps), s2 (2), s3 (1), all without bootstrap. */
  CHECK(push(&t, 0, 3, 4, 4, TBATCH_TERMINATED, &o) == 3, "t3 flushes three");
  expect(&o, 1, 1, 2 + 0.5f * 3 + 0.25f * 4, 4, 0.125f, TBATCH_TERMINATED);
  expect(&o, 2, 2, 3 + 0.5f * 4, 4, 0.25f, TBATCH_TERMINATED);
  expect(&o, 3, 3, 4, 4, 0.5f, TBATCH_TERMINATED);
  /* Env 1 meanwhile: a step queued, untouched by env 0. */
  CHECK(push(&t, 1, 100, 1, 101, 0, &o) == 0, "env 1 t0");
  /* New episode of env 0, truncated after two steps: bootstrap from the final observation. */
  CHECK(push(&t, 0, 10, 1, 11, 0, &o) == 0, "t10");
  CHECK(push(&t, 0, 11, 2, 12, TBATCH_TRUNCATED, &o) == 2, "t11 truncation flushes two");
  expect(&o, 4, 10, 1 + 0.5f * 2, 12, 0.25f, TBATCH_TRUNCATED);
  expect(&o, 5, 11, 2, 12, 0.5f, TBATCH_TRUNCATED);
  /* Env 1 goes on to a full window. */
  CHECK(push(&t, 1, 101, 1, 102, 0, &o) == 0, "env 1 t1");
  CHECK(push(&t, 1, 102, 1, 103, 0, &o) == 1, "env 1 t2");
  expect(&o, 6, 100, 1.75f, 103, 0.125f, 0);
  CHECK(push(&t, 1, 103, 8, 104, 0, &o) == 1, "env 1 t3");
  expect(&o, 7, 101, 1 + 0.5f + 0.25f * 8, 104, 0.125f, 0);
  nstep_free(&t);

  /* n = 1: the one-step transitions, disc = gamma, flags as they came. */
  CHECK(nstep_init(&t, 1, 1, 1, 1, 0.99) == 0, "init n=1");
  rows_init(&o);
  CHECK(push(&t, 0, 0, 1, 1, 0, &o) == 1, "n=1 emits each step");
  CHECK(push(&t, 0, 1, 2, 2, TBATCH_TRUNCATED, &o) == 1, "n=1 truncated");
  CHECK(push(&t, 0, 5, 3, 6, TBATCH_TERMINATED, &o) == 1, "n=1 terminated");
  expect(&o, 0, 0, 1, 1, 0.99f, 0);
  expect(&o, 1, 1, 2, 2, 0.99f, TBATCH_TRUNCATED);
  expect(&o, 2, 5, 3, 6, 0.99f, TBATCH_TERMINATED);
  nstep_free(&t);
  CHECK(nstep_init(&t, 1, 0, 1, 1, 0.9) == -1, "n = 0 refused");
  CHECK_DONE();
}
