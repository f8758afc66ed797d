#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "presets_embed.h"

static const config_field_t fields[] = {
#define CONFIG_X(name, type, def, lo, hi, help) \
  {#name, CONFIG_##type, def, (double)(lo), (double)(hi), help, offsetof(config_t, name)},
    CONFIG_FIELDS(CONFIG_X)
#undef CONFIG_X
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

size_t config_field_count(void) { return N_FIELDS; }
const config_field_t *config_field_at(size_t i) { return i < N_FIELDS ? &fields[i] : NULL; }

const config_field_t *config_field_find(const char *name) {
  for (size_t i = 0; i < N_FIELDS; i++)
    if (strcmp(fields[i].name, name) == 0) return &fields[i];
  return NULL;
}

static int set_field(config_t *c, const config_field_t *f, const char *value, char *err,
                     size_t errlen) {
  char *p = (char *)c + f->offset;
  char *end;
  switch (f->type) {
    case CONFIG_INT: {
      errno = 0;
      double d = strtod(value, &end); /* accepts 1e5 as well as 100000 */
      if (errno || end == value || *end || d != floor(d)) {
        snprintf(err, errlen, "config: %s = '%s' is not an integer", f->name, value);
        return -1;
      }
      if (d < f->lo || d > f->hi) {
        snprintf(err, errlen, "config: %s = %s is outside [%.15g, %.15g]", f->name, value, f->lo,
                 f->hi);
        return -1;
      }
      *(int64_t *)p = (int64_t)d;
      return 0;
    }
    case CONFIG_REAL: {
      errno = 0;
      double d = strtod(value, &end);
      if (errno || end == value || *end) {
        snprintf(err, errlen, "config: %s = '%s' is not a number", f->name, value);
        return -1;
      }
      if (!isnan(d) && (d < f->lo || d > f->hi)) {
        snprintf(err, errlen, "config: %s = %s is outside [%g, %g]", f->name, value, f->lo, f->hi);
        return -1;
      }
      if (isnan(d) && strcmp(f->def, "nan") != 0) {
        snprintf(err, errlen, "config: %s may not be nan", f->name);
        return -1;
      }
      *(double *)p = d;
      return 0;
    }
    case CONFIG_BOOL:
      if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
        *(int *)p = 1;
      else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
        *(int *)p = 0;
      else {
        snprintf(err, errlen, "config: %s = '%s' is not a boolean (true or false)", f->name, value);
        return -1;
      }
      return 0;
    case CONFIG_STR:
      if (strlen(value) >= CONFIG_STR_MAX) {
        snprintf(err, errlen, "config: %s is longer than %d characters", f->name,
                 CONFIG_STR_MAX - 1);
        return -1;
      }
      /* config_to_text writes "key = value" lines that config_load_text reads back: a '#'
       * would start a comment there and a line break would end the line. */
      if (strpbrk(value, "#\n")) {
        snprintf(err, errlen, "config: %s may not contain '#' or a line break", f->name);
        return -1;
      }
      strcpy(p, value);
      return 0;
  }
  return -1;
}

void config_init(config_t *c) {
  memset(c, 0, sizeof *c);
  char err[256];
  for (size_t i = 0; i < N_FIELDS; i++) {
    int rc = set_field(c, &fields[i], fields[i].def, err, sizeof err);
    (void)rc; /* the defaults are checked by test_config */
  }
}

int config_set(config_t *c, const char *key, const char *value, char *err, size_t errlen) {
  const config_field_t *f = config_field_find(key);
  if (!f) {
    snprintf(err, errlen, "config: unknown key '%s' (rlserve run --help lists the keys)", key);
    return -1;
  }
  return set_field(c, f, value, err, errlen);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = 0;
  return s;
}

int config_set_arg(config_t *c, const char *arg, char *err, size_t errlen) {
  const char *eq = strchr(arg, '=');
  if (!eq) {
    snprintf(err, errlen, "config: '%s' is not key=value", arg);
    return -1;
  }
  char key[128];
  size_t kl = (size_t)(eq - arg);
  if (kl >= sizeof key) {
    snprintf(err, errlen, "config: key in '%.40s...' is too long", arg);
    return -1;
  }
  memcpy(key, arg, kl);
  key[kl] = 0;
  char value[CONFIG_STR_MAX + 64];
  if (strlen(eq + 1) >= sizeof value) { /* never cut it short: a cut value could pass */
    snprintf(err, errlen, "config: the value of '%.40s' is too long", trim(key));
    return -1;
  }
  memcpy(value, eq + 1, strlen(eq + 1) + 1);
  return config_set(c, trim(key), trim(value), err, errlen);
}

int config_load_text(config_t *c, const char *text, const char *origin, char *err, size_t errlen) {
  int lineno = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    lineno++;
    char line[1024];
    if (n >= sizeof line) {
      snprintf(err, errlen, "%s:%d: line longer than %zu characters", origin, lineno,
               sizeof line - 1);
      return -1;
    }
    memcpy(line, p, n);
    line[n] = 0;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *s = trim(line);
    if (*s) {
      char *eq = strchr(s, '=');
      if (!eq) {
        snprintf(err, errlen, "%s:%d: expected 'key = value', got '%s'", origin, lineno, s);
        return -1;
      }
      *eq = 0;
      char sub[512];
      if (config_set(c, trim(s), trim(eq + 1), sub, sizeof sub) != 0) {
        snprintf(err, errlen, "%s:%d: %s", origin, lineno, sub);
        return -1;
      }
    }
    p += n;
    if (*p == '\n') p++;
  }
  return 0;
}

int config_load_file(config_t *c, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "config: cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      if (cap > (1u << 20)) {
        snprintf(err, errlen, "config: %s is larger than 1 MiB", path);
        free(buf);
        fclose(f);
        return -1;
      }
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        snprintf(err, errlen, "config: out of memory reading %s", path);
        return -1;
      }
      buf = nb;
    }
    size_t r = fread(buf + len, 1, 4096, f);
    len += r;
    if (r < 4096) break;
  }
  fclose(f);
  buf[len] = 0;
  if (memchr(buf, 0, len)) {
    snprintf(err, errlen, "config: %s is not a text file (it holds a NUL byte)", path);
    free(buf);
    return -1;
  }
  int rc = config_load_text(c, buf, path, err, errlen);
  free(buf);
  return rc;
}

int config_load_preset(config_t *c, const char *name, char *err, size_t errlen) {
  for (size_t i = 0; i < presets_embed_count; i++) {
    if (strcmp(presets_embed[i].name, name) == 0) {
      char origin[300];
      snprintf(origin, sizeof origin, "preset %s", name);
      if (config_load_text(c, presets_embed[i].text, origin, err, errlen) != 0) return -1;
      snprintf(c->preset, sizeof c->preset, "%s", name);
      return 0;
    }
  }
  int n = snprintf(err, errlen, "config: unknown preset '%s'; presets:", name);
  for (size_t i = 0; i < presets_embed_count && n > 0 && (size_t)n < errlen; i++)
    n += snprintf(err + n, errlen - (size_t)n, " %s", presets_embed[i].name);
  return -1;
}

const char *const *config_preset_names(void) {
  static const char *names[64];
  size_t n = presets_embed_count < 63 ? presets_embed_count : 63;
  for (size_t i = 0; i < n; i++) names[i] = presets_embed[i].name;
  names[n] = NULL;
  return names;
}

int config_parse_hidden(const char *s, int *sizes, int max) {
  int n = 0;
  const char *p = s;
  if (!*p) return 0;
  for (;;) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 1 || v > 65536 || n >= max) return -1;
    sizes[n++] = (int)v;
    if (*end == 0) return n;
    if (*end != ',') return -1;
    p = end + 1;
  }
}

int config_validate(const config_t *c, char *err, size_t errlen) {
  int hidden[16];
  if (config_parse_hidden(c->hidden, hidden, 6) < 0) {
    snprintf(err, errlen, "config: hidden = '%s' is not a list of 1 to 6 sizes like 128,128",
             c->hidden);
    return -1;
  }
  if (strcmp(c->activation, "relu") && strcmp(c->activation, "tanh")) {
    snprintf(err, errlen, "config: activation = '%s'; expected relu or tanh", c->activation);
    return -1;
  }
  nn_spec_t net;
  if (c->net[0] && nn_spec_parse(&net, c->net, err, errlen) != 0) return -1;
  if (strcmp(c->loss, "huber") && strcmp(c->loss, "mse")) {
    snprintf(err, errlen, "config: loss = '%s'; expected huber or mse", c->loss);
    return -1;
  }
  if (strcmp(c->optimizer, "adam") && strcmp(c->optimizer, "rmsprop_centered")) {
    snprintf(err, errlen, "config: optimizer = '%s'; expected adam or rmsprop_centered",
             c->optimizer);
    return -1;
  }
  if (strcmp(c->noise_type, "gaussian") && strcmp(c->noise_type, "ou")) {
    snprintf(err, errlen, "config: noise_type = '%s'; expected gaussian or ou", c->noise_type);
    return -1;
  }
  if (c->batch_size > c->replay_capacity) {
    snprintf(err, errlen, "config: batch_size %lld exceeds replay_capacity %lld",
             (long long)c->batch_size, (long long)c->replay_capacity);
    return -1;
  }
  if (c->learning_starts < c->batch_size) {
    snprintf(err, errlen, "config: learning_starts %lld is below batch_size %lld",
             (long long)c->learning_starts, (long long)c->batch_size);
    return -1;
  }
  if (c->credit_window < c->send_batch + c->n_step * c->envs_per_worker) {
    snprintf(err, errlen,
             "config: credit_window %lld is below send_batch + n_step * envs_per_worker = %lld (a "
             "worker could never send a full batch)",
             (long long)c->credit_window,
             (long long)(c->send_batch + c->n_step * c->envs_per_worker));
    return -1;
  }
  if (strcmp(c->replay, "uniform") && strcmp(c->replay, "prioritized")) {
    snprintf(err, errlen, "config: replay = '%s'; expected uniform or prioritized", c->replay);
    return -1;
  }
  if (strcmp(c->explore, "annealed") && strcmp(c->explore, "apex")) {
    snprintf(err, errlen, "config: explore = '%s'; expected annealed or apex", c->explore);
    return -1;
  }
  if (c->actor_priorities && strcmp(c->replay, "prioritized")) {
    snprintf(err, errlen,
             "config: actor_priorities = true needs replay = prioritized (replay = '%s')",
             c->replay);
    return -1;
  }
  if (c->stats_interval_s >= c->idle_timeout_s || c->heartbeat_interval_s >= c->idle_timeout_s) {
    snprintf(err, errlen,
             "config: idle_timeout_s %g must exceed stats_interval_s %g and heartbeat_interval_s "
             "%g (a quiet but healthy link would be closed)",
             c->idle_timeout_s, c->stats_interval_s, c->heartbeat_interval_s);
    return -1;
  }
  if (c->eps_final > c->eps_start) {
    snprintf(err, errlen, "config: eps_final %g exceeds eps_start %g", c->eps_final, c->eps_start);
    return -1;
  }
  return 0;
}

void config_format(const config_t *c, const config_field_t *f, char *buf, size_t len) {
  const char *p = (const char *)c + f->offset;
  switch (f->type) {
    case CONFIG_INT:
      snprintf(buf, len, "%lld", (long long)*(const int64_t *)p);
      break;
    case CONFIG_REAL:
      snprintf(buf, len, "%.17g", *(const double *)p);
      break;
    case CONFIG_BOOL:
      snprintf(buf, len, "%s", *(const int *)p ? "true" : "false");
      break;
    case CONFIG_STR:
      snprintf(buf, len, "%s", p);
      break;
  }
}

char *config_to_text(const config_t *c) {
  size_t cap = N_FIELDS * (CONFIG_STR_MAX + 64) + 1, n = 0;
  char *out = malloc(cap);
  if (!out) return NULL;
  out[0] = 0;
  for (size_t i = 0; i < N_FIELDS; i++) {
    char v[CONFIG_STR_MAX + 32];
    config_format(c, &fields[i], v, sizeof v);
    n += (size_t)snprintf(out + n, cap - n, "%s = %s\n", fields[i].name, v);
  }
  return out;
}

void config_print_help(FILE *f) {
  static const char *const tn[] = {"int", "real", "bool", "string"};
  fprintf(f, "config keys (--set key=value, or 'key = value' lines in a file):\n");
  for (size_t i = 0; i < N_FIELDS; i++)
    fprintf(f, "  %-22s %-6s %-12s %s\n", fields[i].name, tn[fields[i].type],
            fields[i].def[0] ? fields[i].def : "\"\"", fields[i].help);
}
