/* promtext: a writer for the Prometheus text exposition format (version 0.0.4) onto a
 * growing malloc'd buffer. A family is started once (its # HELP and # TYPE lines), then
 * its samples follow, each with optional labels:
 *
 *   promtext_t p;
 *   promtext_init(&p);
 *   promtext_family(&p, "rlserve_env_steps_total", PROMTEXT_COUNTER, "Env steps ingested.");
 *   promtext_sample(&p, NULL, 0, 20000);
 *   promtext_label_t w[] = {{"worker", "1"}};
 *   promtext_family(&p, "rlserve_worker_steps_per_second", PROMTEXT_GAUGE, "Per worker.");
 *   promtext_sample(&p, w, 1, 4000.5);
 *   char *text = promtext_take(&p, &err);   // caller frees; NULL on a recorded error
 *
 * Errors are sticky: the first one is kept, later calls do nothing, promtext_take reports it.
 * Label values are escaped (\\, \", \n); values that are not finite are written +Inf, -Inf,
 * NaN. Not thread-safe; one writer per thread. */
#ifndef RLSERVE_PROMTEXT_H
#define RLSERVE_PROMTEXT_H

#include <stddef.h>

typedef enum { PROMTEXT_COUNTER, PROMTEXT_GAUGE, PROMTEXT_UNTYPED } promtext_type_t;

typedef enum {
  PROMTEXT_OK = 0,
  PROMTEXT_ENOMEM = -1,     /* out of memory */
  PROMTEXT_ENAME = -2,      /* metric name not [a-zA-Z_:][a-zA-Z0-9_:]* */
  PROMTEXT_ELABEL = -3,     /* label name not [a-zA-Z_][a-zA-Z0-9_]*, or reserved "__" */
  PROMTEXT_EDUPLICATE = -4, /* a family started twice (samples of a family must be together) */
  PROMTEXT_ENOFAMILY = -5,  /* a sample before any family */
  PROMTEXT_ENEGATIVE = -6,  /* a negative counter value */
} promtext_err_t;

typedef struct promtext_label {
  const char *name;
  const char *value;
} promtext_label_t;

typedef struct promtext {
  char *buf; /* NUL-terminated text so far */
  size_t len, cap;
  int err;         /* first error, 0 when none */
  char **families; /* names started so far, to refuse a second start */
  size_t nfamilies, capfamilies;
  promtext_type_t type; /* of the current family */
} promtext_t;

void promtext_init(promtext_t *p);
/* Frees the buffer (unless taken) and the family list. */
void promtext_free(promtext_t *p);
/* Starts a family: writes "# HELP name help" (help escaped: \\ and \n) and "# TYPE name type". */
int promtext_family(promtext_t *p, const char *name, promtext_type_t type, const char *help);
/* Writes one sample of the current family: name{l1="v1",...} value. */
int promtext_sample(promtext_t *p, const promtext_label_t *labels, size_t nlabels, double value);
/* A family with one unlabelled sample. */
int promtext_value(promtext_t *p, const char *name, promtext_type_t type, const char *help,
                   double value);
/* Hands over the text (caller frees) and frees the rest; on an error returns NULL, frees
 * everything and stores the code in *err (when err is not NULL). */
char *promtext_take(promtext_t *p, int *err);
const char *promtext_strerror(int err);

#endif
