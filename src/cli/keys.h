/*
 * keys.h — `hookd keys create|list|revoke`: API keys from the command line.
 *
 * By default the command talks to a running server over HTTP (cli/client.h)
 * with an admin key; with --db or --database-url it writes to the store
 * directly instead, which needs no server and no key: the way back in when
 * no key is at hand (whoever can open the store can do anything anyway).
 *
 * Runs on the main thread of a short-lived process.
 */
#ifndef HOOKD_CLI_KEYS_H
#define HOOKD_CLI_KEYS_H

#include "config.h"

/* Runs `hookd keys` with the arguments after "keys". usage is printed on a
 * usage error. Returns the exit status: 0, 1 for a failure (the reason on
 * stderr), 2 for a usage error. */
int hookd_cli_keys(int argc, char **argv, hookd_getenv_fn getenv_fn, const char *usage);

/* The options of `hookd keys`, *count of them (static data, for the help). */
const hookd_option *hookd_cli_keys_options(size_t *count);

#endif
