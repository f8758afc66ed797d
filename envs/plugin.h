/* plugin: user environments from shared libraries (the ABI is rlserve_env_plugin.h).
 * env_plugin_load opens a library, checks its ABI version and every field of its
 * description, and registers an env_spec_t for it: afterwards env_find(id), env_init and
 * env_vec_init know the id like a built-in one. The spec's reset passes rng_u64 of the env's
 * own stream to the plugin, so env_reset(e, seed) stays reproducible.
 *
 * Threads: load plugins at start-up, before other threads start (the learner and the workers
 * call env_plugin_load(cfg.env_plugin) in main). Registration writes the registry without a
 * lock; env_find and the registered specs are read-only afterwards and any thread may use
 * them. Libraries are never unloaded. */
#ifndef RLSERVE_PLUGIN_H
#define RLSERVE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "rlserve_env_plugin.h"

#define ENV_PLUGIN_MAX 16 /* plugin envs registered in one process */

/* dlopen(path, RTLD_NOW | RTLD_LOCAL), find RLSERVE_ENV_PLUGIN_ENTRY, validate, register.
 * Returns 0, or -1 with a message naming the path and what was wrong in err (the dlerror
 * text when the library or its entry point cannot be found). Loading a library that is
 * already loaded returns 0 and changes nothing. */
int env_plugin_load(const char *path, char *err, size_t errlen);

/* What a loaded plugin is: the env id it registered and the SHA-256 of the library file (the
 * learner sends both in the Welcome; a worker compares them with its own --env-plugin). */
#define ENV_PLUGIN_SHA256 32
typedef struct env_plugin_info {
  char id[RLSERVE_ENV_PLUGIN_MAX_ID + 1];
  uint8_t sha256[ENV_PLUGIN_SHA256];
} env_plugin_info_t;

/* env_plugin_load, and the id and file hash into *info. Same returns. */
int env_plugin_load_info(const char *path, env_plugin_info_t *info, char *err, size_t errlen);
/* The SHA-256 of a file (libsodium crypto_hash_sha256). 0, or -1 with a message naming it. */
int env_plugin_file_sha256(const char *path, uint8_t out[ENV_PLUGIN_SHA256], char *err,
                           size_t errlen);
/* Lower-case hex of a hash: out has room for 2 * ENV_PLUGIN_SHA256 + 1 bytes. */
void env_plugin_hex(const uint8_t *hash, size_t n, char *out);

/* Validate and register a plugin description that is already in memory (a plugin linked
 * into the program, or a test). `origin` names it in messages (the path for a library).
 * The description must outlive the process's use of the env. Registering the same pointer
 * again returns 0. Returns 0 or -1 with the reason in err. */
int env_plugin_register(const rlserve_env_plugin_t *p, const char *origin, char *err,
                        size_t errlen);

/* Registry extension (defined in registry.c): adds a spec that env_find / env_ids then
 * report after the built-in ones. The spec and its id must stay valid for the process.
 * Returns 0, or -1 when the id is already known or the registry is full (reason in err). */
int env_register(const env_spec_t *spec, char *err, size_t errlen);

#endif
