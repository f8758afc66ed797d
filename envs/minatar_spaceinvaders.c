/* MinAtar Space Invaders (minatar/environments/space_invaders.py): channels cannon 0, alien 1,
 * alien_left 2, alien_right 3, friendly_bullet 4, enemy_bullet 5. The game never draws; only
 * the sticky-action wrapper does. Maps are bit rows (bit c = column c) so the numpy rolls are
 * shifts and the counts bit counts. */
#include "minatar.h"

enum { C = 6, CANNON = 0, ALIEN = 1, ALIEN_LEFT = 2, ALIEN_RIGHT = 3, FBULLET = 4, EBULLET = 5 };
enum { SHOT_COOL_DOWN = 5, ENEMY_MOVE_INTERVAL = 12, ENEMY_SHOT_INTERVAL = 10 };
#define ROW_WAVE 0xfcu /* columns 2..7 */

typedef struct spaceinvaders {
  minatar_t m;
  uint16_t alien[MINATAR_GRID], fb[MINATAR_GRID], eb[MINATAR_GRID];
  int pos, dir, move_interval, move_timer, alien_shot_timer, ramp_index, shot_timer, terminal;
} spaceinvaders_t;

static void wave(spaceinvaders_t *g) {
  for (int r = 0; r < 4; r++) g->alien[r] = ROW_WAVE;
}

static void observe_bits(float *obs, const uint16_t *rows, int ch) {
  for (int r = 0; r < MINATAR_GRID; r++)
    for (uint16_t b = rows[r]; b; b &= (uint16_t)(b - 1))
      minatar_on(obs, C, r, __builtin_ctz(b), ch);
}

static void observe(const spaceinvaders_t *g, float *obs) {
  minatar_clear(obs, C);
  minatar_on(obs, C, 9, g->pos, CANNON);
  observe_bits(obs, g->alien, ALIEN);
  observe_bits(obs, g->alien, g->dir < 0 ? ALIEN_LEFT : ALIEN_RIGHT);
  observe_bits(obs, g->fb, FBULLET);
  observe_bits(obs, g->eb, EBULLET);
}

static void si_reset(void *state, rng_t *rng, float *obs) {
  (void)rng;
  spaceinvaders_t *g = state;
  memset(g->alien, 0, sizeof g->alien);
  memset(g->fb, 0, sizeof g->fb);
  memset(g->eb, 0, sizeof g->eb);
  wave(g);
  g->pos = 5;
  g->dir = -1;
  g->move_interval = ENEMY_MOVE_INTERVAL;
  g->move_timer = ENEMY_MOVE_INTERVAL;
  g->alien_shot_timer = ENEMY_SHOT_INTERVAL;
  g->ramp_index = 0;
  g->shot_timer = 0;
  g->terminal = 0;
  observe(g, obs);
}

/* Bits set in a 10-bit row (no popcnt instruction in the baseline x86-64 target). */
static int bits10(unsigned v) {
  v = v - ((v >> 1) & 0x155u);
  v = (v & 0x333u) + ((v >> 2) & 0x333u);
  v = (v + (v >> 4)) & 0x0f0fu;
  return (int)((v & 0xffu) + (v >> 8));
}

static int count_aliens(const spaceinvaders_t *g) {
  int n = 0;
  for (int r = 0; r < MINATAR_GRID; r++) n += bits10(g->alien[r]);
  return n;
}

static uint16_t column_union(const spaceinvaders_t *g) {
  uint16_t u = 0;
  for (int r = 0; r < MINATAR_GRID; r++) u |= g->alien[r];
  return u;
}

/* The lowest alien of the first occupied column in order of |column - pos| (ties: smaller). */
static void shoot(spaceinvaders_t *g) {
  uint16_t cols = column_union(g);
  for (int d = 0; d < MINATAR_GRID; d++)
    for (int s = -1; s <= 1; s += 2) {
      int c = g->pos + s * d;
      if (c < 0 || c > 9 || !(cols >> c & 1u)) continue;
      for (int r = MINATAR_GRID - 1; r >= 0; r--)
        if (g->alien[r] >> c & 1u) {
          g->eb[r] |= (uint16_t)(1u << c);
          return;
        }
      if (d == 0) break;
    }
}

static void si_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  spaceinvaders_t *g = state;
  int a = minatar_action(&g->m, action);
  float r = 0;
  if (g->terminal) goto done;
  if (a == MINATAR_FIRE && g->shot_timer == 0) {
    g->fb[9] |= (uint16_t)(1u << g->pos);
    g->shot_timer = SHOT_COOL_DOWN;
  } else if (a == MINATAR_LEFT) {
    g->pos = g->pos > 0 ? g->pos - 1 : 0;
  } else if (a == MINATAR_RIGHT) {
    g->pos = g->pos < 9 ? g->pos + 1 : 9;
  }
  uint16_t here = (uint16_t)(1u << g->pos);
  memmove(g->fb, g->fb + 1, sizeof g->fb[0] * (MINATAR_GRID - 1)); /* roll up; row 0 leaves */
  g->fb[9] = 0;
  memmove(g->eb + 1, g->eb, sizeof g->eb[0] * (MINATAR_GRID - 1)); /* roll down; row 9 leaves */
  g->eb[0] = 0;
  if (g->eb[9] & here) g->terminal = 1;
  if (g->alien[9] & here) g->terminal = 1;
  if (g->move_timer == 0) {
    int n = count_aliens(g);
    g->move_timer = n < g->move_interval ? n : g->move_interval;
    uint16_t cols = column_union(g);
    if (((cols & 1u) && g->dir < 0) || ((cols & 0x200u) && g->dir > 0)) {
      g->dir = -g->dir;
      if (g->alien[9]) g->terminal = 1;
      uint16_t last = g->alien[9]; /* np.roll: row 9 wraps to row 0 */
      memmove(g->alien + 1, g->alien, sizeof g->alien[0] * (MINATAR_GRID - 1));
      g->alien[0] = last;
    } else {
      for (int i = 0; i < MINATAR_GRID; i++)
        g->alien[i] = (uint16_t)(g->dir > 0 ? g->alien[i] << 1 : g->alien[i] >> 1) & 0x3ffu;
    }
    if (g->alien[9] & here) g->terminal = 1;
  }
  if (g->alien_shot_timer == 0) {
    g->alien_shot_timer = ENEMY_SHOT_INTERVAL;
    shoot(g);
  }
  for (int i = 0; i < MINATAR_GRID; i++) {
    uint16_t kill = g->alien[i] & g->fb[i];
    r += (float)bits10(kill);
    g->alien[i] &= (uint16_t)~kill;
    g->fb[i] &= (uint16_t)~kill;
  }
  if (g->shot_timer > 0) g->shot_timer--;
  g->move_timer--;
  g->alien_shot_timer--;
  if (count_aliens(g) == 0) {
    if (g->move_interval > 6 && g->m.ramping) {
      g->move_interval--;
      g->ramp_index++;
    }
    wave(g);
  }
done:
  *reward = r;
  *terminated = g->terminal;
  observe(g, obs);
}

static const int spaceinvaders_min[4] = {MINATAR_NOOP, MINATAR_LEFT, MINATAR_RIGHT, MINATAR_FIRE};
MINATAR_SPECS(spaceinvaders, "SpaceInvaders", C, spaceinvaders_t, si_reset, si_step,
              spaceinvaders_min, 24.0f, 43.6);
