/* Benchmarks nn on this machine: single-core OpenBLAS SGEMM peak, our kernel vs CBLAS on the
 * matrix shapes of our nets, and a DQN update (forward, Huber, backward, clip, Adam) in
 * updates/s and as a fraction of the measured peak. Run: ctest -L bench -V (or ./bench_nn). */
#define _GNU_SOURCE /* bench_machine.h */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_machine.h"
#include "gemm.h"
#include "nn.h"
#include "rng.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void print_machine(void) {
  char model[256];
  bench_cpu_model(model, sizeof model);
  printf("machine: %s, %ld online cores\n", model, sysconf(_SC_NPROCESSORS_ONLN));
  printf("openblas: %s (core %s), threads %d\n", openblas_get_config(), openblas_get_corename(),
         openblas_get_num_threads());
}

static float *rand_buf(rng_t *r, size_t n) {
  float *p = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) p[i] = (float)rng_range(r, -1, 1);
  return p;
}

enum { NT, TN, NN };
static const char *form_name[] = {"nt", "tn", "nn"};

static void run(int form, gemm_impl_t impl, int m, int n, int k, const float *A, const float *B,
                float *C) {
  if (form == NT)
    gemm_nt(impl, m, n, k, A, B, 0, C);
  else if (form == TN)
    gemm_tn(impl, m, n, k, A, B, C);
  else
    gemm_nn(impl, m, n, k, A, B, 0, C);
}

/* GFLOP/s of one product, best of 3 runs of at least `budget` seconds each. */
static double gflops(int form, gemm_impl_t impl, int m, int n, int k, double budget) {
  rng_t r;
  rng_seed(&r, 1);
  size_t big = (size_t)(m > n ? m : n) * k;
  float *A = rand_buf(&r, big), *B = rand_buf(&r, big), *C = rand_buf(&r, (size_t)m * n);
  double best = 0;
  run(form, impl, m, n, k, A, B, C); /* warm caches and OpenBLAS buffers */
  for (int rep = 0; rep < 3; rep++) {
    long iters = 0;
    double t0 = now(), t;
    do {
      run(form, impl, m, n, k, A, B, C);
      iters++;
    } while ((t = now() - t0) < budget);
    double g = 2.0 * m * n * k * iters / t / 1e9;
    if (g > best) best = g;
  }
  free(A);
  free(B);
  free(C);
  return best;
}

/* One DQN-style update on net `l` with batch b: online forward, Q(s, a) against a target,
 * Huber, backward, clip to norm 10, Adam. Returns updates/s over `budget` seconds. */
static double dqn_updates(const nn_layout_t *l, int b, double budget, double *flops_per_update) {
  rng_t r;
  rng_seed(&r, 2);
  int n_in = l->sizes[0], n_out = l->sizes[l->n_layers];
  float *params = malloc(l->n_params * sizeof(float)), *grads = malloc(l->n_params * sizeof(float));
  nn_init_params(l, params, &r);
  float *x = rand_buf(&r, (size_t)b * n_in), *target = rand_buf(&r, (size_t)b);
  float *q = malloc((size_t)b * sizeof(float)), *dq = malloc((size_t)b * sizeof(float));
  float *dy = malloc((size_t)b * n_out * sizeof(float));
  int *action = malloc((size_t)b * sizeof(int));
  for (int i = 0; i < b; i++) action[i] = (int)rng_below(&r, (uint64_t)n_out);
  nn_ws_t ws;
  adam_t adam;
  if (nn_ws_init(&ws, l, b) != 0 || adam_init(&adam, l->n_params, 1e-4f, 0.9f, 0.999f, 1e-8f)) {
    fprintf(stderr, "bench_nn: out of memory\n");
    exit(1);
  }
  double macs = 0, macs_dx = 0;
  for (int i = 0; i < l->n_layers; i++) {
    macs += (double)l->sizes[i] * l->sizes[i + 1];
    if (i > 0) macs_dx += (double)l->sizes[i] * l->sizes[i + 1];
  }
  /* forward + weight gradient + input gradient of every layer but the first */
  *flops_per_update = 2.0 * b * (2 * macs + macs_dx);
  long iters = 0;
  double t0 = now(), t;
  do {
    const float *y = nn_forward(&ws, params, x, b);
    for (int i = 0; i < b; i++) q[i] = y[(size_t)i * n_out + action[i]];
    nn_loss_huber(q, target, b, 1.0f, dq);
    memset(dy, 0, (size_t)b * n_out * sizeof(float));
    for (int i = 0; i < b; i++) dy[(size_t)i * n_out + action[i]] = dq[i];
    memset(grads, 0, l->n_params * sizeof(float));
    nn_backward(&ws, params, dy, grads, NULL);
    nn_clip_grad_norm(grads, l->n_params, 10.0f);
    adam_step(&adam, params, grads);
    iters++;
  } while ((t = now() - t0) < budget);
  nn_ws_free(&ws);
  adam_free(&adam);
  free(params);
  free(grads);
  free(x);
  free(target);
  free(q);
  free(dq);
  free(dy);
  free(action);
  return iters / t;
}

int main(void) {
  gemm_init();
  print_machine();

  double peak = 0;
  for (int rep = 0; rep < 2; rep++) {
    double g = gflops(NT, GEMM_BLAS, 1024, 1024, 1024, 0.3);
    if (g > peak) peak = g;
  }
  double peak_nn = gflops(NN, GEMM_BLAS, 1024, 1024, 1024, 0.3);
  printf("peak: OpenBLAS sgemm 1024^3 single thread: %.1f GFLOP/s (A B^T), %.1f GFLOP/s (A B)\n",
         peak, peak_nn);
  if (peak_nn > peak) peak = peak_nn;

  /* The products of a 4-H-H-2 net at batch B: forward (nt), weight grads (tn), input grads. */
  printf("\nkernels, GFLOP/s (own = our C kernel, blas = OpenBLAS via CBLAS)\n");
  printf("%-5s %-14s %5s %5s %5s %9s %9s %7s\n", "form", "use", "m", "n", "k", "own", "blas",
         "own/blas");
  const int widths[] = {64, 128, 256}, batches[] = {1, 8, 32, 64, 128, 256};
  for (size_t h = 0; h < sizeof widths / sizeof *widths; h++)
    for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
      int H = widths[h], B = batches[bi];
      struct {
        int form, m, n, k;
        const char *use;
      } s[] = {
          {NT, B, H, 4, "fwd in->H"}, {NT, B, H, H, "fwd H->H"},  {NT, B, 2, H, "fwd H->out"},
          {TN, H, 4, B, "dW in->H"},  {TN, H, H, B, "dW H->H"},   {TN, 2, H, B, "dW H->out"},
          {NN, B, H, H, "dX H->H"},   {NN, B, H, 2, "dX out->H"},
      };
      int n_shapes = B >= 32 ? 8 : 3; /* worker inference only runs forward at small batch */
      for (int i = 0; i < n_shapes; i++) {
        double own = gflops(s[i].form, GEMM_OWN, s[i].m, s[i].n, s[i].k, 0.004);
        double blas = gflops(s[i].form, GEMM_BLAS, s[i].m, s[i].n, s[i].k, 0.004);
        printf("%-5s %-14s %5d %5d %5d %9.2f %9.2f %7.2f\n", form_name[s[i].form], s[i].use, s[i].m,
               s[i].n, s[i].k, own, blas, own / blas);
      }
    }

  printf("\nDQN update (forward batch 64, Huber on Q(s,a), backward, clip, Adam)\n");
  printf("%-12s %-6s %12s %14s %10s\n", "net", "gemm", "updates/s", "GFLOP/s(mm)", "of peak");
  const int h256[2] = {256, 256}, h64[2] = {64, 64}, h128[2] = {128, 128};
  const int *hs[] = {h256, h128, h64};
  const char *names[] = {"4-256-256-2", "4-128-128-2", "4-64-64-2"};
  const gemm_impl_t impls[] = {GEMM_AUTO, GEMM_OWN, GEMM_BLAS};
  const char *impl_names[] = {"auto", "own", "blas"};
  for (int i = 0; i < 3; i++) {
    nn_layout_t l;
    nn_layout_init(&l, 4, hs[i], 2, 2, NN_RELU, NN_IDENTITY);
    for (int j = 0; j < 3; j++) {
      gemm_set_auto(impls[j]);
      double flops, ups = dqn_updates(&l, 64, 0.7, &flops);
      printf("%-12s %-6s %12.0f %14.2f %9.1f%%\n", names[i], impl_names[j], ups, ups * flops / 1e9,
             100.0 * ups * flops / 1e9 / peak);
    }
    gemm_set_auto(GEMM_AUTO);
  }
  return 0;
}
