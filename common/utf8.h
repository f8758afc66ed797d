/* utf8: text from the network made safe to show. Pure, any thread. */
#ifndef RLSERVE_UTF8_H
#define RLSERVE_UTF8_H

#include <stddef.h>

/* Copies src (NUL-terminated; NULL is "") into dst of n >= 1 bytes as valid UTF-8: a byte that
 * does not start a well-formed sequence (stray continuation, overlong form, surrogate, above
 * U+10FFFF, cut short) becomes '?', and a text too long for dst is cut at a character
 * boundary. Returns the bytes written, without the NUL. Control bytes are copied as they are:
 * the wire decoders refuse them before this is called. */
size_t utf8_copy(char *dst, size_t n, const char *src);

#endif
