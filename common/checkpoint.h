/* checkpoint: a file of named sections, written atomically and checksummed.
 *
 * Layout (little-endian): "RLSVCKPT" | u32 format version | u32 section count |
 * per section: name (16 bytes, NUL-padded) | u64 length | bytes | then a 32-byte BLAKE2b
 * (libsodium crypto_generichash) of everything before it. Writing goes to PATH.tmp, is
 * fsync'ed, renamed over PATH, and the folder is fsync'ed, so a crash leaves either the old
 * file or the new one, never a torn one. Any thread; no shared state. */
#ifndef RLSERVE_CHECKPOINT_H
#define RLSERVE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define CHECKPOINT_FORMAT 1
#define CHECKPOINT_MAX_SECTIONS 32

typedef struct checkpoint_section {
  char name[16];
  const void *data;
  uint64_t len;
} checkpoint_section_t;

/* 0, or -1 with a message naming the path and the failing step. */
int checkpoint_write(const char *path, const checkpoint_section_t *sections, int n, char *err,
                     size_t errlen);

/* A whole checkpoint read and verified into memory. */
typedef struct checkpoint {
  uint8_t *buf;
  size_t len;
  int n;
  checkpoint_section_t sections[CHECKPOINT_MAX_SECTIONS];
} checkpoint_t;

/* Reads and verifies (magic, version, lengths, checksum); 0, or -1 with a message. */
int checkpoint_read(const char *path, checkpoint_t *ck, char *err, size_t errlen);
/* The named section or NULL. */
const checkpoint_section_t *checkpoint_find(const checkpoint_t *ck, const char *name);
void checkpoint_free(checkpoint_t *ck);

#endif
