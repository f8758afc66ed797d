/* libFuzzer target: every wire_decode_* on the input. A success must satisfy the
 * decoder's documented guarantees; a failure must leave *out NULL and give a message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define EXPECT(c)      \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  {
    Rlserve__Hello *m = NULL;
    err[0] = 0;
    if (!wire_decode_hello(data, size, &m, err, sizeof err)) {
      EXPECT(strlen(m->worker_name) <= WIRE_MAX_NAME && strlen(m->host) <= WIRE_MAX_NAME);
      rlserve__hello__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__Welcome *m = NULL;
    err[0] = 0;
    if (!wire_decode_welcome(data, size, &m, err, sizeof err)) {
      EXPECT(m->n_config <= WIRE_MAX_CONFIG && isfinite(m->epsilon_final));
      rlserve__welcome__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  for (int k = 0; k < 2; k++) {
    Rlserve__Weights *m = NULL;
    uint32_t expect = k ? 8 : 0;
    err[0] = 0;
    if (!wire_decode_weights(data, size, expect, &m, err, sizeof err)) {
      EXPECT(m->n_params > 0 && (!expect || m->n_params == expect));
      EXPECT(m->online.len == 4ull * m->n_params);
      float *f = malloc(m->online.len);
      wire_floats_from_bytes(f, m->online.data, m->n_params);
      for (uint32_t i = 0; i < m->n_params; i++) EXPECT(isfinite(f[i]));
      /* The target network (actor_priorities): absent, or n_params finite floats too. */
      EXPECT(m->target_net.len == 0 || m->target_net.len == 4ull * m->n_params);
      if (m->target_net.len) {
        wire_floats_from_bytes(f, m->target_net.data, m->n_params);
        for (uint32_t i = 0; i < m->n_params; i++) EXPECT(isfinite(f[i]));
      }
      free(f);
      rlserve__weights__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__Stats *m = NULL;
    err[0] = 0;
    if (!wire_decode_stats(data, size, &m, err, sizeof err)) {
      EXPECT(m->n_episode_returns <= WIRE_MAX_RETURNS &&
             m->n_episode_returns == m->n_episode_lengths);
      for (size_t i = 0; i < m->n_episode_returns; i++) EXPECT(isfinite(m->episode_returns[i]));
      rlserve__stats__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__Error *m = NULL;
    err[0] = 0;
    if (!wire_decode_error(data, size, &m, err, sizeof err)) {
      EXPECT(strlen(m->reason) <= WIRE_MAX_REASON);
      rlserve__error__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__EvalRequest *m = NULL;
    err[0] = 0;
    if (!wire_decode_eval_request(data, size, 0, &m, err, sizeof err)) {
      EXPECT(m->n_params >= 1 && m->online.len == 4 * (size_t)m->n_params && m->count >= 1 &&
             m->count <= WIRE_MAX_EVAL_EPISODES);
      rlserve__eval_request__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__Explore *m = NULL;
    err[0] = 0;
    if (!wire_decode_explore(data, size, &m, err, sizeof err)) {
      EXPECT(m->epsilon >= 0 && m->epsilon <= 1);
      EXPECT(isfinite(m->noise_scale) && m->noise_scale >= 0);
      EXPECT(m->worker_index < m->actors);
      rlserve__explore__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__EvalResult *m = NULL;
    err[0] = 0;
    if (!wire_decode_eval_result(data, size, &m, err, sizeof err)) {
      EXPECT(m->n_returns >= 1 && m->n_returns <= WIRE_MAX_EVAL_EPISODES &&
             m->n_returns == m->n_lengths);
      for (size_t i = 0; i < m->n_returns; i++) EXPECT(isfinite(m->returns[i]) && m->lengths[i]);
      rlserve__eval_result__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__Credit *m = NULL;
    err[0] = 0;
    if (!wire_decode_credit(data, size, &m, err, sizeof err)) {
      rlserve__credit__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  {
    Rlserve__Challenge *m = NULL;
    err[0] = 0;
    if (!wire_decode_challenge(data, size, &m, err, sizeof err)) {
      EXPECT(m->nonce.len >= 16 && m->nonce.len <= 256);
      rlserve__challenge__free_unpacked(m, NULL);
    } else {
      EXPECT(!m && err[0]);
    }
  }
  return 0;
}
