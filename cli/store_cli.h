/*
 * Helpers shared by the store commands (data add/list/show/diff/get, runs,
 * show, compare, lineage, fsck, gc, export, import): open the project's store
 * and resolve ids with errors printed the CLI way, format times.
 */
#ifndef KEEL_CLI_STORE_CLI_H
#define KEEL_CLI_STORE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "keel/store.h"
#include "keel.h"

/* Open the store of cli->dir (KEEL_STORE selects PostgreSQL). Exit code; prints errors. */
int kl_cli_store_open(const struct kl_cli *cli, kl_store **out);

/* Resolve text to a run or snapshot (kind NULL: either). Exit code; prints errors. */
int kl_cli_resolve(kl_store *s, const char *kind, const char *text, kl_ref *out);

/* ms since the epoch as "2026-11-27 11:30:05" (UTC); "-" for 0. */
void kl_cli_time(int64_t ms, char *buf, size_t n);

#endif
