/* board: `rlserve board DIR [DIR ...] [--listen HOST:PORT] [--port-file F]` (board.h).
 * One libuv loop: the status socket's HTTP server with the board page, GET /runs and
 * GET /history?run=I&since=N, and a timer that follows the run folders (new metrics rows,
 * summary.json once a run ends, new run folders below the given ones). */
#include "board.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "addr.h"
#include "history.h"
#include "log.h"
#include "status_http.h"

#define BOARD_MAX_RUNS 256     /* run folders followed at once */
#define BOARD_MAX_DEPTH 4      /* folder levels searched below a given DIR */
#define BOARD_HISTORY 2000     /* metrics rows kept per run (older ones downsampled) */
#define BOARD_REFRESH_MS 1000  /* how often the folders are read again */
#define BOARD_RESCAN_EVERY 5   /* refreshes between searches for new run folders */
#define BOARD_MAX_FILE 1048576 /* largest run.conf / summary.json read */

/* The board page, generated from server/status/board.html by embed.cmake. */
extern const char status_board_html[];
extern const size_t status_board_html_len;

typedef struct board_run {
  char dir[1024];
  char name[256]; /* the folder, relative to the DIR it was found under */
  history_t hist;
  cJSON *config;  /* run.conf (or config.conf) as {key: value text}; NULL when absent */
  cJSON *summary; /* summary.json; NULL until the run has written it */
  long summary_mtime;
} board_run_t;

typedef struct board {
  uv_loop_t *loop;
  uv_timer_t timer;
  uv_signal_t sigint, sigterm;
  status_http_t *http;
  char **roots;
  int n_roots;
  board_run_t *runs[BOARD_MAX_RUNS];
  int n_runs;
  int refreshes;
  int full_warned;
} board_t;

/* dir/name into out; -1 when it does not fit (such a path is skipped). */
static int join(char *out, size_t n, const char *dir, const char *name) {
  int k = snprintf(out, n, "%s/%s", dir, name);
  return k < 0 || (size_t)k >= n ? -1 : 0;
}

static char *read_small(const char *path, long *mtime) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > BOARD_MAX_FILE) return NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc((size_t)st.st_size + 1);
  size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
  fclose(f);
  if (!buf) return NULL;
  buf[n] = 0;
  if (mtime) *mtime = (long)st.st_mtime;
  return buf;
}

/* "key = value" lines (config_to_text's format; # comments) as an object of strings. */
static cJSON *parse_conf(const char *text) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  const char *p = text;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    char line[1024];
    if (len < sizeof line) {
      memcpy(line, p, len);
      line[len] = 0;
      char *eq = strchr(line, '=');
      if (line[0] != '#' && eq) {
        char *k = line, *v = eq + 1, *e = eq;
        *eq = 0;
        while (*k == ' ' || *k == '\t') k++;
        while (e > k && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        while (*v == ' ' || *v == '\t') v++;
        for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t');)
          *--e = 0;
        if (*k && !cJSON_GetObjectItem(o, k)) cJSON_AddStringToObject(o, k, v);
      }
    }
    p += len + (eol ? 1 : 0);
  }
  return o;
}

static int is_run_dir(const char *dir) {
  static const char *const marks[] = {"metrics.jsonl", "summary.json", "run.conf"};
  char path[1100];
  struct stat st;
  for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
    if (join(path, sizeof path, dir, marks[i]) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
      return 1;
  }
  return 0;
}

static void add_run(board_t *b, const char *dir, const char *name) {
  for (int i = 0; i < b->n_runs; i++)
    if (strcmp(b->runs[i]->dir, dir) == 0) return;
  if (b->n_runs == BOARD_MAX_RUNS) {
    if (!b->full_warned++)
      LOG_W("board", "more than %d run folders: %s and later ones are not shown", BOARD_MAX_RUNS,
            dir);
    return;
  }
  board_run_t *r = calloc(1, sizeof *r);
  if (!r || history_init(&r->hist, BOARD_HISTORY) != 0) {
    free(r);
    LOG_E("board", "out of memory for run folder %s", dir);
    return;
  }
  snprintf(r->dir, sizeof r->dir, "%s", dir);
  snprintf(r->name, sizeof r->name, "%s", name);
  r->summary_mtime = -1;
  b->runs[b->n_runs++] = r;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every run folder at or below dir (depth levels), in name order; symbolic links are not
 * followed (a loop of links cannot trap the search). */
static void scan(board_t *b, const char *dir, const char *name, int depth) {
  if (is_run_dir(dir)) {
    add_run(b, dir, name[0] ? name : dir);
    return;
  }
  if (depth <= 0) return;
  DIR *d = opendir(dir);
  if (!d) return;
  char *names[1024];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 1024) {
    if (e->d_name[0] == '.') continue;
    char path[1100];
    struct stat st;
    if (join(path, sizeof path, dir, e->d_name) == 0 && lstat(path, &st) == 0 &&
        S_ISDIR(st.st_mode))
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_name);
  for (int i = 0; i < n; i++) {
    if (!names[i]) continue;
    char path[1100], sub[300];
    int k = snprintf(sub, sizeof sub, "%s%s%s", name, name[0] ? "/" : "", names[i]);
    if (join(path, sizeof path, dir, names[i]) == 0 && k > 0 && (size_t)k < sizeof sub)
      scan(b, path, sub, depth - 1);
    free(names[i]);
  }
}

/* A run folder named on the command line is shown by its own name; below a folder given on the
 * command line, by the path under it (after the folder's own when several are given). */
static void rescan(board_t *b) {
  for (int i = 0; i < b->n_roots; i++) {
    const char *root = b->roots[i];
    if (is_run_dir(root)) {
      const char *base = strrchr(root, '/');
      add_run(b, root, base && base[1] ? base + 1 : root);
    } else {
      scan(b, root, b->n_roots > 1 ? root : "", BOARD_MAX_DEPTH); /* names stay distinct */
    }
  }
}

static void refresh_run(board_run_t *r) {
  char path[1100];
  if (join(path, sizeof path, r->dir, "metrics.jsonl") == 0) history_follow(&r->hist, path);
  if (!r->config) {
    char *t = join(path, sizeof path, r->dir, "run.conf") == 0 ? read_small(path, NULL) : NULL;
    if (!t && join(path, sizeof path, r->dir, "config.conf") == 0) t = read_small(path, NULL);
    if (t) r->config = parse_conf(t);
    free(t);
  }
  long mtime = -1;
  struct stat st;
  if (join(path, sizeof path, r->dir, "summary.json") != 0) return;
  if (stat(path, &st) == 0) mtime = (long)st.st_mtime;
  if (mtime != r->summary_mtime) {
    char *t = read_small(path, &mtime);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    if (j && !cJSON_IsObject(j)) {
      cJSON_Delete(j);
      j = NULL;
    }
    cJSON_Delete(r->summary);
    r->summary = j;
    r->summary_mtime = j ? mtime : -1; /* a summary half written is read again */
  }
}

static void refresh(board_t *b) {
  if (b->refreshes++ % BOARD_RESCAN_EVERY == 0) rescan(b);
  for (int i = 0; i < b->n_runs; i++) refresh_run(b->runs[i]);
}

static void on_timer(uv_timer_t *t) { refresh(t->data); }

/* Config keys whose values are not the same in every run (seed and preset are shown anyway). */
static cJSON *differing_keys(const board_t *b) {
  cJSON *keys = cJSON_CreateArray();
  const cJSON *first = NULL;
  for (int i = 0; i < b->n_runs && !first; i++) first = b->runs[i]->config;
  if (!first || !keys) return keys;
  /* Every key of any run, compared across the runs (missing counts as a value). */
  for (int i = 0; i < b->n_runs; i++) {
    const cJSON *c = b->runs[i]->config;
    for (const cJSON *kv = c ? c->child : NULL; kv; kv = kv->next) {
      const char *k = kv->string;
      if (!strcmp(k, "seed") || !strcmp(k, "preset")) continue;
      int seen = 0;
      for (const cJSON *x = keys->child; x && !seen; x = x->next) seen = !strcmp(x->valuestring, k);
      if (seen) continue;
      const char *v0 = NULL;
      int differs = 0, n = 0;
      for (int j = 0; j < b->n_runs && !differs; j++) {
        const cJSON *cj = b->runs[j]->config;
        if (!cj) continue;
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(cj, k));
        if (n++ == 0)
          v0 = v;
        else
          differs = (v0 == NULL) != (v == NULL) || (v && strcmp(v, v0) != 0);
      }
      if (differs) cJSON_AddItemToArray(keys, cJSON_CreateString(k));
    }
  }
  return keys;
}

static const char *conf_value(const board_run_t *r, const char *key) {
  const char *v = r->config ? cJSON_GetStringValue(cJSON_GetObjectItem(r->config, key)) : NULL;
  return v ? v : "";
}

/* GET /runs: {"runs": [{id, name, dir, preset, seed, algo, env, config: {differing keys},
 * summary, rows, kept, downsampled}], "differ": [keys]}. */
static char *runs_json(void *ctx) {
  board_t *b = ctx;
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "runs");
  cJSON *differ = differing_keys(b);
  for (int i = 0; i < b->n_runs; i++) {
    const board_run_t *r = b->runs[i];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", i);
    cJSON_AddStringToObject(j, "name", r->name);
    cJSON_AddStringToObject(j, "dir", r->dir);
    const char *preset = conf_value(r, "preset"), *seed = conf_value(r, "seed");
    const cJSON *sp = r->summary ? cJSON_GetObjectItem(r->summary, "preset") : NULL;
    const cJSON *ss = r->summary ? cJSON_GetObjectItem(r->summary, "seed") : NULL;
    cJSON_AddStringToObject(j, "preset",
                            preset[0] || !cJSON_IsString(sp) ? preset : sp->valuestring);
    if (seed[0] || !cJSON_IsNumber(ss))
      cJSON_AddStringToObject(j, "seed", seed);
    else
      cJSON_AddNumberToObject(j, "seed", ss->valuedouble);
    cJSON_AddStringToObject(j, "algo", conf_value(r, "algo"));
    cJSON_AddStringToObject(j, "env", conf_value(r, "env"));
    cJSON *cfg = cJSON_AddObjectToObject(j, "config");
    for (const cJSON *k = differ ? differ->child : NULL; k; k = k->next)
      cJSON_AddStringToObject(cfg, k->valuestring, conf_value(r, k->valuestring));
    cJSON_AddItemToObject(j, "summary",
                          r->summary ? cJSON_Duplicate(r->summary, 1) : cJSON_CreateNull());
    cJSON_AddNumberToObject(j, "rows", (double)r->hist.total);
    cJSON_AddNumberToObject(j, "kept", (double)r->hist.n);
    cJSON_AddBoolToObject(j, "downsampled", r->hist.dropped > 0);
    cJSON_AddItemToArray(arr, j);
  }
  cJSON_AddItemToObject(o, "differ", differ ? differ : cJSON_CreateArray());
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

static int history_source(void *ctx, const char *query, size_t qlen, char **out) {
  board_t *b = ctx;
  uint64_t run = 0, since = 0;
  int hr = history_query_u64(query, qlen, "run", &run);
  int hs = history_query_u64(query, qlen, "since", &since);
  if (hr != 1 || hs < 0) {
    *out = strdup("/history: give run=I (a run's id from /runs) and optionally since=N\n");
    return 400;
  }
  if (run >= (uint64_t)b->n_runs) {
    char msg[128];
    snprintf(msg, sizeof msg, "/history: no run %llu (the board shows %d)\n",
             (unsigned long long)run, b->n_runs);
    *out = strdup(msg);
    return 404;
  }
  *out = history_json(&b->runs[run]->hist, since);
  return 200;
}

static void on_closed(uv_handle_t *h) { (void)h; }

static void on_http_closed(void *arg) { (void)arg; }

static void stop(board_t *b) {
  if (b->http) status_http_close(b->http, on_http_closed, NULL);
  b->http = NULL;
  uv_close((uv_handle_t *)&b->timer, on_closed);
  uv_close((uv_handle_t *)&b->sigint, on_closed);
  uv_close((uv_handle_t *)&b->sigterm, on_closed);
}

static void on_signal(uv_signal_t *s, int signum) {
  LOG_I("board", "signal %d: stopping", signum);
  stop(s->data);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlserve board DIR [DIR ...] [--listen HOST:PORT] [--port-file FILE]\n"
          "Serves a read-only page over run folders: each DIR that is a run folder (it holds\n"
          "metrics.jsonl, summary.json or run.conf), or every run folder below it. One chart per\n"
          "metric with one line per run, smoothing, x by env steps or wall time, and a table of\n"
          "each run's summary.json. Live runs are followed as their metrics.jsonl grows.\n"
          "--listen defaults to 127.0.0.1:0 (any free port; the address is printed).\n");
}

int board_main(int argc, char **argv) {
  const char *listen = "127.0.0.1:0", *port_file = NULL;
  static board_t b; /* large; one board per process */
  memset(&b, 0, sizeof b);
  b.roots = calloc((size_t)argc, sizeof *b.roots);
  if (!b.roots) return 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      free(b.roots);
      return 0;
    } else if (!strcmp(a, "--listen") && v) {
      listen = v, i++;
    } else if (!strcmp(a, "--port-file") && v) {
      port_file = v, i++;
    } else if (a[0] == '-') {
      fprintf(stderr, "rlserve board: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      free(b.roots);
      return 2;
    } else {
      struct stat st;
      if (stat(a, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "rlserve board: %s: %s\n", a,
                stat(a, &st) != 0 ? strerror(errno) : "not a folder");
        free(b.roots);
        return 2;
      }
      b.roots[b.n_roots++] = (char *)a;
    }
  }
  if (!b.n_roots) {
    fprintf(stderr, "rlserve board: give one or more run folders (or folders of runs)\n");
    usage(stderr);
    free(b.roots);
    return 2;
  }
  b.loop = uv_default_loop();
  refresh(&b);
  if (!b.n_runs)
    LOG_W("board", "no run folder found yet (looking again every %d s)",
          BOARD_REFRESH_MS * BOARD_RESCAN_EVERY / 1000);
  status_http_sources_t src = {.ctx = &b,
                               .history_json = history_source,
                               .runs_json = runs_json,
                               .page = status_board_html,
                               .page_len = status_board_html_len};
  char err[1024];
  int rc = status_http_start(b.loop, listen, &src, &b.http, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "rlserve board: %s\n", err);
    free(b.roots);
    return 2;
  }
  addr_t la;
  if (addr_resolve(listen, &la, err, sizeof err) == 0 && !addr_is_loopback(&la.sa))
    LOG_W("board",
          "--listen %s is reachable from other machines: anyone who can connect reads "
          "these runs' metrics, configs and summaries",
          listen);
  int port = status_http_port(b.http);
  addr_t a;
  char host[300] = "127.0.0.1";
  if (addr_split(listen, &a, err, sizeof err) == 0 && a.host[0])
    snprintf(host, sizeof host, strchr(a.host, ':') ? "[%s]" : "%s", a.host);
  printf("rlserve board: %d run folder(s); open http://%s:%d/\n", b.n_runs, host, port);
  fflush(stdout);
  if (port_file) {
    FILE *f = fopen(port_file, "w");
    if (f) {
      fprintf(f, "%d\n", port);
      fclose(f);
    }
  }
  uv_timer_init(b.loop, &b.timer);
  uv_signal_init(b.loop, &b.sigint);
  uv_signal_init(b.loop, &b.sigterm);
  b.timer.data = b.sigint.data = b.sigterm.data = &b;
  uv_timer_start(&b.timer, on_timer, BOARD_REFRESH_MS, BOARD_REFRESH_MS);
  uv_signal_start(&b.sigint, on_signal, SIGINT);
  uv_signal_start(&b.sigterm, on_signal, SIGTERM);
  uv_run(b.loop, UV_RUN_DEFAULT);
  uv_loop_close(b.loop);
  for (int i = 0; i < b.n_runs; i++) {
    history_free(&b.runs[i]->hist);
    cJSON_Delete(b.runs[i]->config);
    cJSON_Delete(b.runs[i]->summary);
    free(b.runs[i]);
  }
  free(b.roots);
  return 0;
}
