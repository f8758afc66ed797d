/* export_cmd: a checkpoint's greedy policy for use outside rlserve (export_cmd.h).
 *
 * ONNX graph (opset 13), input "obs" float [batch, obs_dim]; per layer l a Gemm with the
 * initializers "layer<l>.weight" [out, in] (transB = 1, the common/nn.h layout as is) and
 * "layer<l>.bias" [out], then Relu or Tanh as the layout says. A discrete policy (DQN) outputs
 * "q" [batch, n_actions] and "action" = ArgMax(q, axis 1) int64 [batch]; a continuous one
 * (DDPG/TD3) outputs "action" = action_bias + action_scale * tanh(...) float [batch, act_dim],
 * the same affine map onto the bounds the workers and `rlserve eval` use. The npz holds the
 * same initializers, float32, by the same names. */
#include "export_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "checkpoint.h"
#include "config.h"
#include "env.h"
#include "extenv.h"
#include "onnx_subset.pb-c.h"
#include "plugin.h"
#include "spaces_ckpt.h"

#define ONNX_IR_VERSION 7
#define ONNX_OPSET 13
#define ONNX_FLOAT 1
#define ONNX_INT64 7
#define MAX_NODES (3 * NN_MAX_LAYERS + 4)
#define MAX_INITS (2 * NN_MAX_LAYERS + 2)

typedef RlserveOnnx__NodeProto node_t;
typedef RlserveOnnx__TensorProto tensor_t;
typedef RlserveOnnx__AttributeProto attr_t;

/* Everything the model points into, owned here so one free releases it. */
typedef struct {
  node_t nodes[MAX_NODES];
  node_t *node_ptrs[MAX_NODES];
  attr_t attrs[MAX_NODES];
  attr_t *attr_ptrs[MAX_NODES];
  char *strs[MAX_NODES * 4 + MAX_INITS];
  int n_nodes, n_attrs, n_strs;
  char **ins[MAX_NODES], **outs[MAX_NODES];
  tensor_t inits[MAX_INITS];
  tensor_t *init_ptrs[MAX_INITS];
  int64_t dims[MAX_INITS][2];
  int n_inits;
} graph_build_t;

static char *keep(graph_build_t *g, const char *fmt, int l) {
  char buf[64];
  snprintf(buf, sizeof buf, fmt, l);
  char *s = strdup(buf);
  if (s) g->strs[g->n_strs++] = s;
  return s;
}

static node_t *add_node(graph_build_t *g, const char *op, char *in0, char *in1, char *in2,
                        char *out) {
  node_t *n = &g->nodes[g->n_nodes];
  rlserve_onnx__node_proto__init(n);
  char **ins = calloc(3, sizeof *ins), **outs = calloc(1, sizeof *outs);
  g->ins[g->n_nodes] = ins;
  g->outs[g->n_nodes] = outs;
  g->node_ptrs[g->n_nodes++] = n;
  if (!ins || !outs) return NULL;
  char *in[3] = {in0, in1, in2};
  for (int i = 0; i < 3 && in[i]; i++) ins[n->n_input++] = in[i];
  n->input = ins;
  outs[0] = out;
  n->output = outs;
  n->n_output = 1;
  n->op_type = (char *)op;
  n->name = out;
  return n;
}

static void add_int_attr(graph_build_t *g, node_t *n, const char *name, int64_t v) {
  attr_t *a = &g->attrs[g->n_attrs];
  rlserve_onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = RLSERVE_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = 1;
  a->i = v;
  /* A node's attributes are added one after another, so they sit together in attr_ptrs. */
  g->attr_ptrs[g->n_attrs] = a;
  if (n->n_attribute == 0) n->attribute = &g->attr_ptrs[g->n_attrs];
  n->n_attribute++;
  g->n_attrs++;
}

static void add_init(graph_build_t *g, char *name, const float *data, int64_t d0, int64_t d1) {
  tensor_t *t = &g->inits[g->n_inits];
  rlserve_onnx__tensor_proto__init(t);
  t->name = name;
  t->has_data_type = 1;
  t->data_type = ONNX_FLOAT;
  g->dims[g->n_inits][0] = d0;
  g->dims[g->n_inits][1] = d1;
  t->dims = g->dims[g->n_inits];
  t->n_dims = d1 > 0 ? 2 : 1;
  /* raw_data is little-endian float32: the parameter buffer's own bytes on this (LE) host. */
  t->has_raw_data = 1;
  t->raw_data.data = (uint8_t *)(uintptr_t)data;
  t->raw_data.len = (size_t)(d0 * (d1 > 0 ? d1 : 1)) * sizeof(float);
  g->init_ptrs[g->n_inits++] = t;
}

static void graph_free(graph_build_t *g) {
  for (int i = 0; i < g->n_strs; i++) free(g->strs[i]);
  for (int i = 0; i < g->n_nodes; i++) {
    free(g->ins[i]);
    free(g->outs[i]);
  }
}

/* A value info "name" of elem_type with dims [batch, d1] (d1 <= 0: [batch]). */
typedef struct {
  RlserveOnnx__ValueInfoProto vi;
  RlserveOnnx__TypeProto type;
  RlserveOnnx__TypeProto__Tensor tensor;
  RlserveOnnx__TensorShapeProto shape;
  RlserveOnnx__TensorShapeProto__Dimension dim[2];
  RlserveOnnx__TensorShapeProto__Dimension *dim_ptrs[2];
} value_info_t;

static void value_info(value_info_t *v, const char *name, int elem_type, int64_t d1) {
  rlserve_onnx__value_info_proto__init(&v->vi);
  rlserve_onnx__type_proto__init(&v->type);
  rlserve_onnx__type_proto__tensor__init(&v->tensor);
  rlserve_onnx__tensor_shape_proto__init(&v->shape);
  for (int i = 0; i < 2; i++) {
    rlserve_onnx__tensor_shape_proto__dimension__init(&v->dim[i]);
    v->dim_ptrs[i] = &v->dim[i];
  }
  v->dim[0].value_case = RLSERVE_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
  v->dim[0].dim_param = "batch";
  v->dim[1].value_case = RLSERVE_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  v->dim[1].dim_value = d1;
  v->shape.dim = v->dim_ptrs;
  v->shape.n_dim = d1 > 0 ? 2 : 1;
  v->tensor.has_elem_type = 1;
  v->tensor.elem_type = elem_type;
  v->tensor.shape = &v->shape;
  v->type.value_case = RLSERVE_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  v->type.tensor_type = &v->tensor;
  v->vi.name = (char *)name;
  v->vi.type = &v->type;
}

/* The graph and the npz describe dense layers only (Gemm, [out, in] arrays): another kind (a
 * conv trunk, a dueling head) is refused by name rather than written with the wrong shapes.
 * 0, or -1 with the message. */
static int dense_only(const nn_layout_t *l, char *err, size_t errlen) {
  static const char *const names[] = {"dense", "conv", "flatten", "dueling"};
  for (int i = 0; i < l->n_layers; i++)
    if (l->kind[i] != NN_DENSE) {
      int k = (int)l->kind[i];
      snprintf(err, errlen,
               "export: layer %d is a %s layer; export writes networks of dense (fc) layers only",
               i, k >= 0 && k < 4 ? names[k] : "unknown");
      return -1;
    }
  return 0;
}

uint8_t *export_onnx(const algo_policy_t *pol, const float *params, const char *doc, size_t *len,
                     char *err, size_t errlen) {
  const nn_layout_t *l = &pol->layout;
  if (dense_only(l, err, errlen) != 0) return NULL;
  int discrete = pol->n_actions > 0;
  graph_build_t *g = calloc(1, sizeof *g);
  if (!g) {
    snprintf(err, errlen, "export: out of memory");
    return NULL;
  }
  char *x = "obs";
  int ok = 1;
  for (int i = 0; i < l->n_layers && ok; i++) {
    char *w = keep(g, "layer%d.weight", i), *b = keep(g, "layer%d.bias", i);
    int last = i + 1 == l->n_layers;
    char *y = last && discrete ? "q" : keep(g, "layer%d.gemm", i);
    ok = w && b && y;
    if (!ok) break;
    add_init(g, w, params + l->w_off[i], l->sizes[i + 1], l->sizes[i]);
    add_init(g, b, params + l->b_off[i], l->sizes[i + 1], 0);
    node_t *n = add_node(g, "Gemm", x, w, b, y);
    if (!n)
      ok = 0;
    else
      add_int_attr(g, n, "transB", 1);
    x = y;
    if (l->act[i] != NN_IDENTITY && ok) {
      char *a = keep(g, l->act[i] == NN_RELU ? "layer%d.relu" : "layer%d.tanh", i);
      ok = a && add_node(g, l->act[i] == NN_RELU ? "Relu" : "Tanh", x, NULL, NULL, a);
      x = a;
    }
  }
  if (ok && discrete) {
    node_t *n = add_node(g, "ArgMax", x, NULL, NULL, "action");
    if (!n) {
      ok = 0;
    } else {
      add_int_attr(g, n, "axis", 1);
      add_int_attr(g, n, "keepdims", 0); /* one action per row: [batch] */
    }
  } else if (ok) {
    add_init(g, "action_scale", pol->scale, pol->act_dim, 0);
    add_init(g, "action_bias", pol->bias, pol->act_dim, 0);
    ok = add_node(g, "Mul", x, "action_scale", NULL, "action.scaled") &&
         add_node(g, "Add", "action.scaled", "action_bias", NULL, "action");
  }
  uint8_t *out = NULL;
  if (ok) {
    value_info_t in_v, q_v, act_v;
    value_info(&in_v, "obs", ONNX_FLOAT, pol->obs_dim);
    value_info(&q_v, "q", ONNX_FLOAT, pol->n_out);
    value_info(&act_v, "action", discrete ? ONNX_INT64 : ONNX_FLOAT, discrete ? 0 : pol->act_dim);
    RlserveOnnx__ValueInfoProto *inputs[1] = {&in_v.vi}, *outputs[2];
    size_t n_out = 0;
    outputs[n_out++] = &act_v.vi;
    if (discrete) outputs[n_out++] = &q_v.vi;
    RlserveOnnx__GraphProto graph = RLSERVE_ONNX__GRAPH_PROTO__INIT;
    graph.name = "rlserve_policy";
    graph.node = g->node_ptrs;
    graph.n_node = (size_t)g->n_nodes;
    graph.initializer = g->init_ptrs;
    graph.n_initializer = (size_t)g->n_inits;
    graph.input = inputs;
    graph.n_input = 1;
    graph.output = outputs;
    graph.n_output = n_out;
    RlserveOnnx__OperatorSetIdProto opset = RLSERVE_ONNX__OPERATOR_SET_ID_PROTO__INIT;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = ONNX_OPSET;
    RlserveOnnx__OperatorSetIdProto *opsets[1] = {&opset};
    RlserveOnnx__ModelProto m = RLSERVE_ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = ONNX_IR_VERSION;
    m.producer_name = "rlserve";
    m.producer_version = "export-1";
    m.doc_string = (char *)doc;
    m.graph = &graph;
    m.opset_import = opsets;
    m.n_opset_import = 1;
    *len = rlserve_onnx__model_proto__get_packed_size(&m);
    out = malloc(*len ? *len : 1);
    if (out) rlserve_onnx__model_proto__pack(&m, out);
  }
  if (!out) snprintf(err, errlen, "export: out of memory building the ONNX graph");
  graph_free(g);
  free(g);
  return out;
}

/* --- npz: a zip archive (stored, no compression) of .npy files ----------------------------- */

static uint32_t crc32_of(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

typedef struct {
  uint8_t *buf;
  size_t len, cap;
  int failed;
} bytes_t;

static void put(bytes_t *b, const void *p, size_t n) {
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *nb = realloc(b->buf, cap);
    if (!nb) {
      b->failed = 1;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, p, n);
  b->len += n;
}

static void put16(bytes_t *b, uint32_t v) {
  uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  put(b, x, 2);
}

static void put32(bytes_t *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, x, 4);
}

/* One .npy (format 1.0): magic, version, header length, a dict padded with spaces to a multiple
 * of 64 bytes ending in '\n', then the little-endian float32 data. */
static void npy(bytes_t *b, const float *data, int d0, int d1) {
  char hdr[128];
  int n = d1 > 0 ? snprintf(hdr, sizeof hdr,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", d0, d1)
                 : snprintf(hdr, sizeof hdr,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", d0);
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  put(b, "\x93NUMPY\x01\x00", 8);
  put16(b, (uint32_t)(n + pad + 1));
  put(b, hdr, (size_t)n);
  for (int i = 0; i < pad; i++) put(b, " ", 1);
  put(b, "\n", 1);
  put(b, data, (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1) * sizeof(float));
}

typedef struct {
  char name[48];
  uint32_t crc, size, offset;
} zip_entry_t;

uint8_t *export_npz(const algo_policy_t *pol, const float *params, size_t *len, char *err,
                    size_t errlen) {
  const nn_layout_t *l = &pol->layout;
  if (dense_only(l, err, errlen) != 0) return NULL;
  zip_entry_t ent[MAX_INITS];
  int n_ent = 0;
  bytes_t z = {0};
  for (int t = 0; t < 2 * l->n_layers + 2; t++) {
    int layer = t / 2, is_bias = t % 2;
    const float *data;
    int d0, d1;
    if (layer < l->n_layers) {
      snprintf(ent[n_ent].name, sizeof ent[n_ent].name, "layer%d.%s.npy", layer,
               is_bias ? "bias" : "weight");
      data = params + (is_bias ? l->b_off[layer] : l->w_off[layer]);
      d0 = l->sizes[layer + 1];
      d1 = is_bias ? 0 : l->sizes[layer];
    } else {
      if (pol->n_actions > 0) break; /* a discrete policy has no action map */
      snprintf(ent[n_ent].name, sizeof ent[n_ent].name, "%s.npy",
               is_bias ? "action_bias" : "action_scale");
      data = is_bias ? pol->bias : pol->scale;
      d0 = pol->act_dim;
      d1 = 0;
    }
    bytes_t f = {0};
    npy(&f, data, d0, d1);
    if (f.failed) {
      free(f.buf);
      z.failed = 1;
      break;
    }
    zip_entry_t *e = &ent[n_ent++];
    e->crc = crc32_of(f.buf, f.len);
    e->size = (uint32_t)f.len;
    e->offset = (uint32_t)z.len;
    size_t nl = strlen(e->name);
    put32(&z, 0x04034b50u); /* local file header */
    put16(&z, 20);          /* version needed */
    put16(&z, 0);           /* flags */
    put16(&z, 0);           /* stored */
    put16(&z, 0);           /* time */
    put16(&z, 0x21);        /* date: 1980-01-01 */
    put32(&z, e->crc);
    put32(&z, e->size);
    put32(&z, e->size);
    put16(&z, (uint32_t)nl);
    put16(&z, 0);
    put(&z, e->name, nl);
    put(&z, f.buf, f.len);
    free(f.buf);
  }
  uint32_t cd_start = (uint32_t)z.len;
  for (int i = 0; i < n_ent; i++) {
    size_t nl = strlen(ent[i].name);
    put32(&z, 0x02014b50u); /* central directory header */
    put16(&z, 20);
    put16(&z, 20);
    put16(&z, 0);
    put16(&z, 0);
    put16(&z, 0);
    put16(&z, 0x21);
    put32(&z, ent[i].crc);
    put32(&z, ent[i].size);
    put32(&z, ent[i].size);
    put16(&z, (uint32_t)nl);
    put16(&z, 0); /* extra */
    put16(&z, 0); /* comment */
    put16(&z, 0); /* disk */
    put16(&z, 0); /* internal attributes */
    put32(&z, 0); /* external attributes */
    put32(&z, ent[i].offset);
    put(&z, ent[i].name, nl);
  }
  uint32_t cd_size = (uint32_t)z.len - cd_start;
  put32(&z, 0x06054b50u); /* end of central directory */
  put16(&z, 0);
  put16(&z, 0);
  put16(&z, (uint32_t)n_ent);
  put16(&z, (uint32_t)n_ent);
  put32(&z, cd_size);
  put32(&z, cd_start);
  put16(&z, 0);
  if (z.failed) {
    free(z.buf);
    snprintf(err, errlen, "export: out of memory building the npz");
    return NULL;
  }
  *len = z.len;
  return z.buf;
}

/* --- the command ----------------------------------------------------------------------------- */

static int write_file(const char *path, const uint8_t *data, size_t len) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    fprintf(stderr, "rlserve export: %s: %s\n", tmp, strerror(errno));
    return -1;
  }
  int ok = fwrite(data, 1, len, f) == len;
  ok = fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    fprintf(stderr, "rlserve export: writing %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlserve export --checkpoint FILE --format onnx|npz --out FILE\n"
          "                      [--token-file FILE] [--env-plugin PATH]\n"
          "  the greedy policy of a checkpoint (policy.ckpt or checkpoint.ckpt):\n"
          "  onnx: input obs [batch, obs_dim] float; outputs action (discrete: ArgMax of q,\n"
          "        int64 [batch], and q; continuous: float [batch, act_dim] within the bounds)\n"
          "  npz:  layer<l>.weight [out, in], layer<l>.bias [out] (and action_scale,\n"
          "        action_bias: action = action_bias + action_scale * tanh(last layer))\n"
          "  a run with a token authenticates its checkpoints: give the run's token\n"
          "  env = worker:ID runs: the policy is built from the spaces the checkpoint recorded\n");
}

typedef struct {
  const char *path, *format, *out, *plugin;
  int keyed;
  uint8_t key[CHECKPOINT_KEY];
} export_args_t;

/* -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, export_args_t *a) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "rlserve export: %s needs a value\n", opt);
      return 2;
    }
    i++;
    if (!strcmp(opt, "--checkpoint"))
      a->path = v;
    else if (!strcmp(opt, "--format"))
      a->format = v;
    else if (!strcmp(opt, "--out"))
      a->out = v;
    else if (!strcmp(opt, "--env-plugin"))
      a->plugin = v;
    else if (!strcmp(opt, "--token-file")) {
      uint8_t tk[AUTH_KEY];
      char err[1024];
      if (auth_key_from_file(v, tk, err, sizeof err) != 0) {
        fprintf(stderr, "rlserve export: %s\n", err);
        return 2;
      }
      checkpoint_key_derive(tk, a->key);
      a->keyed = 1;
    } else {
      fprintf(stderr, "rlserve export: unknown option '%s'\n", opt);
      usage(stderr);
      return 2;
    }
  }
  if (!a->path || !a->format || !a->out) {
    fprintf(stderr, "rlserve export: --checkpoint, --format and --out are required\n");
    usage(stderr);
    return 2;
  }
  if (strcmp(a->format, "onnx") && strcmp(a->format, "npz")) {
    fprintf(stderr, "rlserve export: --format '%s': expected onnx or npz\n", a->format);
    return 2;
  }
  return -1;
}

/* The env spec a config names: the registry's, or for env = worker:ID the spaces the run's first
 * worker declared, from the checkpoint's "spaces" section (spaces_ckpt.h). NULL after a message. */
static const env_spec_t *policy_spec(const checkpoint_t *ck, const char *path, export_policy_t *out,
                                     char *err, size_t errlen) {
  const char *id = extenv_id(out->cfg.env);
  if (!id) {
    const env_spec_t *spec = env_find(out->cfg.env);
    if (!spec) snprintf(err, errlen, "%s: env '%s' is not a known environment", path, out->cfg.env);
    return spec;
  }
  const checkpoint_section_t *s = checkpoint_find(ck, SPACES_CKPT_SECTION);
  char why[300];
  if (!s) {
    snprintf(err, errlen,
             "%s: env = '%s' lives in the workers and this checkpoint has no %s section (written "
             "before it existed): its policy cannot be rebuilt",
             path, out->cfg.env, SPACES_CKPT_SECTION);
    return NULL;
  }
  if (spaces_ckpt_decode(s->data, s->len, &out->spaces, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s: section %s refused: %s", path, SPACES_CKPT_SECTION, why);
    return NULL;
  }
  if (strcmp(out->spaces.id, id) != 0) {
    snprintf(err, errlen, "%s: section %s is for env %s, the config's env is %s", path,
             SPACES_CKPT_SECTION, out->spaces.id, out->cfg.env);
    return NULL;
  }
  return &out->spaces.spec;
}

int export_policy_load(const checkpoint_t *ck, const char *path, const char *plugin,
                       export_policy_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  config_init(&out->cfg);
  const checkpoint_section_t *cs = checkpoint_find(ck, "config"),
                             *on = checkpoint_find(ck, "online");
  if (!cs || !on)
    return snprintf(err, errlen, "%s has no %s section", path, cs ? "online" : "config"), -1;
  char *text = malloc(cs->len + 1);
  if (!text) return snprintf(err, errlen, "out of memory"), -1;
  memcpy(text, cs->data, cs->len);
  text[cs->len] = 0;
  int rc = config_load_text(&out->cfg, text, path, err, errlen);
  free(text);
  if (rc != 0) return -1;
  config_t *cfg = &out->cfg;
  if (cfg->env_plugin[0] && !plugin)
    return snprintf(err, errlen,
                    "%s names the env plugin %s; a library named by a data file is not loaded: "
                    "give --env-plugin PATH to load one",
                    path, cfg->env_plugin),
           -1;
  snprintf(cfg->env_plugin, sizeof cfg->env_plugin, "%s", plugin ? plugin : "");
  const env_spec_t *spec = policy_spec(ck, path, out, err, errlen);
  if (!spec) return -1;
  const algo_t *algo = algo_find(cfg->algo);
  char why[512] = "";
  if (!algo || algo->mode != ALGO_ACTOR_LEARNER || algo->actions != spec->act.kind ||
      algo->policy(cfg, spec, &out->pol, why, sizeof why) != 0)
    return snprintf(err, errlen,
                    "%s: no network policy to export for algo '%s' on env '%s' (export covers the "
                    "learner+worker algorithms)%s%s",
                    path, cfg->algo, cfg->env, why[0] ? ": " : "", why),
           -1;
  out->spec = spec;
  if (dense_only(&out->pol.layout, why, sizeof why) != 0)
    return snprintf(err, errlen, "%s: %s (net = '%s', dueling = %d)", path, why, cfg->net,
                    cfg->dueling),
           -1;
  const checkpoint_section_t *ls = checkpoint_find(ck, "layout");
  char have[512];
  nn_layout_describe(&out->pol.layout, have, sizeof have);
  if (ls && (ls->len != strlen(have) || memcmp(ls->data, have, ls->len) != 0))
    return snprintf(err, errlen, "%s: the file's network is '%.*s', its config builds '%s'", path,
                    (int)(ls->len < 400 ? ls->len : 400), (const char *)ls->data, have),
           -1;
  size_t need = out->pol.layout.n_params * sizeof(float);
  if (on->len != need && !(!out->pol.weights_exact && on->len > need))
    return snprintf(err, errlen,
                    "%s: online weights have %llu bytes, the config's network needs %zu", path,
                    (unsigned long long)on->len, need),
           -1;
  out->params = malloc(need ? need : 1);
  if (!out->params) return snprintf(err, errlen, "out of memory"), -1;
  memcpy(out->params, on->data, need);
  for (size_t i = 0; i < out->pol.layout.n_params; i++)
    if (!isfinite(out->params[i])) {
      snprintf(err, errlen, "%s: parameter %zu is not finite", path, i);
      export_policy_free(out);
      return -1;
    }
  return 0;
}

void export_policy_free(export_policy_t *p) {
  free(p->params);
  p->params = NULL;
}

int export_main(int argc, char **argv) {
  export_args_t a;
  int rc = parse_args(argc, argv, &a);
  if (rc >= 0) return rc;
  checkpoint_t ck;
  char err[1024];
  if (checkpoint_read_keyed(a.path, &ck, a.keyed ? a.key : NULL, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve export: %s\n", err);
    return 2;
  }
  export_policy_t ep;
  rc = 2;
  if (a.plugin && env_plugin_load(a.plugin, err, sizeof err) != 0)
    fprintf(stderr, "rlserve export: %s\n", err);
  else if (export_policy_load(&ck, a.path, a.plugin, &ep, err, sizeof err) != 0)
    fprintf(stderr, "rlserve export: %s\n", err);
  else {
    const config_t *cfg = &ep.cfg;
    char doc[256];
    snprintf(doc, sizeof doc, "rlserve %.32s greedy policy for %.128s", cfg->algo, cfg->env);
    size_t len = 0;
    uint8_t *img = !strcmp(a.format, "onnx")
                       ? export_onnx(&ep.pol, ep.params, doc, &len, err, sizeof err)
                       : export_npz(&ep.pol, ep.params, &len, err, sizeof err);
    if (!img)
      fprintf(stderr, "rlserve export: %s\n", err);
    else if (write_file(a.out, img, len) == 0) {
      printf("%s: %s %s policy for %s (%zu parameters, %zu bytes)\n", a.out, a.format, cfg->algo,
             cfg->env, ep.pol.layout.n_params, len);
      rc = 0;
    }
    free(img);
    export_policy_free(&ep);
  }
  checkpoint_free(&ck);
  return rc;
}
