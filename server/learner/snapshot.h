/* snapshot: the newest published online weights, versioned. The trainer thread publishes; the
 * net thread encodes the newest for the wire and the eval thread copies it. The lock is held
 * only for copies. Workers act with the online network alone; the target network is kept here
 * only when workers compute initial priorities (actor_priorities: snapshot_keep_target). */
#ifndef RLSERVE_SNAPSHOT_H
#define RLSERVE_SNAPSHOT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct snapshot {
  pthread_mutex_t mu;
  size_t n;
  float *online;
  float *target; /* NULL unless snapshot_keep_target */
  uint64_t version;
} snapshot_t;

int snapshot_init(snapshot_t *s, size_t n);
void snapshot_free(snapshot_t *s);
/* Copies the online buffer in and bumps the version. Trainer thread. */
void snapshot_publish(snapshot_t *s, const float *online);
/* Keeps a target network beside the online one (before any publish). 0, or -1 (no memory). */
int snapshot_keep_target(snapshot_t *s);
/* Like snapshot_publish, with the target network when one is kept (target may be NULL). */
void snapshot_publish_pair(snapshot_t *s, const float *online, const float *target);
uint64_t snapshot_version(snapshot_t *s);
/* Copies the online weights out; returns their version. */
uint64_t snapshot_copy_online(snapshot_t *s, float *dst);
/* A Weights frame of the newest version (malloc'd); *version receives it. */
uint8_t *snapshot_encode(snapshot_t *s, uint64_t env_steps, size_t *len, uint64_t *version);

#endif
