/* runchoice.c - pick the faster of two ways to run a model (see runchoice.h). */
#include "hand/runchoice.h"

int lq_runchoice_preferred(const lq_runchoice *c)
{
    if (!(c->ms[0] > 0.0) || !(c->ms[1] > 0.0))
        return -1;
    return c->ms[1] < c->ms[0] ? 1 : 0;
}

int lq_runchoice_pick(lq_runchoice *c)
{
    if (!(c->ms[1] > 0.0))
        return 1;
    if (!(c->ms[0] > 0.0))
        return 0;
    const int best = lq_runchoice_preferred(c);
    if (c->probe_every < LQ_RUNCHOICE_PROBE_MIN)
        c->probe_every = LQ_RUNCHOICE_PROBE_MIN;
    if (++c->since_probe >= c->probe_every) {
        c->since_probe = 0;
        return !best;
    }
    return best;
}

void lq_runchoice_record(lq_runchoice *c, int way, double ms)
{
    if ((way != 0 && way != 1) || !(ms >= 0.0))
        return;
    const int best = lq_runchoice_preferred(c);
    if (best >= 0 && way != best) { /* a probe */
        if (ms > c->ms[best]) {
            c->probe_every *= 2;
            if (c->probe_every > LQ_RUNCHOICE_PROBE_MAX)
                c->probe_every = LQ_RUNCHOICE_PROBE_MAX;
        } else {
            c->probe_every = LQ_RUNCHOICE_PROBE_MIN;
        }
    }
    c->ms[way] = c->ms[way] > 0.0 ? c->ms[way] + LQ_RUNCHOICE_EWMA * (ms - c->ms[way]) : ms;
}
