/*
 * Shared helpers of the store commands (cli/store_cli.h).
 */
#include <stdio.h>

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

/*
 * Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil,
 * inverted): exact for every date, without gmtime_r's per-call locking and
 * strftime's locale work, which showed when listing 10,000 runs.
 */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void kl_cli_time(int64_t ms, char *buf, size_t n)
{
    if (ms <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    int64_t s = ms / 1000, days = s / 86400, sod = s % 86400, y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    if (y > 9999 || n < 20) {
        snprintf(buf, n, "%lld", (long long)ms);
        return;
    }
    unsigned hh = (unsigned)(sod / 3600), mm = (unsigned)(sod / 60 % 60), ss = (unsigned)(sod % 60);
    unsigned yy = (unsigned)y;
    char *p = buf;
    *p++ = (char)('0' + yy / 1000);
    *p++ = (char)('0' + yy / 100 % 10);
    *p++ = (char)('0' + yy / 10 % 10);
    *p++ = (char)('0' + yy % 10);
    const unsigned parts[5] = {m, d, hh, mm, ss};
    const char seps[5] = {'-', '-', ' ', ':', ':'};
    for (int i = 0; i < 5; i++) {
        *p++ = seps[i];
        *p++ = (char)('0' + parts[i] / 10);
        *p++ = (char)('0' + parts[i] % 10);
    }
    *p = '\0';
}
