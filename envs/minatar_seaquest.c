/* MinAtar Seaquest (minatar/environments/seaquest.py): channels sub_front 0, sub_back 1,
 * friendly_bullet 2, trail 3, enemy_bullet 4, enemy_fish 5, enemy_sub 6, oxygen_guage 7,
 * diver_guage 8, diver 9. The reference keeps Python lists, walks them backwards with a
 * reversed() iterator and removes elements BY VALUE (list.remove: the first element equal in
 * every field); the lists below do the same, so even entities with identical fields behave as
 * in the reference. */
#include "minatar.h"

enum {
  C = 10,
  SUB_FRONT = 0,
  SUB_BACK = 1,
  FBULLET = 2,
  TRAIL = 3,
  EBULLET = 4,
  FISH = 5,
  ESUB = 6,
  OXYGEN = 7,
  DIVERS = 8,
  DIVER = 9
};
enum {
  MAX_OXYGEN = 200,
  INIT_SPAWN_SPEED = 20,
  DIVER_SPAWN_SPEED = 30,
  INIT_MOVE_INTERVAL = 5,
  SHOT_COOL_DOWN = 5,
  ENEMY_SHOT_INTERVAL = 10,
  DIVER_MOVE_INTERVAL = 5,
  LIST_CAP = 64 /* far above what the rules allow alive at once (reference sheet, section 6) */
};

/* One list element: bullets use x, y, right; fish and divers add t (move timer); enemy subs
 * add s (shot timer). Unused fields stay 0, so comparing all of them is Python's equality. */
typedef struct ent {
  int x, y, right, t, s;
} ent_t;

typedef struct list {
  ent_t a[LIST_CAP];
  int n;
} list_t;

typedef struct seaquest {
  minatar_t m;
  int x, y, right; /* the player's sub and its facing */
  list_t fb, eb, fish, subs, divers;
  int oxygen, diver_count, spawn_speed, spawn_timer, diver_timer, move_speed, ramp_index;
  int shot_timer, surface, terminal;
} seaquest_t;

static int same(const ent_t *a, const ent_t *b) {
  return a->x == b->x && a->y == b->y && a->right == b->right && a->t == b->t && a->s == b->s;
}

static void push(list_t *l, ent_t e) {
  if (l->n < LIST_CAP) l->a[l->n++] = e; /* never full under the game's rules */
}

/* list.remove(v): removes the first element equal to *v; returns its index (-1: none). */
static int remove_value(list_t *l, const ent_t *v) {
  for (int i = 0; i < l->n; i++)
    if (same(&l->a[i], v)) {
      memmove(&l->a[i], &l->a[i + 1], sizeof l->a[0] * (size_t)(l->n - i - 1));
      l->n--;
      return i;
    }
  return -1;
}

/* The element a Python loop variable refers to while the loop body runs: it stays the same
 * object when other elements are removed (index shifts) or when it leaves the list itself
 * (then it lives on in `gone`, as a Python object outlives its removal). */
typedef struct cursor {
  list_t *l;
  int i; /* index in l, or -1 after removal */
  ent_t gone;
} cursor_t;

static ent_t *cur(cursor_t *c) { return c->i >= 0 ? &c->l->a[c->i] : &c->gone; }

/* Removes by value from list l the element equal to *v (a copy), keeping the cursor on its
 * object. */
static void remove_tracked(list_t *l, ent_t v, cursor_t *c) {
  int ri = remove_value(l, &v);
  if (ri < 0 || c->l != l || c->i < 0) return;
  if (ri == c->i) {
    c->gone = v;
    c->i = -1;
  } else if (ri < c->i) {
    c->i--;
  }
}

static int at_player(const seaquest_t *g, const ent_t *e) { return e->x == g->x && e->y == g->y; }

static void observe_list(const list_t *l, float *obs, int ch, int trail) {
  for (int i = 0; i < l->n; i++) {
    const ent_t *e = &l->a[i];
    minatar_on(obs, C, e->y, e->x, ch);
    if (!trail) continue;
    int back = e->right ? e->x - 1 : e->x + 1;
    if (back >= 0 && back <= 9) minatar_on(obs, C, e->y, back, TRAIL);
  }
}

static void observe(const seaquest_t *g, float *obs) {
  minatar_clear(obs, C);
  minatar_on(obs, C, g->y, g->x, SUB_FRONT);
  minatar_on(obs, C, g->y, g->right ? g->x - 1 : g->x + 1, SUB_BACK);
  int ox = (g->oxygen > 0 ? g->oxygen : 0) * 10 / MAX_OXYGEN;
  for (int c = 0; c < ox && c < MINATAR_GRID; c++) minatar_on(obs, C, 9, c, OXYGEN);
  for (int c = 9 - g->diver_count; c < 9; c++)
    if (c >= 0) minatar_on(obs, C, 9, c, DIVERS);
  observe_list(&g->fb, obs, FBULLET, 0);
  observe_list(&g->eb, obs, EBULLET, 0);
  observe_list(&g->fish, obs, FISH, 1);
  observe_list(&g->subs, obs, ESUB, 1);
  observe_list(&g->divers, obs, DIVER, 1);
}

static void sq_reset(void *state, rng_t *rng, float *obs) {
  (void)rng;
  seaquest_t *g = state;
  g->oxygen = MAX_OXYGEN;
  g->diver_count = 0;
  g->x = 5;
  g->y = 0;
  g->right = 0;
  g->fb.n = g->eb.n = g->fish.n = g->subs.n = g->divers.n = 0;
  g->spawn_speed = g->spawn_timer = INIT_SPAWN_SPEED;
  g->diver_timer = DIVER_SPAWN_SPEED;
  g->move_speed = INIT_MOVE_INTERVAL;
  g->ramp_index = 0;
  g->shot_timer = 0;
  g->surface = 1;
  g->terminal = 0;
  observe(g, obs);
}

static void spawn_enemy(seaquest_t *g) {
  int right = npmt_rand(&g->m.mt) < 1.0 / 2;
  int is_sub = npmt_rand(&g->m.mt) < 1.0 / 3;
  int y = (int)npmt_randint(&g->m.mt, 1, 9);
  const list_t *ls[2] = {&g->subs, &g->fish};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < ls[k]->n; i++)
      if (ls[k]->a[i].y == y && ls[k]->a[i].right != right) return;
  ent_t e = {.x = right ? 0 : 9, .y = y, .right = right, .t = g->move_speed};
  if (is_sub) {
    e.s = ENEMY_SHOT_INTERVAL;
    push(&g->subs, e);
  } else {
    push(&g->fish, e);
  }
}

static void spawn_diver(seaquest_t *g) {
  int right = npmt_rand(&g->m.mt) < 1.0 / 2;
  int y = (int)npmt_randint(&g->m.mt, 1, 9);
  push(&g->divers, (ent_t){.x = right ? 0 : 9, .y = y, .right = right, .t = DIVER_MOVE_INTERVAL});
}

/* for b in reversed(l): CPython's list_reverseiterator (stops when the index passes the end). */
#define FOR_REVERSED(l, c)                                    \
  for (int it_ = (l)->n - 1; it_ >= 0 && it_ < (l)->n; it_--) \
    for (cursor_t c = {(l), it_, {0}}, *once_ = &c; once_; once_ = NULL)

/* The first element of l on e's cell, or -1. */
static int first_on(const list_t *l, const ent_t *e) {
  for (int i = 0; i < l->n; i++)
    if (l->a[i].x == e->x && l->a[i].y == e->y) return i;
  return -1;
}

static void friendly_bullets(seaquest_t *g, float *r) {
  FOR_REVERSED(&g->fb, c) {
    ent_t *b = cur(&c);
    b->x += b->right ? 1 : -1;
    if (b->x < 0 || b->x > 9) {
      remove_tracked(&g->fb, *b, &c);
      continue;
    }
    int k = first_on(&g->fish, b);
    if (k >= 0) {
      remove_value(&g->fish, &g->fish.a[k]);
      remove_tracked(&g->fb, *cur(&c), &c);
      *r += 1;
      continue;
    }
    k = first_on(&g->subs, b);
    if (k >= 0) {
      remove_value(&g->subs, &g->subs.a[k]);
      remove_tracked(&g->fb, *cur(&c), &c);
      *r += 1;
    }
  }
}

static void divers(seaquest_t *g) {
  FOR_REVERSED(&g->divers, c) {
    ent_t *d = cur(&c);
    if (at_player(g, d) && g->diver_count < 6) {
      remove_tracked(&g->divers, *d, &c);
      g->diver_count++;
    } else if (d->t == 0) {
      d->t = DIVER_MOVE_INTERVAL;
      d->x += d->right ? 1 : -1;
      if (d->x < 0 || d->x > 9) {
        remove_tracked(&g->divers, *d, &c);
      } else if (at_player(g, d) && g->diver_count < 6) {
        remove_tracked(&g->divers, *d, &c);
        g->diver_count++;
      }
    } else {
      d->t--;
    }
  }
}

/* A moved enemy (sub or fish) meets the first friendly bullet on its cell: both go, +1. */
static void enemy_hit(seaquest_t *g, list_t *l, cursor_t *c, float *r) {
  int k = first_on(&g->fb, cur(c));
  if (k < 0) return;
  remove_tracked(l, *cur(c), c);
  remove_value(&g->fb, &g->fb.a[k]);
  *r += 1;
}

static void enemy_subs(seaquest_t *g, float *r) {
  FOR_REVERSED(&g->subs, c) {
    if (at_player(g, cur(&c))) g->terminal = 1;
    ent_t *s = cur(&c);
    if (s->t == 0) {
      s->t = g->move_speed;
      s->x += s->right ? 1 : -1;
      if (s->x < 0 || s->x > 9)
        remove_tracked(&g->subs, *s, &c);
      else if (at_player(g, s))
        g->terminal = 1;
      else
        enemy_hit(g, &g->subs, &c, r);
    } else {
      s->t--;
    }
    s = cur(&c); /* still the same sub, in the list or not */
    if (s->s == 0) {
      s->s = ENEMY_SHOT_INTERVAL;
      push(&g->eb, (ent_t){.x = s->x, .y = s->y, .right = s->right});
    } else {
      s->s--;
    }
  }
}

static void enemy_bullets(seaquest_t *g) {
  FOR_REVERSED(&g->eb, c) {
    ent_t *b = cur(&c);
    if (at_player(g, b)) g->terminal = 1;
    b->x += b->right ? 1 : -1;
    if (b->x < 0 || b->x > 9)
      remove_tracked(&g->eb, *b, &c);
    else if (at_player(g, b))
      g->terminal = 1;
  }
}

static void enemy_fish(seaquest_t *g, float *r) {
  FOR_REVERSED(&g->fish, c) {
    ent_t *f = cur(&c);
    if (at_player(g, f)) g->terminal = 1;
    if (f->t == 0) {
      f->t = g->move_speed;
      f->x += f->right ? 1 : -1;
      if (f->x < 0 || f->x > 9)
        remove_tracked(&g->fish, *f, &c);
      else if (at_player(g, f))
        g->terminal = 1;
      else
        enemy_hit(g, &g->fish, &c, r);
    } else {
      f->t--;
    }
  }
}

static void surface(seaquest_t *g, float *r) {
  g->surface = 1;
  if (g->diver_count == 6) {
    g->diver_count = 0;
    *r += (float)(g->oxygen * 10 / MAX_OXYGEN); /* oxygen > 0 here: C division is floor */
  }
  g->oxygen = MAX_OXYGEN;
  g->diver_count--;
  if (g->m.ramping && (g->spawn_speed > 1 || g->move_speed > 2)) {
    if (g->move_speed > 2 && g->ramp_index % 2) g->move_speed--;
    if (g->spawn_speed > 1) g->spawn_speed--;
    g->ramp_index++;
  }
}

static void sq_step(void *state, const float *action, float *obs, float *reward, int *terminated) {
  seaquest_t *g = state;
  int a = minatar_action(&g->m, action);
  float r = 0;
  if (g->terminal) goto done;
  if (g->spawn_timer == 0) {
    spawn_enemy(g);
    g->spawn_timer = g->spawn_speed;
  }
  if (g->diver_timer == 0) {
    spawn_diver(g);
    g->diver_timer = DIVER_SPAWN_SPEED;
  }
  if (a == MINATAR_FIRE && g->shot_timer == 0) {
    push(&g->fb, (ent_t){.x = g->x, .y = g->y, .right = g->right});
    g->shot_timer = SHOT_COOL_DOWN;
  } else if (a == MINATAR_LEFT) {
    g->x = g->x > 0 ? g->x - 1 : 0;
    g->right = 0;
  } else if (a == MINATAR_RIGHT) {
    g->x = g->x < 9 ? g->x + 1 : 9;
    g->right = 1;
  } else if (a == MINATAR_UP) {
    g->y = g->y > 0 ? g->y - 1 : 0;
  } else if (a == MINATAR_DOWN) {
    g->y = g->y < 8 ? g->y + 1 : 8;
  }
  friendly_bullets(g, &r);
  divers(g);
  enemy_subs(g, &r);
  enemy_bullets(g);
  enemy_fish(g, &r);
  if (g->spawn_timer > 0) g->spawn_timer--;
  if (g->diver_timer > 0) g->diver_timer--;
  if (g->shot_timer > 0) g->shot_timer--;
  if (g->oxygen <= 0) g->terminal = 1;
  if (g->y > 0) {
    g->oxygen--;
    g->surface = 0;
  } else if (!g->surface) {
    if (g->diver_count == 0)
      g->terminal = 1;
    else
      surface(g, &r);
  }
done:
  *reward = r;
  *terminated = g->terminal;
  observe(g, obs);
}

static const int seaquest_min[6] = {MINATAR_NOOP,  MINATAR_LEFT, MINATAR_UP,
                                    MINATAR_RIGHT, MINATAR_DOWN, MINATAR_FIRE};
MINATAR_SPECS(seaquest, "Seaquest", C, seaquest_t, sq_reset, sq_step, seaquest_min, 74.0f, 20.1);
