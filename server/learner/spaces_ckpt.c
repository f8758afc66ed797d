/* spaces_ckpt: the "spaces" checkpoint section (spaces_ckpt.h). */
#include "spaces_ckpt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAGIC "RLSPACES"

typedef struct {
  const uint8_t *p;
  size_t len, off;
  int short_read;
} reader_t;

static uint32_t rd_u(reader_t *r, int bytes) {
  if (r->len - r->off < (size_t)bytes) {
    r->short_read = 1;
    r->off = r->len;
    return 0;
  }
  uint32_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint32_t)r->p[r->off + (size_t)i] << (8 * i);
  r->off += (size_t)bytes;
  return v;
}

static float rd_f(reader_t *r) {
  uint32_t u = rd_u(r, 4);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint8_t *put_u(uint8_t *o, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; i++) *o++ = (uint8_t)(v >> (8 * i));
  return o;
}

static uint8_t *put_f(uint8_t *o, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return put_u(o, u, 4);
}

static int obs_pairs(int dim) { return dim <= ENV_MAX_DIM ? dim : 1; }

size_t spaces_ckpt_encode(const env_spec_t *s, uint8_t *out) {
  size_t idl = s->id ? strlen(s->id) : 0;
  int box = s->act.kind == ENV_BOX;
  if (idl < 1 || idl > SPACES_CKPT_MAX_ID || s->obs.dim < 1 || s->obs.dim > ENV_MAX_OBS_DIM ||
      s->act.dim < 1 || s->act.dim > ENV_MAX_DIM)
    return 0;
  uint8_t *o = out;
  memcpy(o, MAGIC, 8);
  o = put_u(o + 8, SPACES_CKPT_VERSION, 4);
  o = put_u(o, (uint32_t)idl, 2);
  memcpy(o, s->id, idl);
  o += idl;
  o = put_u(o, (uint32_t)s->obs.dim, 4);
  o = put_u(o, s->obs.binary ? 1u : 0u, 1);
  for (int i = 0; i < 3; i++)
    o = put_u(o, (uint32_t)(s->obs.shape[i] > 0 ? s->obs.shape[i] : 0), 4);
  int np = obs_pairs(s->obs.dim);
  o = put_u(o, (uint32_t)np, 4);
  for (int i = 0; i < np; i++) o = put_f(o, s->obs.low[i]);
  for (int i = 0; i < np; i++) o = put_f(o, s->obs.high[i]);
  o = put_u(o, box ? 1u : 0u, 1);
  o = put_u(o, box ? 0u : (uint32_t)s->act.n, 4);
  o = put_u(o, box ? (uint32_t)s->act.dim : 1u, 4);
  for (int i = 0; box && i < s->act.dim; i++) o = put_f(o, s->act.low[i]);
  for (int i = 0; box && i < s->act.dim; i++) o = put_f(o, s->act.high[i]);
  return (size_t)(o - out);
}

#define BAD(...) (snprintf(err, errlen, "spaces: " __VA_ARGS__), -1)

static int decode_id(reader_t *r, spaces_ckpt_t *out, char *err, size_t errlen) {
  uint32_t idl = rd_u(r, 2);
  if (r->short_read) return BAD("truncated before the env id");
  if (idl < 1 || idl > SPACES_CKPT_MAX_ID)
    return BAD("env id length %u outside 1..%d", idl, SPACES_CKPT_MAX_ID);
  if (r->len - r->off < idl) return BAD("env id of %u bytes runs past the end", idl);
  for (uint32_t i = 0; i < idl; i++) {
    uint8_t c = r->p[r->off + i];
    if (c < 0x21 || c > 0x7e)
      return BAD("env id byte %u is 0x%02x (printable ASCII expected)", i, c);
  }
  memcpy(out->id, r->p + r->off, idl);
  out->id[idl] = 0;
  r->off += idl;
  return 0;
}

static int decode_obs(reader_t *r, env_space_t *o, char *err, size_t errlen) {
  uint32_t dim = rd_u(r, 4), bin = rd_u(r, 1), shape[3], prod = 1, zero = 0;
  for (int i = 0; i < 3; i++) {
    shape[i] = rd_u(r, 4);
    zero += shape[i] == 0;
    prod = shape[i] && shape[i] <= ENV_MAX_OBS_DIM ? prod * shape[i] : 0;
  }
  uint32_t np = rd_u(r, 4);
  if (r->short_read) return BAD("truncated in the observation space");
  if (dim < 1 || dim > ENV_MAX_OBS_DIM)
    return BAD("obs_dim %u outside 1..%d", dim, ENV_MAX_OBS_DIM);
  if (bin > 1) return BAD("obs_binary is %u, expected 0 or 1", bin);
  if (zero != 3 && (zero != 0 || prod != dim))
    return BAD("obs_shape %ux%ux%u does not hold obs_dim %u", shape[0], shape[1], shape[2], dim);
  if (np != (uint32_t)obs_pairs((int)dim))
    return BAD("%u observation bound pairs for obs_dim %u, expected %d", np, dim,
               obs_pairs((int)dim));
  o->kind = ENV_BOX;
  o->dim = (int)dim;
  o->binary = (int)bin;
  for (int i = 0; i < 3; i++) o->shape[i] = (int)shape[i];
  for (uint32_t i = 0; i < np; i++) o->low[i] = rd_f(r);
  for (uint32_t i = 0; i < np; i++) o->high[i] = rd_f(r);
  if (r->short_read) return BAD("truncated in the observation bounds");
  for (uint32_t i = 0; i < np; i++) {
    if (isnan(o->low[i]) || isnan(o->high[i]) || !(o->low[i] <= o->high[i]))
      return BAD("observation bounds [%g, %g] of element %u: low <= high expected",
                 (double)o->low[i], (double)o->high[i], i);
    if (bin && (o->low[i] != 0.0f || o->high[i] != 1.0f))
      return BAD("binary observations with bounds [%g, %g] at element %u", (double)o->low[i],
                 (double)o->high[i], i);
  }
  return 0;
}

static int decode_act(reader_t *r, env_space_t *a, char *err, size_t errlen) {
  uint32_t kind = rd_u(r, 1), n = rd_u(r, 4), dim = rd_u(r, 4);
  if (r->short_read) return BAD("truncated in the action space");
  if (kind > 1) return BAD("act_kind %u, expected 0 (discrete) or 1 (box)", kind);
  if (kind == 0) {
    if (n < 1 || n > SPACES_CKPT_MAX_ACTIONS || dim != 1)
      return BAD("discrete actions: act_n %u (1..%d), act_dim %u (1)", n, SPACES_CKPT_MAX_ACTIONS,
                 dim);
    a->kind = ENV_DISCRETE;
    a->n = (int)n;
    a->dim = 1;
    return 0;
  }
  if (n != 0 || dim < 1 || dim > ENV_MAX_DIM)
    return BAD("box actions: act_n %u (0), act_dim %u (1..%d)", n, dim, ENV_MAX_DIM);
  a->kind = ENV_BOX;
  a->dim = (int)dim;
  for (uint32_t i = 0; i < dim; i++) a->low[i] = rd_f(r);
  for (uint32_t i = 0; i < dim; i++) a->high[i] = rd_f(r);
  if (r->short_read) return BAD("truncated in the action bounds");
  for (uint32_t i = 0; i < dim; i++)
    if (!isfinite(a->low[i]) || !isfinite(a->high[i]) || !(a->low[i] < a->high[i]))
      return BAD("action bounds [%g, %g] of dim %u: finite, low < high expected", (double)a->low[i],
                 (double)a->high[i], i);
  return 0;
}

int spaces_ckpt_decode(const uint8_t *p, size_t len, spaces_ckpt_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  reader_t r = {p, len, 0, 0};
  if (len < 12 || memcmp(p, MAGIC, 8) != 0) return BAD("not a spaces section (bad magic)");
  r.off = 8;
  uint32_t ver = rd_u(&r, 4);
  if (ver != SPACES_CKPT_VERSION)
    return BAD("version %u, this build reads %d", ver, SPACES_CKPT_VERSION);
  env_spec_t *s = &out->spec;
  if (decode_id(&r, out, err, errlen) != 0 || decode_obs(&r, &s->obs, err, errlen) != 0 ||
      decode_act(&r, &s->act, err, errlen) != 0)
    return -1;
  if (r.off != len) return BAD("%zu stray bytes after the action space", len - r.off);
  s->id = out->id;
  s->reward_threshold = NAN;
  s->reward_low = -INFINITY;
  s->reward_high = INFINITY;
  return 0;
}

static int same_space(const env_space_t *a, const env_space_t *b, int nb) {
  if (a->kind != b->kind || a->n != b->n || a->dim != b->dim || a->binary != b->binary) return 0;
  for (int i = 0; i < 3; i++)
    if ((a->shape[i] > 0 ? a->shape[i] : 0) != (b->shape[i] > 0 ? b->shape[i] : 0)) return 0;
  for (int i = 0; i < nb; i++)
    if (a->low[i] != b->low[i] || a->high[i] != b->high[i]) return 0;
  return 1;
}

int spaces_ckpt_same(const env_spec_t *a, const env_spec_t *b) {
  return same_space(&a->obs, &b->obs, obs_pairs(a->obs.dim)) &&
         same_space(&a->act, &b->act, a->act.kind == ENV_BOX ? a->act.dim : 0);
}
