/* Checks checkpoint: round trip of sections; truncated, corrupted, wrong-magic files refused
 * with a message; the old file survives a failed write target; keyed files (a run token)
 * read only with their key, plain ones refused by a reader with a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"

int main(void) {
  char dir[] = "/tmp/rlserve-ckpt-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  char path[256];
  snprintf(path, sizeof path, "%s/ck.bin", dir);
  float params[1000];
  for (int i = 0; i < 1000; i++) params[i] = (float)i * 0.5f;
  const char *cfg = "env = CartPole-v1\n";
  checkpoint_section_t s[2] = {{"config", cfg, strlen(cfg)}, {"online", params, sizeof params}};
  char err[512];
  CHECK(checkpoint_write(path, s, 2, err, sizeof err) == 0, "%s", err);

  checkpoint_t ck;
  CHECK(checkpoint_read(path, &ck, err, sizeof err) == 0, "%s", err);
  const checkpoint_section_t *o = checkpoint_find(&ck, "online");
  CHECK(o && o->len == sizeof params && memcmp(o->data, params, sizeof params) == 0,
        "online section differs");
  const checkpoint_section_t *c = checkpoint_find(&ck, "config");
  CHECK(c && c->len == strlen(cfg) && memcmp(c->data, cfg, c->len) == 0, "config differs");
  CHECK(checkpoint_find(&ck, "nope") == NULL, "found a missing section");
  checkpoint_free(&ck);

  /* Read the file, then write damaged copies. */
  FILE *f = fopen(path, "rb");
  static uint8_t buf[8192];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  char bad[256];
  snprintf(bad, sizeof bad, "%s/bad.bin", dir);

  f = fopen(bad, "wb");
  fwrite(buf, 1, len - 100, f);
  fclose(f);
  CHECK(checkpoint_read(bad, &ck, err, sizeof err) < 0 && strstr(err, "bad.bin"),
        "truncated accepted: %s", err);

  buf[500] ^= 0x40;
  f = fopen(bad, "wb");
  fwrite(buf, 1, len, f);
  fclose(f);
  CHECK(checkpoint_read(bad, &ck, err, sizeof err) < 0 && strstr(err, "checksum"),
        "corrupt accepted: %s", err);
  buf[500] ^= 0x40;

  buf[0] = 'X';
  f = fopen(bad, "wb");
  fwrite(buf, 1, len, f);
  fclose(f);
  CHECK(checkpoint_read(bad, &ck, err, sizeof err) < 0 && strstr(err, "magic"),
        "bad magic accepted: %s", err);

  CHECK(checkpoint_read("/nonexistent/ck.bin", &ck, err, sizeof err) < 0, "missing file");
  /* A write into a missing folder fails cleanly and leaves nothing behind. */
  CHECK(checkpoint_write("/nonexistent/dir/ck.bin", s, 2, err, sizeof err) < 0 &&
            strstr(err, "/nonexistent/dir"),
        "write to missing dir: %s", err);
  /* No temporary file is left after a good write. */
  char tmp[300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(access(tmp, F_OK) != 0, "temporary file left behind");

  /* Keyed (a run with a token): read back with the key; refused without it, with another
   * key, and a plain file is refused by a reader with a key. */
  uint8_t tk[32] = {1, 2, 3}, tk2[32] = {9}, key[CHECKPOINT_KEY], key2[CHECKPOINT_KEY];
  checkpoint_key_derive(tk, key);
  checkpoint_key_derive(tk2, key2);
  CHECK(memcmp(key, tk, sizeof key) != 0, "the checkpoint key is the token key itself");
  CHECK(checkpoint_write_keyed(path, s, 2, key, err, sizeof err) == 0, "%s", err);
  CHECK(checkpoint_read_keyed(path, &ck, key, err, sizeof err) == 0, "keyed read: %s", err);
  o = checkpoint_find(&ck, "online");
  CHECK(o && o->len == sizeof params && memcmp(o->data, params, sizeof params) == 0,
        "keyed online section differs");
  checkpoint_free(&ck);
  CHECK(checkpoint_read(path, &ck, err, sizeof err) < 0 && strstr(err, "--token-file"),
        "keyed file read without a key: %s", err);
  CHECK(checkpoint_read_keyed(path, &ck, key2, err, sizeof err) < 0 &&
            strstr(err, "authentication failed"),
        "keyed file read with another key: %s", err);
  CHECK(checkpoint_write(path, s, 2, err, sizeof err) == 0, "%s", err);
  CHECK(checkpoint_read_keyed(path, &ck, key, err, sizeof err) < 0 &&
            strstr(err, "not authenticated"),
        "plain file accepted by a keyed reader: %s", err);
  unlink(path);
  unlink(bad);
  rmdir(dir);
  CHECK_DONE();
}
