/* MinAtar Breakout (minatar/environments/breakout.py): channels paddle 0, ball 1, trail 2,
 * brick 3; the ball bounces off walls, bricks (one per contact) and the paddle. */
#include "minatar.h"

enum { C = 4, PADDLE = 0, BALL = 1, TRAIL = 2, BRICK = 3 };

typedef struct breakout {
  minatar_t m;
  int ball_x, ball_y, dir; /* dir 0 up-left, 1 up-right, 2 down-right, 3 down-left */
  int pos, strike, last_x, last_y, terminal;
  uint16_t brick[MINATAR_GRID]; /* bit c of row r: a brick at (r, c); only rows 1-3 ever hold any */
} breakout_t;

static const int flip_h[4] = {1, 0, 3, 2}, flip_v[4] = {3, 2, 1, 0}, paddle_edge[4] = {2, 3, 0, 1};
static const int dx[4] = {-1, 1, 1, -1}, dy[4] = {-1, -1, 1, 1};

static void fill_bricks(breakout_t *g) {
  for (int r = 1; r <= 3; r++) g->brick[r] = 0x3ff;
}

static void observe(const breakout_t *g, float *obs) {
  minatar_clear(obs, C);
  minatar_on(obs, C, g->ball_y, g->ball_x, BALL);
  minatar_on(obs, C, 9, g->pos, PADDLE);
  minatar_on(obs, C, g->last_y, g->last_x, TRAIL);
  for (int r = 1; r <= 3; r++) /* set bits only: the observation is written sparsely */
    for (unsigned b = g->brick[r]; b; b &= b - 1) minatar_on(obs, C, r, __builtin_ctz(b), BRICK);
}

static void bo_reset(void *state, rng_t *rng, float *obs) {
  (void)rng;
  breakout_t *g = state;
  int side = (int)npmt_randint(&g->m.mt, 0, 2);
  g->ball_y = 3;
  g->ball_x = side ? 9 : 0;
  g->dir = side ? 3 : 2;
  g->pos = 4;
  memset(g->brick, 0, sizeof g->brick);
  fill_bricks(g);
  g->strike = 0;
  g->last_x = g->ball_x;
  g->last_y = g->ball_y;
  g->terminal = 0;
  observe(g, obs);
}

static int any_brick(const breakout_t *g) { return (g->brick[1] | g->brick[2] | g->brick[3]) != 0; }

static void bo_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  breakout_t *g = state;
  int a = minatar_action(&g->m, action);
  float r = 0;
  if (g->terminal) goto done;
  if (a == MINATAR_LEFT) g->pos = g->pos > 0 ? g->pos - 1 : 0;
  if (a == MINATAR_RIGHT) g->pos = g->pos < 9 ? g->pos + 1 : 9;
  g->last_x = g->ball_x;
  g->last_y = g->ball_y;
  int nx = g->ball_x + dx[g->dir], ny = g->ball_y + dy[g->dir], touched = 0;
  if (nx < 0 || nx > 9) {
    nx = nx < 0 ? 0 : 9;
    g->dir = flip_h[g->dir];
  }
  if (ny < 0) {
    ny = 0;
    g->dir = flip_v[g->dir];
  } else if (g->brick[ny] >> nx & 1u) {
    touched = 1;
    if (!g->strike) {
      r += 1;
      g->strike = 1;
      g->brick[ny] &= (uint16_t) ~(1u << nx);
      ny = g->last_y;
      g->dir = flip_v[g->dir];
    }
  } else if (ny == 9) {
    if (!any_brick(g)) fill_bricks(g);
    if (g->ball_x == g->pos) {
      g->dir = flip_v[g->dir];
      ny = g->last_y;
    } else if (nx == g->pos) {
      g->dir = paddle_edge[g->dir];
      ny = g->last_y;
    } else {
      g->terminal = 1;
    }
  }
  if (!touched) g->strike = 0;
  g->ball_x = nx;
  g->ball_y = ny;
done:
  *reward = r;
  *terminated = g->terminal;
  observe(g, obs);
}

static const int breakout_min[3] = {MINATAR_NOOP, MINATAR_LEFT, MINATAR_RIGHT};
MINATAR_SPECS(breakout, "Breakout", C, breakout_t, bo_reset, bo_step, breakout_min, 1.0f, 10.0);
