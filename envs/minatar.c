/* minatar: the sticky-action wrapper (MinAtar's environment.py) and its options. */
#include "minatar.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int set_option(minatar_t *m, const char *key, size_t klen, const char *val, size_t vlen,
                      char *err, size_t errlen) {
  char v[64];
  if (vlen >= sizeof v) vlen = sizeof v - 1;
  memcpy(v, val, vlen);
  v[vlen] = '\0';
  if (klen == strlen("sticky_action_prob") && !strncmp(key, "sticky_action_prob", klen)) {
    char *end;
    errno = 0;
    double p = strtod(v, &end);
    if (!v[0] || *end || errno || !(p >= 0.0 && p <= 1.0)) {
      snprintf(err, errlen, "MinAtar option sticky_action_prob = '%s': expected a number in [0, 1]",
               v);
      return -1;
    }
    m->sticky = p;
    return 0;
  }
  if (klen == strlen("difficulty_ramping") && !strncmp(key, "difficulty_ramping", klen)) {
    if (!strcmp(v, "true") || !strcmp(v, "1"))
      m->ramping = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
      m->ramping = 0;
    else {
      snprintf(err, errlen, "MinAtar option difficulty_ramping = '%s': expected true or false", v);
      return -1;
    }
    return 0;
  }
  snprintf(err, errlen,
           "unknown MinAtar option '%.*s' (known: sticky_action_prob, difficulty_ramping)",
           (int)klen, key);
  return -1;
}

int minatar_configure(minatar_t *m, const char *opts, const int *action_map, int n_actions,
                      char *err, size_t errlen) {
  char dummy[8];
  if (!err || !errlen) err = dummy, errlen = sizeof dummy;
  m->sticky = MINATAR_STICKY_DEFAULT;
  m->ramping = 1;
  m->last_action = MINATAR_NOOP;
  m->action_map = action_map;
  m->n_actions = n_actions;
  npmt_seed(&m->mt, 0);
  for (const char *p = opts; p && *p;) {
    size_t n = strcspn(p, ",");
    const char *eq = memchr(p, '=', n);
    if (!eq) {
      snprintf(err, errlen, "MinAtar option '%.*s': expected key=value", (int)n, p);
      return -1;
    }
    if (set_option(m, p, (size_t)(eq - p), eq + 1, n - (size_t)(eq - p) - 1, err, errlen))
      return -1;
    p += n;
    if (*p == ',') p++;
  }
  return 0;
}

void minatar_seed(void *state, uint64_t seed) {
  minatar_t *m = state;
  uint32_t s =
      seed <= 0xffffffffu ? (uint32_t)seed : (uint32_t)((seed ^ (seed >> 32)) & 0xffffffffu);
  npmt_seed(&m->mt, s);
}

int minatar_action(minatar_t *m, const float *action) {
  int a = m->action_map[env_action_index(action, m->n_actions)];
  if (npmt_rand(&m->mt) < m->sticky) a = m->last_action;
  m->last_action = a;
  return a;
}

void minatar_clear(float *obs, int C) {
  memset(obs, 0, sizeof(float) * MINATAR_GRID * MINATAR_GRID * (size_t)C);
}

npmt_t *minatar_stream(const env_t *e) {
  if (!e->spec || e->spec->seed != minatar_seed) return NULL;
  return &((minatar_t *)e->state)->mt;
}
