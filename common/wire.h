/* wire: protobuf-c control messages and weights as whole frames (header + payload).
 * Pure functions over bytes. Encoders return a malloc'd frame the caller frees; decoders
 * return 0 or -1 with a reason in err that names what was wrong. */
#ifndef RLSERVE_WIRE_H
#define RLSERVE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "rlserve.pb-c.h"

/* Packs any protobuf message into a frame of the given type. NULL on allocation failure. */
uint8_t *wire_encode(int frame_type, const ProtobufCMessage *msg, size_t *frame_len);
/* An empty-payload frame (heartbeat). */
uint8_t *wire_encode_empty(int frame_type, size_t *frame_len);
/* An Error frame with a reason. */
uint8_t *wire_encode_error(uint32_t code, const char *reason, size_t *frame_len);

/* Weights frame from flat buffers of n floats each (copied in as little-endian bytes). */
uint8_t *wire_encode_weights(uint64_t version, uint64_t env_steps, uint64_t updates,
                             int training, const float *online, const float *target,
                             uint32_t n, size_t *frame_len);

/* Decoders: *out is freed with the matching rlserve__x__free_unpacked(*out, NULL).
 * They check what protobuf cannot: Weights sizes (online/target = 4 * n_params bytes and
 * n_params == expect_n unless expect_n is 0), finite floats, string lengths. */
int wire_decode_hello(const uint8_t *p, size_t len, Rlserve__Hello **out, char *err, size_t errlen);
int wire_decode_welcome(const uint8_t *p, size_t len, Rlserve__Welcome **out, char *err,
                        size_t errlen);
int wire_decode_weights(const uint8_t *p, size_t len, uint32_t expect_n, Rlserve__Weights **out,
                        char *err, size_t errlen);
int wire_decode_stats(const uint8_t *p, size_t len, Rlserve__Stats **out, char *err, size_t errlen);
int wire_decode_error(const uint8_t *p, size_t len, Rlserve__Error **out, char *err, size_t errlen);

/* Copies n little-endian float32 values out of wire bytes (any alignment). */
void wire_floats_from_bytes(float *dst, const uint8_t *src, size_t n);

#endif
