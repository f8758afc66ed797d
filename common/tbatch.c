/* tbatch: transition batches as msgpack maps. See tbatch.h and proto/README.md.
 *
 * Decoding is two passes. A bounds-only scan walks the msgpack bytes first (no allocation):
 * msgpack-c allocates an array's or map's element storage when it reads the header, before
 * the elements arrive, so a 5-byte "array32 of 4294967295" would cost it ~100 GB. The scan
 * rejects truncated input, counts too large for the bytes present, and more than
 * TBATCH_MAX_OBJECTS objects, so msgpack-c's zone stays under a few MiB. msgpack-c then
 * builds the object tree; bin and str objects point into the input (msgpack_unpack_next
 * does not copy them), which the decoder verifies before handing the pointers out. */
#include "tbatch.h"

#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "f32le.h"
#include "frame.h"
#include "obsbits.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "tbatch arrays are raw little-endian float32: add byte swapping for this host");

#define TBATCH_VERSION 1

/* ---- encode ---- */

static int pack_key(msgpack_packer *pk, const char *k) {
  size_t n = strlen(k);
  return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, k, n);
}

static int pack_bin(msgpack_packer *pk, const char *k, const void *data, uint64_t n) {
  if (n > UINT32_MAX || (n && !data)) return -1;
  if (pack_key(pk, k) || msgpack_pack_bin(pk, (size_t)n)) return -1;
  return n ? msgpack_pack_bin_body(pk, data, (size_t)n) : 0;
}

uint8_t *tbatch_encode(const tbatch_t *b, size_t *frame_len) {
  uint64_t obs_bytes, act_bytes, rew_bytes = (uint64_t)b->n * 4, flag_bytes = b->n;
  if (b->obs_enc != TBATCH_OBS_F32 && b->obs_enc != TBATCH_OBS_BITS) return NULL;
  int bits = b->obs_enc == TBATCH_OBS_BITS;
  uint64_t obs_row = bits ? obsbits_bytes(b->obs_dim) : (uint64_t)b->obs_dim * 4;
  if (__builtin_mul_overflow((uint64_t)b->n, obs_row, &obs_bytes) ||
      __builtin_mul_overflow((uint64_t)b->n, (uint64_t)b->act_dim * 4, &act_bytes))
    return NULL;
  if (obs_bytes > FRAME_MAX_PAYLOAD || act_bytes > FRAME_MAX_PAYLOAD) return NULL;
  /* Keys, scalars and bin headers take under 128 bytes; size the buffer once. */
  uint64_t opt_bytes =
      (b->disc ? rew_bytes + 16 : 0) + (b->prio ? rew_bytes + 16 : 0) + (bits ? 16 : 0);
  uint64_t est =
      FRAME_HEADER_SIZE + 128 + 2 * obs_bytes + act_bytes + rew_bytes + flag_bytes + opt_bytes;
  if (est - FRAME_HEADER_SIZE - 128 - opt_bytes > FRAME_MAX_PAYLOAD) return NULL;

  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  sb.data = malloc((size_t)est);
  if (!sb.data) return NULL;
  sb.alloc = (size_t)est;
  /* Reserve the frame header; it is filled in once the payload length is known. */
  memset(sb.data, 0, FRAME_HEADER_SIZE);
  sb.size = FRAME_HEADER_SIZE;

  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int rc = msgpack_pack_map(&pk, 11 + (b->disc != NULL) + (b->prio != NULL) + bits);
  rc = rc || pack_key(&pk, "v") || msgpack_pack_uint32(&pk, TBATCH_VERSION);
  rc = rc || pack_key(&pk, "n") || msgpack_pack_uint32(&pk, b->n);
  rc = rc || pack_key(&pk, "obs_dim") || msgpack_pack_uint32(&pk, b->obs_dim);
  rc = rc || pack_key(&pk, "act_dim") || msgpack_pack_uint32(&pk, b->act_dim);
  rc = rc || pack_key(&pk, "wv") || msgpack_pack_uint64(&pk, b->weights_version);
  rc = rc || pack_key(&pk, "wid") || msgpack_pack_uint32(&pk, b->worker_id);
  rc = rc || pack_bin(&pk, "obs", b->obs, obs_bytes);
  rc = rc || pack_bin(&pk, "act", b->act, act_bytes);
  rc = rc || pack_bin(&pk, "rew", b->rew, rew_bytes);
  rc = rc || pack_bin(&pk, "next_obs", b->next_obs, obs_bytes);
  rc = rc || pack_bin(&pk, "flags", b->flags, flag_bytes);
  if (b->disc) rc = rc || pack_bin(&pk, "disc", b->disc, rew_bytes);
  if (b->prio) rc = rc || pack_bin(&pk, "prio", b->prio, rew_bytes);
  if (bits)
    rc = rc || pack_key(&pk, "obs_enc") || msgpack_pack_str(&pk, 4) ||
         msgpack_pack_str_body(&pk, "bits", 4);
  size_t payload = sb.size - FRAME_HEADER_SIZE;
  if (rc || payload > FRAME_MAX_PAYLOAD) {
    msgpack_sbuffer_destroy(&sb);
    return NULL;
  }
  frame_header_encode((uint8_t *)sb.data, FRAME_TRANSITIONS, (uint32_t)payload);
  *frame_len = sb.size;
  return (uint8_t *)msgpack_sbuffer_release(&sb);
}

/* ---- bounds-only scan ---- */

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

/* One msgpack object's header, as the scan reads it. */
typedef struct {
  size_t fixed;      /* header bytes incl. the type byte */
  int lenbytes;      /* width of a big-endian length right after the type byte */
  uint64_t body;     /* payload bytes after the header */
  uint64_t children; /* objects that follow as elements (a map's keys and values) */
} mp_head_t;

/* Types whose header is the type byte alone: fixint, nil, bool, fixmap, fixarray, fixstr.
 * 1 (h filled) if t is one, else 0. */
static int mp_fix_types(uint8_t t, mp_head_t *h) {
  if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
    /* fixint, nil, bool */
  } else if (t <= 0x8f) {
    h->children = 2u * (t & 0x0f);
  } else if (t <= 0x9f) {
    h->children = t & 0x0f;
  } else if (t <= 0xbf) {
    h->body = t & 0x1f;
  } else {
    return 0;
  }
  return 1;
}

/* bin, str and ext: a length of 1, 2 or 4 bytes (ext: and a type byte). 1 (h filled) if t is
 * one, else 0. */
static int mp_str_bin_ext(uint8_t t, mp_head_t *h) {
  switch (t) {
    case 0xc4:
    case 0xd9:
      h->lenbytes = 1;
      return 1; /* bin8, str8 */
    case 0xc5:
    case 0xda:
      h->lenbytes = 2;
      return 1; /* bin16, str16 */
    case 0xc6:
    case 0xdb:
      h->lenbytes = 4;
      return 1; /* bin32, str32 */
    case 0xc7:
      h->lenbytes = 1;
      h->fixed = 2;
      return 1; /* ext8 (+type byte) */
    case 0xc8:
      h->lenbytes = 2;
      h->fixed = 2;
      return 1;
    case 0xc9:
      h->lenbytes = 4;
      h->fixed = 2;
      return 1;
    default:
      return 0;
  }
}

/* Fixed-size scalars: float, uint, int, fixext. 1 (h filled) if t is one, else 0. */
static int mp_scalar(uint8_t t, mp_head_t *h) {
  switch (t) {
    case 0xca:
      h->body = 4;
      return 1;
    case 0xcb:
      h->body = 8;
      return 1;
    case 0xcc:
    case 0xd0:
      h->body = 1;
      return 1;
    case 0xcd:
    case 0xd1:
      h->body = 2;
      return 1;
    case 0xce:
    case 0xd2:
      h->body = 4;
      return 1;
    case 0xcf:
    case 0xd3:
      h->body = 8;
      return 1;
    case 0xd4:
      h->body = 2;
      return 1; /* fixext: type byte + 1,2,4,8,16 */
    case 0xd5:
      h->body = 3;
      return 1;
    case 0xd6:
      h->body = 5;
      return 1;
    case 0xd7:
      h->body = 9;
      return 1;
    case 0xd8:
      h->body = 17;
      return 1;
    default:
      return 0;
  }
}

/* array16/32, map16/32 at p[off] (0xdc..0xdf): a count of 2 or 4 bytes, checked present
 * before it is read. 0, or -1 with a message. */
static int mp_container(const uint8_t *p, size_t len, size_t off, mp_head_t *h, char *err,
                        size_t errlen) {
  uint8_t t = p[off];
  int w = (t == 0xdc || t == 0xde) ? 2 : 4;
  if (len - off - 1 < (size_t)w)
    return errmsg(err, errlen, "transitions: msgpack truncated at byte %zu of %zu", off, len);
  uint64_t cnt = be(p + off + 1, w);
  h->children = (t >= 0xde) ? 2 * cnt : cnt;
  h->fixed = 1 + (size_t)w;
  return 0;
}

/* The header of the object at p[off] (off < len), its length read once checked present, and a
 * check that header and body fit in the len - off bytes left. 0, or -1 with a message. */
static int mp_head(const uint8_t *p, size_t len, size_t off, mp_head_t *h, char *err,
                   size_t errlen) {
  uint8_t t = p[off];
  *h = (mp_head_t){.fixed = 1};
  if (mp_fix_types(t, h) || mp_str_bin_ext(t, h) || mp_scalar(t, h)) {
    /* h filled */
  } else if (t >= 0xdc && t <= 0xdf) {
    if (mp_container(p, len, off, h, err, errlen)) return -1;
  } else { /* 0xc1 */
    return errmsg(err, errlen, "transitions: invalid msgpack byte 0x%02x at offset %zu", t, off);
  }
  if (h->lenbytes) {
    if (len - off < h->fixed + (size_t)h->lenbytes)
      return errmsg(err, errlen, "transitions: msgpack truncated at byte %zu of %zu", off, len);
    h->body = be(p + off + 1, h->lenbytes);
    h->fixed += (size_t)h->lenbytes;
  }
  if (len - off < h->fixed || len - off - h->fixed < h->body)
    return errmsg(err, errlen,
                  "transitions: msgpack object at offset %zu needs %llu bytes, %zu left", off,
                  (unsigned long long)(h->fixed + h->body), len - off);
  return 0;
}

/* Walks one msgpack object starting at p[0]; sets *end to its length. Checks every length
 * against the bytes present before using it, and that no container announces more elements
 * than bytes remain (each element takes at least one). */
static int mp_scan(const uint8_t *p, size_t len, size_t *end, char *err, size_t errlen) {
  size_t off = 0;
  uint64_t pending = 1, objects = 0;
  while (pending) {
    if (off >= len)
      return errmsg(err, errlen, "transitions: msgpack truncated at byte %zu of %zu", off, len);
    if (++objects > TBATCH_MAX_OBJECTS)
      return errmsg(err, errlen, "transitions: more than %d msgpack objects", TBATCH_MAX_OBJECTS);
    pending--;
    mp_head_t h;
    if (mp_head(p, len, off, &h, err, errlen)) return -1;
    off += h.fixed + (size_t)h.body;
    pending += h.children;
    if (pending > len - off)
      return errmsg(
          err, errlen,
          "transitions: msgpack container at offset %zu announces %llu elements, only %zu "
          "bytes left",
          off - h.fixed, (unsigned long long)h.children, len - off);
  }
  *end = off;
  return 0;
}

/* ---- decode ---- */

static const char *mp_type_name(msgpack_object_type t) {
  switch (t) {
    case MSGPACK_OBJECT_NIL:
      return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
      return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
      return "unsigned int";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
      return "negative int";
    case MSGPACK_OBJECT_FLOAT32:
      return "float32";
    case MSGPACK_OBJECT_FLOAT64:
      return "float64";
    case MSGPACK_OBJECT_STR:
      return "str";
    case MSGPACK_OBJECT_ARRAY:
      return "array";
    case MSGPACK_OBJECT_MAP:
      return "map";
    case MSGPACK_OBJECT_BIN:
      return "bin";
    case MSGPACK_OBJECT_EXT:
      return "ext";
    default:
      return "unknown";
  }
}

enum {
  K_V,
  K_N,
  K_OBS_DIM,
  K_ACT_DIM,
  K_WV,
  K_WID,
  K_OBS,
  K_ACT,
  K_REW,
  K_NEXT_OBS,
  K_FLAGS,
  K_REQUIRED, /* the keys above must be present, those below may be */
  K_DISC = K_REQUIRED,
  K_PRIO,
  K_OBS_ENC,
  K_END
};
static const char *const key_names[K_END] = {"v",   "n",   "obs_dim",  "act_dim", "wv",
                                             "wid", "obs", "act",      "rew",     "next_obs",
                                             "flags", "disc", "prio", "obs_enc"};

static int key_index(const msgpack_object *k) {
  if (k->type != MSGPACK_OBJECT_STR) return -1;
  for (int i = 0; i < K_END; i++) {
    size_t n = strlen(key_names[i]);
    if (k->via.str.size == n && !memcmp(k->via.str.ptr, key_names[i], n)) return i;
  }
  return -1;
}

static int get_uint(const msgpack_object *o, int key, uint64_t max, uint64_t *v, char *err,
                    size_t errlen) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return errmsg(err, errlen, "transitions: key \"%s\" must be an unsigned int, got %s",
                  key_names[key], mp_type_name(o->type));
  if (o->via.u64 > max)
    return errmsg(err, errlen, "transitions: %s is %llu, over %llu", key_names[key],
                  (unsigned long long)o->via.u64, (unsigned long long)max);
  *v = o->via.u64;
  return 0;
}

/* A bin of exactly n*dim*elem bytes, pointing into [p, p+len). */
static int get_bin(const msgpack_object *o, int key, uint64_t n, uint64_t dim, uint64_t elem,
                   const char *formula, const uint8_t *p, size_t len, const void **data, char *err,
                   size_t errlen) {
  if (o->type != MSGPACK_OBJECT_BIN)
    return errmsg(err, errlen, "transitions: key \"%s\" must be a bin, got %s", key_names[key],
                  mp_type_name(o->type));
  uint64_t want;
  if (__builtin_mul_overflow(n, dim, &want) || __builtin_mul_overflow(want, elem, &want))
    return errmsg(err, errlen, "transitions: %s size %s overflows", key_names[key], formula);
  if (o->via.bin.size != want)
    return errmsg(err, errlen, "transitions: %s has %u bytes, expected %s = %llu", key_names[key],
                  o->via.bin.size, formula, (unsigned long long)want);
  const uint8_t *b = (const uint8_t *)o->via.bin.ptr;
  uintptr_t lo = (uintptr_t)p, at = (uintptr_t)b;
  if (want && (at < lo || at - lo > len || len - (at - lo) < want))
    return errmsg(err, errlen, "transitions: internal: msgpack-c copied bin \"%s\"",
                  key_names[key]);
  *data = want ? (const void *)b : (const void *)(p + len);
  return 0;
}

static int check_finite(const void *data, int key, size_t n, size_t dim, char *err, size_t errlen) {
  size_t total = n * dim, bad = f32le_first_nonfinite(data, total);
  if (bad == total) return 0;
  return errmsg(err, errlen, "transitions: %s[%zu] is %g (transition %zu, element %zu)",
                key_names[key], bad, (double)f32le_at(data, bad), bad / dim, bad % dim);
}

static int validate(const msgpack_object *root, const uint8_t *p, size_t len,
                    const tbatch_limits_t *lim, tbatch_t *out, char *err, size_t errlen) {
  if (root->type != MSGPACK_OBJECT_MAP)
    return errmsg(err, errlen, "transitions: payload must be a msgpack map, got %s",
                  mp_type_name(root->type));
  const msgpack_object *val[K_END] = {0};
  for (uint32_t i = 0; i < root->via.map.size; i++) {
    const msgpack_object_kv *kv = &root->via.map.ptr[i];
    int k = key_index(&kv->key);
    if (k < 0) continue; /* unknown keys: forward compatible */
    if (val[k]) return errmsg(err, errlen, "transitions: duplicate key \"%s\"", key_names[k]);
    val[k] = &kv->val;
  }
  for (int k = 0; k < K_REQUIRED; k++)
    if (!val[k]) return errmsg(err, errlen, "transitions: missing key \"%s\"", key_names[k]);

  uint64_t v, n, obs_dim, act_dim, wv, wid;
  if (get_uint(val[K_V], K_V, UINT32_MAX, &v, err, errlen) ||
      get_uint(val[K_N], K_N, UINT32_MAX, &n, err, errlen) ||
      get_uint(val[K_OBS_DIM], K_OBS_DIM, UINT32_MAX, &obs_dim, err, errlen) ||
      get_uint(val[K_ACT_DIM], K_ACT_DIM, UINT32_MAX, &act_dim, err, errlen) ||
      get_uint(val[K_WV], K_WV, UINT64_MAX, &wv, err, errlen) ||
      get_uint(val[K_WID], K_WID, UINT32_MAX, &wid, err, errlen))
    return -1;
  if (v != TBATCH_VERSION)
    return errmsg(err, errlen, "transitions: schema version %llu, expected %d",
                  (unsigned long long)v, TBATCH_VERSION);
  if (n < 1 || n > lim->max_n)
    return errmsg(err, errlen, "transitions: n is %llu, expected 1..%u", (unsigned long long)n,
                  lim->max_n);
  if (obs_dim != lim->obs_dim)
    return errmsg(err, errlen, "transitions: obs_dim is %llu, expected %u",
                  (unsigned long long)obs_dim, lim->obs_dim);
  if (act_dim != lim->act_dim)
    return errmsg(err, errlen, "transitions: act_dim is %llu, expected %u",
                  (unsigned long long)act_dim, lim->act_dim);

  int bits = 0;
  if (val[K_OBS_ENC]) {
    const msgpack_object *e = val[K_OBS_ENC];
    if (e->type != MSGPACK_OBJECT_STR)
      return errmsg(err, errlen, "transitions: key \"obs_enc\" must be a str, got %s",
                    mp_type_name(e->type));
    if (e->via.str.size == 4 && !memcmp(e->via.str.ptr, "bits", 4))
      bits = 1;
    else if (!(e->via.str.size == 3 && !memcmp(e->via.str.ptr, "f32", 3)))
      return errmsg(err, errlen, "transitions: obs_enc is \"%.*s\", expected \"f32\" or \"bits\"",
                    (int)(e->via.str.size > 32 ? 32 : e->via.str.size), e->via.str.ptr);
    if (bits && !lim->allow_bits)
      return errmsg(err, errlen,
                    "transitions: obs_enc \"bits\" for an env whose observations are not binary");
  }
  /* bits: each row is ceil(obs_dim/8) bytes (elem 1) */
  uint64_t orow = bits ? obsbits_bytes((size_t)obs_dim) : obs_dim, oel = bits ? 1 : 4;
  const char *of = bits ? "n*ceil(obs_dim/8)" : "n*obs_dim*4";
  const void *obs, *act, *rew, *next_obs, *flags;
  if (get_bin(val[K_OBS], K_OBS, n, orow, oel, of, p, len, &obs, err, errlen) ||
      get_bin(val[K_ACT], K_ACT, n, act_dim, 4, "n*act_dim*4", p, len, &act, err, errlen) ||
      get_bin(val[K_REW], K_REW, n, 1, 4, "n*4", p, len, &rew, err, errlen) ||
      get_bin(val[K_NEXT_OBS], K_NEXT_OBS, n, orow, oel, of, p, len, &next_obs, err, errlen) ||
      get_bin(val[K_FLAGS], K_FLAGS, n, 1, 1, "n", p, len, &flags, err, errlen))
    return -1;
  const void *disc = NULL, *prio = NULL;
  if ((val[K_DISC] &&
       get_bin(val[K_DISC], K_DISC, n, 1, 4, "n*4", p, len, &disc, err, errlen)) ||
      (val[K_PRIO] && get_bin(val[K_PRIO], K_PRIO, n, 1, 4, "n*4", p, len, &prio, err, errlen)))
    return -1;
  /* From here every size is known to fit in the payload, so size_t arithmetic is safe. */
  size_t nn = (size_t)n, od = (size_t)obs_dim, ad = (size_t)act_dim;
  if ((od && !bits && (check_finite(obs, K_OBS, nn, od, err, errlen) ||
              check_finite(next_obs, K_NEXT_OBS, nn, od, err, errlen))) ||
      (ad && check_finite(act, K_ACT, nn, ad, err, errlen)) ||
      check_finite(rew, K_REW, nn, 1, err, errlen) ||
      (disc && check_finite(disc, K_DISC, nn, 1, err, errlen)) ||
      (prio && check_finite(prio, K_PRIO, nn, 1, err, errlen)))
    return -1;
  for (size_t i = 0; bits && od % 8 && i < nn; i++) {
    size_t rb = (size_t)orow;
    if (!obsbits_padding_ok((const uint8_t *)obs + i * rb, od) ||
        !obsbits_padding_ok((const uint8_t *)next_obs + i * rb, od))
      return errmsg(err, errlen,
                    "transitions: %s[%zu] (bits) has nonzero padding bits beyond element %zu",
                    obsbits_padding_ok((const uint8_t *)obs + i * rb, od) ? "next_obs" : "obs", i,
                    od - 1);
  }
  for (size_t i = 0; disc && i < nn; i++) {
    float d = f32le_at(disc, i);
    if (d < 0 || d > 1)
      return errmsg(err, errlen, "transitions: disc[%zu] is %g, outside [0, 1]", i, (double)d);
  }
  for (size_t i = 0; prio && i < nn; i++) {
    float q = f32le_at(prio, i);
    if (q < 0) return errmsg(err, errlen, "transitions: prio[%zu] is %g, negative", i, (double)q);
  }
  const uint8_t *fl = flags;
  for (size_t i = 0; i < nn; i++)
    if (fl[i] & ~(TBATCH_TERMINATED | TBATCH_TRUNCATED))
      return errmsg(err, errlen,
                    "transitions: flags[%zu] is 0x%02x, only bits 0-1 (terminated, truncated) are "
                    "defined",
                    i, fl[i]);
  if (lim->n_actions > 0) {
    for (size_t i = 0; i < nn * ad; i++) {
      float a = f32le_at(act, i);
      if (a != floorf(a))
        return errmsg(err, errlen, "transitions: act[%zu] is %g, not an integer action index", i,
                      (double)a);
      if (a < 0 || a >= (float)lim->n_actions)
        return errmsg(err, errlen, "transitions: act[%zu] is %g, out of range [0, %u)", i,
                      (double)a, lim->n_actions);
    }
  }
  out->n = (uint32_t)n;
  out->obs_dim = (uint32_t)obs_dim;
  out->act_dim = (uint32_t)act_dim;
  out->weights_version = wv;
  out->worker_id = (uint32_t)wid;
  out->obs = obs;
  out->act = act;
  out->rew = rew;
  out->next_obs = next_obs;
  out->flags = fl;
  out->disc = disc;
  out->prio = prio;
  out->obs_enc = bits ? TBATCH_OBS_BITS : TBATCH_OBS_F32;
  return 0;
}

int tbatch_decode(const uint8_t *p, size_t len, const tbatch_limits_t *lim, tbatch_t *out,
                  char *err, size_t errlen) {
  if (len == 0 || !p) return errmsg(err, errlen, "transitions: empty payload");
  size_t end = 0;
  if (mp_scan(p, len, &end, err, errlen)) return -1;
  if (end != len)
    return errmsg(err, errlen, "transitions: %zu trailing bytes after the msgpack map", len - end);
  msgpack_unpacked up;
  msgpack_unpacked_init(&up);
  size_t off = 0;
  msgpack_unpack_return ur = msgpack_unpack_next(&up, (const char *)p, len, &off);
  int rc;
  if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
    rc = errmsg(err, errlen, "transitions: msgpack-c rejected the payload (code %d at byte %zu)",
                (int)ur, off);
  else
    rc = validate(&up.data, p, len, lim, out, err, errlen);
  /* The bins point into p, not into the zone, so they outlive it. */
  msgpack_unpacked_destroy(&up);
  return rc;
}
