/* history (server/status/history.c): rows kept verbatim with their line numbers, the since
 * cursor, the downsampling bound (the first row and the newest quarter kept), refused lines,
 * following a growing file (partial last line, truncation), and the query parser. */
#include <cjson/cJSON.h>
#include <stdint.h>

#include "check.h"
#include "history.h"

static cJSON *json_of(const history_t *h, uint64_t since) {
  char *t = history_json(h, since);
  CHECK(t != NULL, "history_json returned NULL");
  cJSON *j = t ? cJSON_Parse(t) : NULL;
  CHECK(j != NULL, "history_json is not JSON: %.200s", t ? t : "(null)");
  free(t);
  return j;
}

static double numf(const cJSON *j, const char *k) {
  return cJSON_GetNumberValue(cJSON_GetObjectItem(j, k));
}

static void add_row(history_t *h, int i) {
  char row[128];
  int n = snprintf(row, sizeof row, "{\"env_steps\":%d,\"loss\":%d.5}", i * 10, i);
  CHECK(history_add(h, row, (size_t)n) == 0, "history_add row %d", i);
}

static void test_rows_and_cursor(void) {
  history_t h;
  CHECK(history_init(&h, 100) == 0, "init");
  for (int i = 0; i < 10; i++) add_row(&h, i);
  cJSON *j = json_of(&h, 0);
  CHECK(numf(j, "total") == 10 && numf(j, "next") == 10 && numf(j, "kept") == 10,
        "total %g next %g kept %g", numf(j, "total"), numf(j, "next"), numf(j, "kept"));
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "downsampled")), "downsampled without drops");
  const cJSON *rows = cJSON_GetObjectItem(j, "rows");
  CHECK(cJSON_GetArraySize(rows) == 10, "rows %d", cJSON_GetArraySize(rows));
  const cJSON *r7 = cJSON_GetArrayItem(rows, 7);
  CHECK(numf(r7, "env_steps") == 70 && numf(r7, "loss") == 7.5, "row 7: %g %g",
        numf(r7, "env_steps"), numf(r7, "loss"));
  cJSON_Delete(j);
  j = json_of(&h, 6); /* since: only rows 6..9 */
  rows = cJSON_GetObjectItem(j, "rows");
  const cJSON *seq = cJSON_GetObjectItem(j, "seq");
  CHECK(cJSON_GetArraySize(rows) == 4 && cJSON_GetArraySize(seq) == 4, "since 6: %d rows",
        cJSON_GetArraySize(rows));
  CHECK(cJSON_GetNumberValue(cJSON_GetArrayItem(seq, 0)) == 6 &&
            numf(cJSON_GetArrayItem(rows, 0), "env_steps") == 60,
        "since 6 starts at seq %g", cJSON_GetNumberValue(cJSON_GetArrayItem(seq, 0)));
  cJSON_Delete(j);
  j = json_of(&h, 10); /* nothing new */
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rows")) == 0 && numf(j, "next") == 10,
        "since 10: %d rows", cJSON_GetArraySize(cJSON_GetObjectItem(j, "rows")));
  cJSON_Delete(j);
  /* Refused lines: not an object, trailing junk, too long, embedded NUL. */
  CHECK(history_add(&h, "[1,2]", 5) == -1, "an array was accepted");
  CHECK(history_add(&h, "{\"a\":1} x", 9) == -1, "trailing junk was accepted");
  CHECK(history_add(&h, "{\"a\":1}\0{}", 10) == -1, "a NUL was accepted");
  static char big[HISTORY_MAX_ROW + 10];
  memset(big, ' ', sizeof big);
  big[0] = '{';
  big[sizeof big - 1] = '}';
  CHECK(history_add(&h, big, sizeof big) == -1, "a %zu-byte row was accepted", sizeof big);
  CHECK(h.skipped == 4 && h.total == 14 && h.n == 10, "skipped %llu total %llu n %zu",
        (unsigned long long)h.skipped, (unsigned long long)h.total, h.n);
  history_free(&h);
}

/* 10,000 rows into a limit of 64: never more than 64 held, row 0 and the newest 16 always
 * there, sequence numbers increasing, and the old stretch thinned. */
static void test_downsampling_bound(void) {
  history_t h;
  CHECK(history_init(&h, 64) == 0, "init");
  size_t most = 0;
  for (int i = 0; i < 10000; i++) {
    add_row(&h, i);
    if (h.n > most) most = h.n;
  }
  CHECK(most <= 64, "held %zu rows with limit 64", most);
  CHECK(h.seq[0] == 0, "first row seq %llu", (unsigned long long)h.seq[0]);
  for (size_t i = 1; i < h.n; i++) CHECK(h.seq[i] > h.seq[i - 1], "seq not increasing at %zu", i);
  for (size_t k = 0; k < 16; k++) /* the newest quarter is every row */
    CHECK(h.seq[h.n - 1 - k] == 9999 - k, "newest row %zu is seq %llu", k,
          (unsigned long long)h.seq[h.n - 1 - k]);
  CHECK(h.dropped + h.n == 10000, "dropped %llu + kept %zu != 10000", (unsigned long long)h.dropped,
        h.n);
  /* The older rows are an even sample (every one a multiple of the stride, every tenth of the
   * run holds some) and the rest a full-resolution suffix (the newest quarter and the rows
   * added since the last downsampling). */
  size_t k = 0;
  while (k < h.n && h.seq[k] % h.stride == 0) k++;
  for (size_t i = k + 1; i < h.n; i++)
    CHECK(h.seq[i] == h.seq[i - 1] + 1, "gap in the newest rows at seq %llu",
          (unsigned long long)h.seq[i]);
  int tenth[10] = {0};
  for (size_t i = 0; i < k; i++) tenth[h.seq[i] / 1000]++;
  for (int t = 0; t < 9; t++) CHECK(tenth[t] >= 2, "%d rows in tenth %d of the run", tenth[t], t);
  cJSON *j = json_of(&h, 0);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")) && numf(j, "kept") == (double)h.n &&
            numf(j, "total") == 10000 && numf(j, "limit") == 64,
        "downsampled %d kept %g total %g", cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")),
        numf(j, "kept"), numf(j, "total"));
  const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "rows"), 0);
  CHECK(numf(r0, "env_steps") == 0, "first row env_steps %g", numf(r0, "env_steps"));
  cJSON_Delete(j);
  j = json_of(&h, 9990);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rows")) == 10, "since 9990: %d rows",
        cJSON_GetArraySize(cJSON_GetObjectItem(j, "rows")));
  cJSON_Delete(j);
  history_free(&h);
}

static void test_follow(void) {
  char path[] = "/tmp/test_history_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  FILE *f = fdopen(fd, "w");
  history_t h;
  CHECK(history_init(&h, 100) == 0, "init");
  fputs("{\"env_steps\":1}\n{\"env_steps\":2}\n{\"env_st", f);
  fflush(f);
  CHECK(history_follow(&h, path) == 0 && h.n == 2, "first read: %zu rows", h.n);
  fputs("eps\":3}\nnot json\n\n{\"env_steps\":4}\n", f);
  fflush(f);
  CHECK(history_follow(&h, path) == 0, "second read");
  CHECK(h.n == 4 && h.total == 5 && h.skipped == 1, "after growth: n %zu total %llu skipped %llu",
        h.n, (unsigned long long)h.total, (unsigned long long)h.skipped);
  CHECK(h.n == 4 && strcmp(h.rows[2], "{\"env_steps\":3}") == 0, "row split across reads: %s",
        h.n > 2 ? h.rows[2] : "-");
  CHECK(h.n == 4 && h.seq[3] == 4, "seq of the line after the bad one: %llu",
        (unsigned long long)(h.n == 4 ? h.seq[3] : 0));
  fclose(f);
  f = fopen(path, "w"); /* replaced by a shorter file: read again from the start */
  fputs("{\"env_steps\":9}\n", f);
  fclose(f);
  CHECK(history_follow(&h, path) == 0 && h.n == 1 && h.total == 1 && h.seq[0] == 0,
        "after truncation: n %zu total %llu", h.n, (unsigned long long)h.total);
  unlink(path);
  CHECK(history_follow(&h, path) == -1, "a missing file was read");
  history_free(&h);
}

static void test_query(void) {
  uint64_t v = 7;
  CHECK(history_query_u64("since=42", 8, "since", &v) == 1 && v == 42, "since=42: %llu",
        (unsigned long long)v);
  CHECK(history_query_u64("run=3&since=5", 13, "since", &v) == 1 && v == 5, "second key");
  CHECK(history_query_u64("xsince=5", 8, "since", &v) == 0, "xsince matched since");
  CHECK(history_query_u64("since=5x", 8, "since", &v) == -1, "since=5x accepted");
  CHECK(history_query_u64("since=", 6, "since", &v) == -1, "empty value accepted");
  CHECK(history_query_u64("since=-1", 8, "since", &v) == -1, "negative accepted");
  CHECK(history_query_u64("since=99999999999999999999", 26, "since", &v) == -1, "overflow");
  CHECK(history_query_u64(NULL, 0, "since", &v) == 0, "NULL query");
  CHECK(history_query_u64("since=12&x=1", 5, "since", &v) == 0, "read past qlen");
}

int main(void) {
  test_rows_and_cursor();
  test_downsampling_bound();
  test_follow();
  test_query();
  CHECK_DONE();
}
