/* replay.ckpt: the replay buffer in a checkpoint of its own (checkpoint_replay). The trainer
 * takes a copy under replay's lock (memcpy only: replay_image_take) and a background thread
 * writes it with checkpoint_write_keyed (atomic rename, keyed with the run's token like
 * checkpoint.ckpt), so the trainer never waits for the disk. The log names a BLAKE2b digest
 * of the contents on save and on restore, so a resumed run can be compared with the one that
 * stopped. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "learner.h"
#include "log.h"

#define META_N 7 /* capacity, obs_dim, act_dim, size, inserted, sampled, prioritized */
/* Section replay_obs_enc (u64, absent in images written before it: 0): 0 float32 rows, 1 packed
 * bits (common/obsbits.h), replay_obs / replay_next then holding size rows of ceil(obs_dim/8)
 * bytes. */

/* Bytes of one stored observation row in an image. */
static size_t obs_row(const replay_image_t *im) {
  return im->obs_bits ? ((size_t)im->obs_dim + 7) / 8 : (size_t)im->obs_dim * 4;
}
static const void *obs_data(const replay_image_t *im, int next) {
  if (im->obs_bits) return next ? (const void *)im->next_obs_b : (const void *)im->obs_b;
  return next ? (const void *)im->next_obs : (const void *)im->obs;
}

typedef struct job {
  learner_t *L;
  replay_image_t im;
} job_t;

/* A hex BLAKE2b-128 of the rows and priorities (what a resumed run must see again). */
static void digest(const replay_image_t *im, char hex[33]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 16);
  size_t n = (size_t)im->size, od = (size_t)im->obs_dim, ad = (size_t)im->act_dim;
#define H(p, bytes) crypto_generichash_update(&st, (const unsigned char *)(p), (bytes))
  (void)od;
  H(obs_data(im, 0), n * obs_row(im));
  H(im->act, n * ad * 4);
  H(im->rew, n * 4);
  H(obs_data(im, 1), n * obs_row(im));
  H(im->term, n * 4);
  H(im->disc, n * 4);
  if (im->prio) H(im->prio, n * 8);
#undef H
  unsigned char out[16];
  crypto_generichash_final(&st, out, sizeof out);
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", out[i]);
}

static int write_image(learner_t *L, const replay_image_t *im) {
  uint64_t meta[META_N] = {im->capacity, im->obs_dim, im->act_dim,    im->size,
                           im->inserted, im->sampled, im->prioritized};
  size_t n = (size_t)im->size, ad = (size_t)im->act_dim;
  uint64_t enc = im->obs_bits;
  checkpoint_section_t s[10] = {
      {"replay_meta", meta, sizeof meta},
      {"replay_maxp", &im->max_prio, sizeof im->max_prio},
      {"replay_obs", obs_data(im, 0), n * obs_row(im)},
      {"replay_act", im->act, n * ad * 4},
      {"replay_rew", im->rew, n * 4},
      {"replay_next", obs_data(im, 1), n * obs_row(im)},
      {"replay_term", im->term, n * 4},
      {"replay_disc", im->disc, n * 4},
      {"replay_prio", im->prio, im->prio ? n * 8 : 0},
      {"replay_obs_enc", &enc, sizeof enc},
  };
  char path[1100], err[1300], hex[33];
  snprintf(path, sizeof path, "%s/replay.ckpt", L->run.out_dir);
  if (checkpoint_write_keyed(path, s, 10, L->run.auth ? L->run.ckpt_key : NULL, err, sizeof err) !=
      0) {
    LOG_E("learner", "replay checkpoint: %s", err);
    pthread_mutex_lock(&L->sh.mu);
    snprintf(L->sh.checkpoint_error, sizeof L->sh.checkpoint_error, "%s", err);
    L->sh.checkpoint_failures++;
    pthread_mutex_unlock(&L->sh.mu);
    return -1;
  }
  digest(im, hex);
  LOG_I("learner", "replay checkpoint: %llu transitions (inserted %llu), digest %s: %s",
        (unsigned long long)im->size, (unsigned long long)im->inserted, hex, path);
  return 0;
}

static void *writer(void *arg) {
  job_t *j = arg;
  write_image(j->L, &j->im);
  atomic_store(&j->L->tr.replay_writer_done, 1);
  replay_image_free(&j->im);
  free(j);
  return NULL;
}

void learner_replay_join(learner_t *L) {
  if (!L->tr.replay_writer_running) return;
  pthread_join(L->tr.replay_writer, NULL);
  L->tr.replay_writer_running = 0;
}

int learner_save_replay(learner_t *L) {
  if (!L->run.cfg.checkpoint_replay || !L->run.out_dir[0]) return 0;
  int background = L->threads_started;
  if (L->tr.replay_writer_running) {
    if (background && !atomic_load(&L->tr.replay_writer_done)) {
      LOG_D("learner", "replay checkpoint skipped: the last one is still being written");
      return 0;
    }
    learner_replay_join(L);
  }
  job_t *j = malloc(sizeof *j);
  if (!j || replay_image_take(&L->replay, &j->im) != 0) {
    free(j);
    LOG_E("learner", "replay checkpoint: out of memory for a copy of replay");
    return -1;
  }
  j->L = L;
  if (background) {
    atomic_store(&L->tr.replay_writer_done, 0);
    if (pthread_create(&L->tr.replay_writer, NULL, writer, j) == 0) {
      L->tr.replay_writer_running = 1;
      return 0;
    }
    LOG_W("learner", "replay checkpoint: no background thread; writing it now");
  }
  int rc = write_image(L, &j->im);
  replay_image_free(&j->im);
  free(j);
  return rc;
}

static const checkpoint_section_t *sec(const checkpoint_t *ck, const char *name, uint64_t len,
                                       const char *path, char *err, size_t errlen) {
  const checkpoint_section_t *s = checkpoint_find(ck, name);
  if (!s || s->len != len) {
    snprintf(err, errlen, "%s: section %s has %llu bytes, expected %llu", path, name,
             s ? (unsigned long long)s->len : 0ULL, (unsigned long long)len);
    return NULL;
  }
  return s;
}

int learner_load_replay(learner_t *L, const char *dir, char *err, size_t errlen) {
  char path[1100];
  snprintf(path, sizeof path, "%s/replay.ckpt", dir);
  struct stat stt;
  if (stat(path, &stt) != 0 && errno == ENOENT) {
    LOG_W("learner", "checkpoint_replay: %s does not exist; replay starts empty and re-warms",
          path);
    return 0;
  }
  checkpoint_t ck;
  char e[600];
  if (checkpoint_read_keyed(path, &ck, L->run.auth ? L->run.ckpt_key : NULL, e, sizeof e) != 0) {
    snprintf(err, errlen, "cannot restore replay: %s", e);
    return -1;
  }
  int rc = -1;
  replay_image_t im = {0};
  const checkpoint_section_t *m = sec(&ck, "replay_meta", META_N * 8, path, err, errlen);
  const checkpoint_section_t *mp = m ? sec(&ck, "replay_maxp", 8, path, err, errlen) : NULL;
  if (mp) {
    uint64_t meta[META_N];
    memcpy(meta, m->data, sizeof meta);
    memcpy(&im.max_prio, mp->data, 8);
    im.capacity = meta[0];
    im.obs_dim = meta[1];
    im.act_dim = meta[2];
    im.size = meta[3];
    im.inserted = meta[4];
    im.sampled = meta[5];
    im.prioritized = meta[6];
    const checkpoint_section_t *se = checkpoint_find(&ck, "replay_obs_enc");
    if (se && se->len == 8) memcpy(&im.obs_bits, se->data, 8);
    /* Sizes bounded by this run's replay before any arithmetic on them. */
    if (im.capacity != L->replay.capacity || im.obs_dim != L->replay.obs_dim ||
        im.act_dim != L->replay.act_dim || im.size > im.capacity ||
        (se && (se->len != 8 || im.obs_bits > 1))) {
      snprintf(err, errlen,
               "%s: capacity %llu, obs_dim %llu, act_dim %llu, size %llu, obs_enc %llu; this run's "
               "replay has capacity %zu, obs_dim %zu, act_dim %zu (obs_enc 0 float32 or 1 bits)",
               path, (unsigned long long)im.capacity, (unsigned long long)im.obs_dim,
               (unsigned long long)im.act_dim, (unsigned long long)im.size, (unsigned long long)im.obs_bits, L->replay.capacity,
               L->replay.obs_dim, L->replay.act_dim);
    } else {
      size_t n = (size_t)im.size, ad = (size_t)im.act_dim, orow = obs_row(&im);
      const checkpoint_section_t *so, *sa, *sr, *sn, *st, *sd, *sp;
      if ((so = sec(&ck, "replay_obs", n * orow, path, err, errlen)) &&
          (sa = sec(&ck, "replay_act", n * ad * 4, path, err, errlen)) &&
          (sr = sec(&ck, "replay_rew", n * 4, path, err, errlen)) &&
          (sn = sec(&ck, "replay_next", n * orow, path, err, errlen)) &&
          (st = sec(&ck, "replay_term", n * 4, path, err, errlen)) &&
          (sd = sec(&ck, "replay_disc", n * 4, path, err, errlen)) &&
          (sp = sec(&ck, "replay_prio", im.prioritized ? n * 8 : 0, path, err, errlen))) {
        /* Copies: section data has no alignment guarantee. */
        void *ob = malloc(n * orow + 4), *nb = malloc(n * orow + 4);
        if (im.obs_bits) {
          im.obs_b = ob;
          im.next_obs_b = nb;
        } else {
          im.obs = ob;
          im.next_obs = nb;
        }
        im.act = malloc(n * ad * 4 + 4);
        im.rew = malloc(n * 4 + 4);
        im.term = malloc(n * 4 + 4);
        im.disc = malloc(n * 4 + 4);
        if (im.prioritized) im.prio = malloc(n * 8 + 8);
        if (!ob || !im.act || !im.rew || !nb || !im.term || !im.disc ||
            (im.prioritized && !im.prio)) {
          snprintf(err, errlen, "%s: out of memory", path);
        } else {
          memcpy(ob, so->data, so->len);
          memcpy(im.act, sa->data, sa->len);
          memcpy(im.rew, sr->data, sr->len);
          memcpy(nb, sn->data, sn->len);
          memcpy(im.term, st->data, st->len);
          memcpy(im.disc, sd->data, sd->len);
          if (im.prio) memcpy(im.prio, sp->data, sp->len);
          char e2[400];
          if (replay_image_restore(&L->replay, &im, L->run.pol.n_actions, e2, sizeof e2) != 0) {
            snprintf(err, errlen, "%s: %s", path, e2);
          } else {
            char hex[33];
            digest(&im, hex);
            LOG_I("learner", "restored replay: %llu transitions (inserted %llu), digest %s: %s",
                  (unsigned long long)im.size, (unsigned long long)im.inserted, hex, path);
            rc = 0;
          }
        }
      }
    }
  }
  replay_image_free(&im);
  checkpoint_free(&ck);
  return rc;
}
