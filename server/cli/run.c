/* run: `rlserve run` starts a learner and N workers as child processes on 127.0.0.1, shows
 * the learner's progress lines, and on the learner's exit stops every worker and reports
 * the summary. Ctrl-C (SIGINT) or SIGTERM asks the learner to save and stop. */
#include "run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "algo.h"
#include "auth.h"
#include "checkpoint.h"
#include "config.h"
#include "env.h"
#include "learner.h"
#include "onpolicy.h"
#include "plugin.h"
#include "rundir.h"

static volatile sig_atomic_t got_signal = 0;
static void on_signal(int sig) { got_signal = sig; }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static const char *self_exe(void) {
  static char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "rlserve";
  path[n] = 0;
  return path;
}

/* fork + exec of this binary with args; stdout to the terminal or a log, stderr to log.
 * The child never outlives this process, however it ends (SIGKILL included): the kernel
 * sends the child SIGTERM when its parent dies (the learner then saves its state), and a
 * parent that died before prctl took effect is caught by comparing getppid(). */
static pid_t spawn(char *const argv[], const char *log_path, int keep_stdout) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(125);
  int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    dup2(fd, 2);
    if (!keep_stdout) dup2(fd, 1);
  }
  signal(SIGINT, SIG_IGN); /* the parent decides how children stop */
  execv(self_exe(), argv);
  fprintf(stderr, "rlserve run: exec %s failed: %s\n", self_exe(), strerror(errno));
  _exit(127);
}

static void stop_child(pid_t pid, const char *what) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; i++) { /* up to 5 s for a clean exit */
    if (waitpid(pid, NULL, WNOHANG) == pid) return;
    sleep_ms(50);
  }
  fprintf(stderr, "rlserve run: %s (pid %d) did not stop in 5 s; killing it\n", what, (int)pid);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static void tail_file(const char *path, int lines) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  int seen = 0;
  size_t i = n;
  while (i > 0 && seen <= lines)
    if (buf[--i] == '\n') seen++;
  fprintf(stderr, "--- last lines of %s ---\n%s", path, buf + (i ? i + 1 : 0));
}

/* 32 random bytes as hex, readable by the owner only. */
static int write_token(const char *path) {
  uint8_t raw[32];
  char hex[65];
  FILE *u = fopen("/dev/urandom", "rb");
  if (!u || fread(raw, 1, sizeof raw, u) != sizeof raw) {
    if (u) fclose(u);
    return -1;
  }
  fclose(u);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  int ok = write(fd, hex, 64) == 64 && write(fd, "\n", 1) == 1;
  close(fd);
  return ok ? 0 : -1;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlserve run --preset NAME [--workers N] [--seed S] [--set key=value ...]\n"
          "                   [--config FILE] [--out DIR] [--envs K] [--resume DIR]\n"
          "                   [--check-args]   (check the command line and config, start nothing)\n"
          "Starts a learner and N workers on 127.0.0.1, trains until the greedy evaluation\n"
          "reaches the preset's threshold or the env-step budget ends. Exit status 0 when\n"
          "solved, 1 when the budget ran out, 2 on errors.\n");
}

/* What the command line asked for. --workers, --seed and --envs are settings too: they join
 * the --set list in order, applied after the preset and the config file. */
typedef struct run_opts {
  const char *preset, *config_file, *resume, *out;
  char *sets[256];
  int n_sets;
  int check; /* --check-args: validate, print ok or the error, start nothing */
} run_opts_t;

static void add_set(run_opts_t *o, const char *text) {
  if (o->n_sets < 250) o->sets[o->n_sets++] = strdup(text);
}

static void free_sets(run_opts_t *o) {
  for (int i = 0; i < o->n_sets; i++) free(o->sets[i]);
  o->n_sets = 0;
}

/* -1 to go on, else the exit status (0 after --help, 2 after a message). */
static int parse_opts(int argc, char **argv, run_opts_t *o) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      config_print_help(stdout);
      algo_print_help(stdout);
      printf("\nenvironments (env = ...):");
      for (const char *const *id = env_ids(); *id; id++) printf(" %s", *id);
      printf("\n");
      free_sets(o);
      return 0;
    }
    if (!strcmp(a, "--check-args")) { /* a flag: no value */
      o->check = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "rlserve run: %s needs a value\n", a);
      free_sets(o);
      return 2;
    }
    i++;
    char buf[300];
    if (!strcmp(a, "--preset")) {
      o->preset = v;
    } else if (!strcmp(a, "--config")) {
      o->config_file = v;
    } else if (!strcmp(a, "--out")) {
      o->out = v;
    } else if (!strcmp(a, "--resume")) {
      o->resume = o->out = v;
    } else if (!strcmp(a, "--set")) {
      add_set(o, v);
    } else if (!strcmp(a, "--workers") || !strcmp(a, "--seed")) {
      snprintf(buf, sizeof buf, "%s=%s", a + 2, v);
      add_set(o, buf);
    } else if (!strcmp(a, "--envs")) {
      snprintf(buf, sizeof buf, "envs_per_worker=%s", v);
      add_set(o, buf);
    } else {
      fprintf(stderr, "rlserve run: unknown option '%s'\n", a);
      usage(stderr);
      free_sets(o);
      return 2;
    }
  }
  return -1;
}

/* --resume found no checkpoint: an on-policy run keeps none (it runs in one process), so say
 * that instead of only "cannot open checkpoint.ckpt" when the folder's run.conf names one. */
static void resume_hint(const char *dir, char *err, size_t errlen) {
  char path[1100], e[256];
  snprintf(path, sizeof path, "%s/run.conf", dir);
  config_t c;
  config_init(&c);
  if (config_load_file(&c, path, e, sizeof e) != 0) return;
  const algo_t *a = algo_find(c.algo);
  if (a && a->mode == ALGO_IN_PROCESS)
    snprintf(err, errlen,
             "%s is a run of %s, an on-policy method: it runs in this process without "
             "checkpoints, so it cannot be resumed; start it again (rlserve run --preset %s)",
             dir, c.algo, c.preset[0] ? c.preset : "...");
}

/* The config of the run folder's checkpoint, authenticated with the folder's token when it
 * has one (a run always writes one). 0, or -1 with a message. */
static int resume_config(const char *dir, config_t *cfg, char *err, size_t errlen) {
  char token[1100];
  snprintf(token, sizeof token, "%s/token", dir);
  uint8_t tk[AUTH_KEY], ck[CHECKPOINT_KEY];
  int keyed = access(token, R_OK) == 0;
  if (keyed && auth_key_from_file(token, tk, err, errlen) != 0) return -1;
  if (keyed) checkpoint_key_derive(tk, ck);
  return learner_load_config(dir, keyed ? ck : NULL, cfg, err, errlen);
}

/* The checkpoint's config (--resume), the preset, the file, then the settings in order,
 * validated. 0, or 2 after a message. Frees o's settings. */
static int resolve_config(run_opts_t *o, config_t *cfg, const algo_t **algo) {
  char err[1024];
  int rc = 0;
  config_init(cfg);
  char ck_plugin[CONFIG_STR_MAX] = "";
  if (o->resume && resume_config(o->resume, cfg, err, sizeof err) != 0) {
    rc = -1;
    resume_hint(o->resume, err, sizeof err);
  }
  /* A library path read from a checkpoint is never loaded: the command line names it. */
  snprintf(ck_plugin, sizeof ck_plugin, "%s", cfg->env_plugin);
  cfg->env_plugin[0] = 0;
  if (rc == 0 && o->preset && config_load_preset(cfg, o->preset, err, sizeof err) != 0) rc = -1;
  if (rc == 0 && o->config_file && config_load_file(cfg, o->config_file, err, sizeof err) != 0)
    rc = -1;
  for (int i = 0; i < o->n_sets && rc == 0; i++)
    if (config_set_arg(cfg, o->sets[i], err, sizeof err) != 0) rc = -1;
  free_sets(o);
  if (rc == 0 && ck_plugin[0] && !cfg->env_plugin[0]) {
    snprintf(err, sizeof err,
             "%s's checkpoint names the env plugin %.200s; a library named by a data file is "
             "not loaded: give --set env_plugin=PATH to load one",
             o->resume, ck_plugin);
    rc = -1;
  }
  if (rc == 0 && !o->preset && !o->config_file && !o->resume) {
    snprintf(err, sizeof err, "give --preset NAME or --config FILE");
    rc = -1;
  }
  if (rc == 0 && algo_validate_config(cfg, NULL, algo, err, sizeof err) != 0) rc = -1;
  if (rc == 0) return 0;
  fprintf(stderr, "rlserve run: %s\n", err);
  return 2;
}

/* The run folder and the files the command and the learner meet at. */
typedef struct run_paths {
  char dir[1024];
  char cfg[1100], port[1100], learner_log[1100], summary[1100], token[1100];
} run_paths_t;

/* Creates the run folder (--out, or runs/PRESET-STAMP), clears the old port and summary and
 * writes run.conf. 0, or 2 after a message. */
static int prepare_folder(const config_t *cfg, const char *out, run_paths_t *p) {
  if (out) {
    snprintf(p->dir, sizeof p->dir, "%s", out);
  } else {
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(p->dir, sizeof p->dir, "runs/%s-%s", cfg->preset[0] ? cfg->preset : "run", stamp);
  }
  char err[1300];
  if (rundir_mkdir(p->dir, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve run: %s\n", err);
    return 2;
  }
  snprintf(p->cfg, sizeof p->cfg, "%s/run.conf", p->dir);
  snprintf(p->port, sizeof p->port, "%s/learner.port", p->dir);
  snprintf(p->learner_log, sizeof p->learner_log, "%s/learner.log", p->dir);
  snprintf(p->summary, sizeof p->summary, "%s/summary.json", p->dir);
  snprintf(p->token, sizeof p->token, "%s/token", p->dir);
  unlink(p->port);
  unlink(p->summary);
  char *text = config_to_text(cfg);
  FILE *f = fopen(p->cfg, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "rlserve run: cannot write %s\n", p->cfg);
    free(text);
    return 2;
  }
  free(text);
  return 0;
}

/* On-policy methods learn from the current policy's data only: they run in this process, one
 * thread stepping the env and updating (no replay, no workers). */
static int run_in_process(const config_t *cfg, const char *dir) {
  char err[1024];
  printf("rlserve run: %s on %s in-process (on-policy: no workers), seed %lld, run folder %s\n",
         cfg->algo, cfg->env, (long long)cfg->seed, dir);
  fflush(stdout);
  int rc = onpolicy_run(cfg, dir, 0, err, sizeof err);
  if (rc == 2) fprintf(stderr, "rlserve run: %s\n", err);
  return rc;
}

/* Starts the learner and waits (up to 30 s) for the port it listens on. 0 with *pid and *port,
 * or 2 after a message (the learner stopped). */
static int start_learner(const run_paths_t *p, const char *resume, pid_t *pid, int *port) {
  char *largv[16] = {"rlserve",     "learner",       "--config",     (char *)p->cfg,
                     "--listen",    "127.0.0.1:0",   "--out",        (char *)p->dir,
                     "--port-file", (char *)p->port, "--token-file", (char *)p->token};
  if (resume) { /* the learner restores its state from the run folder's checkpoint */
    largv[12] = "--resume";
    largv[13] = (char *)p->dir;
  }
  *pid = spawn(largv, p->learner_log, 1);
  if (*pid < 0) {
    fprintf(stderr, "rlserve run: fork failed: %s\n", strerror(errno));
    return 2;
  }
  int lstatus, learner_done = 0;
  *port = 0;
  for (int i = 0; i < 600 && !*port; i++) { /* up to 30 s for the learner to listen */
    FILE *pf = fopen(p->port, "r");
    if (pf) {
      if (fscanf(pf, "%d", port) != 1) *port = 0;
      fclose(pf);
    }
    if (!*port) {
      if (waitpid(*pid, &lstatus, WNOHANG) == *pid) {
        learner_done = 1;
        break;
      }
      if (got_signal) break;
      sleep_ms(50);
    }
  }
  if (*port) return 0;
  fprintf(stderr, "rlserve run: the learner did not start listening\n");
  if (!learner_done) stop_child(*pid, "learner");
  tail_file(p->learner_log, 20);
  return 2;
}

/* The learner's status socket, once it has written status.port. */
static void print_status_port(const char *dir) {
  char sp_path[1100];
  snprintf(sp_path, sizeof sp_path, "%s/status.port", dir);
  FILE *spf = fopen(sp_path, "r");
  int sport = 0;
  if (spf) {
    if (fscanf(spf, "%d", &sport) != 1) sport = 0;
    fclose(spf);
  }
  if (sport)
    printf("rlserve run: status http://127.0.0.1:%d/ (dashboard), rlserve status 127.0.0.1:%d\n",
           sport, sport);
  fflush(stdout);
}

/* A worker's exit: reported, the run goes on; when none is left the learner is stopped. */
static void worker_exited(pid_t p, int status, pid_t *workers, int nw, pid_t learner,
                          int *forwarded) {
  for (int i = 0; i < nw; i++)
    if (workers[i] == p) {
      fprintf(stderr, "rlserve run: worker %d (pid %d) exited (%s %d); the run goes on\n", i,
              (int)p, WIFSIGNALED(status) ? "signal" : "status",
              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      workers[i] = 0;
    }
  int alive = 0;
  for (int i = 0; i < nw; i++) alive += workers[i] != 0;
  if (nw > 0 && alive == 0 && !*forwarded) {
    fprintf(stderr,
            "rlserve run: every worker has exited; stopping the learner (see the "
            "worker logs in the run folder)\n");
    kill(learner, SIGTERM);
    *forwarded = 1;
  }
}

/* Waits for the learner, forwarding the first SIGINT/SIGTERM to it; its wait status. */
static int wait_learner(pid_t learner, pid_t *workers, int nw) {
  int status = 0, forwarded = 0;
  for (;;) {
    pid_t p = waitpid(-1, &status, 0);
    if (p < 0) {
      if (errno != EINTR) return status;
      if (got_signal && !forwarded) {
        printf("rlserve run: stopping (signal %d); the learner saves its state\n", (int)got_signal);
        fflush(stdout);
        kill(learner, SIGTERM);
        forwarded = 1;
      }
      continue;
    }
    if (p == learner) return status;
    worker_exited(p, status, workers, nw, learner, &forwarded);
  }
}

/* The learner's summary.json as the run's last lines; the command's exit status: 0 solved,
 * 1 budget spent, 130 interrupted, 2 when the learner failed or a checkpoint could not be
 * written (the run is then not resumable from where it stopped). */
static int report_summary(const config_t *cfg, const run_paths_t *p, int lcode) {
  FILE *sf = fopen(p->summary, "r");
  if (!sf) {
    fprintf(stderr, "rlserve run: the learner exited (status %d) without a summary\n", lcode);
    tail_file(p->learner_log, 20);
    return 2;
  }
  static char sbuf[1 << 16];
  size_t sn = fread(sbuf, 1, sizeof sbuf - 1, sf);
  fclose(sf);
  sbuf[sn] = 0;
  cJSON *j = cJSON_Parse(sbuf);
  const cJSON *steps = cJSON_GetObjectItem(j, "env_steps");
  const cJSON *wall = cJSON_GetObjectItem(j, "wall_seconds");
  const cJSON *em = cJSON_GetObjectItem(j, "eval_mean");
  const cJSON *es = cJSON_GetObjectItem(j, "eval_std");
  int is_solved = cJSON_IsTrue(cJSON_GetObjectItem(j, "solved"));
  if (is_solved)
    printf(
        "rlserve run: SOLVED %s: greedy eval %.1f +- %.1f over %lld episodes at %.0f env "
        "steps, %.1f s\n",
        cfg->env, cJSON_GetNumberValue(em), cJSON_GetNumberValue(es), (long long)cfg->eval_episodes,
        cJSON_GetNumberValue(steps), cJSON_GetNumberValue(wall));
  else
    printf("rlserve run: not solved: %s after %.0f env steps, %.1f s (last greedy eval %s)\n",
           cfg->env, cJSON_GetNumberValue(steps), cJSON_GetNumberValue(wall),
           cJSON_IsNumber(em) ? "below the threshold" : "none");
  printf("rlserve run: summary %s, policy %s/policy.ckpt\n", p->summary, p->dir);
  const cJSON *ckerr = cJSON_GetObjectItem(j, "checkpoint_error");
  int ck_failed = cJSON_IsString(ckerr);
  if (ck_failed)
    fprintf(stderr, "rlserve run: checkpoint failed: %s (the run folder %s is not resumable)\n",
            cJSON_GetStringValue(ckerr), p->dir);
  cJSON_Delete(j);
  if (ck_failed) return 2;
  if (lcode == 130) return 130;
  return is_solved ? 0 : (lcode == 1 || lcode == 0 ? 1 : 2);
}

/* The learner and cfg->workers workers as children, until the learner exits. */
static int run_distributed(const config_t *cfg, const run_paths_t *p, const char *resume) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  printf(
      "rlserve run: %s on %s, %lld workers x %lld envs, seed %lld, budget %lld env steps\n"
      "             run folder %s (logs: learner.log, worker-N.log)\n",
      cfg->algo, cfg->env, (long long)cfg->workers, (long long)cfg->envs_per_worker,
      (long long)cfg->seed, (long long)cfg->env_steps_budget, p->dir);
  fflush(stdout);
  /* A fresh secret per run: only this run's workers may join its learner. A resumed run keeps
   * its token: its checkpoints are authenticated with it. */
  if (!(resume && access(p->token, R_OK) == 0) && write_token(p->token) != 0) {
    fprintf(stderr, "rlserve run: cannot write %s: %s\n", p->token, strerror(errno));
    return 2;
  }
  pid_t learner;
  int port;
  if (start_learner(p, resume, &learner, &port) != 0) return 2;
  print_status_port(p->dir);
  int nw = (int)cfg->workers;
  pid_t *workers = calloc((size_t)(nw > 0 ? nw : 1), sizeof(pid_t));
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  for (int i = 0; i < nw; i++) {
    char wlog[1100];
    snprintf(wlog, sizeof wlog, "%s/worker-%d.log", p->dir, i);
    /* The workers load the run's env plugin from their own command line (never from the
     * learner), and check it against the learner's by hash. */
    char *wargv[] = {"rlserve",
                     "worker",
                     "--connect",
                     addr,
                     "--token-file",
                     (char *)p->token,
                     "--env-plugin",
                     (char *)cfg->env_plugin,
                     NULL};
    if (!cfg->env_plugin[0]) wargv[6] = NULL;
    workers[i] = spawn(wargv, wlog, 0);
  }
  int lstatus = wait_learner(learner, workers, nw);
  for (int i = 0; i < nw; i++) stop_child(workers[i], "worker");
  free(workers);
  return report_summary(cfg, p, WIFEXITED(lstatus) ? WEXITSTATUS(lstatus) : 2);
}

/* --check-args: what the learner (or the in-process runner) would refuse at its start, without
 * the run folder, a token or a process. 0 and "ok", or 2 after the message. */
static int check_run(config_t *cfg) {
  char err[1024];
  if (config_validate(cfg, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve run: %s\n", err);
    return 2;
  }
  /* A plugin's env exists once its library (named on this command line) is loaded. */
  if (cfg->env_plugin[0] && env_plugin_load(cfg->env_plugin, err, sizeof err) != 0) {
    fprintf(stderr, "rlserve run: %s\n", err);
    return 2;
  }
  if (!env_find(cfg->env)) {
    fprintf(stderr, "rlserve run: config: env = '%s' is not a known environment\n", cfg->env);
    return 2;
  }
  printf("ok\n");
  return 0;
}

int run_main(int argc, char **argv) {
  run_opts_t o;
  int rc = parse_opts(argc, argv, &o);
  if (rc >= 0) return rc;
  config_t cfg;
  const algo_t *algo = NULL;
  if (resolve_config(&o, &cfg, &algo) != 0) return 2;
  if (algo->mode == ALGO_ACTOR_LEARNER && cfg.workers < 1) { /* nobody would ever act */
    fprintf(stderr,
            "rlserve run: workers = 0: algo %s learns from the workers' transitions; give "
            "--workers 1 or more (only on-policy algorithms run in-process)\n",
            cfg.algo);
    return 2;
  }
  if (o.check) return check_run(&cfg);
  run_paths_t p;
  if (prepare_folder(&cfg, o.out, &p) != 0) return 2;
  if (algo->mode == ALGO_IN_PROCESS) return run_in_process(&cfg, p.dir);
  return run_distributed(&cfg, &p, o.resume);
}
