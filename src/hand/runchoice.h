/*
 * runchoice.h - pick the faster of two ways to run a model, by measuring.
 *
 *   lq_runchoice c = LQ_RUNCHOICE_INIT;
 *   int way = lq_runchoice_pick(&c);          // 0 = one thread, 1 = parallel
 *   ...run the model that way, timing it...
 *   lq_runchoice_record(&c, way, wall_ms);
 *
 * A parallel inference is faster only when its threads find idle cores: on
 * a busy host or under a container's CPU quota it waits for a preempted
 * thread and becomes several times slower than one thread (measured: a lone
 * session's p50 went from 57 to 189 ms with both cores taken by other
 * processes). Nothing cheap tells a process whether the other cores are
 * free, so the choice is measured: a moving average of the wall time of each
 * way (weight LQ_RUNCHOICE_EWMA for the newest run); pick returns the faster
 * way, and the other one every probe_every runs to keep its average fresh;
 * probe_every starts at LQ_RUNCHOICE_PROBE_MIN and doubles, up to
 * LQ_RUNCHOICE_PROBE_MAX, each time a probe loses, so a bad way costs at most
 * one slow run in LQ_RUNCHOICE_PROBE_MAX once it has lost a few times. Each
 * way is tried once first (parallel first).
 *
 * Plain data, no allocation; one lq_runchoice per model and worker thread
 * (not thread-safe).
 */
#ifndef LQ_HAND_RUNCHOICE_H
#define LQ_HAND_RUNCHOICE_H

#define LQ_RUNCHOICE_PROBE_MIN 16
#define LQ_RUNCHOICE_PROBE_MAX 512
#define LQ_RUNCHOICE_EWMA 0.2

typedef struct lq_runchoice {
    double ms[2];    /* moving average wall time of way 0 / 1; 0 = never run */
    int since_probe; /* runs of the preferred way since the other was tried */
    int probe_every; /* 0 until both ways have run */
} lq_runchoice;

#define LQ_RUNCHOICE_INIT {{0.0, 0.0}, 0, 0}

/* The way (0 or 1) to run next. */
int lq_runchoice_pick(lq_runchoice *c);

/* Records a run of `way` that took ms milliseconds (ignored if way is not
 * 0/1 or ms is negative or not a number). */
void lq_runchoice_record(lq_runchoice *c, int way, double ms);

/* The faster way so far, or -1 until both have run. */
int lq_runchoice_preferred(const lq_runchoice *c);

#endif
