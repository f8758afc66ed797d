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

#include "env.h"
#include "rlserve_env_plugin.h"

#define ENV_PLUGIN_MAX 16 /* plugin envs registered in one process */

/* dlopen(path, RTLD_NOW | RTLD_LOCAL), find RLSERVE_ENV_PLUGIN_ENTRY, validate, register.
 * Returns 0, or -1 with a message naming the path and what was wrong in err (the dlerror
 * text when the library or its entry point cannot be found). Loading a library that is
 * already loaded returns 0 and changes nothing. */
int env_plugin_load(const char *path, char *err, size_t errlen);

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
