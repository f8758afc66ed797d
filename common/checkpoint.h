/* checkpoint: a file of named sections, written atomically and checksummed.
 *
 * Layout (little-endian): "RLSVCKPT" | u32 format version | u32 section count |
 * per section: name (16 bytes, NUL-padded) | u64 length | bytes | then a 32-byte BLAKE2b
 * (libsodium crypto_generichash) of everything before it: plain in format 1, keyed in
 * format 2 with a key derived from the run's token (checkpoint_key_derive), so that only a
 * token holder can write a file a reader with the key accepts. A reader with a key refuses
 * plain files (anyone can recompute a plain checksum); a reader without one refuses keyed
 * files, saying it needs the token. Writing goes to PATH.tmp, is
 * fsync'ed, renamed over PATH, and the folder is fsync'ed, so a crash leaves either the old
 * file or the new one, never a torn one. Any thread; no shared state. */
#ifndef RLSERVE_CHECKPOINT_H
#define RLSERVE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define CHECKPOINT_FORMAT 1       /* plain BLAKE2b checksum */
#define CHECKPOINT_FORMAT_KEYED 2 /* keyed BLAKE2b: authenticated with the run's token */
#define CHECKPOINT_MAX_SECTIONS 32
#define CHECKPOINT_KEY 32

/* The checkpoint key for a token's key (auth_key_from_file): BLAKE2b keyed with it over a
 * context string, so it is not the handshake's key. */
void checkpoint_key_derive(const uint8_t token_key[32], uint8_t out[CHECKPOINT_KEY]);

typedef struct checkpoint_section {
  char name[16];
  const void *data;
  uint64_t len;
} checkpoint_section_t;

/* 0, or -1 with a message naming the path and the failing step. */
int checkpoint_write(const char *path, const checkpoint_section_t *sections, int n, char *err,
                     size_t errlen);
/* The same, authenticated with key (CHECKPOINT_KEY bytes; NULL: plain, as checkpoint_write). */
int checkpoint_write_keyed(const char *path, const checkpoint_section_t *sections, int n,
                           const uint8_t *key, char *err, size_t errlen);

/* A whole checkpoint read and verified into memory. */
typedef struct checkpoint {
  uint8_t *buf;
  size_t len;
  int n;
  checkpoint_section_t sections[CHECKPOINT_MAX_SECTIONS];
} checkpoint_t;

/* Reads and verifies (magic, version, lengths, checksum); 0, or -1 with a message. */
int checkpoint_read(const char *path, checkpoint_t *ck, char *err, size_t errlen);
/* The same with a key (NULL: as checkpoint_read): only a keyed file made with this key is
 * accepted. */
int checkpoint_read_keyed(const char *path, checkpoint_t *ck, const uint8_t *key, char *err,
                          size_t errlen);
/* The same over a file image in memory (path only names it in messages): takes ownership of buf
 * (malloc'd, len bytes), kept in ck on success and freed on failure. */
int checkpoint_parse(const char *path, uint8_t *buf, size_t len, checkpoint_t *ck,
                     const uint8_t *key, char *err, size_t errlen);
/* The named section or NULL. */
const checkpoint_section_t *checkpoint_find(const checkpoint_t *ck, const char *name);
void checkpoint_free(checkpoint_t *ck);

#endif
