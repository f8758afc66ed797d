/* MinAtar Asterix (minatar/environments/asterix.py): channels player 0, enemy 1, trail 2,
 * gold 3; enemies and gold cross rows 1-8, gold scores, an enemy ends the game; spawning and
 * movement speed up every 100 steps when ramping. */
#include "minatar.h"

enum { C = 4, PLAYER = 0, ENEMY = 1, TRAIL = 2, GOLD = 3 };
enum { RAMP_INTERVAL = 100, INIT_SPAWN_SPEED = 10, INIT_MOVE_INTERVAL = 5, N_SLOTS = 8 };

typedef struct entity {
  int used, x, right, gold; /* slot i lives in row i + 1 */
} entity_t;

typedef struct asterix {
  minatar_t m;
  int px, py, terminal;
  entity_t e[N_SLOTS];
  int spawn_speed, spawn_timer, move_speed, move_timer, ramp_timer, ramp_index;
} asterix_t;

static void observe(const asterix_t *g, float *obs) {
  minatar_clear(obs, C);
  minatar_on(obs, C, g->py, g->px, PLAYER);
  for (int i = 0; i < N_SLOTS; i++) {
    const entity_t *e = &g->e[i];
    if (!e->used) continue;
    minatar_on(obs, C, i + 1, e->x, e->gold ? GOLD : ENEMY);
    int back = e->right ? e->x - 1 : e->x + 1;
    if (back >= 0 && back <= 9) minatar_on(obs, C, i + 1, back, TRAIL);
  }
}

static void ax_reset(void *state, rng_t *rng, float *obs) {
  (void)rng;
  asterix_t *g = state;
  g->px = 5;
  g->py = 5;
  g->terminal = 0;
  memset(g->e, 0, sizeof g->e);
  g->spawn_speed = g->spawn_timer = INIT_SPAWN_SPEED;
  g->move_speed = g->move_timer = INIT_MOVE_INTERVAL;
  g->ramp_timer = RAMP_INTERVAL;
  g->ramp_index = 0;
  observe(g, obs);
}

static void spawn(asterix_t *g) {
  int right = npmt_rand(&g->m.mt) < 1.0 / 2;
  int gold = npmt_rand(&g->m.mt) < 1.0 / 3;
  int free_slots[N_SLOTS], n = 0;
  for (int i = 0; i < N_SLOTS; i++)
    if (!g->e[i].used) free_slots[n++] = i;
  if (n == 0) return;
  int slot = free_slots[npmt_randint(&g->m.mt, 0, n)];
  g->e[slot] = (entity_t){.used = 1, .x = right ? 0 : 9, .right = right, .gold = gold};
}

/* The entity in slot i is on the player's cell: gold is collected, an enemy ends the game. */
static void touch(asterix_t *g, int i, float *r) {
  entity_t *e = &g->e[i];
  if (!e->used || e->x != g->px || i + 1 != g->py) return;
  if (e->gold) {
    e->used = 0;
    *r += 1;
  } else {
    g->terminal = 1;
  }
}

static void ax_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  asterix_t *g = state;
  int a = minatar_action(&g->m, action);
  float r = 0;
  if (g->terminal) goto done;
  if (g->spawn_timer == 0) {
    spawn(g);
    g->spawn_timer = g->spawn_speed;
  }
  if (a == MINATAR_LEFT)
    g->px = g->px > 0 ? g->px - 1 : 0;
  else if (a == MINATAR_RIGHT)
    g->px = g->px < 9 ? g->px + 1 : 9;
  else if (a == MINATAR_UP)
    g->py = g->py > 1 ? g->py - 1 : 1;
  else if (a == MINATAR_DOWN)
    g->py = g->py < 8 ? g->py + 1 : 8;
  /* The reference tests every slot against the player's cell, before and after each slot
   * moves; slot i lives in row i + 1, so only the player's row (slot py - 1) can ever match. */
  touch(g, g->py - 1, &r);
  if (g->move_timer == 0) {
    g->move_timer = g->move_speed;
    for (int i = 0; i < N_SLOTS; i++) {
      entity_t *e = &g->e[i];
      if (!e->used) continue;
      e->x += e->right ? 1 : -1;
      if (e->x < 0 || e->x > 9) e->used = 0;
    }
    touch(g, g->py - 1, &r);
  }
  g->spawn_timer--;
  g->move_timer--;
  if (g->m.ramping && (g->spawn_speed > 1 || g->move_speed > 1)) {
    if (g->ramp_timer >= 0) {
      g->ramp_timer--;
    } else {
      if (g->move_speed > 1 && g->ramp_index % 2) g->move_speed--;
      if (g->spawn_speed > 1) g->spawn_speed--;
      g->ramp_index++;
      g->ramp_timer = RAMP_INTERVAL;
    }
  }
done:
  *reward = r;
  *terminated = g->terminal;
  observe(g, obs);
}

static const int asterix_min[5] = {MINATAR_NOOP, MINATAR_LEFT, MINATAR_UP, MINATAR_RIGHT,
                                   MINATAR_DOWN};
MINATAR_SPECS(asterix, "Asterix", C, asterix_t, ax_reset, ax_step, asterix_min, 8.0f, 16.8);
