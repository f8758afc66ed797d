/* export_cmd: `rlserve export --checkpoint FILE --format onnx|npz --out FILE`, a checkpoint's
 * greedy policy as an ONNX model (written with protobuf-c from proto/onnx_subset.proto) or as
 * numpy arrays by layer name (.npz, a stored zip of .npy files). */
#ifndef RLSERVE_EXPORT_CMD_H
#define RLSERVE_EXPORT_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "algo.h"
#include "checkpoint.h"
#include "config.h"
#include "spaces_ckpt.h"

int export_main(int argc, char **argv);

/* What a checkpoint's greedy policy is built from: its config, the env spec (the registry's,
 * or for env = worker:ID the declared spaces of its "spaces" section), the policy and a copy of
 * its parameters (checked finite). */
typedef struct export_policy {
  config_t cfg;
  spaces_ckpt_t spaces; /* env = worker:ID only */
  const env_spec_t *spec;
  const algo_t *algo;
  algo_policy_t pol;
  float *params; /* pol.layout.n_params floats, malloc'd */
} export_policy_t;

/* The greedy policy a checkpoint holds, as `rlserve eval` and `rlserve export` both read it:
 * the config section, the env (built in, the loaded plugin, or for env = worker:ID the
 * checkpoint's spaces section), the algorithm's policy network, the optional layout section
 * matched against it, and the online weights (size and finiteness checked) copied into params.
 * plugin: the --env-plugin path, already loaded by the caller, or NULL (a config naming a plugin
 * is then refused: a data file never chooses code to load). 0, or -1 with a message naming the
 * section or field; on 0 the caller frees with export_policy_free. */
int policy_load_checkpoint(const checkpoint_t *ck, const char *path, const char *plugin,
                           export_policy_t *out, char *err, size_t errlen);

/* policy_load_checkpoint, and a layout the exporters can write (path names the file in
 * messages). 0, or -1 with a message naming the section or field. */
int export_policy_load(const checkpoint_t *ck, const char *path, const char *plugin,
                       export_policy_t *out, char *err, size_t errlen);
void export_policy_free(export_policy_t *p);

/* The encoders over a built policy and its parameters (pol->layout.n_params floats): a malloc'd
 * file image and its length, or NULL with a message. Pure; the tests call them directly. */
uint8_t *export_onnx(const algo_policy_t *pol, const float *params, const char *doc, size_t *len,
                     char *err, size_t errlen);
uint8_t *export_npz(const algo_policy_t *pol, const float *params, size_t *len, char *err,
                    size_t errlen);

#endif
