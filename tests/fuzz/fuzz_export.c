/* libFuzzer target: the export path of `rlserve export` in memory. The input is a checkpoint
 * image without its checksum (the target appends the plain BLAKE2b, so mutations reach the
 * sections instead of stopping at the hash): checkpoint_parse -> export_policy_load (config,
 * online, layout and, for env = worker:ID, the spaces section) -> export_onnx and export_npz.
 * Every refusal must carry a message; an accepted policy must export to an ONNX model that
 * unpacks with the layout's initializers (shapes and raw bytes equal to the parameters) and an
 * npz whose central directory lists the layout's arrays with their exact sizes. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "export_cmd.h"
#include "onnx_subset.pb-c.h"

#define EXPECT(c)      \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static uint32_t rd32(const uint8_t *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint32_t rd16(const uint8_t *p) { return p[0] | p[1] << 8; }

static const RlserveOnnx__TensorProto *init_named(const RlserveOnnx__GraphProto *g, const char *n) {
  for (size_t i = 0; i < g->n_initializer; i++)
    if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, n)) return g->initializer[i];
  return NULL;
}

static void check_onnx(const export_policy_t *ep, const uint8_t *img, size_t len) {
  const nn_layout_t *l = &ep->pol.layout;
  RlserveOnnx__ModelProto *m = rlserve_onnx__model_proto__unpack(NULL, len, img);
  EXPECT(m && m->graph);
  const RlserveOnnx__GraphProto *g = m->graph;
  int cont = ep->pol.n_actions == 0;
  EXPECT(g->n_initializer == (size_t)(2 * l->n_layers + (cont ? 2 : 0)));
  for (int i = 0; i < l->n_layers; i++) {
    char wn[32], bn[32];
    snprintf(wn, sizeof wn, "layer%d.weight", i);
    snprintf(bn, sizeof bn, "layer%d.bias", i);
    const RlserveOnnx__TensorProto *w = init_named(g, wn), *b = init_named(g, bn);
    EXPECT(w && b && w->n_dims == 2 && b->n_dims == 1);
    EXPECT(w->dims[0] == l->sizes[i + 1] && w->dims[1] == l->sizes[i] &&
           b->dims[0] == l->sizes[i + 1]);
    size_t nw = (size_t)l->sizes[i + 1] * (size_t)l->sizes[i], nb = (size_t)l->sizes[i + 1];
    EXPECT(l->w_off[i] + nw <= l->n_params && l->b_off[i] + nb <= l->n_params);
    EXPECT(w->raw_data.len == nw * 4 &&
           !memcmp(w->raw_data.data, ep->params + l->w_off[i], nw * 4));
    EXPECT(b->raw_data.len == nb * 4 &&
           !memcmp(b->raw_data.data, ep->params + l->b_off[i], nb * 4));
  }
  EXPECT(l->sizes[0] == ep->pol.obs_dim && l->sizes[l->n_layers] == ep->pol.n_out);
  rlserve_onnx__model_proto__free_unpacked(m, NULL);
}

/* The npz's end-of-central-directory record and each central entry's size against the .npy of
 * the layout's arrays (header + data). */
static void check_npz(const export_policy_t *ep, const uint8_t *z, size_t len) {
  const nn_layout_t *l = &ep->pol.layout;
  int cont = ep->pol.n_actions == 0;
  size_t want = (size_t)(2 * l->n_layers + (cont ? 2 : 0));
  EXPECT(len >= 22 && rd32(z + len - 22) == 0x06054b50u);
  EXPECT(rd16(z + len - 12) == want);
  size_t cd = rd32(z + len - 6), off = cd;
  for (size_t e = 0; e < want; e++) {
    EXPECT(off + 46 <= len && rd32(z + off) == 0x02014b50u);
    size_t size = rd32(z + off + 20), nl = rd16(z + off + 28), local = rd32(z + off + 42);
    int layer = (int)(e / 2), bias = (int)(e % 2);
    size_t count = layer < l->n_layers
                       ? (size_t)l->sizes[layer + 1] * (bias ? 1 : (size_t)l->sizes[layer])
                       : (size_t)ep->pol.act_dim;
    /* .npy: a 10-byte preamble and a header padded to 64 bytes, then the float32s. */
    EXPECT(size >= count * 4 + 64 && (size - count * 4) % 64 == 0);
    EXPECT(local + 30 + nl + size <= cd);
    off += 46 + nl;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (4u << 20) || sodium_init() < 0) return 0;
  uint8_t *buf = malloc(size + 32);
  if (!buf) return 0;
  memcpy(buf, data, size);
  crypto_generichash(buf + size, 32, buf, size, NULL, 0);
  checkpoint_t ck;
  char err[1024] = "";
  if (checkpoint_parse("fuzz.ckpt", buf, size + 32, &ck, NULL, err, sizeof err) != 0) {
    EXPECT(err[0]);
    return 0;
  }
  export_policy_t ep;
  err[0] = 0;
  if (export_policy_load(&ck, "fuzz.ckpt", NULL, &ep, err, sizeof err) != 0) {
    EXPECT(err[0]);
    checkpoint_free(&ck);
    return 0;
  }
  size_t len = 0;
  uint8_t *img = export_onnx(&ep.pol, ep.params, "fuzz", &len, err, sizeof err);
  EXPECT(img);
  check_onnx(&ep, img, len);
  free(img);
  img = export_npz(&ep.pol, ep.params, &len, err, sizeof err);
  EXPECT(img);
  check_npz(&ep, img, len);
  free(img);
  export_policy_free(&ep);
  checkpoint_free(&ck);
  return 0;
}
