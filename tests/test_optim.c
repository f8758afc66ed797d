/* test_optim: common/optim.h. Centered RMSprop against hand-computed steps; the fused Adam
 * step against the unfused clip-then-step it replaces (bit for bit on the plain kernels); and
 * every vector kernel this CPU has (AVX2+FMA, AVX-512F) against the plain one on random
 * buffers of awkward lengths: the same bits (the norm within 2 ulps: its double sum runs in
 * another order). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn.h"
#include "optim.h"
#include "rng.h"
#include "tpool.h"

/* The largest disagreement of two buffers in float epsilons of the larger magnitude. */
static double worst_rel(const float *a, const float *b, size_t n) {
  double w = 0;
  for (size_t i = 0; i < n; i++) {
    double mag = fmax(fabs(a[i]), fabs(b[i]));
    double d = mag > 0 ? fabs((double)a[i] - b[i]) / (mag * FLT_EPSILON) : 0;
    if (d > w) w = d;
  }
  return w;
}

/* One optimizer (kind) run `steps` fused steps on the same start with kernels `isa` and with
 * the plain ones; the worst disagreement of params, m and v, in float epsilons. */
static double kernel_vs_plain(optim_kind_t kind, optim_isa_t isa, size_t n, int steps,
                              float max_norm, rng_t *r, double *norm_err) {
  float *p[2], *g = malloc((n ? n : 1) * sizeof(float));
  optim_t o[2];
  for (int k = 0; k < 2; k++) {
    p[k] = malloc((n ? n : 1) * sizeof(float));
    int rc = kind == OPTIM_ADAM ? adam_init(&o[k], n, 1e-3f, 0.9f, 0.999f, 1e-8f)
                                : rmsprop_centered_init(&o[k], n, 2.5e-4f, 0.95f, 0.01f);
    CHECK(rc == 0, "init n = %zu", n);
  }
  for (size_t i = 0; i < n; i++) p[0][i] = p[1][i] = (float)rng_range(r, -2, 2);
  double worst = 0;
  *norm_err = 0;
  for (int s = 0; s < steps; s++) {
    /* Mixed magnitudes, some exact zeros (dead units). */
    for (size_t i = 0; i < n; i++)
      g[i] = i % 13 == 5 ? 0.0f : (float)(rng_range(r, -1, 1) * pow(10.0, rng_range(r, -4, 1)));
    optim_set_isa(OPTIM_ISA_PLAIN);
    float n0 = optim_step(&o[0], p[0], g, max_norm);
    optim_set_isa(isa);
    float n1 = optim_step(&o[1], p[1], g, max_norm);
    double ne = n0 > 0 ? fabs((double)n0 - n1) / (n0 * FLT_EPSILON) : fabs(n1);
    if (ne > *norm_err) *norm_err = ne;
  }
  worst = fmax(worst, worst_rel(p[0], p[1], n));
  worst = fmax(worst, worst_rel(o[0].m, o[1].m, n));
  worst = fmax(worst, worst_rel(o[0].v, o[1].v, n));
  for (int k = 0; k < 2; k++) {
    free(p[k]);
    adam_free(&o[k]);
  }
  free(g);
  return worst;
}

int main(void) {
  /* Centered RMSprop, lr 2.5e-4, alpha 0.95, eps 0.01 (MinAtar's settings), p = (1, -0.5).
   * Step: s = 0.95 s + 0.05 g^2, m = m + 0.05 (g - m), p -= lr g / (sqrt(s - m^2) + eps).
   * t=1, g = (0.5, -2): s = (0.0125, 0.2), m = (0.025, -0.1), s - m^2 = (0.011875, 0.19),
   *      sqrt + eps = (0.1189725, 0.4458899), lr g / that = (0.00105066, -0.00112135)
   *      -> p = (0.998949337, -0.498878647).
   * t=2, g = (-0.25, 1): s = (0.015, 0.24), m = (0.01125, -0.045), s - m^2 = (0.01487344,
   *      0.237975), sqrt + eps = (0.1319567, 0.4978266), lr g / that = (-0.00047364,
   *      0.00050218) -> p = (0.999422977, -0.499380830).
   * t=3, g = (1, 0): s = (0.06425, 0.228), m = (0.0606875, -0.04275), s - m^2 = (0.06056703,
   *      0.22617244), sqrt + eps = (0.2561037, 0.4855770), lr g / that = (0.00097617, 0)
   *      -> p = (0.998446810, -0.499380830).
   * The same first step with max_norm 1 on g = (3, 4) (norm 5): g becomes g / (5 + 1e-6) =
   *      (0.6, 0.8) and, as at t=1, p moves by lr g / (sqrt(0.0475) |g| + 0.01):
   *      (0.00106559, 0.00108486) -> (0.998934409, -0.501084858). */
  for (int isa = OPTIM_ISA_PLAIN; isa <= (int)optim_isa_detected(); isa++) {
    optim_set_isa((optim_isa_t)isa);
    optim_t o;
    CHECK(rmsprop_centered_init(&o, 2, 2.5e-4f, 0.95f, 0.01f) == 0, "rmsprop init");
    float p[2] = {1.0f, -0.5f};
    const float g[3][2] = {{0.5f, -2.0f}, {-0.25f, 1.0f}, {1.0f, 0.0f}};
    const double want[3][2] = {
        {0.998949337, -0.498878647}, {0.999422977, -0.499380830}, {0.998446810, -0.499380830}};
    const double want_s[2] = {0.06425, 0.228}, want_m[2] = {0.0606875, -0.04275};
    for (int t = 0; t < 3; t++) {
      float norm = optim_step(&o, p, g[t], 0);
      CHECK_NEAR(norm, sqrt((double)g[t][0] * g[t][0] + (double)g[t][1] * g[t][1]), 1e-6);
      CHECK_NEAR(p[0], want[t][0], 1e-7);
      CHECK_NEAR(p[1], want[t][1], 1e-7);
    }
    for (int i = 0; i < 2; i++) {
      CHECK_NEAR(o.v[i], want_s[i], 1e-7);
      CHECK_NEAR(o.m[i], want_m[i], 1e-7);
    }
    CHECK(o.t == 3, "rmsprop t = %ld", o.t);
    adam_free(&o);

    CHECK(optim_init_named(&o, "rmsprop_centered", 2, 2.5e-4f, 0.9f, 0.999f, 1e-8f, 0.95f, 0.01f) ==
                  0 &&
              o.kind == OPTIM_RMSPROP_CENTERED,
          "optim_init_named rmsprop_centered");
    float q[2] = {1.0f, -0.5f}, g34[2] = {3.0f, 4.0f};
    CHECK_NEAR(optim_step(&o, q, g34, 1.0f), 5.0, 1e-6);
    CHECK_NEAR(q[0], 0.998934409, 1e-7);
    CHECK_NEAR(q[1], -0.501084858, 1e-7);
    CHECK(g34[0] == 3.0f && g34[1] == 4.0f, "optim_step wrote to the gradients");
    adam_free(&o);
  }
  {
    optim_t o;
    CHECK(optim_init_named(&o, "sgd", 2, 1, 1, 1, 1, 1, 1) == -EINVAL, "unknown optimizer");
    CHECK(optim_init_named(&o, "adam", 3, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.95f, 0.01f) == 0 &&
              o.kind == OPTIM_ADAM && o.n == 3,
          "optim_init_named adam");
    adam_free(&o);
  }

  /* Adam: the fused clipped step on the plain kernels is bit for bit nn_clip_grad_norm then
   * adam_step (what dqn.c and ddpg.c did before), clipping or not. */
  {
    optim_set_isa(OPTIM_ISA_PLAIN);
    rng_t r;
    rng_seed(&r, 5);
    const size_t n = 1001;
    float *p0 = malloc(n * sizeof(float)), *p1 = malloc(n * sizeof(float));
    float *g = malloc(n * sizeof(float)), *gc = malloc(n * sizeof(float));
    adam_t a0, a1;
    CHECK(adam_init(&a0, n, 1e-3f, 0.9f, 0.999f, 1e-8f) == 0, "adam init");
    CHECK(adam_init(&a1, n, 1e-3f, 0.9f, 0.999f, 1e-8f) == 0, "adam init");
    for (size_t i = 0; i < n; i++) p0[i] = p1[i] = (float)rng_range(&r, -1, 1);
    int same = 1;
    for (int t = 0; t < 6; t++) {
      float clip = t % 2 ? 0.5f : 100.0f; /* the norm is ~0.6 * sqrt(1001 / 3) = 10 */
      for (size_t i = 0; i < n; i++) g[i] = gc[i] = (float)rng_range(&r, -1, 1);
      float na = nn_clip_grad_norm(gc, n, clip);
      adam_step(&a0, p0, gc);
      float nb = optim_step(&a1, p1, g, clip);
      same = same && na == nb;
      for (size_t i = 0; i < n; i++)
        same = same && p0[i] == p1[i] && a0.m[i] == a1.m[i] && a0.v[i] == a1.v[i];
    }
    CHECK(same, "fused plain Adam differs from nn_clip_grad_norm + adam_step");
    free(p0);
    free(p1);
    free(g);
    free(gc);
    adam_free(&a0);
    adam_free(&a1);
  }

  /* optim_step_pool: both passes split across pools of 2 and 3 threads. Parameters and moments
   * bit for bit as optim_step's (each element is stepped alone), the norm within a few ulps (its
   * double sum is added part by part), and two runs with the same pool size give the same bits.
   * Lengths below, at and above the split threshold (32,768), one not a multiple of 16. */
  {
    tpool_t *pools[2] = {tpool_create(2, NULL), tpool_create(3, NULL)};
    CHECK(pools[0] && pools[1], "thread pools");
    const size_t plens[] = {1000, 32768, 132582};
    rng_t pr;
    rng_seed(&pr, 21);
    for (int pi = 0; pi < 2 && pools[pi]; pi++)
      for (size_t li = 0; li < sizeof plens / sizeof *plens; li++)
        for (int kind = OPTIM_ADAM; kind <= OPTIM_RMSPROP_CENTERED; kind++) {
          const size_t n = plens[li];
          float *p0 = malloc(n * sizeof(float)), *p1 = malloc(n * sizeof(float));
          float *p2 = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
          optim_t o0, o1, o2;
          int k0 = kind ? rmsprop_centered_init(&o0, n, 2.5e-4f, 0.95f, 0.01f)
                        : adam_init(&o0, n, 1e-3f, 0.9f, 0.999f, 1e-8f);
          int k1 = kind ? rmsprop_centered_init(&o1, n, 2.5e-4f, 0.95f, 0.01f)
                        : adam_init(&o1, n, 1e-3f, 0.9f, 0.999f, 1e-8f);
          int k2 = kind ? rmsprop_centered_init(&o2, n, 2.5e-4f, 0.95f, 0.01f)
                        : adam_init(&o2, n, 1e-3f, 0.9f, 0.999f, 1e-8f);
          CHECK(k0 == 0 && k1 == 0 && k2 == 0, "optim init");
          for (size_t i = 0; i < n; i++) p0[i] = p1[i] = p2[i] = (float)rng_range(&pr, -1, 1);
          int same = 1, repeat = 1;
          double worst_norm = 0;
          for (int t = 0; t < 4; t++) {
            /* no clip, a clip that does not bind, one that does (the norm is ~0.58 sqrt(n)) */
            float clip = t == 0 ? 0.0f : t == 1 ? 1e9f : 0.5f;
            for (size_t i = 0; i < n; i++) g[i] = (float)rng_range(&pr, -1, 1);
            float n0 = optim_step(&o0, p0, g, t == 3 ? 0.0f : clip);
            float n1 = optim_step_pool(&o1, p1, g, t == 3 ? 0.0f : clip, pools[pi]);
            float n2 = optim_step_pool(&o2, p2, g, t == 3 ? 0.0f : clip, pools[pi]);
            worst_norm = fmax(worst_norm, fabs(n0 - n1) / (FLT_EPSILON * n0));
            repeat = repeat && n1 == n2;
            /* with a binding clip the coefficients may differ in the last bit: only there */
            if (!(t == 2))
              for (size_t i = 0; i < n; i++)
                same = same && p0[i] == p1[i] && o0.m[i] == o1.m[i] && o0.v[i] == o1.v[i];
            for (size_t i = 0; i < n; i++)
              repeat = repeat && p1[i] == p2[i] && o1.m[i] == o2.m[i] && o1.v[i] == o2.v[i];
            if (t == 2) { /* realign: the next steps compare from the same state */
              memcpy(p0, p1, n * sizeof(float));
              memcpy(o0.m, o1.m, n * sizeof(float));
              memcpy(o0.v, o1.v, n * sizeof(float));
            }
          }
          CHECK(same && repeat && worst_norm <= 4,
                "optim_step_pool %s n = %zu, %d threads: same as optim_step %d, repeatable %d, "
                "norm %.1f ulps apart",
                kind ? "rmsprop" : "adam", n, tpool_size(pools[pi]), same, repeat, worst_norm);
          CHECK(o0.t == o1.t && o1.t == 4, "optim_step_pool t = %ld", o1.t);
          free(p0);
          free(p1);
          free(p2);
          free(g);
          adam_free(&o0);
          adam_free(&o1);
          adam_free(&o2);
        }
    tpool_destroy(pools[0]);
    tpool_destroy(pools[1]);
  }

  /* Every vector kernel against the plain one. */
  printf("kernels: this CPU runs %s\n", optim_isa_name(optim_isa_detected()));
  if (optim_isa_detected() == OPTIM_ISA_PLAIN)
    CHECK_SKIP("no AVX2+FMA on this CPU: only the plain kernels ran");
  const size_t lens[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257, 4099, 67330};
  const float clips[] = {0.0f, 1e9f, 0.1f};
  rng_t r;
  rng_seed(&r, 9);
  for (int isa = OPTIM_ISA_AVX2; isa <= (int)optim_isa_detected(); isa++)
    for (int kind = OPTIM_ADAM; kind <= OPTIM_RMSPROP_CENTERED; kind++) {
      double worst = 0, worst_norm = 0;
      for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (size_t ci = 0; ci < sizeof clips / sizeof *clips; ci++) {
          double ne;
          double w = kernel_vs_plain((optim_kind_t)kind, (optim_isa_t)isa, lens[li], 5, clips[ci],
                                     &r, &ne);
          CHECK(w == 0 && ne <= 2, "%s %s n = %zu clip %g: %.1f ulps apart (norm %.1f)",
                optim_isa_name((optim_isa_t)isa), kind ? "rmsprop" : "adam", lens[li], clips[ci], w,
                ne);
          worst = fmax(worst, w);
          worst_norm = fmax(worst_norm, ne);
        }
      printf("%s %s vs plain: worst %.1f float epsilons (params, moments), norm %.1f\n",
             optim_isa_name((optim_isa_t)isa), kind ? "rmsprop_centered" : "adam", worst,
             worst_norm);
    }
  CHECK_DONE();
}
