/* MinAtar Freeway (minatar/environments/freeway.py): channels chicken 0, car 1, speed1..5
 * trails 2..6; the chicken crosses 8 lanes of cars in 2500 steps (terminal on the 2501st). */
#include <stdlib.h>

#include "minatar.h"

enum { C = 7, CHICKEN = 0, CAR = 1, SPEED1 = 2 };
enum { PLAYER_SPEED = 3, TIME_LIMIT = 2500, N_CARS = 8 };

typedef struct car {
  int x, row, timer, v; /* v: signed speed */
} car_t;

typedef struct freeway {
  minatar_t m;
  car_t cars[N_CARS];
  int pos, move_timer, terminate_timer, terminal;
} freeway_t;

static void randomize(freeway_t *g, int initial) {
  int64_t speed[N_CARS];
  double u[N_CARS];
  npmt_randint_n(&g->m.mt, 1, 6, speed, N_CARS);
  npmt_rand_n(&g->m.mt, u, N_CARS);
  for (int i = 0; i < N_CARS; i++) {
    int v = (int)speed[i] * (u[i] > 0.5 ? 1 : u[i] < 0.5 ? -1 : 0);
    if (initial) g->cars[i].x = 0, g->cars[i].row = i + 1;
    g->cars[i].timer = abs(v);
    g->cars[i].v = v;
  }
}

static void observe(const freeway_t *g, float *obs) {
  minatar_clear(obs, C);
  minatar_on(obs, C, g->pos, 4, CHICKEN);
  for (int i = 0; i < N_CARS; i++) {
    const car_t *c = &g->cars[i];
    minatar_on(obs, C, c->row, c->x, CAR);
    int back = c->v > 0 ? c->x - 1 : c->x + 1;
    back = back < 0 ? 9 : back > 9 ? 0 : back;
    minatar_on(obs, C, c->row, back, SPEED1 - 1 + abs(c->v));
  }
}

static void fw_reset(void *state, rng_t *rng, float *obs) {
  (void)rng;
  freeway_t *g = state;
  randomize(g, 1);
  g->pos = 9;
  g->move_timer = PLAYER_SPEED;
  g->terminate_timer = TIME_LIMIT;
  g->terminal = 0;
  observe(g, obs);
}

static void fw_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  freeway_t *g = state;
  int a = minatar_action(&g->m, action);
  float r = 0;
  if (g->terminal) goto done;
  if (a == MINATAR_UP && g->move_timer == 0) {
    g->move_timer = PLAYER_SPEED;
    g->pos = g->pos > 0 ? g->pos - 1 : 0;
  } else if (a == MINATAR_DOWN && g->move_timer == 0) {
    g->move_timer = PLAYER_SPEED;
    g->pos = g->pos < 9 ? g->pos + 1 : 9;
  }
  if (g->pos == 0) {
    r += 1;
    randomize(g, 0);
    g->pos = 9;
  }
  for (int i = 0; i < N_CARS; i++) {
    car_t *c = &g->cars[i];
    if (c->x == 4 && c->row == g->pos) g->pos = 9;
    if (c->timer == 0) {
      c->timer = abs(c->v);
      c->x += c->v > 0 ? 1 : -1;
      c->x = c->x < 0 ? 9 : c->x > 9 ? 0 : c->x;
      if (c->x == 4 && c->row == g->pos) g->pos = 9;
    } else {
      c->timer--;
    }
  }
  if (g->move_timer > 0) g->move_timer--;
  if (--g->terminate_timer < 0) g->terminal = 1;
done:
  *reward = r;
  *terminated = g->terminal;
  observe(g, obs);
}

static const int freeway_min[3] = {MINATAR_NOOP, MINATAR_UP, MINATAR_DOWN};
MINATAR_SPECS(freeway, "Freeway", C, freeway_t, fw_reset, fw_step, freeway_min, 1.0f, 50.0);
