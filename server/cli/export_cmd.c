/* export_cmd: a checkpoint's greedy policy for use outside rlserve (export_cmd.h).
 *
 * ONNX graph (opset 13), input "obs" float [batch, obs_dim] in rlserve's observation order; per
 * layer l of the common/nn.h layout:
 *   dense    Gemm(x, "layer<l>.weight" [out, in], "layer<l>.bias" [out], transB = 1), then
 *            Relu or Tanh as the layout says;
 *   conv     (from a flat row: Reshape to [batch, H, W, C] by "layer<l>.in_shape", Transpose
 *            perm 0,3,1,2 to NCHW) Conv(x, "layer<l>.weight" [F, C, kh, kw], "layer<l>.bias"
 *            [F]) valid padding, stride 1, then the activation; the output stays NCHW;
 *   flatten  Transpose perm 0,2,3,1 back to channels last, Reshape by "layer<l>.out_shape"
 *            [-1, H*W*C]: nn.c's flatten order (pixel-major, channels last);
 *   dueling  Gemm "layer<l>.value.weight" [1, in] / ".value.bias" [1] -> v, Gemm
 *            "layer<l>.advantage.weight" [A, in] / ".advantage.bias" [A] -> a, then q = (v + a)
 *            - ReduceMean(a, axes 1, keepdims 1), v and the mean Expanded by
 *            "layer<l>.expand_shape" [1, A] to [batch, A] first.
 * A discrete policy (DQN) outputs "q" [batch, n_actions] and "action" = ArgMax(q, axis 1) int64
 * [batch]; a continuous one (DDPG/TD3) outputs "action" = action_bias + action_scale * tanh(...)
 * float [batch, act_dim], the same affine map onto the bounds the workers and `rlserve eval` use.
 * The npz holds the same initializers by the same names (float32; the shapes int64) and
 * "layout", the nn_layout_describe line of the network (a unicode string). */
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
#define MAX_NODES (7 * NN_MAX_LAYERS + 4)
#define MAX_TENSORS (5 * NN_MAX_LAYERS + 2)
#define MAX_ATTRS (2 * MAX_NODES)

typedef RlserveOnnx__NodeProto node_t;
typedef RlserveOnnx__TensorProto tensor_t;
typedef RlserveOnnx__AttributeProto attr_t;

/* One initializer: name, element type, shape and its little-endian bytes (the parameter buffer
 * itself, or a re-laid copy / a shape vector owned by the build). */
typedef struct {
  char *name;
  int elem; /* ONNX_FLOAT or ONNX_INT64 */
  int n_dims;
  int64_t dims[4];
  const void *data;
  size_t nbytes;
} ex_tensor_t;

/* Everything the model points into, owned here so one free releases it. */
typedef struct {
  node_t nodes[MAX_NODES];
  node_t *node_ptrs[MAX_NODES];
  attr_t attrs[MAX_ATTRS];
  attr_t *attr_ptrs[MAX_ATTRS];
  int64_t attr_ints[MAX_ATTRS][4];
  char *strs[MAX_NODES * 4 + MAX_TENSORS];
  int n_nodes, n_attrs, n_strs;
  char **ins[MAX_NODES], **outs[MAX_NODES];
  ex_tensor_t tens[MAX_TENSORS];
  int n_tens;
  float *owned[NN_MAX_LAYERS]; /* conv weights re-laid to [F, C, kh, kw] */
  int n_owned;
  int64_t shapes[2 * NN_MAX_LAYERS][4]; /* Reshape and Expand targets */
  int n_shapes;
  tensor_t inits[MAX_TENSORS];
  tensor_t *init_ptrs[MAX_TENSORS];
  int failed;
} graph_build_t;

static char *keep(graph_build_t *g, const char *fmt, int l) {
  char buf[64];
  snprintf(buf, sizeof buf, fmt, l);
  char *s = g->n_strs < (int)(sizeof g->strs / sizeof g->strs[0]) ? strdup(buf) : NULL;
  if (s)
    g->strs[g->n_strs++] = s;
  else
    g->failed = 1;
  return s;
}

static node_t *add_node(graph_build_t *g, const char *op, char *in0, char *in1, char *in2,
                        char *out) {
  if (g->failed || g->n_nodes >= MAX_NODES || !in0 || !out) {
    g->failed = 1;
    return NULL;
  }
  node_t *n = &g->nodes[g->n_nodes];
  rlserve_onnx__node_proto__init(n);
  char **ins = calloc(3, sizeof *ins), **outs = calloc(1, sizeof *outs);
  g->ins[g->n_nodes] = ins;
  g->outs[g->n_nodes] = outs;
  g->node_ptrs[g->n_nodes++] = n;
  if (!ins || !outs) {
    g->failed = 1;
    return NULL;
  }
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

/* An INT attribute (n_ints < 0) or an INTS one of n_ints values. A node's attributes are added
 * one after another, so they sit together in attr_ptrs. */
static void add_attr(graph_build_t *g, node_t *n, const char *name, const int64_t *v, int n_ints) {
  if (!n || g->n_attrs >= MAX_ATTRS || n_ints > 4) {
    g->failed = 1;
    return;
  }
  attr_t *a = &g->attrs[g->n_attrs];
  rlserve_onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  if (n_ints < 0) {
    a->type = RLSERVE_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v[0];
  } else {
    a->type = RLSERVE_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    memcpy(g->attr_ints[g->n_attrs], v, (size_t)n_ints * sizeof *v);
    a->ints = g->attr_ints[g->n_attrs];
    a->n_ints = (size_t)n_ints;
  }
  g->attr_ptrs[g->n_attrs] = a;
  if (n->n_attribute == 0) n->attribute = &g->attr_ptrs[g->n_attrs];
  n->n_attribute++;
  g->n_attrs++;
}

static void add_int_attr(graph_build_t *g, node_t *n, const char *name, int64_t v) {
  add_attr(g, n, name, &v, -1);
}

/* An initializer of n_dims dims (data: d0 * d1 * ... floats or int64s). */
static void add_tensor(graph_build_t *g, char *name, int elem, const void *data, int n_dims,
                       int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  if (g->failed || !name || g->n_tens >= MAX_TENSORS) {
    g->failed = 1;
    return;
  }
  ex_tensor_t *t = &g->tens[g->n_tens++];
  int64_t d[4] = {d0, d1, d2, d3};
  size_t count = 1;
  t->name = name;
  t->elem = elem;
  t->n_dims = n_dims;
  for (int i = 0; i < n_dims; i++) {
    t->dims[i] = d[i];
    count *= (size_t)(d[i] < 0 ? 1 : d[i]);
  }
  t->data = data;
  t->nbytes = count * (elem == ONNX_INT64 ? sizeof(int64_t) : sizeof(float));
}

/* An int64 shape initializer of n (2 or 4) values for Reshape or Expand. */
static char *add_shape(graph_build_t *g, const char *fmt, int l, int n, int64_t a, int64_t b,
                       int64_t c, int64_t d) {
  if (g->n_shapes >= 2 * NN_MAX_LAYERS) {
    g->failed = 1;
    return NULL;
  }
  int64_t *s = g->shapes[g->n_shapes++];
  s[0] = a, s[1] = b, s[2] = c, s[3] = d;
  char *name = keep(g, fmt, l);
  if (name) add_tensor(g, name, ONNX_INT64, s, 1, n, 0, 0, 0); /* the vector: n int64s */
  return name;
}

static void graph_free(graph_build_t *g) {
  for (int i = 0; i < g->n_strs; i++) free(g->strs[i]);
  for (int i = 0; i < g->n_nodes; i++) {
    free(g->ins[i]);
    free(g->outs[i]);
  }
  for (int i = 0; i < g->n_owned; i++) free(g->owned[i]);
}

/* Layer i's weight as ONNX's [F, C, kh, kw] from nn.c's F x (kh * kw * C) with tap (dy, dx,
 * ch) at (dy * kw + dx) * C + ch. */
static const float *conv_weight(graph_build_t *g, const nn_layout_t *l, int i,
                                const float *params) {
  const int C = l->shape[i][2], F = l->shape[i + 1][2], kh = l->kh[i], kw = l->kw[i];
  float *w = malloc((size_t)F * C * kh * kw * sizeof(float));
  if (!w) {
    g->failed = 1;
    return NULL;
  }
  g->owned[g->n_owned++] = w;
  const float *src = params + l->w_off[i];
  for (int f = 0; f < F; f++)
    for (int ch = 0; ch < C; ch++)
      for (int dy = 0; dy < kh; dy++)
        for (int dx = 0; dx < kw; dx++)
          w[(((size_t)f * C + ch) * kh + dy) * kw + dx] =
              src[(size_t)f * kh * kw * C + ((size_t)dy * kw + dx) * C + ch];
  return w;
}

static const char *const kind_names[] = {"dense", "conv", "flatten", "dueling"};

/* The layouts export writes: what nn_layout_build makes (convs on an image input, a flatten
 * before the dense layers, a dueling head last). 0, or -1 naming the layer. */
static int check_layout(const nn_layout_t *l, char *err, size_t errlen) {
  int image = l->shape[0][0] > 0;
  for (int i = 0; i < l->n_layers; i++) {
    int k = (int)l->kind[i];
    const char *name = k >= 0 && k < 4 ? kind_names[k] : "unknown";
    int ok = k >= 0 && k < 4;
    if (k == NN_CONV) ok = image && l->kh[i] >= 1 && l->kw[i] >= 1 && l->shape[i + 1][0] > 0;
    if (k == NN_FLATTEN) ok = image;
    if (k == NN_DENSE) ok = !image;
    if (k == NN_DUELING) ok = !image && i + 1 == l->n_layers;
    if (!ok) {
      snprintf(err, errlen, "export: layer %d (%s) does not follow an nn_layout_build network", i,
               name);
      return -1;
    }
    if (k == NN_FLATTEN) image = 0;
  }
  if (image) return snprintf(err, errlen, "export: the network ends in an image"), -1;
  return 0;
}

/* Walks the layout: the initializers into g->tens and (nodes = 1) the graph's nodes. */
static void build_graph(graph_build_t *g, const algo_policy_t *pol, const float *params,
                        int nodes) {
  const nn_layout_t *l = &pol->layout;
  int discrete = pol->n_actions > 0;
  char *x = "obs";
  int nchw = 0;
  for (int i = 0; i < l->n_layers && !g->failed; i++) {
    int last = i + 1 == l->n_layers;
    int in = l->sizes[i], out = l->sizes[i + 1];
    char *y = NULL;
    switch (l->kind[i]) {
      case NN_CONV: {
        const int H = l->shape[i][0], W = l->shape[i][1], C = l->shape[i][2];
        const int F = l->shape[i + 1][2], kh = l->kh[i], kw = l->kw[i];
        if (!nchw) {
          char *s = add_shape(g, "layer%d.in_shape", i, 4, -1, H, W, C);
          char *r = keep(g, "layer%d.nhwc", i), *t = keep(g, "layer%d.nchw", i);
          if (nodes) {
            add_node(g, "Reshape", x, s, NULL, r);
            static const int64_t perm[4] = {0, 3, 1, 2};
            add_attr(g, add_node(g, "Transpose", r, NULL, NULL, t), "perm", perm, 4);
          }
          x = t;
          nchw = 1;
        }
        char *w = keep(g, "layer%d.weight", i), *b = keep(g, "layer%d.bias", i);
        add_tensor(g, w, ONNX_FLOAT, conv_weight(g, l, i, params), 4, F, C, kh, kw);
        add_tensor(g, b, ONNX_FLOAT, params + l->b_off[i], 1, F, 0, 0, 0);
        y = keep(g, "layer%d.conv", i);
        if (nodes) {
          node_t *n = add_node(g, "Conv", x, w, b, y);
          int64_t ks[2] = {kh, kw}, st[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
          add_attr(g, n, "kernel_shape", ks, 2);
          add_attr(g, n, "strides", st, 2);
          add_attr(g, n, "pads", pads, 4);
        }
        break;
      }
      case NN_FLATTEN: {
        if (nchw) {
          char *s = add_shape(g, "layer%d.out_shape", i, 2, -1, in, 0, 0);
          char *t = keep(g, "layer%d.nhwc", i);
          y = keep(g, "layer%d.flat", i);
          if (nodes) {
            static const int64_t perm[4] = {0, 2, 3, 1};
            add_attr(g, add_node(g, "Transpose", x, NULL, NULL, t), "perm", perm, 4);
            add_node(g, "Reshape", t, s, NULL, y);
          }
          nchw = 0;
        }
        break;
      }
      case NN_DENSE: {
        char *w = keep(g, "layer%d.weight", i), *b = keep(g, "layer%d.bias", i);
        add_tensor(g, w, ONNX_FLOAT, params + l->w_off[i], 2, out, in, 0, 0);
        add_tensor(g, b, ONNX_FLOAT, params + l->b_off[i], 1, out, 0, 0, 0);
        y = last && discrete ? "q" : keep(g, "layer%d.gemm", i);
        if (nodes) add_int_attr(g, add_node(g, "Gemm", x, w, b, y), "transB", 1);
        break;
      }
      case NN_DUELING: {
        char *vw = keep(g, "layer%d.value.weight", i), *vb = keep(g, "layer%d.value.bias", i);
        char *aw = keep(g, "layer%d.advantage.weight", i),
             *ab = keep(g, "layer%d.advantage.bias", i);
        const float *W = params + l->w_off[i], *B = params + l->b_off[i];
        add_tensor(g, vw, ONNX_FLOAT, W, 2, 1, in, 0, 0);
        add_tensor(g, vb, ONNX_FLOAT, B, 1, 1, 0, 0, 0);
        add_tensor(g, aw, ONNX_FLOAT, W + in, 2, out, in, 0, 0);
        add_tensor(g, ab, ONNX_FLOAT, B + 1, 1, out, 0, 0, 0);
        /* v and the mean are [batch, 1]: Expand (an exact copy) widens them to [batch, A]
         * before the elementwise ops (OpenCV 4.6's dnn does not broadcast a column). The order
         * is nn.c's: (v + a) - mean. */
        char *e = add_shape(g, "layer%d.expand_shape", i, 2, 1, out, 0, 0);
        char *v = keep(g, "layer%d.value", i), *a = keep(g, "layer%d.advantage", i);
        char *ve = keep(g, "layer%d.value_wide", i), *m = keep(g, "layer%d.advantage_mean", i);
        char *me = keep(g, "layer%d.advantage_mean_wide", i), *va = keep(g, "layer%d.v_plus_a", i);
        y = last && discrete ? "q" : keep(g, "layer%d.dueling", i);
        if (nodes) {
          add_int_attr(g, add_node(g, "Gemm", x, vw, vb, v), "transB", 1);
          add_int_attr(g, add_node(g, "Gemm", x, aw, ab, a), "transB", 1);
          node_t *n = add_node(g, "ReduceMean", a, NULL, NULL, m);
          int64_t axes[1] = {1};
          add_attr(g, n, "axes", axes, 1);
          add_int_attr(g, n, "keepdims", 1);
          add_node(g, "Expand", v, e, NULL, ve);
          add_node(g, "Expand", m, e, NULL, me);
          add_node(g, "Add", ve, a, NULL, va);
          add_node(g, "Sub", va, me, NULL, y);
        }
        break;
      }
    }
    if (y) x = y;
    if (l->kind[i] != NN_FLATTEN && l->act[i] != NN_IDENTITY && !g->failed) {
      int relu = l->act[i] == NN_RELU;
      char *a = keep(g, relu ? "layer%d.relu" : "layer%d.tanh", i);
      if (nodes) add_node(g, relu ? "Relu" : "Tanh", x, NULL, NULL, a);
      x = a;
    }
  }
  if (discrete && nodes) {
    node_t *n = add_node(g, "ArgMax", x, NULL, NULL, "action");
    add_int_attr(g, n, "axis", 1);
    add_int_attr(g, n, "keepdims", 0); /* one action per row: [batch] */
  } else if (!discrete) {
    add_tensor(g, "action_scale", ONNX_FLOAT, pol->scale, 1, pol->act_dim, 0, 0, 0);
    add_tensor(g, "action_bias", ONNX_FLOAT, pol->bias, 1, pol->act_dim, 0, 0, 0);
    if (nodes) {
      add_node(g, "Mul", x, "action_scale", NULL, "action.scaled");
      add_node(g, "Add", "action.scaled", "action_bias", NULL, "action");
    }
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

/* A new build of pol's graph (nodes = 0: the initializers only), or NULL with the message. */
static graph_build_t *graph_new(const algo_policy_t *pol, const float *params, int nodes, char *err,
                                size_t errlen) {
  if (check_layout(&pol->layout, err, errlen) != 0) return NULL;
  graph_build_t *g = calloc(1, sizeof *g);
  if (g) build_graph(g, pol, params, nodes);
  if (!g || g->failed) {
    snprintf(err, errlen, "export: out of memory building the graph");
    if (g) graph_free(g);
    free(g);
    return NULL;
  }
  return g;
}

uint8_t *export_onnx(const algo_policy_t *pol, const float *params, const char *doc, size_t *len,
                     char *err, size_t errlen) {
  int discrete = pol->n_actions > 0;
  graph_build_t *g = graph_new(pol, params, 1, err, errlen);
  if (!g) return NULL;
  for (int i = 0; i < g->n_tens; i++) {
    const ex_tensor_t *e = &g->tens[i];
    tensor_t *t = &g->inits[i];
    rlserve_onnx__tensor_proto__init(t);
    t->name = e->name;
    t->has_data_type = 1;
    t->data_type = e->elem;
    t->dims = (int64_t *)e->dims;
    t->n_dims = (size_t)e->n_dims;
    /* raw_data is little-endian: the buffers' own bytes on this (LE) host. */
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)(uintptr_t)e->data;
    t->raw_data.len = e->nbytes;
    g->init_ptrs[i] = t;
  }
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
  graph.n_initializer = (size_t)g->n_tens;
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
  m.producer_version = "export-2";
  m.doc_string = (char *)doc;
  m.graph = &graph;
  m.opset_import = opsets;
  m.n_opset_import = 1;
  *len = rlserve_onnx__model_proto__get_packed_size(&m);
  uint8_t *out = malloc(*len ? *len : 1);
  if (out)
    rlserve_onnx__model_proto__pack(&m, out);
  else
    snprintf(err, errlen, "export: out of memory building the ONNX graph");
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
 * of 64 bytes ending in '\n', then the little-endian data. descr '<f4', '<i8' or '<U<n>'; n_dims
 * 0 is a scalar (shape ()). */
static void npy(bytes_t *b, const char *descr, const void *data, size_t nbytes, int n_dims,
                const int64_t *dims) {
  char shape[128] = "";
  size_t sl = 0;
  for (int i = 0; i < n_dims && sl < sizeof shape; i++)
    sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%s%lld", i ? ", " : "",
                           (long long)dims[i]);
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s%s), }",
                   descr, shape, n_dims == 1 ? "," : "");
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  put(b, "\x93NUMPY\x01\x00", 8);
  put16(b, (uint32_t)(n + pad + 1));
  put(b, hdr, (size_t)n);
  for (int i = 0; i < pad; i++) put(b, " ", 1);
  put(b, "\n", 1);
  put(b, data, nbytes);
}

typedef struct {
  char name[64];
  uint32_t crc, size, offset;
} zip_entry_t;

static void zip_add(bytes_t *z, zip_entry_t *e, const char *name, const bytes_t *f) {
  snprintf(e->name, sizeof e->name, "%s.npy", name);
  e->crc = crc32_of(f->buf, f->len);
  e->size = (uint32_t)f->len;
  e->offset = (uint32_t)z->len;
  size_t nl = strlen(e->name);
  put32(z, 0x04034b50u); /* local file header */
  put16(z, 20);          /* version needed */
  put16(z, 0);           /* flags */
  put16(z, 0);           /* stored */
  put16(z, 0);           /* time */
  put16(z, 0x21);        /* date: 1980-01-01 */
  put32(z, e->crc);
  put32(z, e->size);
  put32(z, e->size);
  put16(z, (uint32_t)nl);
  put16(z, 0);
  put(z, e->name, nl);
  put(z, f->buf, f->len);
}

uint8_t *export_npz(const algo_policy_t *pol, const float *params, size_t *len, char *err,
                    size_t errlen) {
  graph_build_t *g = graph_new(pol, params, 0, err, errlen);
  if (!g) return NULL;
  zip_entry_t ent[MAX_TENSORS + 1];
  int n_ent = 0;
  bytes_t z = {0};
  for (int t = 0; t <= g->n_tens && !z.failed; t++) {
    bytes_t f = {0};
    const char *name;
    if (t < g->n_tens) {
      const ex_tensor_t *e = &g->tens[t];
      npy(&f, e->elem == ONNX_INT64 ? "<i8" : "<f4", e->data, e->nbytes, e->n_dims, e->dims);
      name = e->name;
    } else { /* "layout": the describe line as a numpy unicode scalar (UCS-4 little-endian) */
      char desc[512];
      nn_layout_describe(&pol->layout, desc, sizeof desc);
      size_t dl = strlen(desc);
      uint32_t u[512];
      for (size_t i = 0; i < dl; i++) u[i] = (uint8_t)desc[i];
      char descr[24]; /* "<U" and up to 20 digits */
      snprintf(descr, sizeof descr, "<U%zu", dl ? dl : 1);
      if (!dl) u[0] = 0;
      npy(&f, descr, u, (dl ? dl : 1) * 4, 0, NULL);
      name = "layout";
    }
    if (!f.failed) zip_add(&z, &ent[n_ent++], name, &f);
    z.failed |= f.failed;
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
  graph_free(g);
  free(g);
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
          "        conv trunks (Reshape/Transpose to NCHW, Conv, Flatten in rlserve's order)\n"
          "        and dueling heads (q = value + advantage - ReduceMean(advantage)) included\n"
          "  npz:  the same initializers by name (layer<l>.weight [out, in] or, conv,\n"
          "        [F, C, kh, kw]; layer<l>.bias; dueling layer<l>.value.* and .advantage.*;\n"
          "        action_scale, action_bias: action = action_bias + action_scale * tanh(..))\n"
          "        and layout, the network's layers and activations as one line of text\n"
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

int policy_load_checkpoint(const checkpoint_t *ck, const char *path, const char *plugin,
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
                    "%s: no network policy for algo '%s' on env '%s' (only the learner+worker "
                    "algorithms have one)%s%s",
                    path, cfg->algo, cfg->env, why[0] ? ": " : "", why),
           -1;
  out->spec = spec;
  out->algo = algo;
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

int export_policy_load(const checkpoint_t *ck, const char *path, const char *plugin,
                       export_policy_t *out, char *err, size_t errlen) {
  if (policy_load_checkpoint(ck, path, plugin, out, err, errlen) != 0) return -1;
  char why[512];
  if (check_layout(&out->pol.layout, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s: %s (net = '%s', dueling = %d)", path, why, out->cfg.net,
             out->cfg.dueling);
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
