/*
 * SLA gates: each keel.yaml sla entry {metric, min | max, on} judged against
 * an evaluation. A gate for another stage (test, production) is reported as
 * such and never counts as a failure here; a gate whose metric was not
 * measured (a serving metric, or one the data does not define) is "not
 * measured", which callers show but do not count as missed.
 */
#include <math.h>
#include <string.h>

#include "keel/evaluate.h"
#include "core/common.h"

const char *kl_sla_status_name(enum kl_sla_status s)
{
    switch (s) {
    case KL_SLA_STATUS_PASS:
        return "pass";
    case KL_SLA_STATUS_FAIL:
        return "fail";
    case KL_SLA_STATUS_NOT_MEASURED:
        return "not measured";
    case KL_SLA_STATUS_OTHER_STAGE:
        return "other stage";
    }
    return "?";
}

size_t kl_sla_check(const kl_spec_sla *sla, size_t n, enum kl_sla_on stage, const kl_eval_result *r,
                    kl_sla_verdict *out)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        kl_sla_verdict *v = &out[i];
        v->sla = &sla[i];
        v->value = NAN;
        if (sla[i].on != stage) {
            v->status = KL_SLA_STATUS_OTHER_STAGE;
            continue;
        }
        if (!kl_eval_metric_get(r, sla[i].metric, &v->value)) {
            v->status = KL_SLA_STATUS_NOT_MEASURED;
            continue;
        }
        int ok = sla[i].bound == KL_SLA_BOUND_MIN ? v->value >= sla[i].threshold
                                                  : v->value <= sla[i].threshold;
        v->status = ok ? KL_SLA_STATUS_PASS : KL_SLA_STATUS_FAIL;
        failed += !ok;
    }
    return failed;
}
