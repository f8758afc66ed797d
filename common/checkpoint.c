#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "RLSVCKPT"
#define HASH_LEN 32

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

void checkpoint_key_derive(const uint8_t token_key[32], uint8_t out[CHECKPOINT_KEY]) {
  static const char ctx[] = "rlserve-checkpoint-1";
  crypto_generichash(out, CHECKPOINT_KEY, (const unsigned char *)ctx, sizeof ctx - 1, token_key,
                     32);
}

int checkpoint_write(const char *path, const checkpoint_section_t *sections, int n, char *err,
                     size_t errlen) {
  return checkpoint_write_keyed(path, sections, n, NULL, err, errlen);
}

int checkpoint_write_keyed(const char *path, const checkpoint_section_t *sections, int n,
                           const uint8_t *key, char *err, size_t errlen) {
  if (n < 0 || n > CHECKPOINT_MAX_SECTIONS) {
    snprintf(err, errlen, "checkpoint %s: %d sections (limit %d)", path, n,
             CHECKPOINT_MAX_SECTIONS);
    return -1;
  }
  if (sodium_init() < 0) {
    snprintf(err, errlen, "checkpoint %s: libsodium failed to initialize", path);
    return -1;
  }
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    snprintf(err, errlen, "checkpoint: path too long");
    return -1;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(err, errlen, "checkpoint: cannot create %s: %s", tmp, strerror(errno));
    return -1;
  }
  crypto_generichash_state st;
  crypto_generichash_init(&st, key, key ? CHECKPOINT_KEY : 0, HASH_LEN);
  uint8_t head[16];
  memcpy(head, MAGIC, 8);
  put_u32(head + 8, key ? CHECKPOINT_FORMAT_KEYED : CHECKPOINT_FORMAT);
  put_u32(head + 12, (uint32_t)n);
  int rc = write_all(fd, head, sizeof head);
  crypto_generichash_update(&st, head, sizeof head);
  for (int i = 0; i < n && rc == 0; i++) {
    uint8_t sh[24] = {0};
    strncpy((char *)sh, sections[i].name, 15);
    put_u64(sh + 16, sections[i].len);
    rc = write_all(fd, sh, sizeof sh);
    crypto_generichash_update(&st, sh, sizeof sh);
    if (rc == 0 && sections[i].len) {
      rc = write_all(fd, sections[i].data, sections[i].len);
      crypto_generichash_update(&st, sections[i].data, sections[i].len);
    }
  }
  uint8_t hash[HASH_LEN];
  crypto_generichash_final(&st, hash, HASH_LEN);
  if (rc == 0) rc = write_all(fd, hash, HASH_LEN);
  if (rc == 0) rc = fsync(fd);
  int saved = errno;
  if (close(fd) != 0 && rc == 0) {
    rc = -1;
    saved = errno;
  }
  if (rc != 0) {
    snprintf(err, errlen, "checkpoint: writing %s failed: %s", tmp, strerror(saved));
    unlink(tmp);
    return -1;
  }
  if (rename(tmp, path) != 0) {
    snprintf(err, errlen, "checkpoint: rename %s -> %s failed: %s", tmp, path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  /* Make the rename itself durable. */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

int checkpoint_read(const char *path, checkpoint_t *ck, char *err, size_t errlen) {
  return checkpoint_read_keyed(path, ck, NULL, err, errlen);
}

int checkpoint_read_keyed(const char *path, checkpoint_t *ck, const uint8_t *key, char *err,
                          size_t errlen) {
  memset(ck, 0, sizeof *ck);
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "checkpoint: cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || sb.st_size < 16 + HASH_LEN) {
    snprintf(err, errlen, "checkpoint %s: truncated (%lld bytes)", path, (long long)sb.st_size);
    fclose(f);
    return -1;
  }
  size_t len = (size_t)sb.st_size;
  uint8_t *buf = malloc(len);
  if (!buf || fread(buf, 1, len, f) != len) {
    snprintf(err, errlen, "checkpoint %s: read failed", path);
    free(buf);
    fclose(f);
    return -1;
  }
  fclose(f);
  return checkpoint_parse(path, buf, len, ck, key, err, errlen);
}

int checkpoint_parse(const char *path, uint8_t *buf, size_t len, checkpoint_t *ck,
                     const uint8_t *key, char *err, size_t errlen) {
  memset(ck, 0, sizeof *ck);
  if (sodium_init() < 0) {
    snprintf(err, errlen, "checkpoint %s: libsodium failed to initialize", path);
    free(buf);
    return -1;
  }
  if (len < 16 + HASH_LEN) {
    snprintf(err, errlen, "checkpoint %s: truncated (%zu bytes)", path, len);
    free(buf);
    return -1;
  }
  if (memcmp(buf, MAGIC, 8) != 0) {
    snprintf(err, errlen, "checkpoint %s: not an rlserve checkpoint (bad magic)", path);
    free(buf);
    return -1;
  }
  uint32_t ver = get_u32(buf + 8), n = get_u32(buf + 12);
  if (ver != CHECKPOINT_FORMAT && ver != CHECKPOINT_FORMAT_KEYED) {
    snprintf(err, errlen, "checkpoint %s: format version %u, this build reads %d and %d", path, ver,
             CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_KEYED);
    free(buf);
    return -1;
  }
  if (key && ver != CHECKPOINT_FORMAT_KEYED) {
    snprintf(err, errlen,
             "checkpoint %s: not authenticated (a plain checksum, which anyone can recompute), "
             "but this run has a token: refusing it",
             path);
    free(buf);
    return -1;
  }
  if (!key && ver == CHECKPOINT_FORMAT_KEYED) {
    snprintf(err, errlen,
             "checkpoint %s: authenticated with a run token; give that run's token "
             "(--token-file) to read it",
             path);
    free(buf);
    return -1;
  }
  uint8_t hash[HASH_LEN];
  crypto_generichash(hash, HASH_LEN, buf, len - HASH_LEN, key, key ? CHECKPOINT_KEY : 0);
  if (sodium_memcmp(hash, buf + len - HASH_LEN, HASH_LEN) != 0) {
    snprintf(err, errlen,
             key ? "checkpoint %s: authentication failed: keyed checksum mismatch (another "
                   "run's token, or the file was altered or truncated)"
                 : "checkpoint %s: checksum mismatch (corrupt or truncated file)",
             path);
    free(buf);
    return -1;
  }
  if (n > CHECKPOINT_MAX_SECTIONS) {
    snprintf(err, errlen, "checkpoint %s: %u sections (limit %d)", path, n,
             CHECKPOINT_MAX_SECTIONS);
    free(buf);
    return -1;
  }
  size_t off = 16, end = len - HASH_LEN;
  for (uint32_t i = 0; i < n; i++) {
    if (end - off < 24) {
      snprintf(err, errlen, "checkpoint %s: section %u header runs past the end", path, i);
      free(buf);
      return -1;
    }
    checkpoint_section_t *s = &ck->sections[i];
    memcpy(s->name, buf + off, 16);
    s->name[15] = 0;
    s->len = get_u64(buf + off + 16);
    off += 24;
    if (s->len > end - off) {
      snprintf(err, errlen, "checkpoint %s: section '%s' length %llu runs past the end", path,
               s->name, (unsigned long long)s->len);
      free(buf);
      return -1;
    }
    s->data = buf + off;
    off += s->len;
  }
  if (off != end) {
    snprintf(err, errlen, "checkpoint %s: %zu stray bytes after the sections", path, end - off);
    free(buf);
    return -1;
  }
  ck->buf = buf;
  ck->len = len;
  ck->n = (int)n;
  return 0;
}

const checkpoint_section_t *checkpoint_find(const checkpoint_t *ck, const char *name) {
  for (int i = 0; i < ck->n; i++)
    if (strcmp(ck->sections[i].name, name) == 0) return &ck->sections[i];
  return NULL;
}

void checkpoint_free(checkpoint_t *ck) {
  free(ck->buf);
  memset(ck, 0, sizeof *ck);
}
