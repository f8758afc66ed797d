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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "algo.h"
#include "config.h"
#include "learner.h"
#include "onpolicy.h"

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

/* fork + exec of this binary with args; stdout to the terminal or a log, stderr to log. */
static pid_t spawn(char *const argv[], const char *log_path, int keep_stdout) {
  pid_t pid = fork();
  if (pid != 0) return pid;
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

/* mkdir -p: creates every missing folder of path. */
static int mkdir_p(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
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
          "Starts a learner and N workers on 127.0.0.1, trains until the greedy evaluation\n"
          "reaches the preset's threshold or the env-step budget ends. Exit status 0 when\n"
          "solved, 1 when the budget ran out, 2 on errors.\n");
}

int run_main(int argc, char **argv) {
  config_t cfg;
  config_init(&cfg);
  char err[1024];
  const char *out = NULL;
  int envs = 0;
  /* Keep user settings to apply after the preset, in order. */
  char *sets[256];
  int n_sets = 0;
  const char *preset = NULL, *config_file = NULL, *resume = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      config_print_help(stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "rlserve run: %s needs a value\n", a);
      return 2;
    }
    i++;
    char buf[300];
    if (!strcmp(a, "--preset"))
      preset = v;
    else if (!strcmp(a, "--config"))
      config_file = v;
    else if (!strcmp(a, "--out"))
      out = v;
    else if (!strcmp(a, "--resume"))
      resume = out = v;
    else if (!strcmp(a, "--set")) {
      if (n_sets < 250) sets[n_sets++] = strdup(v);
    } else if (!strcmp(a, "--workers") || !strcmp(a, "--seed")) {
      snprintf(buf, sizeof buf, "%s=%s", a + 2, v);
      if (n_sets < 250) sets[n_sets++] = strdup(buf);
    } else if (!strcmp(a, "--envs")) {
      snprintf(buf, sizeof buf, "envs_per_worker=%s", v);
      if (n_sets < 250) sets[n_sets++] = strdup(buf);
      envs = 1;
    } else {
      fprintf(stderr, "rlserve run: unknown option '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  (void)envs;
  int rc = 0;
  if (resume && learner_load_config(resume, &cfg, err, sizeof err) != 0) rc = -1;
  if (rc == 0 && preset && config_load_preset(&cfg, preset, err, sizeof err) != 0) rc = -1;
  if (rc == 0 && config_file && config_load_file(&cfg, config_file, err, sizeof err) != 0) rc = -1;
  for (int i = 0; i < n_sets && rc == 0; i++)
    if (config_set_arg(&cfg, sets[i], err, sizeof err) != 0) rc = -1;
  for (int i = 0; i < n_sets; i++) free(sets[i]);
  if (rc == 0 && !preset && !config_file && !resume) {
    snprintf(err, sizeof err, "give --preset NAME or --config FILE");
    rc = -1;
  }
  const algo_t *algo = NULL;
  if (rc == 0 && algo_validate_config(&cfg, NULL, &algo, err, sizeof err) != 0) rc = -1;
  if (rc != 0) {
    fprintf(stderr, "rlserve run: %s\n", err);
    return 2;
  }

  char outdir[1024];
  if (out)
    snprintf(outdir, sizeof outdir, "%s", out);
  else {
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    mkdir("runs", 0755);
    snprintf(outdir, sizeof outdir, "runs/%s-%s", cfg.preset[0] ? cfg.preset : "run", stamp);
  }
  if (mkdir_p(outdir) != 0) {
    fprintf(stderr, "rlserve run: cannot create %s: %s\n", outdir, strerror(errno));
    return 2;
  }
  char cfg_path[1100], port_path[1100], learner_log[1100], summary_path[1100];
  snprintf(cfg_path, sizeof cfg_path, "%s/run.conf", outdir);
  snprintf(port_path, sizeof port_path, "%s/learner.port", outdir);
  snprintf(learner_log, sizeof learner_log, "%s/learner.log", outdir);
  snprintf(summary_path, sizeof summary_path, "%s/summary.json", outdir);
  unlink(port_path);
  unlink(summary_path);
  char *text = config_to_text(&cfg);
  FILE *f = fopen(cfg_path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "rlserve run: cannot write %s\n", cfg_path);
    free(text);
    return 2;
  }
  free(text);

  /* On-policy methods learn from the current policy's data only: they run in this process,
   * one thread stepping the env and updating (no replay, no workers). */
  if (algo->mode == ALGO_IN_PROCESS) {
    printf("rlserve run: %s on %s in-process (on-policy: no workers), seed %lld, run folder %s\n",
           cfg.algo, cfg.env, (long long)cfg.seed, outdir);
    fflush(stdout);
    int orc = onpolicy_run(&cfg, outdir, 0, err, sizeof err);
    if (orc == 2) fprintf(stderr, "rlserve run: %s\n", err);
    return orc;
  }

  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  printf(
      "rlserve run: %s on %s, %lld workers x %lld envs, seed %lld, budget %lld env steps\n"
      "             run folder %s (logs: learner.log, worker-N.log)\n",
      cfg.algo, cfg.env, (long long)cfg.workers, (long long)cfg.envs_per_worker,
      (long long)cfg.seed, (long long)cfg.env_steps_budget, outdir);
  fflush(stdout);
  /* A fresh secret per run: only this run's workers may join its learner. */
  char token_path[1100];
  snprintf(token_path, sizeof token_path, "%s/token", outdir);
  if (write_token(token_path) != 0) {
    fprintf(stderr, "rlserve run: cannot write %s: %s\n", token_path, strerror(errno));
    return 2;
  }
  char *largv[16] = {"rlserve", "learner", "--config",    cfg_path,  "--listen",     "127.0.0.1:0",
                     "--out",   outdir,    "--port-file", port_path, "--token-file", token_path};
  if (resume) { /* the learner restores its state from the run folder's checkpoint */
    largv[12] = "--resume";
    largv[13] = outdir;
  }
  pid_t learner = spawn(largv, learner_log, 1);
  if (learner < 0) {
    fprintf(stderr, "rlserve run: fork failed: %s\n", strerror(errno));
    return 2;
  }
  int port = 0, lstatus = 0, learner_done = 0;
  for (int i = 0; i < 600 && !port; i++) { /* up to 30 s for the learner to listen */
    FILE *pf = fopen(port_path, "r");
    if (pf) {
      if (fscanf(pf, "%d", &port) != 1) port = 0;
      fclose(pf);
    }
    if (!port) {
      if (waitpid(learner, &lstatus, WNOHANG) == learner) {
        learner_done = 1;
        break;
      }
      if (got_signal) break;
      sleep_ms(50);
    }
  }
  if (!port) {
    fprintf(stderr, "rlserve run: the learner did not start listening\n");
    if (!learner_done) stop_child(learner, "learner");
    tail_file(learner_log, 20);
    return 2;
  }
  {
    char sp_path[1100];
    snprintf(sp_path, sizeof sp_path, "%s/status.port", outdir);
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
  int nw = (int)cfg.workers;
  pid_t *workers = calloc((size_t)(nw > 0 ? nw : 1), sizeof(pid_t));
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  for (int i = 0; i < nw; i++) {
    char wlog[1100];
    snprintf(wlog, sizeof wlog, "%s/worker-%d.log", outdir, i);
    char *wargv[] = {"rlserve", "worker", "--connect", addr, "--token-file", token_path, NULL};
    workers[i] = spawn(wargv, wlog, 0);
  }
  /* Wait for the learner; a worker that dies is reported, the run goes on. */
  int forwarded = 0;
  while (!learner_done) {
    pid_t p = waitpid(-1, &lstatus, 0);
    if (p < 0) {
      if (errno == EINTR) {
        if (got_signal && !forwarded) {
          printf("rlserve run: stopping (signal %d); the learner saves its state\n",
                 (int)got_signal);
          fflush(stdout);
          kill(learner, SIGTERM);
          forwarded = 1;
        }
        continue;
      }
      break;
    }
    if (p == learner) {
      learner_done = 1;
    } else {
      for (int i = 0; i < nw; i++)
        if (workers[i] == p) {
          fprintf(stderr, "rlserve run: worker %d (pid %d) exited (%s %d); the run goes on\n", i,
                  (int)p, WIFSIGNALED(lstatus) ? "signal" : "status",
                  WIFSIGNALED(lstatus) ? WTERMSIG(lstatus) : WEXITSTATUS(lstatus));
          workers[i] = 0;
        }
      int alive = 0;
      for (int i = 0; i < nw; i++) alive += workers[i] != 0;
      if (nw > 0 && alive == 0 && !forwarded) {
        fprintf(stderr,
                "rlserve run: every worker has exited; stopping the learner (see the "
                "worker logs in the run folder)\n");
        kill(learner, SIGTERM);
        forwarded = 1;
      }
    }
  }
  for (int i = 0; i < nw; i++) stop_child(workers[i], "worker");
  free(workers);
  int lcode = WIFEXITED(lstatus) ? WEXITSTATUS(lstatus) : 2;
  FILE *sf = fopen(summary_path, "r");
  if (!sf) {
    fprintf(stderr, "rlserve run: the learner exited (status %d) without a summary\n", lcode);
    tail_file(learner_log, 20);
    return 2;
  }
  static char sbuf[1 << 16];
  size_t sn = fread(sbuf, 1, sizeof sbuf - 1, sf);
  fclose(sf);
  sbuf[sn] = 0;
  cJSON *j = cJSON_Parse(sbuf);
  const cJSON *solved = cJSON_GetObjectItem(j, "solved");
  const cJSON *steps = cJSON_GetObjectItem(j, "env_steps");
  const cJSON *wall = cJSON_GetObjectItem(j, "wall_seconds");
  const cJSON *em = cJSON_GetObjectItem(j, "eval_mean");
  const cJSON *es = cJSON_GetObjectItem(j, "eval_std");
  int is_solved = cJSON_IsTrue(solved);
  if (is_solved)
    printf(
        "rlserve run: SOLVED %s: greedy eval %.1f +- %.1f over %lld episodes at %.0f env "
        "steps, %.1f s\n",
        cfg.env, cJSON_GetNumberValue(em), cJSON_GetNumberValue(es), (long long)cfg.eval_episodes,
        cJSON_GetNumberValue(steps), cJSON_GetNumberValue(wall));
  else
    printf("rlserve run: not solved: %s after %.0f env steps, %.1f s (last greedy eval %s)\n",
           cfg.env, cJSON_GetNumberValue(steps), cJSON_GetNumberValue(wall),
           cJSON_IsNumber(em) ? "below the threshold" : "none");
  printf("rlserve run: summary %s, policy %s/policy.ckpt\n", summary_path, outdir);
  cJSON_Delete(j);
  if (lcode == 130) return 130;
  return is_solved ? 0 : (lcode == 1 || lcode == 0 ? 1 : 2);
}
