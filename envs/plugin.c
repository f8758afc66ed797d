/* plugin: loads user environments from shared libraries and registers them as env specs.
 *
 * An env_spec_t's functions receive only the state, not the spec, so each registered plugin
 * gets a slot with its own adapter functions (generated below, one set per slot) that know
 * which plugin to call. That bounds the plugins per process to ENV_PLUGIN_MAX. */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct plugin_slot {
  const rlserve_env_plugin_t *p; /* the plugin's own description (lives in the library) */
  char id[RLSERVE_ENV_PLUGIN_MAX_ID + 1];
  env_spec_t spec;
} plugin_slot_t;

static plugin_slot_t slots[ENV_PLUGIN_MAX];
static int n_slots;

/* Adapters: rlserve's reset hands the plugin 64 bits of the env's own stream. The optional
 * state functions are no-ops for a plugin without them (its n_state is 0). */
#define PLUGIN_ADAPTERS(k)                                                          \
  static void reset_##k(void *state, rng_t *rng, float *obs) {                      \
    slots[k].p->reset(state, rng_u64(rng), obs);                                    \
  }                                                                                 \
  static void step_##k(void *state, const float *action, float *obs, float *reward, \
                       int *terminated) {                                           \
    int term = 0;                                                                   \
    slots[k].p->step(state, action, obs, reward, &term);                            \
    *terminated = term != 0;                                                        \
  }                                                                                 \
  static void set_state_##k(void *state, const double *s, float *obs) {             \
    if (slots[k].p->set_state) slots[k].p->set_state(state, s, obs);                \
  }                                                                                 \
  static void get_state_##k(const void *state, double *s) {                         \
    if (slots[k].p->get_state) slots[k].p->get_state(state, s);                     \
  }

PLUGIN_ADAPTERS(0)
PLUGIN_ADAPTERS(1)
PLUGIN_ADAPTERS(2)
PLUGIN_ADAPTERS(3)
PLUGIN_ADAPTERS(4)
PLUGIN_ADAPTERS(5)
PLUGIN_ADAPTERS(6)
PLUGIN_ADAPTERS(7)
PLUGIN_ADAPTERS(8)
PLUGIN_ADAPTERS(9)
PLUGIN_ADAPTERS(10)
PLUGIN_ADAPTERS(11)
PLUGIN_ADAPTERS(12)
PLUGIN_ADAPTERS(13)
PLUGIN_ADAPTERS(14)
PLUGIN_ADAPTERS(15)

typedef struct adapters {
  void (*reset)(void *, rng_t *, float *);
  void (*step)(void *, const float *, float *, float *, int *);
  void (*set_state)(void *, const double *, float *);
  void (*get_state)(const void *, double *);
} adapters_t;

#define A(k) \
  { reset_##k, step_##k, set_state_##k, get_state_##k }
static const adapters_t adapters[] = {A(0), A(1), A(2),  A(3),  A(4),  A(5),  A(6),  A(7),
                                      A(8), A(9), A(10), A(11), A(12), A(13), A(14), A(15)};
#undef A
_Static_assert(sizeof adapters / sizeof adapters[0] == ENV_PLUGIN_MAX,
               "one set of adapters per plugin slot");
_Static_assert(RLSERVE_ENV_PLUGIN_MAX_DIM == ENV_MAX_DIM,
               "the plugin ABI restates env.h's ENV_MAX_DIM");
_Static_assert(RLSERVE_ENV_PLUGIN_DISCRETE == ENV_DISCRETE && RLSERVE_ENV_PLUGIN_BOX == ENV_BOX,
               "space kinds match env.h");

/* Writes "env plugin ORIGIN: message" into err and returns -1. */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, const char *origin,
                                                      const char *fmt, ...) {
  if (!err || !errlen) return -1;
  int n = snprintf(err, errlen, "env plugin %s: ", origin);
  if (n >= 0 && (size_t)n < errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Checks a space and copies it into an env_space_t. `what` is "obs" or "act". */
static int convert_space(const rlserve_env_plugin_space_t *ps, const char *what, int is_act,
                         env_space_t *out, const char *origin, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (ps->kind == RLSERVE_ENV_PLUGIN_DISCRETE) {
    if (!is_act) return fail(err, errlen, origin, "obs.kind is DISCRETE; observations must be BOX");
    if (ps->n < 1) return fail(err, errlen, origin, "act.n = %d, must be >= 1", (int)ps->n);
    if (ps->dim != 1)
      return fail(err, errlen, origin, "act.dim = %d for a DISCRETE space, must be 1",
                  (int)ps->dim);
    out->kind = ENV_DISCRETE;
    out->n = ps->n;
    out->dim = 1;
    out->low[0] = 0.0f;
    out->high[0] = (float)(ps->n - 1);
    return 0;
  }
  if (ps->kind != RLSERVE_ENV_PLUGIN_BOX)
    return fail(err, errlen, origin, "%s.kind = %d, must be %d (DISCRETE) or %d (BOX)", what,
                (int)ps->kind, RLSERVE_ENV_PLUGIN_DISCRETE, RLSERVE_ENV_PLUGIN_BOX);
  if (ps->dim < 1 || ps->dim > ENV_MAX_DIM)
    return fail(err, errlen, origin, "%s.dim = %d, must be in 1..%d", what, (int)ps->dim,
                ENV_MAX_DIM);
  for (int i = 0; i < ps->dim; i++) {
    float lo = ps->low[i], hi = ps->high[i];
    if (isnan(lo) || isnan(hi) || !(lo <= hi))
      return fail(err, errlen, origin, "%s bounds [%d]: low %g, high %g (need low <= high, no NaN)",
                  what, i, (double)lo, (double)hi);
    if (is_act && (!isfinite(lo) || !isfinite(hi)))
      return fail(err, errlen, origin, "act bounds [%d]: low %g, high %g must be finite", i,
                  (double)lo, (double)hi);
    out->low[i] = lo;
    out->high[i] = hi;
  }
  out->kind = ENV_BOX;
  out->n = 0;
  out->dim = ps->dim;
  return 0;
}

/* The reward range a plugin declares (ABI 1 addition), or -INFINITY..INFINITY when its struct
 * predates it or leaves both 0. */
static int reward_range(const rlserve_env_plugin_t *p, env_spec_t *spec, const char *origin,
                        char *err, size_t errlen) {
  spec->reward_low = -INFINITY;
  spec->reward_high = INFINITY;
  if (p->struct_size < offsetof(rlserve_env_plugin_t, reward_high) + sizeof(double)) return 0;
  double lo = p->reward_low, hi = p->reward_high;
  if (lo == 0 && hi == 0) return 0;
  if (isnan(lo) || isnan(hi) || !(lo <= hi))
    return fail(err, errlen, origin, "reward range: low %g, high %g (need low <= high, no NaN)", lo,
                hi);
  spec->reward_low = (float)lo;
  spec->reward_high = (float)hi;
  return 0;
}

/* Validates p and fills slot s (id copied, spec built). Registers nothing. */
static int build_spec(const rlserve_env_plugin_t *p, const char *origin, plugin_slot_t *s, int k,
                      char *err, size_t errlen) {
  if (p->abi_version != RLSERVE_ENV_PLUGIN_ABI_VERSION)
    return fail(err, errlen, origin,
                "ABI version %u, but this rlserve supports ABI version %d only (rebuild the "
                "plugin against this rlserve's rlserve_env_plugin.h)",
                (unsigned)p->abi_version, RLSERVE_ENV_PLUGIN_ABI_VERSION);
  if (p->struct_size < RLSERVE_ENV_PLUGIN_V1_BASE_SIZE)
    return fail(err, errlen, origin, "struct_size %u, smaller than the ABI %d struct (%zu bytes)",
                (unsigned)p->struct_size, RLSERVE_ENV_PLUGIN_ABI_VERSION,
                (size_t)RLSERVE_ENV_PLUGIN_V1_BASE_SIZE);
  if (!p->id || !p->id[0]) return fail(err, errlen, origin, "empty id");
  size_t idlen = strnlen(p->id, RLSERVE_ENV_PLUGIN_MAX_ID + 1);
  if (idlen > RLSERVE_ENV_PLUGIN_MAX_ID)
    return fail(err, errlen, origin, "id longer than %d bytes", RLSERVE_ENV_PLUGIN_MAX_ID);
  for (size_t i = 0; i < idlen; i++) {
    unsigned char c = (unsigned char)p->id[i];
    if (c <= ' ' || c >= 127)
      return fail(err, errlen, origin, "id has byte 0x%02x at %zu (printable ASCII, no spaces)", c,
                  i);
    if (c == ':') /* ':' starts an id's options (env.h) */
      return fail(err, errlen, origin, "id has ':' at %zu (it starts env options)", i);
  }
  memcpy(s->id, p->id, idlen + 1);
  if (env_find(s->id)) return fail(err, errlen, origin, "env id '%s' is already registered", s->id);
  env_spec_t *spec = &s->spec;
  memset(spec, 0, sizeof *spec);
  if (convert_space(&p->obs, "obs", 0, &spec->obs, origin, err, errlen) ||
      convert_space(&p->act, "act", 1, &spec->act, origin, err, errlen))
    return -1;
  if (p->max_episode_steps < 0)
    return fail(err, errlen, origin, "max_episode_steps = %d, must be >= 0 (0 = no limit)",
                (int)p->max_episode_steps);
  if (isnan(p->reward_threshold)) return fail(err, errlen, origin, "reward_threshold is NaN");
  if (p->state_size < 1 || p->state_size > RLSERVE_ENV_PLUGIN_MAX_STATE_SIZE)
    return fail(err, errlen, origin, "state_size = %zu, must be in 1..%d", p->state_size,
                RLSERVE_ENV_PLUGIN_MAX_STATE_SIZE);
  if (!p->reset || !p->step)
    return fail(err, errlen, origin, "%s function is NULL", !p->reset ? "reset" : "step");
  if (p->n_state < 0 || p->n_state > ENV_MAX_DIM)
    return fail(err, errlen, origin, "n_state = %d, must be in 0..%d", (int)p->n_state,
                ENV_MAX_DIM);
  if (p->n_state > 0 && (!p->set_state || !p->get_state))
    return fail(err, errlen, origin, "n_state = %d but %s is NULL", (int)p->n_state,
                !p->set_state ? "set_state" : "get_state");
  if (reward_range(p, spec, origin, err, errlen) != 0) return -1;
  spec->id = s->id;
  spec->max_episode_steps = p->max_episode_steps;
  spec->reward_threshold = p->reward_threshold;
  spec->n_state = p->n_state;
  spec->state_size = p->state_size;
  spec->reset = adapters[k].reset;
  spec->step = adapters[k].step;
  spec->set_state = adapters[k].set_state;
  spec->get_state = adapters[k].get_state;
  return 0;
}

int env_plugin_register(const rlserve_env_plugin_t *p, const char *origin, char *err,
                        size_t errlen) {
  if (!origin) origin = "(in memory)";
  if (!p) return fail(err, errlen, origin, "description is NULL");
  for (int i = 0; i < n_slots; i++)
    if (slots[i].p == p) return 0; /* already registered */
  if (n_slots >= ENV_PLUGIN_MAX)
    return fail(err, errlen, origin, "too many plugin envs (at most %d)", ENV_PLUGIN_MAX);
  plugin_slot_t *s = &slots[n_slots];
  if (build_spec(p, origin, s, n_slots, err, errlen)) return -1;
  if (env_register(&s->spec, err, errlen)) return -1;
  s->p = p;
  n_slots++;
  return 0;
}

int env_plugin_load(const char *path, char *err, size_t errlen) {
  if (!path || !path[0]) return fail(err, errlen, "(no path)", "empty library path");
  dlerror(); /* clear a stale error */
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    return fail(err, errlen, path, "cannot load: %s", e ? e : "dlopen failed");
  }
  dlerror();
  void *sym = dlsym(h, RLSERVE_ENV_PLUGIN_ENTRY_NAME);
  const char *e = dlerror();
  if (e || !sym) {
    fail(err, errlen, path, "no entry point %s (not an rlserve env plugin?): %s",
         RLSERVE_ENV_PLUGIN_ENTRY_NAME, e ? e : "symbol is NULL");
    dlclose(h);
    return -1;
  }
  /* POSIX: a function pointer read through a void * (dlsym's documented idiom). */
  const rlserve_env_plugin_t *(*entry)(void);
  memcpy(&entry, &sym, sizeof entry);
  const rlserve_env_plugin_t *p = entry();
  for (int i = 0; i < n_slots; i++)
    if (slots[i].p == p) {
      dlclose(h); /* already loaded: drop the reference this dlopen added */
      return 0;
    }
  if (env_plugin_register(p, path, err, errlen)) {
    dlclose(h);
    return -1;
  }
  return 0; /* the handle stays open for the life of the process */
}

int env_plugin_file_sha256(const char *path, uint8_t out[ENV_PLUGIN_SHA256], char *err,
                           size_t errlen) {
  if (sodium_init() < 0) return fail(err, errlen, path, "libsodium failed to initialize");
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, errlen, path, "cannot read: %s", strerror(errno));
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) crypto_hash_sha256_update(&st, buf, n);
  int bad = ferror(f);
  fclose(f);
  if (bad) return fail(err, errlen, path, "read error");
  crypto_hash_sha256_final(&st, out);
  return 0;
}

void env_plugin_hex(const uint8_t *hash, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[hash[i] >> 4];
    out[2 * i + 1] = d[hash[i] & 15];
  }
  out[2 * n] = 0;
}

int env_plugin_load_info(const char *path, env_plugin_info_t *info, char *err, size_t errlen) {
  memset(info, 0, sizeof *info);
  /* Hashed before it is loaded: what is checked is what the loader reads next. */
  if (env_plugin_file_sha256(path, info->sha256, err, errlen) != 0) return -1;
  int before = n_slots;
  if (env_plugin_load(path, err, errlen) != 0) return -1;
  const rlserve_env_plugin_t *p = NULL;
  if (n_slots > before) {
    p = slots[n_slots - 1].p;
  } else { /* already loaded: find its slot through the entry point again */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    void *sym = h ? dlsym(h, RLSERVE_ENV_PLUGIN_ENTRY_NAME) : NULL;
    if (sym) {
      const rlserve_env_plugin_t *(*entry)(void);
      memcpy(&entry, &sym, sizeof entry);
      p = entry();
    }
    if (h) dlclose(h);
  }
  for (int i = 0; i < n_slots; i++)
    if (slots[i].p == p) {
      snprintf(info->id, sizeof info->id, "%s", slots[i].id);
      return 0;
    }
  return fail(err, errlen, path, "loaded, but its env is not registered");
}
