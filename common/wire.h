/* wire: protobuf-c control messages and weights as whole frames (header + payload).
 * Pure functions over bytes. Encoders return a malloc'd frame the caller frees; decoders
 * return 0 or -1 with a reason in err that names what was wrong. */
#ifndef RLSERVE_WIRE_H
#define RLSERVE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "rlserve.pb-c.h"

/* Decoder limits on what protobuf would accept (see proto/README.md, Validation). */
#define WIRE_MAX_NAME 256      /* worker_name, host, config keys: bytes, no control bytes */
#define WIRE_MAX_VALUE 4096    /* config values */
#define WIRE_MAX_REASON 4096   /* Error.reason ('\n' and '\t' allowed) */
#define WIRE_MAX_AUTH 1024     /* Hello.auth, Proof.proof */
#define WIRE_MAX_NONCE 256     /* Hello.nonce */
#define WIRE_MAX_ENVS 65536    /* Hello.num_envs */
#define WIRE_MAX_CONFIG 1024   /* Welcome.config entries */
#define WIRE_MAX_DIM (1 << 20) /* Welcome.obs_dim, act_dim */
#define WIRE_MAX_RETURNS 10000 /* Stats.episode_returns per message */
#define WIRE_MAX_EVAL_EPISODES 100000 /* EvalRequest.count, EvalResult.returns (eval_episodes) */

/* Packs any protobuf message into a frame of the given type. NULL on allocation failure
 * (and for an unknown frame type or a payload over FRAME_MAX_PAYLOAD, which no receiver
 * would accept). */
uint8_t *wire_encode(int frame_type, const ProtobufCMessage *msg, size_t *frame_len);
/* An empty-payload frame (heartbeat). */
uint8_t *wire_encode_empty(int frame_type, size_t *frame_len);
/* An Error frame with a reason (clipped to WIRE_MAX_REASON, control bytes but '\n' and
 * '\t' replaced by '?', so the receiver accepts it). */
uint8_t *wire_encode_error(uint32_t code, const char *reason, size_t *frame_len);

/* Weights frame from the flat online buffer of n floats (copied in as little-endian bytes). */
/* The same with the target network (n floats, same layout; NULL: not sent). */
uint8_t *wire_encode_weights_target(uint64_t version, uint64_t env_steps, const float *online,
                                    const float *target, uint32_t n, size_t *frame_len);
uint8_t *wire_encode_weights(uint64_t version, uint64_t env_steps, const float *online, uint32_t n,
                             size_t *frame_len);

/* Decoders: *out is freed with the matching rlserve__x__free_unpacked(*out, NULL).
 * They check what protobuf cannot: Weights sizes (online = 4 * n_params bytes and
 * n_params == expect_n unless expect_n is 0), finite floats, string lengths. On failure
 * *out is NULL (nothing to free). Limits: the WIRE_MAX_* above. */
int wire_decode_hello(const uint8_t *p, size_t len, Rlserve__Hello **out, char *err, size_t errlen);
int wire_decode_welcome(const uint8_t *p, size_t len, Rlserve__Welcome **out, char *err,
                        size_t errlen);
int wire_decode_weights(const uint8_t *p, size_t len, uint32_t expect_n, Rlserve__Weights **out,
                        char *err, size_t errlen);
int wire_decode_stats(const uint8_t *p, size_t len, Rlserve__Stats **out, char *err, size_t errlen);
int wire_decode_error(const uint8_t *p, size_t len, Rlserve__Error **out, char *err, size_t errlen);

/* Explore: epsilon in [0, 1], noise_scale finite and >= 0, worker_index < actors. */
int wire_decode_explore(const uint8_t *p, size_t len, Rlserve__Explore **out, char *err,
                        size_t errlen);
int wire_decode_credit(const uint8_t *p, size_t len, Rlserve__Credit **out, char *err,
                       size_t errlen);
int wire_decode_proof(const uint8_t *p, size_t len, Rlserve__Proof **out, char *err, size_t errlen);
int wire_decode_challenge(const uint8_t *p, size_t len, Rlserve__Challenge **out, char *err,
                          size_t errlen);

/* EvalRequest (learner -> worker): online = 4 * n_params bytes, all finite, n_params == expect_n
 * unless 0; 1 <= count <= WIRE_MAX_EVAL_EPISODES. EvalResult (worker -> learner): 1..
 * WIRE_MAX_EVAL_EPISODES returns, all finite, as many lengths, each >= 1. Whether they are the
 * ones asked for is the learner's check (server/learner/reval.c). */
int wire_decode_eval_request(const uint8_t *p, size_t len, uint32_t expect_n,
                             Rlserve__EvalRequest **out, char *err, size_t errlen);
int wire_decode_eval_result(const uint8_t *p, size_t len, Rlserve__EvalResult **out, char *err,
                            size_t errlen);

/* Copies n little-endian float32 values out of wire bytes (any alignment). */
void wire_floats_from_bytes(float *dst, const uint8_t *src, size_t n);

#endif
