/*
 * Shared helpers of the store commands (cli/store_cli.h).
 */
#include <stdio.h>
#include <time.h>

#include "keel/store.h"
#include "store_cli.h"
#include "keel.h"
#include "core/common.h"

int kl_cli_store_open(const struct kl_cli *cli, kl_store **out)
{
    kl_err err = {0};
    if (kl_store_open(cli->dir, NULL, out, &err) < 0)
        return kl_cli_fail(&err);
    return KL_EXIT_OK;
}

int kl_cli_resolve(kl_store *s, const char *kind, const char *text, kl_ref *out)
{
    kl_err err = {0};
    if (kl_store_resolve(s, kind, text, out, &err) < 0)
        return kl_cli_fail(&err);
    return KL_EXIT_OK;
}

void kl_cli_time(int64_t ms, char *buf, size_t n)
{
    if (ms <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, n, "%lld", (long long)ms);
}
