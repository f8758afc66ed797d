/* test_export: the encoders of `rlserve export` (server/cli/export_cmd.h) on hand-made policies.
 * ONNX: the model unpacks with protobuf-c, has the documented nodes (Gemm transB=1 per layer,
 * Relu/Tanh as the layout says, ArgMax axis 1 keepdims 0 for a discrete policy, Mul/Add by
 * the action map for a continuous one), initializers with the layout's shapes and exactly the
 * parameter bytes, and the typed input/outputs. npz: every zip entry's local header, CRC-32,
 * .npy header (descr, shape, 64-byte alignment) and data, and the central directory. */
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
  int want_entries = 2 * p.layout.n_layers + (discrete ? 0 : 2), n = 0;
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

int main(void) {
  check_onnx(1);
  check_onnx(0);
  check_npz(1);
  check_npz(0);
  printf("export: ONNX graphs and npz archives of a discrete and a continuous policy checked\n");
  CHECK_DONE();
}
