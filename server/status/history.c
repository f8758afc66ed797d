/* history: a run's metrics rows in memory, bounded by downsampling (history.h). */
#include "history.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int history_init(history_t *h, size_t limit) {
  memset(h, 0, sizeof *h);
  h->limit = limit < HISTORY_MIN_LIMIT ? HISTORY_MIN_LIMIT : limit;
  h->stride = 1;
  h->rows = calloc(h->limit, sizeof *h->rows);
  h->seq = calloc(h->limit, sizeof *h->seq);
  if (h->rows && h->seq) return 0;
  free(h->rows);
  free(h->seq);
  memset(h, 0, sizeof *h);
  return -1;
}

static void clear_rows(history_t *h) {
  for (size_t i = 0; i < h->n; i++) free(h->rows[i]);
  h->n = 0;
}

void history_free(history_t *h) {
  if (h->rows) clear_rows(h);
  free(h->rows);
  free(h->seq);
  memset(h, 0, sizeof *h);
}

/* Full: drops the older rows whose line number is not a multiple of the stride, doubling it
 * (the run's first row and the newest quarter stay), until the older part holds at most half
 * the limit; the older part thus stays an even sample of the whole run. */
static void downsample(history_t *h) {
  size_t tail = h->limit / 4;
  /* First at the current stride (rows that left the newest quarter), then doubled as needed. */
  for (int pass = 0; h->n - tail > h->limit / 2 && h->stride < (UINT64_MAX >> 1); pass++) {
    if (pass) h->stride *= 2;
    size_t end = h->n - tail, j = 1;
    for (size_t i = 1; i < end; i++) {
      if (h->seq[i] % h->stride == 0) {
        h->rows[j] = h->rows[i];
        h->seq[j] = h->seq[i];
        j++;
      } else {
        free(h->rows[i]);
        h->dropped++;
      }
    }
    for (size_t i = end; i < h->n; i++, j++) {
      h->rows[j] = h->rows[i];
      h->seq[j] = h->seq[i];
    }
    h->n = j;
  }
}

/* A JSON object and nothing else (its text is later copied verbatim into a JSON array). */
static int is_object(const char *row, size_t len) {
  if (memchr(row, 0, len)) return 0;
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(row, len, &end, 0);
  int ok = j && cJSON_IsObject(j);
  cJSON_Delete(j);
  if (!ok) return 0;
  for (; end < row + len; end++)
    if (*end != ' ' && *end != '\t' && *end != '\r') return 0;
  return 1;
}

int history_add(history_t *h, const char *row, size_t len) {
  if (len > HISTORY_MAX_ROW || !is_object(row, len)) {
    h->skipped++;
    h->total++; /* the line keeps its number: sequence numbers stay line numbers */
    return -1;
  }
  char *copy = malloc(len + 1);
  if (!copy) return -1;
  memcpy(copy, row, len);
  copy[len] = 0;
  if (h->n == h->limit) downsample(h);
  h->rows[h->n] = copy;
  h->seq[h->n] = h->total++;
  h->n++;
  return 0;
}

int history_follow(history_t *h, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  if (fseek(f, 0, SEEK_END) == 0) {
    long size = ftell(f);
    if (size >= 0 && size < h->file_offset) { /* truncated or replaced: start again */
      clear_rows(h);
      h->total = h->dropped = h->skipped = 0;
      h->stride = 1;
      h->file_offset = 0;
    }
  }
  if (fseek(f, h->file_offset, SEEK_SET) != 0) {
    fclose(f);
    return -1;
  }
  static char line[HISTORY_MAX_ROW + 2]; /* loop thread only (history.h) */
  size_t len = 0;
  int too_long = 0, c;
  long pos = h->file_offset;
  while ((c = getc(f)) != EOF) {
    pos++;
    if (c != '\n') {
      if (len < sizeof line) line[len++] = (char)c;
      if (len == sizeof line) too_long = 1;
      continue;
    }
    if (too_long) {
      h->skipped++;
      h->total++;
    } else if (len > 0) {
      history_add(h, line, len);
    }
    len = 0;
    too_long = 0;
    h->file_offset = pos; /* only complete lines count as read */
  }
  fclose(f);
  return 0;
}

/* A growing text buffer; on out of memory it stays failed and the result is NULL. */
typedef struct buf {
  char *p;
  size_t n, cap;
  int failed;
} buf_t;

static void put(buf_t *b, const char *s, size_t len) {
  if (b->failed) return;
  if (b->n + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + len + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, len);
  b->n += len;
  b->p[b->n] = 0;
}

static void putf_u64(buf_t *b, const char *before, uint64_t v) {
  char tmp[64];
  int k = snprintf(tmp, sizeof tmp, "%s%llu", before, (unsigned long long)v);
  put(b, tmp, (size_t)k);
}

char *history_json(const history_t *h, uint64_t since) {
  buf_t b = {0};
  size_t first = 0; /* rows are in sequence order: skip the older ones */
  while (first < h->n && h->seq[first] < since) first++;
  putf_u64(&b, "{\"total\":", h->total);
  putf_u64(&b, ",\"next\":", h->total);
  putf_u64(&b, ",\"kept\":", h->n);
  putf_u64(&b, ",\"limit\":", h->limit);
  put(&b, h->dropped ? ",\"downsampled\":true" : ",\"downsampled\":false", h->dropped ? 19 : 20);
  putf_u64(&b, ",\"dropped\":", h->dropped);
  putf_u64(&b, ",\"stride\":", h->stride);
  putf_u64(&b, ",\"skipped\":", h->skipped);
  put(&b, ",\"seq\":[", 8);
  for (size_t i = first; i < h->n; i++) putf_u64(&b, i > first ? "," : "", h->seq[i]);
  put(&b, "],\"rows\":[", 10);
  for (size_t i = first; i < h->n; i++) {
    if (i > first) put(&b, ",", 1);
    put(&b, h->rows[i], strlen(h->rows[i]));
  }
  put(&b, "]}", 2);
  if (b.failed) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

int history_query_u64(const char *query, size_t qlen, const char *key, uint64_t *out) {
  size_t klen = strlen(key);
  const char *p = query, *end = query ? query + qlen : NULL;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
      const char *v = p + klen + 1;
      if (v == stop || stop - v > 19) return -1;
      uint64_t x = 0;
      for (; v < stop; v++) {
        if (*v < '0' || *v > '9') return -1;
        x = x * 10 + (uint64_t)(*v - '0');
      }
      *out = x;
      return 1;
    }
    p = amp ? amp + 1 : end;
  }
  return 0;
}
