/* test_learner_state: the learner's checkpoint (server/learner/checkpoint_state.c) keeps the
 * evaluation seed cursor and counts, so a resumed run goes on with fresh seeds; a checkpoint
 * written before the cursor existed (no evalseeds section) still loads and starts after
 * eval_seed + [0, eval_episodes), the only seeds such runs used; a damaged evalseeds section is
 * refused with a message naming it, and so is a checkpoint whose recorded network layout is not
 * the one this run's config builds. A DQN learner on CartPole-v1 built in memory, no threads. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint.h"
#include "learner.h"

static learner_t A, B;

static int learner_fake_act(learner_t *L, const char *dir, const char *activation) {
  char err[512];
  memset(L, 0, sizeof *L);
  config_init(&L->run.cfg);
  CHECK(config_set(&L->run.cfg, "hidden", "16,16", err, sizeof err) == 0, "%s", err);
  CHECK(config_set(&L->run.cfg, "activation", activation, err, sizeof err) == 0, "%s", err);
  L->run.spec = env_find(L->run.cfg.env);
  L->run.algo = algo_find(L->run.cfg.algo);
  CHECK(L->run.algo->policy(&L->run.cfg, L->run.spec, &L->run.pol, err, sizeof err) == 0, "%s",
        err);
  snprintf(L->run.out_dir, sizeof L->run.out_dir, "%s", dir);
  rng_t init;
  rng_seed(&init, 3);
  L->tr.algo_state =
      L->run.algo->create(L->run.algo, &L->run.cfg, L->run.spec, &init, err, sizeof err);
  CHECK(L->tr.algo_state != NULL, "create: %s", err);
  if (!L->tr.algo_state) return -1;
  L->run.algo->weights(L->tr.algo_state, &L->tr.w);
  CHECK(snapshot_init(&L->snap, L->tr.w.n) == 0, "snapshot_init");
  pthread_mutex_init(&L->sh.mu, NULL);
  return 0;
}

static int learner_fake(learner_t *L, const char *dir) { return learner_fake_act(L, dir, "relu"); }

static void learner_unfake(learner_t *L) {
  L->run.algo->destroy(L->tr.algo_state);
  snapshot_free(&L->snap);
  pthread_mutex_destroy(&L->sh.mu);
}

/* dst/checkpoint.ckpt: src's sections, with evalseeds dropped (drop) or cut to 8 bytes. */
static void copy_without(const char *src, const char *dst, int drop) {
  checkpoint_t ck;
  char err[512];
  CHECK(checkpoint_read(src, &ck, err, sizeof err) == 0, "%s", err);
  checkpoint_section_t s[CHECKPOINT_MAX_SECTIONS];
  int n = 0, found = 0;
  for (int i = 0; i < ck.n; i++) {
    if (!strcmp(ck.sections[i].name, "evalseeds")) {
      found = 1;
      if (drop) continue;
      s[n] = ck.sections[i];
      s[n++].len = 8;
      continue;
    }
    s[n++] = ck.sections[i];
  }
  CHECK(found, "%s has no evalseeds section", src);
  char path[1100];
  snprintf(path, sizeof path, "%s/checkpoint.ckpt", dst);
  CHECK(checkpoint_write(path, s, n, err, sizeof err) == 0, "%s", err);
  checkpoint_free(&ck);
}

int main(void) {
  char d1[] = "/tmp/rlserve-state-XXXXXX", d2[] = "/tmp/rlserve-state-XXXXXX";
  char d3[] = "/tmp/rlserve-state-XXXXXX";
  if (!mkdtemp(d1) || !mkdtemp(d2) || !mkdtemp(d3)) {
    perror("mkdtemp");
    return 1;
  }
  char err[1500];
  if (learner_fake(&A, d1) != 0) CHECK_DONE();
  A.sh.env_steps = 4321;
  A.sh.eval_seed_cursor = 1300; /* 12 evaluations of 100 and one confirmation */
  A.sh.n_evals = 12;
  A.sh.n_confirms = 1;
  CHECK(learner_save_state(&A) == 0, "save failed");

  /* The cursor and counts survive a resume. */
  if (learner_fake(&B, d1) != 0) CHECK_DONE();
  CHECK(learner_load_state(&B, d1, err, sizeof err) == 0, "load: %s", err);
  CHECK(B.sh.env_steps == 4321, "env_steps %llu", (unsigned long long)B.sh.env_steps);
  CHECK(B.sh.eval_seed_cursor == 1300 && B.sh.n_evals == 12 && B.sh.n_confirms == 1,
        "cursor %llu, %llu evaluations, %llu confirmations",
        (unsigned long long)B.sh.eval_seed_cursor, (unsigned long long)B.sh.n_evals,
        (unsigned long long)B.sh.n_confirms);
  learner_unfake(&B);

  /* An older checkpoint without the section: loads, fresh seeds after the old fixed range. */
  char src[1100];
  snprintf(src, sizeof src, "%s/checkpoint.ckpt", d1);
  copy_without(src, d2, 1);
  if (learner_fake(&B, d2) != 0) CHECK_DONE();
  CHECK(learner_load_state(&B, d2, err, sizeof err) == 0, "legacy load: %s", err);
  CHECK(B.sh.env_steps == 4321, "legacy env_steps %llu", (unsigned long long)B.sh.env_steps);
  CHECK(B.sh.eval_seed_cursor == (uint64_t)B.run.cfg.eval_episodes && B.sh.n_evals == 0,
        "legacy cursor %llu (expected eval_episodes %lld), %llu evaluations",
        (unsigned long long)B.sh.eval_seed_cursor, (long long)B.run.cfg.eval_episodes,
        (unsigned long long)B.sh.n_evals);
  learner_unfake(&B);

  /* A section of the wrong size is refused, by name. */
  copy_without(src, d3, 0);
  if (learner_fake(&B, d3) != 0) CHECK_DONE();
  err[0] = 0;
  CHECK(learner_load_state(&B, d3, err, sizeof err) != 0, "an 8-byte evalseeds section loaded");
  CHECK(strstr(err, "evalseeds") != NULL, "message: %s", err);
  learner_unfake(&B);

  /* The same number of floats read as another network (tanh instead of relu) is refused, with
   * both layouts named. */
  if (learner_fake_act(&B, d1, "tanh") != 0) CHECK_DONE();
  err[0] = 0;
  CHECK(learner_load_state(&B, d1, err, sizeof err) != 0, "a relu checkpoint loaded into tanh");
  CHECK(strstr(err, "network is 'in:4 fc:16:relu fc:16:relu fc:2:identity'") &&
            strstr(err, "builds 'in:4 fc:16:tanh fc:16:tanh fc:2:identity'"),
        "message: %s", err);
  learner_unfake(&B);
  learner_unfake(&A);

  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s %s %s", d1, d2, d3);
  if (system(cmd) != 0) fprintf(stderr, "could not remove the test folders\n");
  CHECK_DONE();
}
