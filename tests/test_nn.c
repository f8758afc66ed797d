/* Checks nn: layout offsets, init bounds, forward against a double-precision reference,
 * backward (every activation, both losses, dL/dparams and dL/dx) against central finite
 * differences of that reference, both gemm kernels against a naive product, losses, clipping,
 * Polyak, argmax ties and Adam against hand-computed steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gemm.h"
#include "tpool.h"
#include "nn.h"
#include "nn_ref.h"
#include "rng.h"

/* ---- double-precision reference of the whole net and its loss --------------------------- */

/* Forward of `batch` rows through layout l with parameters p (double); writes batch x n_out. */
static void ref_forward(const nn_layout_t *l, const double *p, const double *x, int batch,
                        double *out) {
  for (int r = 0; r < batch; r++)
    nn_ref_row(l, p, x + (size_t)r * l->sizes[0], out + (size_t)r * l->sizes[l->n_layers]);
}

enum { LOSS_MSE, LOSS_HUBER };

static double ref_loss(int loss, const double *pred, const double *target, int n, double delta) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    double e = pred[i] - target[i], a = fabs(e);
    if (loss == LOSS_MSE)
      s += e * e;
    else
      s += a <= delta ? 0.5 * e * e : delta * (a - 0.5 * delta);
  }
  return s / n;
}

static double ref_total(const nn_layout_t *l, const double *p, const double *x, int batch,
                        const double *target, int loss, double delta) {
  double out[64 * 16];
  ref_forward(l, p, x, batch, out);
  return ref_loss(loss, out, target, batch * l->sizes[l->n_layers], delta);
}

static const char *act_name[] = {"identity", "relu", "tanh"};

/* Gradients of one net and loss against central differences (step 1e-6 in double, so the
 * truncation error ~1e-12 is far below the float32 rounding of the analytic gradient). */
static void gradcheck(nn_act_t hidden_act, nn_act_t out_act, int loss, uint64_t seed) {
  const int hidden[2] = {7, 5}, batch = 4;
  const double delta = 0.3, h = 1e-6;
  nn_layout_t l;
  CHECK(nn_layout_init(&l, 3, hidden, 2, 3, hidden_act, out_act) == 0, "layout 3-7-5-3");
  rng_t rng;
  rng_seed(&rng, seed);
  float *params = malloc(l.n_params * sizeof(float)), *grads = calloc(l.n_params, sizeof(float));
  double *pd = malloc(l.n_params * sizeof(double));
  nn_init_params(&l, params, &rng);
  for (size_t i = 0; i < l.n_params; i++) pd[i] = params[i];
  int n_in = l.sizes[0], n_out = l.sizes[l.n_layers];
  float x[4 * 3], target[4 * 3], dpred[4 * 3], dx[4 * 3];
  double xd[4 * 3], td[4 * 3], ref_out[4 * 3];
  for (int i = 0; i < batch * n_in; i++) xd[i] = x[i] = (float)rng_range(&rng, -2, 2);

  nn_ws_t ws;
  CHECK(nn_ws_init(&ws, &l, batch) == 0, "ws init");
  const float *y = nn_forward(&ws, params, x, batch);
  ref_forward(&l, pd, xd, batch, ref_out);
  int n = batch * n_out, beyond = 0;
  /* Targets near the outputs, so that Huber sees errors on both sides of delta. */
  for (int i = 0; i < n; i++) td[i] = target[i] = (float)(ref_out[i] + rng_range(&rng, -0.6, 0.6));
  for (int i = 0; i < n; i++) {
    CHECK_NEAR(y[i], ref_out[i], 1e-5);
    beyond += fabs(ref_out[i] - td[i]) > delta;
  }
  float lv = loss == LOSS_MSE ? nn_loss_mse(y, target, n, dpred)
                              : nn_loss_huber(y, target, n, (float)delta, dpred);
  CHECK_NEAR(lv, ref_loss(loss, ref_out, td, n, delta), 1e-5);
  if (loss == LOSS_HUBER)
    CHECK(beyond > 0 && beyond < n, "huber test covers both branches: %d of %d beyond delta",
          beyond, n);
  nn_backward(&ws, params, dpred, grads, dx);

  int bad = 0;
  for (size_t i = 0; i < l.n_params; i++) {
    double keep = pd[i];
    pd[i] = keep + h;
    double up = ref_total(&l, pd, xd, batch, td, loss, delta);
    pd[i] = keep - h;
    double down = ref_total(&l, pd, xd, batch, td, loss, delta);
    pd[i] = keep;
    double fd = (up - down) / (2 * h), tol = 1e-5 + 1e-3 * fabs(fd);
    if (!(fabs(grads[i] - fd) <= tol) && bad++ < 5)
      CHECK(0, "%s/%s %s: dparam[%zu] = %.9g, finite difference %.9g", act_name[hidden_act],
            act_name[out_act], loss == LOSS_MSE ? "mse" : "huber", i, grads[i], fd);
  }
  for (int i = 0; i < batch * n_in; i++) {
    double keep = xd[i];
    xd[i] = keep + h;
    double up = ref_total(&l, pd, xd, batch, td, loss, delta);
    xd[i] = keep - h;
    double down = ref_total(&l, pd, xd, batch, td, loss, delta);
    xd[i] = keep;
    double fd = (up - down) / (2 * h), tol = 1e-5 + 1e-3 * fabs(fd);
    if (!(fabs(dx[i] - fd) <= tol) && bad++ < 10)
      CHECK(0, "%s/%s %s: dx[%d] = %.9g, finite difference %.9g", act_name[hidden_act],
            act_name[out_act], loss == LOSS_MSE ? "mse" : "huber", i, dx[i], fd);
  }

  /* Backward adds: a second call doubles the gradients; NULL grads still gives dx. */
  float *g1 = malloc(l.n_params * sizeof(float));
  memcpy(g1, grads, l.n_params * sizeof(float));
  nn_backward(&ws, params, dpred, grads, NULL);
  int not_doubled = 0;
  for (size_t i = 0; i < l.n_params; i++) not_doubled += fabsf(grads[i] - 2 * g1[i]) > 1e-6f;
  CHECK(not_doubled == 0, "second backward did not add: %d of %zu grads", not_doubled, l.n_params);
  float dx2[4 * 3];
  nn_backward(&ws, params, dpred, NULL, dx2);
  CHECK(memcmp(dx, dx2, sizeof dx) == 0, "dx with grads NULL differs from dx with grads");

  nn_ws_free(&ws);
  free(g1);
  free(params);
  free(grads);
  free(pd);
}

/* ---- both gemm kernels against a naive double product ---------------------------------- */

/* Pools of 2 and 3 threads: every product also runs split across them (gemm_set_pool), must
 * agree with the reference and give the same bits when repeated (deterministic for a T). */
static tpool_t *pools[3];

static void check_gemm(int m, int n, int k) {
  rng_t rng;
  rng_seed(&rng, (uint64_t)(m * 10007 + n * 101 + k));
  size_t big = (size_t)(m > n ? m : n) * k;
  float *A = malloc(big * sizeof(float)), *B = malloc(big * sizeof(float));
  float *C = malloc((size_t)m * n * sizeof(float)), *C0 = malloc((size_t)m * n * sizeof(float));
  double *R = malloc((size_t)m * n * sizeof(double));
  float *R1 = malloc((size_t)m * n * sizeof(float));
  for (size_t i = 0; i < big; i++) A[i] = (float)rng_range(&rng, -1, 1);
  for (size_t i = 0; i < big; i++) B[i] = (float)rng_range(&rng, -1, 1);
  for (int i = 0; i < m * n; i++) C0[i] = (float)rng_range(&rng, -1, 1);
  static const char *form[] = {"nt", "tn", "nn"};
  static const char *impl_name[] = {"auto", "own", "blas", "avx512", "avx2"};
  float *bias = malloc((size_t)n * sizeof(float)), *T1 = malloc((size_t)m * n * sizeof(float));
  for (int j = 0; j < n; j++) bias[j] = (float)rng_range(&rng, -1, 1);
  for (int f = 0; f < 3; f++)
    for (int acc = 0; acc < 2; acc++) {
      if (f == 1 && !acc) continue; /* gemm_tn always accumulates */
      /* R = op(A) op(B) (+ C0), with A, B read as the form defines them */
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
          double s = acc ? C0[(size_t)i * n + j] : 0;
          for (int p = 0; p < k; p++) {
            double a = f == 1 ? A[(size_t)p * m + i] : A[(size_t)i * k + p];
            double b = f == 0 ? B[(size_t)j * k + p] : B[(size_t)p * n + j];
            s += a * b;
          }
          R[(size_t)i * n + j] = s;
        }
      for (int impl = GEMM_AUTO; impl <= GEMM_AVX2; impl++)
        for (int pi = 0; pi < 3; pi++) {
          gemm_set_pool(pools[pi]);
          for (int rep = 0; rep < 2; rep++) {
            if (rep == 1) memcpy(R1, C, (size_t)m * n * sizeof(float));
            memcpy(C, C0, (size_t)m * n * sizeof(float));
            if (f == 0) gemm_nt((gemm_impl_t)impl, m, n, k, A, B, acc, C);
            if (f == 1) gemm_tn((gemm_impl_t)impl, m, n, k, A, B, C);
            if (f == 2) gemm_nn((gemm_impl_t)impl, m, n, k, A, B, acc, C);
          }
          gemm_set_pool(NULL);
          double worst = 0;
          int at = 0;
          for (int i = 0; i < m * n; i++)
            if (fabs(C[i] - R[i]) > worst) worst = fabs(C[i] - R[i]), at = i;
          CHECK(worst <= 1e-5 * (k + 1),
                "gemm_%s %s acc=%d %dx%dx%d, %d threads: C[%d] = %.9g, expected %.9g", form[f],
                impl_name[impl], acc, m, n, k, tpool_size(pools[pi]), at, C[at], R[at]);
          CHECK(memcmp(C, R1, (size_t)m * n * sizeof(float)) == 0,
                "gemm_%s %s %dx%dx%d, %d threads: two calls differ", form[f], impl_name[impl], m,
                n, k, tpool_size(pools[pi]));
          /* Ours sum every element in one order however C is sliced: same bits for any pool. */
          int simd = impl == GEMM_AVX512 || impl == GEMM_AVX2;
          if (simd && pi == 0) memcpy(T1, C, (size_t)m * n * sizeof(float));
          if (simd && pi > 0)
            CHECK(memcmp(C, T1, (size_t)m * n * sizeof(float)) == 0,
                  "gemm_%s %s %dx%dx%d: %d threads differ from one", form[f], impl_name[impl], m,
                  n, k, tpool_size(pools[pi]));
        }
    }
  /* gemm_nt_bias: bias rows + A B^T, with and without ReLU, where it takes the shape. */
  for (int relu = 0; relu < 2; relu++)
    for (int impl = GEMM_AUTO; impl <= GEMM_AVX2; impl++)
      for (int pi = 0; pi < 3; pi++) {
        gemm_set_pool(pools[pi]);
        memcpy(C, C0, (size_t)m * n * sizeof(float));
        int done = gemm_nt_bias((gemm_impl_t)impl, m, n, k, A, B, bias, relu, C);
        gemm_set_pool(NULL);
        CHECK(!done || impl == GEMM_AUTO || impl == GEMM_AVX512 || impl == GEMM_AVX2,
              "gemm_nt_bias ran on the %s kernels", impl_name[impl]);
        if (!done) continue;
        double worst = 0;
        for (int i = 0; i < m; i++)
          for (int j = 0; j < n; j++) {
            double s = bias[j];
            for (int p = 0; p < k; p++) s += (double)A[(size_t)i * k + p] * B[(size_t)j * k + p];
            if (relu && s < 0) s = 0;
            double e = fabs(C[(size_t)i * n + j] - s);
            worst = e > worst ? e : worst;
            if (relu) CHECK(C[(size_t)i * n + j] >= 0.0f, "gemm_nt_bias relu left a negative");
          }
        CHECK(worst <= 1e-5 * (k + 1), "gemm_nt_bias %s relu=%d %dx%dx%d, %d threads: off by %g",
              impl_name[impl], relu, m, n, k, tpool_size(pools[pi]), worst);
      }
  free(bias);
  free(T1);
  free(A);
  free(B);
  free(C);
  free(C0);
  free(R);
  free(R1);
}

int main(void) {
  /* Layout of 4-64-64-2: W0 256, b0 64, W1 4096, b1 64, W2 128, b2 2. */
  nn_layout_t l;
  const int h64[2] = {64, 64};
  CHECK(nn_layout_init(&l, 4, h64, 2, 2, NN_RELU, NN_IDENTITY) == 0, "layout 4-64-64-2");
  CHECK(l.n_layers == 3, "n_layers %d", l.n_layers);
  CHECK(l.n_params == 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2, "n_params %zu", l.n_params);
  size_t w_off[3] = {0, 320, 4480}, b_off[3] = {256, 4416, 4608};
  for (int i = 0; i < 3; i++)
    CHECK(l.w_off[i] == w_off[i] && l.b_off[i] == b_off[i], "layer %d: w_off %zu b_off %zu", i,
          l.w_off[i], l.b_off[i]);
  CHECK(l.act[0] == NN_RELU && l.act[1] == NN_RELU && l.act[2] == NN_IDENTITY, "activations");
  const int bad_h[2] = {64, 0};
  nn_layout_t junk;
  CHECK(nn_layout_init(&junk, 4, bad_h, 2, 2, NN_RELU, NN_IDENTITY) == -1, "hidden size 0");
  CHECK(nn_layout_init(&junk, 0, h64, 2, 2, NN_RELU, NN_IDENTITY) == -1, "n_in 0");
  CHECK(nn_layout_init(&junk, 4, h64, NN_MAX_LAYERS, 2, NN_RELU, NN_IDENTITY) == -1,
        "too many layers");
  CHECK(nn_layout_init(&junk, 4, NULL, 0, 2, NN_RELU, NN_TANH) == 0 && junk.n_params == 10,
        "linear 4-2 has 10 params");

  /* Init: every layer within +-1/sqrt(fan_in), and spread over that range. */
  {
    rng_t rng;
    rng_seed(&rng, 7);
    float *p = malloc(l.n_params * sizeof(float));
    nn_init_params(&l, p, &rng);
    for (int i = 0; i < l.n_layers; i++) {
      float bound = 1.0f / sqrtf((float)l.sizes[i]), lo = 1, hi = -1;
      size_t n = l.b_off[i] + l.sizes[i + 1] - l.w_off[i];
      for (size_t j = 0; j < n; j++) {
        float v = p[l.w_off[i] + j] * (1.0f / bound);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
      CHECK(lo >= -1.0f && hi <= 1.0f && lo < -0.9f && hi > 0.9f,
            "layer %d init range [%g, %g] x 1/sqrt(%d)", i, lo, hi, l.sizes[i]);
    }
    float w_last = p[l.w_off[2]], b_last = p[l.b_off[2] + 1], w_mid = p[l.w_off[1]];
    nn_scale_last_layer(&l, p, 0.01f);
    CHECK_NEAR(p[l.w_off[2]], 0.01f * w_last, 1e-9);
    CHECK_NEAR(p[l.b_off[2] + 1], 0.01f * b_last, 1e-9);
    CHECK(p[l.w_off[1]] == w_mid, "scale_last_layer touched layer 1");
    free(p);
  }

  /* Gradients: every hidden activation x output activation, both losses. */
  for (int ha = NN_IDENTITY; ha <= NN_TANH; ha++)
    for (int oa = NN_IDENTITY; oa <= NN_TANH; oa++)
      for (int loss = LOSS_MSE; loss <= LOSS_HUBER; loss++)
        gradcheck((nn_act_t)ha, (nn_act_t)oa, loss, 100 + ha * 10 + oa * 2 + loss);

  /* Kernels: tails in every dimension, and our real shapes; one thread, then split. */
  pools[1] = tpool_create(2, NULL);
  pools[2] = tpool_create(3, NULL);
  CHECK(pools[1] && pools[2], "thread pools");
  check_gemm(1, 1, 1);
  check_gemm(5, 7, 9);
  check_gemm(3, 13, 17);
  check_gemm(64, 256, 4);
  check_gemm(64, 2, 256);
  check_gemm(64, 256, 256);
  check_gemm(256, 4, 64);
  check_gemm(100, 300, 403); /* split with a short last slice */
  check_gemm(256, 300, 64);
  check_gemm(192, 256, 256); /* double DQN's stacked forward */
  check_gemm(13, 45,
             300);       /* SIMD tails: rows 12 + 1 (AVX2 6 + 6 + 1), columns 32 + 13, k 256 + 44 */
  check_gemm(7, 21, 40); /* AVX2: rows 6 + 1, columns 16 + 5 */
  check_gemm(33, 48, 513);
  check_gemm(600, 40, 20); /* past G512_MAX_ROWS */
  tpool_destroy(pools[1]);
  tpool_destroy(pools[2]);

  /* Losses by hand. MSE of (1, 2) vs 0: (1 + 4) / 2 = 2.5, d = 2 e / n = (1, 2).
   * Huber delta 1 of (0.5, 3, -2): 0.125, 2.5, 1.5 -> mean 4.125 / 3 = 1.375,
   * d = (0.5, 1, -1) / 3. */
  {
    float p[3] = {1, 2, 0.5f}, t[3] = {0, 0, 0}, d[3];
    CHECK_NEAR(nn_loss_mse(p, t, 2, d), 2.5, 1e-7);
    CHECK_NEAR(d[0], 1.0, 1e-7);
    CHECK_NEAR(d[1], 2.0, 1e-7);
    float q[3] = {0.5f, 3, -2};
    CHECK_NEAR(nn_loss_huber(q, t, 3, 1.0f, d), 1.375, 1e-7);
    CHECK_NEAR(d[0], 0.5 / 3, 1e-7);
    CHECK_NEAR(d[1], 1.0 / 3, 1e-7);
    CHECK_NEAR(d[2], -1.0 / 3, 1e-7);
    CHECK_NEAR(nn_loss_huber(q, t, 3, 1.0f, NULL), 1.375, 1e-7);
  }

  /* Clipping: (3, 4) has norm 5; max 1 scales by 1 / (5 + 1e-6) as torch does. */
  {
    float g[2] = {3, 4};
    CHECK_NEAR(nn_clip_grad_norm(g, 2, 10.0f), 5.0, 1e-6);
    CHECK(g[0] == 3 && g[1] == 4, "norm below max changed grads: %g %g", g[0], g[1]);
    CHECK_NEAR(nn_clip_grad_norm(g, 2, 0.0f), 5.0, 1e-6);
    CHECK(g[0] == 3 && g[1] == 4, "max_norm 0 changed grads: %g %g", g[0], g[1]);
    CHECK_NEAR(nn_clip_grad_norm(g, 2, 1.0f), 5.0, 1e-6);
    CHECK_NEAR(g[0], 3.0 / (5 + 1e-6), 1e-7);
    CHECK_NEAR(g[1], 4.0 / (5 + 1e-6), 1e-7);
    CHECK_NEAR(nn_clip_grad_norm(g, 2, 1.0f), 1.0, 1e-6);
  }

  /* Polyak: 0.25 * (3, 6) + 0.75 * (1, 2) = (1.5, 3); tau 1 copies. */
  {
    float t[2] = {1, 2}, o[2] = {3, 6};
    nn_polyak(t, o, 2, 0.25f);
    CHECK_NEAR(t[0], 1.5, 1e-7);
    CHECK_NEAR(t[1], 3.0, 1e-7);
    nn_polyak(t, o, 2, 1.0f);
    CHECK(t[0] == 3 && t[1] == 6, "tau 1 gave %g %g", t[0], t[1]);
  }

  /* Argmax: first on ties. */
  {
    float a[4] = {1, 3, 3, 2}, b[3] = {-1, -1, -1}, c[3] = {-5, -2, -3};
    CHECK(nn_argmax(a, 4) == 1, "argmax of 1 3 3 2 = %d", nn_argmax(a, 4));
    CHECK(nn_argmax(b, 3) == 0, "argmax of ties = %d", nn_argmax(b, 3));
    CHECK(nn_argmax(c, 3) == 1, "argmax of -5 -2 -3 = %d", nn_argmax(c, 3));
    CHECK(nn_argmax(a, 1) == 0, "argmax of one value = %d", nn_argmax(a, 1));
  }

  /* Adam, lr 0.01, betas (0.9, 0.999), eps 1e-8, p = (1, -0.5).
   * Step t: m = 0.9 m + 0.1 g, v = 0.999 v + 0.001 g^2,
   *         p -= lr * (m / (1 - 0.9^t)) / (sqrt(v / (1 - 0.999^t)) + eps).
   * t=1, g = (0.5, -2): m_hat = g, sqrt(v_hat) = |g|, so p moves by lr: (0.99, -0.49).
   * t=2, g = (-0.25, 1): m = (0.02, -0.08), v = (0.00031225, 0.004996),
   *      m_hat = m / 0.19 = (0.105263, -0.421053), v_hat = v / 0.001999 = (0.156203, 2.499250),
   *      step = 0.01 * m_hat / sqrt(v_hat) = (0.0026634, -0.0026634) -> (0.9873366, -0.4873366).
   * t=3, g = (1, 0): m = (0.118, -0.072), v = (0.00131194, 0.00499100),
   *      m_hat = m / 0.271 = (0.435424, -0.265683), v_hat = v / 0.002997001 = (0.437750, 1.665332),
   *      step = (0.0065811, -0.0020588) -> (0.9807555, -0.4852778). */
  {
    adam_t a;
    CHECK(adam_init(&a, 2, 0.01f, 0.9f, 0.999f, 1e-8f) == 0, "adam init");
    float p[2] = {1.0f, -0.5f};
    const float g[3][2] = {{0.5f, -2.0f}, {-0.25f, 1.0f}, {1.0f, 0.0f}};
    const double want[3][2] = {
        {0.990000000, -0.490000000}, {0.987336630, -0.487336630}, {0.980755514, -0.485277837}};
    for (int t = 0; t < 3; t++) {
      adam_step(&a, p, g[t]);
      CHECK_NEAR(p[0], want[t][0], 2e-6);
      CHECK_NEAR(p[1], want[t][1], 2e-6);
    }
    CHECK(a.t == 3, "adam t = %ld", a.t);
    adam_free(&a);
  }

  CHECK_DONE();
}
