/* export_cmd: `rlserve export --checkpoint FILE --format onnx|npz --out FILE`, a checkpoint's
 * greedy policy as an ONNX model (written with protobuf-c from proto/onnx_subset.proto) or as
 * numpy arrays by layer name (.npz, a stored zip of .npy files). */
#ifndef RLSERVE_EXPORT_CMD_H
#define RLSERVE_EXPORT_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "algo.h"

int export_main(int argc, char **argv);

/* The encoders over a built policy and its parameters (pol->layout.n_params floats): a malloc'd
 * file image and its length, or NULL with a message. Pure; the tests call them directly. */
uint8_t *export_onnx(const algo_policy_t *pol, const float *params, const char *doc, size_t *len,
                     char *err, size_t errlen);
uint8_t *export_npz(const algo_policy_t *pol, const float *params, size_t *len, char *err,
                    size_t errlen);

#endif
