/* Checks the config table: defaults valid, set/parse errors name the key, text round-trip,
 * files with line numbers, presets load and validate. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"

int main(void) {
  config_t c, d;
  char err[512];
  config_init(&c);
  CHECK(config_validate(&c, err, sizeof err) == 0, "defaults invalid: %s", err);
  /* Every default parses through its own field (the table is consistent). */
  for (size_t i = 0; i < config_field_count(); i++) {
    const config_field_t *f = config_field_at(i);
    CHECK(config_set(&c, f->name, f->def, err, sizeof err) == 0, "default of %s: %s", f->name, err);
  }
  CHECK(strcmp(c.env, "CartPole-v1") == 0, "env default %s", c.env);
  CHECK(c.batch_size == 64, "batch_size %lld", (long long)c.batch_size);

  CHECK(config_set_arg(&c, "lr = 0.0005", err, sizeof err) == 0, "%s", err);
  CHECK_NEAR(c.lr, 0.0005, 1e-15);
  CHECK(config_set_arg(&c, "replay_capacity=1e5", err, sizeof err) == 0, "%s", err);
  CHECK(c.replay_capacity == 100000, "1e5 gave %lld", (long long)c.replay_capacity);
  CHECK(config_set_arg(&c, "double_dqn=false", err, sizeof err) == 0, "%s", err);
  CHECK(c.double_dqn == 0, "bool");

  CHECK(config_set(&c, "no_such_key", "1", err, sizeof err) < 0 && strstr(err, "no_such_key"),
        "unknown key message: %s", err);
  CHECK(config_set(&c, "batch_size", "12x", err, sizeof err) < 0 && strstr(err, "batch_size"),
        "bad int message: %s", err);
  CHECK(config_set(&c, "batch_size", "1.5", err, sizeof err) < 0, "1.5 accepted as int");
  CHECK(config_set(&c, "gamma", "1.5", err, sizeof err) < 0 && strstr(err, "outside"), "range: %s",
        err);
  CHECK(config_set(&c, "lr", "nan", err, sizeof err) < 0, "nan lr accepted");
  CHECK(config_set(&c, "double_dqn", "maybe", err, sizeof err) < 0, "bad bool accepted");
  CHECK(config_set_arg(&c, "novalue", err, sizeof err) < 0, "missing '=' accepted");

  /* Text round-trip: every field survives. */
  config_set(&c, "hidden", "32,16", err, sizeof err);
  config_set(&c, "gamma", "0.123456789012345", err, sizeof err);
  char *text = config_to_text(&c);
  config_init(&d);
  CHECK(config_load_text(&d, text, "roundtrip", err, sizeof err) == 0, "%s", err);
  for (size_t i = 0; i < config_field_count(); i++) {
    const config_field_t *f = config_field_at(i);
    char a[CONFIG_STR_MAX + 32], b[CONFIG_STR_MAX + 32];
    config_format(&c, f, a, sizeof a);
    config_format(&d, f, b, sizeof b);
    CHECK(strcmp(a, b) == 0, "round trip changed %s: '%s' -> '%s'", f->name, a, b);
  }
  free(text);

  CHECK(config_load_text(&d, "# comment\n\nlr = 0.1\nbatch_size = oops\n", "f.conf", err,
                         sizeof err) < 0 &&
            strstr(err, "f.conf:4") && strstr(err, "batch_size"),
        "file error: %s", err);
  CHECK(config_load_text(&d, "just words\n", "g.conf", err, sizeof err) < 0 &&
            strstr(err, "g.conf:1"),
        "syntax error: %s", err);
  CHECK(config_load_file(&d, "/nonexistent/x.conf", err, sizeof err) < 0 &&
            strstr(err, "/nonexistent/x.conf"),
        "missing file: %s", err);

  /* Cross-field rules. */
  config_init(&d);
  config_set(&d, "batch_size", "512", err, sizeof err);
  config_set(&d, "replay_capacity", "100", err, sizeof err);
  CHECK(config_validate(&d, err, sizeof err) < 0 && strstr(err, "batch_size"), "%s", err);
  config_init(&d);
  config_set(&d, "hidden", "12,,3", err, sizeof err);
  CHECK(config_validate(&d, err, sizeof err) < 0 && strstr(err, "hidden"), "%s", err);

  config_init(&d);
  config_set(&d, "idle_timeout_s", "0.5", err, sizeof err);
  CHECK(config_validate(&d, err, sizeof err) < 0 && strstr(err, "idle_timeout_s"), "%s", err);

  int sizes[8];
  CHECK(config_parse_hidden("256,128,64", sizes, 8) == 3 && sizes[2] == 64, "parse_hidden");
  CHECK(config_parse_hidden("0", sizes, 8) < 0, "zero width accepted");

  /* Every preset loads and validates. */
  const char *const *names = config_preset_names();
  int n = 0;
  for (; names[n]; n++) {
    config_init(&d);
    CHECK(config_load_preset(&d, names[n], err, sizeof err) == 0, "preset %s: %s", names[n], err);
    CHECK(config_validate(&d, err, sizeof err) == 0, "preset %s invalid: %s", names[n], err);
    CHECK(strcmp(d.preset, names[n]) == 0, "preset name not recorded");
  }
  CHECK(n >= 1, "no presets embedded");
  CHECK(config_load_preset(&d, "nope", err, sizeof err) < 0 && strstr(err, "cartpole-dqn"),
        "unknown preset message should list presets: %s", err);
  CHECK_DONE();
}
