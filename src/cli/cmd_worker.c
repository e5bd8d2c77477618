/* cmd_worker.c - `lacquer worker`: batch try-on jobs from a Redis stream (src/batch/worker.h). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "batch/settings.h"
#include "batch/worker.h"
#include "cli/cli.h"
#include "service/logsink.h"

#define REST_MAX 128

/* Set by SIGTERM/SIGINT; the worker threads poll it between jobs. */
static atomic_int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lacquer worker --redis redis://HOST:PORT[/DB] [options]\n\n"
            "Batch mode: takes try-on jobs (an image and a nail design) from a Redis stream\n"
            "with a consumer group, paints them and writes each result (image and metadata, or\n"
            "an error) to a result stream, acknowledging a job only once its result is\n"
            "written. Jobs of a worker that died are taken over after --claim-idle-ms and\n"
            "retried; a job delivered --max-attempts times is moved to the dead stream.\n"
            "Job and result formats: docs/batch.md. SIGTERM or SIGINT: the job in hand is\n"
            "finished, then the worker exits.\n\n");
    batch_settings_print_help(f);
    fprintf(f, "\nAlso read, as for `lacquer serve` (see its --help): MODEL_PATH (--model-path),\n"
               "MAX_FRAME_WIDTH, MAX_FRAME_HEIGHT, LOG_LEVEL, LOG_FORMAT, LOG_FILE, --env-file.\n");
}

int lq_cmd_worker(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    batch_settings st;
    char *rest[REST_MAX];
    int nrest = 0;
    char err[512];
    if (batch_settings_load(&st, argc, argv, NULL, rest, REST_MAX, &nrest, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer worker: %s\n", err);
        return 2;
    }
    lq_config cfg;
    if (lq_config_load(&cfg, nrest, rest, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer worker: %s\n", err);
        return 2;
    }
    svc_logsink *sink = NULL;
    if (svc_logsink_open(&cfg, &sink, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer worker: %s\n", err);
        return 2;
    }
    if (cfg.model_device == LQ_DEVICE_CUDA)
        LQ_WARN("config", "MODEL_DEVICE=cuda was asked; the models run on the CPU (XNNPACK)");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    batch_worker_opts wo = {&st, cfg.model_path,
                            {(size_t)st.max_job_bytes, cfg.max_frame_width, cfg.max_frame_height}};
    batch_worker_totals totals;
    int rc = batch_worker_run(&wo, &g_stop, &totals, err, sizeof err);
    if (rc < 0)
        LQ_ERROR("worker", "%s", err);
    svc_logsink_close(sink);
    if (rc < 0) {
        fprintf(stderr, "lacquer worker: %s\n", err);
        return rc == LQ_EINVAL ? 2 : 1;
    }
    return 0;
}
