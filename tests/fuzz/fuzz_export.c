/* libFuzzer target: the export path of `rlserve export` in memory. The input is a checkpoint
 * image without its checksum (the target appends the plain BLAKE2b, so mutations reach the
 * sections instead of stopping at the hash): checkpoint_parse -> export_policy_load (config,
 * online, layout and, for env = worker:ID, the spaces section) -> export_onnx and export_npz.
 * Every refusal must carry a message; an accepted policy must export to an ONNX model that
 * unpacks with the layout's initializers (dense, conv re-laid to [F, C, kh, kw], flatten and
 * Reshape shapes, dueling value/advantage streams: shapes and raw bytes from the parameters)
 * and an npz whose central directory lists the same arrays by name with their exact sizes, then
 * the layout line. Seeds (gen_corpus): dense DQN and DDPG, a worker-side env, a MinAtar conv +
 * dueling DQN and a CartPole dueling DQN. */
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

static int64_t rd64(const uint8_t *p) {
  return (int64_t)((uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32);
}

/* The float initializer `name`: dims d[0..nd) and count floats equal to want (NULL: unchecked). */
static void expect_float(const RlserveOnnx__GraphProto *g, const char *name, int nd,
                         const int64_t *d, const float *want) {
  const RlserveOnnx__TensorProto *t = init_named(g, name);
  EXPECT(t && t->data_type == 1 && t->n_dims == (size_t)nd);
  size_t count = 1;
  for (int i = 0; i < nd; i++) {
    EXPECT(t->dims[i] == d[i] && d[i] > 0);
    count *= (size_t)d[i];
  }
  EXPECT(t->raw_data.len == count * 4);
  if (want) EXPECT(!memcmp(t->raw_data.data, want, count * 4));
}

static void expect_shape(const RlserveOnnx__GraphProto *g, const char *name, int n,
                         const int64_t *v) {
  const RlserveOnnx__TensorProto *t = init_named(g, name);
  EXPECT(t && t->data_type == 7 && t->n_dims == 1 && t->dims[0] == n &&
         t->raw_data.len == (size_t)n * 8);
  for (int i = 0; i < n; i++) EXPECT(rd64(t->raw_data.data + 8 * i) == v[i]);
}

/* Every layer's initializers by the layout (conv weights re-laid to [F, C, kh, kw] compared
 * element by element), and nothing else. */
static void check_onnx(const export_policy_t *ep, const uint8_t *img, size_t len) {
  const nn_layout_t *l = &ep->pol.layout;
  RlserveOnnx__ModelProto *m = rlserve_onnx__model_proto__unpack(NULL, len, img);
  EXPECT(m && m->graph);
  const RlserveOnnx__GraphProto *g = m->graph;
  int cont = ep->pol.n_actions == 0, seen_conv = 0;
  size_t n_init = cont ? 2 : 0;
  for (int i = 0; i < l->n_layers; i++) {
    char wn[48], bn[48], sn[48];
    snprintf(wn, sizeof wn, "layer%d.weight", i);
    snprintf(bn, sizeof bn, "layer%d.bias", i);
    const int in = l->sizes[i], out = l->sizes[i + 1];
    EXPECT(l->w_off[i] <= l->n_params && l->b_off[i] <= l->n_params);
    switch (l->kind[i]) {
      case NN_CONV: {
        const int C = l->shape[i][2], F = l->shape[i + 1][2], kh = l->kh[i], kw = l->kw[i];
        int64_t d[4] = {F, C, kh, kw}, fd[1] = {F};
        EXPECT(l->w_off[i] + (size_t)F * C * kh * kw <= l->n_params);
        expect_float(g, wn, 4, d, NULL);
        const RlserveOnnx__TensorProto *t = init_named(g, wn);
        for (int f = 0; f < F; f++)
          for (int c = 0; c < C; c++)
            for (int dy = 0; dy < kh; dy++)
              for (int dx = 0; dx < kw; dx++) {
                float v;
                memcpy(&v, t->raw_data.data + 4 * ((((size_t)f * C + c) * kh + dy) * kw + dx), 4);
                float want = ep->params[l->w_off[i] + (size_t)f * kh * kw * C +
                                        ((size_t)dy * kw + dx) * C + c];
                EXPECT(memcmp(&v, &want, 4) == 0);
              }
        expect_float(g, bn, 1, fd, ep->params + l->b_off[i]);
        n_init += 2;
        if (!seen_conv) {
          int64_t v[4] = {-1, l->shape[i][0], l->shape[i][1], C};
          snprintf(sn, sizeof sn, "layer%d.in_shape", i);
          expect_shape(g, sn, 4, v);
          n_init++;
        }
        seen_conv = 1;
        break;
      }
      case NN_FLATTEN: { /* after a conv: back from NCHW; of the input image: nothing */
        int64_t v[2] = {-1, in};
        snprintf(sn, sizeof sn, "layer%d.out_shape", i);
        if (seen_conv) {
          expect_shape(g, sn, 2, v);
          n_init++;
        } else {
          EXPECT(!init_named(g, sn));
        }
        seen_conv = 0;
        break;
      }
      case NN_DENSE: {
        int64_t d[2] = {out, in}, bd[1] = {out};
        EXPECT(l->w_off[i] + (size_t)out * in <= l->n_params && l->b_off[i] + out <= l->n_params);
        expect_float(g, wn, 2, d, ep->params + l->w_off[i]);
        expect_float(g, bn, 1, bd, ep->params + l->b_off[i]);
        n_init += 2;
        break;
      }
      case NN_DUELING: {
        int64_t vd[2] = {1, in}, one[1] = {1}, ad[2] = {out, in}, abd[1] = {out}, ex[2] = {1, out};
        EXPECT(l->w_off[i] + (size_t)(out + 1) * in <= l->n_params);
        snprintf(wn, sizeof wn, "layer%d.value.weight", i);
        expect_float(g, wn, 2, vd, ep->params + l->w_off[i]);
        snprintf(wn, sizeof wn, "layer%d.value.bias", i);
        expect_float(g, wn, 1, one, ep->params + l->b_off[i]);
        snprintf(wn, sizeof wn, "layer%d.advantage.weight", i);
        expect_float(g, wn, 2, ad, ep->params + l->w_off[i] + in);
        snprintf(wn, sizeof wn, "layer%d.advantage.bias", i);
        expect_float(g, wn, 1, abd, ep->params + l->b_off[i] + 1);
        snprintf(sn, sizeof sn, "layer%d.expand_shape", i);
        expect_shape(g, sn, 2, ex);
        n_init += 5;
        break;
      }
      default:
        EXPECT(0);
    }
  }
  EXPECT(g->n_initializer == n_init);
  EXPECT(l->sizes[0] == ep->pol.obs_dim && l->sizes[l->n_layers] == ep->pol.n_out);
  rlserve_onnx__model_proto__free_unpacked(m, NULL);
}

/* The npz's end-of-central-directory record and each central entry's size against the .npy of
 * the ONNX initializer in the same position (header + data), then the layout line (UCS-4). */
static void check_npz(const export_policy_t *ep, const uint8_t *onnx, size_t onnx_len,
                      const uint8_t *z, size_t len) {
  RlserveOnnx__ModelProto *m = rlserve_onnx__model_proto__unpack(NULL, onnx_len, onnx);
  EXPECT(m && m->graph);
  const RlserveOnnx__GraphProto *g = m->graph;
  size_t want = g->n_initializer + 1;
  char desc[512];
  nn_layout_describe(&ep->pol.layout, desc, sizeof desc);
  EXPECT(len >= 22 && rd32(z + len - 22) == 0x06054b50u);
  EXPECT(rd16(z + len - 12) == want);
  size_t cd = rd32(z + len - 6), off = cd;
  for (size_t e = 0; e < want; e++) {
    EXPECT(off + 46 <= len && rd32(z + off) == 0x02014b50u);
    size_t size = rd32(z + off + 20), nl = rd16(z + off + 28), local = rd32(z + off + 42);
    size_t nbytes = e < g->n_initializer ? g->initializer[e]->raw_data.len : 4 * strlen(desc);
    const char *name = e < g->n_initializer ? g->initializer[e]->name : "layout";
    EXPECT(nl == strlen(name) + 4 && off + 46 + nl <= len && !memcmp(z + off + 46, name, nl - 4));
    /* .npy: a 10-byte preamble and a header padded to 64 bytes, then the data. */
    EXPECT(size >= nbytes + 64 && (size - nbytes) % 64 == 0);
    EXPECT(local + 30 + nl + size <= cd);
    off += 46 + nl;
  }
  rlserve_onnx__model_proto__free_unpacked(m, NULL);
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
  size_t len = 0, zlen = 0;
  uint8_t *img = export_onnx(&ep.pol, ep.params, "fuzz", &len, err, sizeof err);
  EXPECT(img);
  check_onnx(&ep, img, len);
  uint8_t *z = export_npz(&ep.pol, ep.params, &zlen, err, sizeof err);
  EXPECT(z);
  check_npz(&ep, img, len, z, zlen);
  free(z);
  free(img);
  export_policy_free(&ep);
  checkpoint_free(&ck);
  return 0;
}
