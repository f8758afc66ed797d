/* test_export: the encoders of `rlserve export` (server/cli/export_cmd.h) on hand-made policies.
 * ONNX: the model unpacks with protobuf-c, has the documented nodes (Gemm transB=1 per layer,
 * Relu/Tanh as the layout says, ArgMax axis 1 keepdims 0 for a discrete policy, Mul/Add by
 * the action map for a continuous one), initializers with the layout's shapes and exactly the
 * parameter bytes, and the typed input/outputs. npz: every zip entry's local header, CRC-32,
 * .npy header (descr, shape, 64-byte alignment) and data, and the central directory, with the
 * "layout" line last. A conv + dueling DQN (4x5x2 image, conv:3x2x2, fc:6, dueling head of 3):
 * the node sequence (Reshape, Transpose perm 0,3,1,2, Conv kernel 2x2, Relu, Transpose perm
 * 0,2,3,1, Reshape, Gemm, Relu, value and advantage Gemms, ReduceMean, Expand x2, Add, Sub,
 * ArgMax), the int64 shape vectors, the conv weight re-laid element by element to [F, C, kh,
 * kw], the value / advantage rows, and the same arrays in the npz. */
#include <stdint.h>

#include "check.h"
#include "export_cmd.h"
#include "onnx_subset.pb-c.h"

static void make_policy(algo_policy_t *p, int discrete) {
  memset(p, 0, sizeof *p);
  int hidden[2] = {5, 3};
  p->obs_dim = discrete ? 4 : 3;
  if (discrete) {
    p->act_dim = 1;
    p->n_actions = p->n_out = 2;
    nn_layout_init(&p->layout, p->obs_dim, hidden, 2, 2, NN_RELU, NN_IDENTITY);
  } else {
    p->act_dim = p->n_out = 2;
    p->scale[0] = 2.0f, p->bias[0] = 0.0f, p->scale[1] = 0.5f, p->bias[1] = 1.0f;
    nn_layout_init(&p->layout, p->obs_dim, hidden, 2, 2, NN_TANH, NN_TANH);
  }
}

/* kind 2: a conv + dueling DQN on a 4x5x2 image (nn_layout_build, as the presets' nets). */
static void make_conv_policy(algo_policy_t *p) {
  memset(p, 0, sizeof *p);
  nn_spec_t sp;
  char err[256];
  int shape[3] = {4, 5, 2};
  CHECK(nn_spec_parse(&sp, "conv:3x2x2,fc:6", err, sizeof err) == 0, "%s", err);
  CHECK(
      nn_layout_build(&p->layout, &sp, 40, shape, 3, NN_RELU, NN_IDENTITY, 1, err, sizeof err) == 0,
      "%s", err);
  p->obs_dim = 40;
  p->act_dim = 1;
  p->n_actions = p->n_out = 3;
  p->weights_exact = 1;
}

static uint32_t rd32(const uint8_t *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint32_t rd16(const uint8_t *p) { return p[0] | p[1] << 8; }

static uint32_t crc32_ref(const uint8_t *p, size_t n) { /* bytewise, table-free, reflected */
  uint32_t c = ~0u;
  while (n--) {
    c ^= *p++;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
  }
  return ~c;
}

static const RlserveOnnx__TensorProto *init_named(const RlserveOnnx__GraphProto *g, const char *n) {
  for (size_t i = 0; i < g->n_initializer; i++)
    if (!strcmp(g->initializer[i]->name, n)) return g->initializer[i];
  return NULL;
}

static int64_t attr_i(const RlserveOnnx__NodeProto *n, const char *name) {
  for (size_t i = 0; i < n->n_attribute; i++)
    if (!strcmp(n->attribute[i]->name, name)) return n->attribute[i]->i;
  return -999;
}

static void check_onnx(int discrete) {
  algo_policy_t p;
  make_policy(&p, discrete);
  float params[256];
  for (size_t i = 0; i < p.layout.n_params; i++) params[i] = (float)i * 0.01f - 0.3f;
  size_t len;
  char err[256];
  uint8_t *img = export_onnx(&p, params, "doc", &len, err, sizeof err);
  CHECK(img != NULL, "export_onnx: %s", err);
  if (!img) return;
  RlserveOnnx__ModelProto *m = rlserve_onnx__model_proto__unpack(NULL, len, img);
  CHECK(m && m->graph, "the model does not unpack");
  if (!m || !m->graph) return;
  CHECK(m->ir_version == 7 && m->n_opset_import == 1 && m->opset_import[0]->version == 13,
        "ir %lld opset %lld", (long long)m->ir_version, (long long)m->opset_import[0]->version);
  const RlserveOnnx__GraphProto *g = m->graph;
  const char *want_d[] = {"Gemm", "Relu", "Gemm", "Relu", "Gemm", "ArgMax"};
  const char *want_c[] = {"Gemm", "Tanh", "Gemm", "Tanh", "Gemm", "Tanh", "Mul", "Add"};
  size_t nw = discrete ? 6 : 8;
  CHECK(g->n_node == nw, "%zu nodes, expected %zu", g->n_node, nw);
  for (size_t i = 0; i < g->n_node && i < nw; i++) {
    const char *w = discrete ? want_d[i] : want_c[i];
    CHECK(!strcmp(g->node[i]->op_type, w), "node %zu is %s, expected %s", i, g->node[i]->op_type,
          w);
    if (!strcmp(w, "Gemm")) CHECK(attr_i(g->node[i], "transB") == 1, "node %zu transB", i);
    if (i > 0) /* a chain: each node reads what the one before wrote */
      CHECK(!strcmp(g->node[i]->input[0], g->node[i - 1]->output[0]), "node %zu input %s", i,
            g->node[i]->input[0]);
  }
  if (discrete && g->n_node == 6)
    CHECK(attr_i(g->node[5], "axis") == 1 && attr_i(g->node[5], "keepdims") == 0, "argmax attrs");
  for (int l = 0; l < p.layout.n_layers; l++) {
    char wn[32], bn[32];
    snprintf(wn, sizeof wn, "layer%d.weight", l);
    snprintf(bn, sizeof bn, "layer%d.bias", l);
    const RlserveOnnx__TensorProto *w = init_named(g, wn), *b = init_named(g, bn);
    CHECK(w && b, "layer %d initializers missing", l);
    if (!w || !b) continue;
    int out = p.layout.sizes[l + 1], in = p.layout.sizes[l];
    CHECK(w->n_dims == 2 && w->dims[0] == out && w->dims[1] == in && w->data_type == 1, "%s dims",
          wn);
    CHECK(b->n_dims == 1 && b->dims[0] == out, "%s dims", bn);
    CHECK(w->raw_data.len == (size_t)out * in * 4 &&
              !memcmp(w->raw_data.data, params + p.layout.w_off[l], w->raw_data.len),
          "%s bytes", wn);
    CHECK(b->raw_data.len == (size_t)out * 4 &&
              !memcmp(b->raw_data.data, params + p.layout.b_off[l], b->raw_data.len),
          "%s bytes", bn);
  }
  if (!discrete) {
    const RlserveOnnx__TensorProto *s = init_named(g, "action_scale");
    CHECK(s && s->raw_data.len == 8 && !memcmp(s->raw_data.data, p.scale, 8), "action_scale");
  }
  CHECK(g->n_input == 1 && !strcmp(g->input[0]->name, "obs") &&
            g->input[0]->type->tensor_type->shape->n_dim == 2 &&
            g->input[0]->type->tensor_type->shape->dim[1]->dim_value == p.obs_dim,
        "input obs [batch, %d]", p.obs_dim);
  CHECK(g->n_output == (discrete ? 2u : 1u) && !strcmp(g->output[0]->name, "action") &&
            g->output[0]->type->tensor_type->elem_type == (discrete ? 7 : 1),
        "outputs");
  rlserve_onnx__model_proto__free_unpacked(m, NULL);
  free(img);
}

static void check_npz(int discrete) {
  algo_policy_t p;
  make_policy(&p, discrete);
  float params[256];
  for (size_t i = 0; i < p.layout.n_params; i++) params[i] = (float)i * -0.02f + 1.0f;
  size_t len;
  char err[256];
  uint8_t *z = export_npz(&p, params, &len, err, sizeof err);
  CHECK(z != NULL, "export_npz: %s", err);
  if (!z) return;
  int want_entries = 2 * p.layout.n_layers + (discrete ? 0 : 2) + 1, n = 0;
  char desc[512];
  nn_layout_describe(&p.layout, desc, sizeof desc);
  size_t off = 0;
  while (off + 30 <= len && rd32(z + off) == 0x04034b50u) {
    uint32_t crc = rd32(z + off + 14), size = rd32(z + off + 18), nl = rd16(z + off + 26);
    const char *name = (const char *)z + off + 30;
    const uint8_t *data = z + off + 30 + nl;
    CHECK(rd16(z + off + 8) == 0 && rd32(z + off + 22) == size, "entry %d stored", n);
    CHECK(crc32_ref(data, size) == crc, "entry %d (%.*s): CRC", n, (int)nl, name);
    CHECK(!memcmp(data, "\x93NUMPY\x01\x00", 8), "entry %d: npy magic", n);
    uint32_t hl = rd16(data + 8);
    CHECK((10 + hl) % 64 == 0 && data[10 + hl - 1] == '\n', "entry %d: header alignment", n);
    const char *hdr = (const char *)data + 10;
    if (n == want_entries - 1) { /* the layout line, UCS-4 */
      char descr[64];
      snprintf(descr, sizeof descr, "'descr': '<U%zu'", strlen(desc));
      CHECK(nl == 10 && !memcmp(name, "layout.npy", 10), "last entry %.*s", (int)nl, name);
      CHECK(strstr(hdr, descr) && strstr(hdr, "'shape': ()"), "layout header %.80s", hdr);
      size_t nbytes = size - 10 - hl, bad = nbytes != 4 * strlen(desc);
      for (size_t i = 0; !bad && i < strlen(desc); i++)
        bad = rd32(data + 10 + hl + 4 * i) != (uint8_t)desc[i];
      CHECK(!bad, "layout text is not '%s'", desc);
      off += 30 + nl + size;
      n++;
      continue;
    }
    CHECK(strstr(hdr, "'descr': '<f4'") && strstr(hdr, "'fortran_order': False"), "entry %d descr",
          n);
    const float *want = NULL;
    char shape[48];
    int layer = n / 2;
    if (layer < p.layout.n_layers) {
      int out = p.layout.sizes[layer + 1], in = p.layout.sizes[layer];
      char ename[48];
      snprintf(ename, sizeof ename, "layer%d.%s.npy", layer, n % 2 ? "bias" : "weight");
      CHECK(nl == strlen(ename) && !memcmp(name, ename, nl), "entry %d name %.*s", n, (int)nl,
            name);
      if (n % 2)
        snprintf(shape, sizeof shape, "'shape': (%d,)", out);
      else
        snprintf(shape, sizeof shape, "'shape': (%d, %d)", out, in);
      want = params + (n % 2 ? p.layout.b_off[layer] : p.layout.w_off[layer]);
    } else {
      snprintf(shape, sizeof shape, "'shape': (%d,)", p.act_dim);
      want = n % 2 ? p.bias : p.scale;
    }
    CHECK(strstr(hdr, shape) != NULL, "entry %d: %s missing in %.60s", n, shape, hdr);
    size_t nbytes = size - 10 - hl;
    CHECK(!memcmp(data + 10 + hl, want, nbytes), "entry %d data", n);
    off += 30 + nl + size;
    n++;
  }
  CHECK(n == want_entries, "%d entries, expected %d", n, want_entries);
  CHECK(off + 4 <= len && rd32(z + off) == 0x02014b50u, "central directory after the entries");
  CHECK(len >= 22 && rd32(z + len - 22) == 0x06054b50u && rd16(z + len - 12) == (uint32_t)n &&
            rd32(z + len - 6) == off,
        "end record: %u entries, directory at %u", rd16(z + len - 12), rd32(z + len - 6));
  free(z);
}

static int64_t rd64(const uint8_t *p) {
  return (int64_t)((uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32);
}

/* The int64 vector initializer `name` equals want[0..n). */
static int shape_is(const RlserveOnnx__GraphProto *g, const char *name, const int64_t *want,
                    int n) {
  const RlserveOnnx__TensorProto *t = init_named(g, name);
  if (!t || t->data_type != 7 || t->n_dims != 1 || t->dims[0] != n ||
      t->raw_data.len != (size_t)n * 8)
    return 0;
  for (int i = 0; i < n; i++)
    if (rd64(t->raw_data.data + 8 * i) != want[i]) return 0;
  return 1;
}

static int ints_attr_is(const RlserveOnnx__NodeProto *n, const char *name, const int64_t *want,
                        size_t k) {
  for (size_t i = 0; i < n->n_attribute; i++)
    if (!strcmp(n->attribute[i]->name, name))
      return n->attribute[i]->n_ints == k && !memcmp(n->attribute[i]->ints, want, k * sizeof *want);
  return 0;
}

/* The conv weight as ONNX holds it, [F, C, kh, kw], element by element from nn.c's F x (kh *
 * kw * C) rows with tap (dy, dx, ch) at (dy * kw + dx) * C + ch. */
static int conv_weight_ok(const nn_layout_t *l, const float *params, const uint8_t *raw) {
  const int C = l->shape[0][2], F = l->shape[1][2], kh = l->kh[0], kw = l->kw[0];
  for (int f = 0; f < F; f++)
    for (int c = 0; c < C; c++)
      for (int dy = 0; dy < kh; dy++)
        for (int dx = 0; dx < kw; dx++) {
          float v;
          memcpy(&v, raw + 4 * (((f * C + c) * kh + dy) * kw + dx), 4);
          if (v != params[l->w_off[0] + (size_t)f * kh * kw * C + (dy * kw + dx) * C + c]) return 0;
        }
  return 1;
}

static void check_conv_dueling(void) {
  algo_policy_t p;
  make_conv_policy(&p);
  const nn_layout_t *l = &p.layout;
  CHECK(l->n_layers == 4 && l->kind[0] == NN_CONV && l->kind[1] == NN_FLATTEN &&
            l->kind[2] == NN_DENSE && l->kind[3] == NN_DUELING && l->sizes[1] == 36,
        "layout: %d layers", l->n_layers);
  float params[1024];
  CHECK(l->n_params <= 1024, "%zu params", l->n_params);
  for (size_t i = 0; i < l->n_params; i++) params[i] = (float)i * 0.003f - 0.5f;
  size_t len;
  char err[256];
  uint8_t *img = export_onnx(&p, params, "doc", &len, err, sizeof err);
  CHECK(img != NULL, "export_onnx: %s", err);
  RlserveOnnx__ModelProto *m = img ? rlserve_onnx__model_proto__unpack(NULL, len, img) : NULL;
  CHECK(m && m->graph, "the model does not unpack");
  if (m && m->graph) {
    const RlserveOnnx__GraphProto *g = m->graph;
    const char *want[] = {"Reshape", "Transpose", "Conv", "Relu",  "Transpose",  "Reshape",
                          "Gemm",    "Relu",      "Gemm", "Gemm",  "ReduceMean", "Expand",
                          "Expand",  "Add",       "Sub",  "ArgMax"};
    size_t nw = sizeof want / sizeof want[0];
    CHECK(g->n_node == nw, "%zu nodes, expected %zu", g->n_node, nw);
    for (size_t i = 0; i < g->n_node && i < nw; i++)
      CHECK(!strcmp(g->node[i]->op_type, want[i]), "node %zu is %s, expected %s", i,
            g->node[i]->op_type, want[i]);
    if (g->n_node == nw) {
      static const int64_t to_nchw[4] = {0, 3, 1, 2}, to_nhwc[4] = {0, 2, 3, 1}, ks[2] = {2, 2},
                           one[2] = {1, 1}, zero[4] = {0, 0, 0, 0}, axes[1] = {1};
      CHECK(!strcmp(g->node[0]->input[0], "obs"), "the graph starts at obs");
      CHECK(ints_attr_is(g->node[1], "perm", to_nchw, 4), "Transpose to NCHW");
      CHECK(ints_attr_is(g->node[2], "kernel_shape", ks, 2) &&
                ints_attr_is(g->node[2], "strides", one, 2) &&
                ints_attr_is(g->node[2], "pads", zero, 4) &&
                !strcmp(g->node[2]->input[1], "layer0.weight"),
            "Conv attributes");
      CHECK(ints_attr_is(g->node[4], "perm", to_nhwc, 4), "Transpose back to NHWC");
      CHECK(ints_attr_is(g->node[10], "axes", axes, 1) && attr_i(g->node[10], "keepdims") == 1,
            "ReduceMean axis 1 keepdims");
      CHECK(!strcmp(g->node[8]->input[1], "layer3.value.weight") &&
                !strcmp(g->node[9]->input[1], "layer3.advantage.weight"),
            "value and advantage streams");
      CHECK(!strcmp(g->node[14]->output[0], "q") && !strcmp(g->node[15]->input[0], "q"),
            "q is Sub's output and ArgMax's input");
    }
    static const int64_t in_shape[4] = {-1, 4, 5, 2}, out_shape[2] = {-1, 36}, ex[2] = {1, 3};
    CHECK(shape_is(g, "layer0.in_shape", in_shape, 4), "layer0.in_shape");
    CHECK(shape_is(g, "layer1.out_shape", out_shape, 2), "layer1.out_shape");
    CHECK(shape_is(g, "layer3.expand_shape", ex, 2), "layer3.expand_shape");
    const RlserveOnnx__TensorProto *cw = init_named(g, "layer0.weight"),
                                   *cb = init_named(g, "layer0.bias");
    CHECK(cw && cw->n_dims == 4 && cw->dims[0] == 3 && cw->dims[1] == 2 && cw->dims[2] == 2 &&
              cw->dims[3] == 2 && cw->raw_data.len == 24 * 4 &&
              conv_weight_ok(l, params, cw->raw_data.data),
          "layer0.weight [3, 2, 2, 2] re-laid from the nn.c rows");
    CHECK(cb && cb->n_dims == 1 && cb->dims[0] == 3 &&
              !memcmp(cb->raw_data.data, params + l->b_off[0], 12),
          "layer0.bias");
    struct {
      const char *name;
      int d0, d1;
      size_t off;
    } ws[] = {{"layer2.weight", 6, 36, l->w_off[2]},
              {"layer2.bias", 6, 0, l->b_off[2]},
              {"layer3.value.weight", 1, 6, l->w_off[3]},
              {"layer3.value.bias", 1, 0, l->b_off[3]},
              {"layer3.advantage.weight", 3, 6, l->w_off[3] + 6},
              {"layer3.advantage.bias", 3, 0, l->b_off[3] + 1}};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
      const RlserveOnnx__TensorProto *t = init_named(g, ws[i].name);
      size_t cnt = (size_t)ws[i].d0 * (ws[i].d1 ? ws[i].d1 : 1);
      CHECK(t && t->n_dims == (ws[i].d1 ? 2u : 1u) && t->dims[0] == ws[i].d0 &&
                (!ws[i].d1 || t->dims[1] == ws[i].d1) && t->raw_data.len == cnt * 4 &&
                !memcmp(t->raw_data.data, params + ws[i].off, cnt * 4),
            "%s [%d, %d] and its bytes", ws[i].name, ws[i].d0, ws[i].d1);
    }
    CHECK(g->n_initializer == 11, "%zu initializers, expected 11", g->n_initializer);
    /* npz: the same arrays by the same names (.npy), then the layout line */
    size_t zl;
    uint8_t *z = export_npz(&p, params, &zl, err, sizeof err);
    CHECK(z != NULL, "export_npz: %s", err);
    size_t off = 0;
    size_t n = 0;
    while (z && off + 30 <= zl && rd32(z + off) == 0x04034b50u) {
      uint32_t size = rd32(z + off + 18), nl = rd16(z + off + 26);
      const char *name = (const char *)z + off + 30;
      const uint8_t *data = z + off + 30 + nl;
      uint32_t hl = rd16(data + 8);
      if (n < g->n_initializer) {
        const RlserveOnnx__TensorProto *t = g->initializer[n];
        char ename[64], sh[64] = "";
        snprintf(ename, sizeof ename, "%s.npy", t->name);
        for (size_t d = 0; d < t->n_dims; d++)
          snprintf(sh + strlen(sh), sizeof sh - strlen(sh), "%s%lld", d ? ", " : "",
                   (long long)t->dims[d]);
        char shape[80];
        snprintf(shape, sizeof shape, "'shape': (%s%s)", sh, t->n_dims == 1 ? "," : "");
        CHECK(nl == strlen(ename) && !memcmp(name, ename, nl), "npz entry %zu is %.*s, not %s", n,
              (int)nl, name, ename);
        CHECK(strstr((const char *)data + 10, t->data_type == 7 ? "'<i8'" : "'<f4'") &&
                  strstr((const char *)data + 10, shape),
              "%s: descr / %s in %.80s", ename, shape, (const char *)data + 10);
        CHECK(size - 10 - hl == t->raw_data.len &&
                  !memcmp(data + 10 + hl, t->raw_data.data, t->raw_data.len),
              "%s: the initializer's bytes", ename);
      } else {
        CHECK(nl == 10 && !memcmp(name, "layout.npy", 10), "last entry %.*s", (int)nl, name);
      }
      off += 30 + nl + size;
      n++;
    }
    CHECK(n == g->n_initializer + 1, "%zu npz entries, expected %zu", n, g->n_initializer + 1);
    free(z);
  }
  if (m) rlserve_onnx__model_proto__free_unpacked(m, NULL);
  free(img);
}

int main(void) {
  check_onnx(1);
  check_onnx(0);
  check_npz(1);
  check_npz(0);
  check_conv_dueling();
  printf(
      "export: ONNX graphs and npz archives of a discrete and a continuous policy and of a "
      "conv + dueling DQN checked\n");
  CHECK_DONE();
}
