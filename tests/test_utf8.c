/* test_utf8: utf8_copy keeps valid UTF-8, replaces each malformed byte with '?' and cuts long
 * text at a character boundary. */
#include <string.h>

#include "check.h"
#include "utf8.h"

static void expect_copy(const char *src, size_t n, const char *want) {
  char dst[64];
  size_t got = utf8_copy(dst, n, src);
  CHECK(strcmp(dst, want) == 0 && got == strlen(want),
        "utf8_copy(\"%s\", %zu) = \"%s\" (%zu), want \"%s\"", src ? src : "(null)", n, dst, got,
        want);
}

int main(void) {
  expect_copy("node-7.example.org", 64, "node-7.example.org");
  expect_copy(NULL, 64, "");
  expect_copy("", 1, "");
  expect_copy("h\xc3\xa9te", 64, "h\xc3\xa9te"); /* é */
  expect_copy("\xe2\x82\xac\xf0\x9f\x98\x80", 64,
              "\xe2\x82\xac\xf0\x9f\x98\x80"); /* € and U+1F600 */
  expect_copy("a\x80z", 64, "a?z");            /* stray continuation byte */
  expect_copy("a\xc3", 64, "a?");              /* cut short at the end */
  expect_copy("a\xc3z", 64, "a?z");            /* cut short by an ASCII byte */
  expect_copy("\xc0\xaf", 64, "??");           /* overlong '/' */
  expect_copy("\xe0\x80\xaf", 64, "???");      /* overlong, three bytes */
  expect_copy("\xed\xa0\x80", 64, "???");      /* surrogate U+D800 */
  expect_copy("\xf4\x90\x80\x80", 64, "????"); /* above U+10FFFF */
  expect_copy("\xff\xfe", 64, "??");
  expect_copy("abcdef", 4, "abc");    /* cut to fit with its NUL */
  expect_copy("ab\xc3\xa9", 4, "ab"); /* never half a character */
  expect_copy("ab\xc3\xa9", 5, "ab\xc3\xa9");
  CHECK_DONE();
}
