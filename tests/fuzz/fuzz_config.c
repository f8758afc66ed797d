/* libFuzzer target: config_load_text on the input (a NUL-terminated copy) over a fresh
 * config, then config_validate. Every failure must give a message. A config that loads and
 * validates must survive config_to_text and a re-parse unchanged: the second config formats
 * every field exactly as the first and validates too. The input is also tried as one
 * --set argument (config_set_arg). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define EXPECT(c)                                                          \
  do {                                                                     \
    if (!(c)) {                                                            \
      fprintf(stderr, "fuzz_config: %s failed (line %d)\n", #c, __LINE__); \
      abort();                                                             \
    }                                                                      \
  } while (0)

/* The round trip: to_text, load into a fresh config, compare field by field. */
static void round_trip(const config_t *a) {
  char *text = config_to_text(a);
  EXPECT(text);
  config_t b;
  config_init(&b);
  char err[512] = "";
  if (config_load_text(&b, text, "round trip", err, sizeof err) != 0) {
    fprintf(stderr, "fuzz_config: re-parse failed: %s\n--- text ---\n%s", err, text);
    abort();
  }
  if (config_validate(&b, err, sizeof err) != 0) {
    fprintf(stderr, "fuzz_config: re-parsed config invalid: %s\n", err);
    abort();
  }
  for (size_t i = 0; i < config_field_count(); i++) {
    const config_field_t *f = config_field_at(i);
    char va[CONFIG_STR_MAX + 32], vb[CONFIG_STR_MAX + 32];
    config_format(a, f, va, sizeof va);
    config_format(&b, f, vb, sizeof vb);
    if (strcmp(va, vb) != 0) {
      fprintf(stderr, "fuzz_config: %s = '%s' came back as '%s'\n", f->name, va, vb);
      abort();
    }
  }
  free(text);
}

static int blank(char ch) { return ch == ' ' || ch == '\t'; }

/* A string set by config_set_arg holds exactly the value given (trimmed), never a cut one. */
static void check_set_arg(const config_t *c, const char *arg) {
  const char *eq = strchr(arg, '=');
  EXPECT(eq);
  const char *k = arg, *ke = eq, *v = eq + 1, *ve = v + strlen(v);
  while (k < ke && blank(*k)) k++;
  while (ke > k && (blank(ke[-1]) || ke[-1] == '\r' || ke[-1] == '\n')) ke--;
  while (v < ve && blank(*v)) v++;
  while (ve > v && (blank(ve[-1]) || ve[-1] == '\r' || ve[-1] == '\n')) ve--;
  char key[128];
  EXPECT((size_t)(ke - k) < sizeof key);
  memcpy(key, k, (size_t)(ke - k));
  key[ke - k] = 0;
  const config_field_t *f = config_field_find(key);
  EXPECT(f);
  if (f->type != CONFIG_STR) return;
  const char *got = (const char *)c + f->offset;
  if (strlen(got) != (size_t)(ve - v) || memcmp(got, v, (size_t)(ve - v)) != 0) {
    fprintf(stderr, "fuzz_config: --set %s: given %zu characters, holds %zu: '%s'\n", key,
            (size_t)(ve - v), strlen(got), got);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;

  config_t c;
  config_init(&c);
  char err[512];
  err[0] = 0;
  if (config_load_text(&c, text, "fuzz", err, sizeof err) != 0) {
    EXPECT(err[0]);
  } else {
    err[0] = 0;
    if (config_validate(&c, err, sizeof err) != 0)
      EXPECT(err[0]);
    else
      round_trip(&c);
  }

  config_t d;
  config_init(&d);
  err[0] = 0;
  if (config_set_arg(&d, text, err, sizeof err) != 0) {
    EXPECT(err[0]);
  } else {
    check_set_arg(&d, text);
    if (config_validate(&d, err, sizeof err) == 0) round_trip(&d);
  }

  free(text);
  return 0;
}
