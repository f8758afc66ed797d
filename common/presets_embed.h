/* The presets of deploy/presets/, compiled in by common/CMakeLists.txt (embed_presets.cmake). */
#ifndef RLSERVE_PRESETS_EMBED_H
#define RLSERVE_PRESETS_EMBED_H

#include <stddef.h>

typedef struct presets_embed_entry {
  const char *name;
  const char *text;
} presets_embed_entry_t;

extern const presets_embed_entry_t presets_embed[];
extern const size_t presets_embed_count;

#endif
