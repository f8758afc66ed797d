/* Checks promtext: exact text for counter, gauge and untyped families with labels, escaping
 * of label values and HELP, non-finite values, the errors; and, when promtool is installed,
 * that `promtool check metrics` accepts the text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "promtext.h"
#include "promtool.h"

static const char *expected =
    "# HELP rlserve_env_steps_total Environment steps ingested by the learner.\n"
    "# TYPE rlserve_env_steps_total counter\n"
    "rlserve_env_steps_total 20000\n"
    "# HELP rlserve_loss Last training loss.\n"
    "# TYPE rlserve_loss gauge\n"
    "rlserve_loss 0.01\n"
    "# HELP rlserve_worker_steps_per_second Env steps per second, per worker.\n"
    "# TYPE rlserve_worker_steps_per_second gauge\n"
    "rlserve_worker_steps_per_second{worker=\"1\",addr=\"127.0.0.1:5555\"} 4000.5\n"
    "rlserve_worker_steps_per_second{worker=\"2\",addr=\"a\\\\b \\\"q\\\"\\nx\"} 0\n"
    "# HELP rlserve_odd Help with a backslash \\\\ and\\na newline, \"quotes\" kept.\n"
    "# TYPE rlserve_odd gauge\n"
    "rlserve_odd{kind=\"pinf\"} +Inf\n"
    "rlserve_odd{kind=\"ninf\"} -Inf\n"
    "rlserve_odd{kind=\"nan\"} NaN\n"
    "rlserve_odd{kind=\"tiny\"} 1e-300\n"
    "rlserve_odd{kind=\"third\"} 0.3333333333333333\n"
    "rlserve_odd{kind=\"neg\"} -2.5\n"
    "# HELP rlserve_build_info Build version.\n"
    "# TYPE rlserve_build_info untyped\n"
    "rlserve_build_info{version=\"0.1\"} 1\n";

static char *build(void) {
  promtext_t p;
  promtext_init(&p);
  promtext_value(&p, "rlserve_env_steps_total", PROMTEXT_COUNTER,
                 "Environment steps ingested by the learner.", 20000);
  promtext_value(&p, "rlserve_loss", PROMTEXT_GAUGE, "Last training loss.", 0.01);
  promtext_family(&p, "rlserve_worker_steps_per_second", PROMTEXT_GAUGE,
                  "Env steps per second, per worker.");
  promtext_label_t w1[] = {{"worker", "1"}, {"addr", "127.0.0.1:5555"}};
  promtext_sample(&p, w1, 2, 4000.5);
  promtext_label_t w2[] = {{"worker", "2"}, {"addr", "a\\b \"q\"\nx"}};
  promtext_sample(&p, w2, 2, 0.0);
  promtext_family(&p, "rlserve_odd", PROMTEXT_GAUGE,
                  "Help with a backslash \\ and\na newline, \"quotes\" kept.");
  const char *kinds[] = {"pinf", "ninf", "nan", "tiny", "third", "neg"};
  double vals[] = {INFINITY, -INFINITY, NAN, 1e-300, 1.0 / 3.0, -2.5};
  for (int i = 0; i < 6; i++) {
    promtext_label_t l = {"kind", kinds[i]};
    promtext_sample(&p, &l, 1, vals[i]);
  }
  promtext_family(&p, "rlserve_build_info", PROMTEXT_UNTYPED, "Build version.");
  promtext_label_t v = {"version", "0.1"};
  int rc = promtext_sample(&p, &v, 1, 1);
  CHECK(rc == 0, "promtext_sample returned %d (%s)", rc, promtext_strerror(rc));
  int err = -99;
  char *text = promtext_take(&p, &err);
  CHECK(text && err == 0, "promtext_take gave %p, err %d (%s)", (void *)text, err,
        promtext_strerror(err));
  return text;
}

static void check_errors(void) {
  struct {
    const char *what;
    int want;
  } cases[] = {
      {"bad metric name", PROMTEXT_ENAME}, {"bad label name", PROMTEXT_ELABEL},
      {"reserved label", PROMTEXT_ELABEL}, {"family twice", PROMTEXT_EDUPLICATE},
      {"no family", PROMTEXT_ENOFAMILY},   {"negative counter", PROMTEXT_ENEGATIVE},
  };
  for (int i = 0; i < 6; i++) {
    promtext_t p;
    promtext_init(&p);
    promtext_label_t bad = {"1abc", "x"}, reserved = {"__name__", "x"};
    switch (i) {
      case 0:
        promtext_family(&p, "9lives", PROMTEXT_GAUGE, "h");
        break;
      case 1:
        promtext_family(&p, "ok", PROMTEXT_GAUGE, "h");
        promtext_sample(&p, &bad, 1, 1);
        break;
      case 2:
        promtext_family(&p, "ok", PROMTEXT_GAUGE, "h");
        promtext_sample(&p, &reserved, 1, 1);
        break;
      case 3:
        promtext_value(&p, "ok", PROMTEXT_GAUGE, "h", 1);
        promtext_value(&p, "other", PROMTEXT_GAUGE, "h", 1);
        promtext_value(&p, "ok", PROMTEXT_GAUGE, "h", 2);
        break;
      case 4:
        promtext_sample(&p, NULL, 0, 1);
        break;
      case 5:
        promtext_value(&p, "c_total", PROMTEXT_COUNTER, "h", -1);
        break;
    }
    /* Errors are sticky: a later valid call does not clear them. */
    promtext_value(&p, "later", PROMTEXT_GAUGE, "h", 1);
    int err = 0;
    char *text = promtext_take(&p, &err);
    CHECK(text == NULL && err == cases[i].want, "%s: text %p, err %d (%s), want %d", cases[i].what,
          (void *)text, err, promtext_strerror(err), cases[i].want);
    free(text);
  }
  promtext_t p;
  promtext_init(&p);
  int err = -1;
  char *empty = promtext_take(&p, &err);
  CHECK(empty && empty[0] == '\0' && err == 0, "an empty writer gave %p, err %d", (void *)empty,
        err);
  free(empty);
  /* promtext_free without take releases everything (ASan checks). */
  promtext_init(&p);
  for (int i = 0; i < 1000; i++) {
    char name[32];
    snprintf(name, sizeof(name), "m_%d", i);
    promtext_value(&p, name, PROMTEXT_GAUGE, "grow the buffer and the family list", i);
  }
  CHECK(p.err == 0 && p.nfamilies == 1000, "1000 families: err %d, nfamilies %zu", p.err,
        p.nfamilies);
  promtext_free(&p);
}

int main(void) {
  char *text = build();
  if (text) {
    CHECK(strcmp(text, expected) == 0, "text differs.\n--- got ---\n%s--- want ---\n%s", text,
          expected);
    promtool_check(text, "promtext");
  }
  free(text);
  check_errors();
  CHECK_DONE();
}
