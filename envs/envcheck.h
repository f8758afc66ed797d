/* envcheck: replays a Gymnasium test-vector file (schema: ../shared/testdata/README.md)
 * against our env and reports the worst deviation. Used by `rlserve envcheck FILE.json`. */
#ifndef RLSERVE_ENVCHECK_H
#define RLSERVE_ENVCHECK_H

/* argv[0] is "envcheck". Prints a report to stdout; returns the process exit status:
 * 0 every step matched, 1 a mismatch, 2 bad usage or an unreadable / invalid file. */
int envcheck_main(int argc, char **argv);

/* The MinAtar replay (envs/envcheck_minatar.c) for a parsed file whose env_id starts with
 * "MinAtar/"; same exit statuses. The cJSON pointer is a const cJSON *. */
struct cJSON;
int envcheck_minatar(const char *path, const struct cJSON *root);

#endif
