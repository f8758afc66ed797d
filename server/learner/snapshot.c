#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

int snapshot_init(snapshot_t *s, size_t n) {
  memset(s, 0, sizeof *s);
  s->n = n;
  s->online = calloc(n, sizeof(float));
  if (!s->online) return -1;
  pthread_mutex_init(&s->mu, NULL);
  return 0;
}

void snapshot_free(snapshot_t *s) {
  if (!s->online) return;
  pthread_mutex_destroy(&s->mu);
  free(s->online);
  free(s->target);
  memset(s, 0, sizeof *s);
}

void snapshot_publish(snapshot_t *s, const float *online) {
  pthread_mutex_lock(&s->mu);
  memcpy(s->online, online, s->n * sizeof(float));
  s->version++;
  pthread_mutex_unlock(&s->mu);
}

int snapshot_keep_target(snapshot_t *s) {
  s->target = calloc(s->n, sizeof(float));
  return s->target ? 0 : -1;
}

void snapshot_publish_pair(snapshot_t *s, const float *online, const float *target) {
  pthread_mutex_lock(&s->mu);
  memcpy(s->online, online, s->n * sizeof(float));
  if (s->target && target) memcpy(s->target, target, s->n * sizeof(float));
  s->version++;
  pthread_mutex_unlock(&s->mu);
}

uint64_t snapshot_version(snapshot_t *s) {
  pthread_mutex_lock(&s->mu);
  uint64_t v = s->version;
  pthread_mutex_unlock(&s->mu);
  return v;
}

uint64_t snapshot_copy_online(snapshot_t *s, float *dst) {
  pthread_mutex_lock(&s->mu);
  memcpy(dst, s->online, s->n * sizeof(float));
  uint64_t v = s->version;
  pthread_mutex_unlock(&s->mu);
  return v;
}

uint8_t *snapshot_encode(snapshot_t *s, uint64_t env_steps, size_t *len, uint64_t *version) {
  pthread_mutex_lock(&s->mu);
  uint8_t *f =
      wire_encode_weights_target(s->version, env_steps, s->online, s->target, (uint32_t)s->n, len);
  *version = s->version;
  pthread_mutex_unlock(&s->mu);
  return f;
}
