/* cmd_serve.c - `lacquer serve`: the try-on WebSocket service (src/service/server.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "base/config.h"
#include "base/log.h"
#include "cli/cli.h"
#include "service/logsink.h"
#include "service/server.h"

/* The one server of this process, for the signal handler. */
static lq_server *volatile g_server;

static void on_signal(int sig)
{
    (void)sig;
    lq_server_request_stop(g_server);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer serve [options]\n\n"
               "Runs the try-on service: WebSocket ws://WS_HOST:WS_PORT/ws/tryon (protocol in\n"
               "docs/protocol.md), GET /health and GET /metrics. SIGTERM or SIGINT shut it down\n"
               "gracefully (frames in flight are finished, sessions get close_session).\n\n");
    lq_config_print_help(f);
}

static void log_settings(const lq_config *cfg)
{
    size_t n = 0;
    const lq_config_setting *t = lq_config_table(&n);
    for (size_t i = 0; i < n; i++) {
        char v[LQ_CONFIG_PATH_MAX + 8];
        lq_config_format_value(cfg, &t[i], v, sizeof v);
        LQ_DEBUG("config", "%s=%s (%s)", t[i].env, v,
                 lq_config_source_name((enum lq_config_source)cfg->source[i]));
    }
    if (cfg->env_file[0])
        LQ_INFO("config", "settings read from %s", cfg->env_file);
}

static void warn_about(const lq_config *cfg)
{
    if (cfg->model_device == LQ_DEVICE_CUDA)
        LQ_WARN("config", "MODEL_DEVICE=cuda was asked, but Lacquer runs its models on the CPU "
                          "only (XNNPACK); continuing on the CPU");
    if (cfg->model_precision == LQ_PRECISION_FP16)
        LQ_WARN("config", "MODEL_PRECISION=fp16 was asked; the weights run in fp32 on the CPU");
    /* AUTH_MODE=none is warned about by the service itself (src/service/access.c). */
}

/* The event loop runs on this thread, whose stack the kernel grows on
 * demand. Grown later, under an address-space limit (RLIMIT_AS, a container
 * at its memory cap), that growth fails and the process gets SIGSEGV instead
 * of an allocation error it could report. Touching the stack's first
 * STACK_PREFAULT bytes now maps them once and for all (worker threads have
 * fixed stacks). */
#define STACK_PREFAULT (512 * 1024)

static void __attribute__((noinline)) touch_stack(size_t bytes)
{
    char pad[bytes];
    volatile char *p = pad; /* writes the compiler may not drop */
    for (size_t i = 0; i < bytes; i += 1024)
        p[i] = 0;
    p[bytes - 1] = 0;
}

/* At most a quarter of the stack limit (RLIMIT_STACK), so a small limit
 * cannot make this the overflow it is meant to prevent. */
static void prefault_stack(void)
{
    size_t bytes = STACK_PREFAULT;
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 < bytes)
        bytes = (size_t)(rl.rlim_cur / 4);
    if (bytes >= 4096)
        touch_stack(bytes);
}

int lq_cmd_serve(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    lq_config cfg;
    char err[512];
    if (lq_config_load(&cfg, argc, argv, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer serve: %s\n", err);
        return 2;
    }
    svc_logsink *sink = NULL;
    if (svc_logsink_open(&cfg, &sink, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer serve: %s\n", err);
        return 2;
    }
    log_settings(&cfg);
    warn_about(&cfg);

    lq_server *srv = NULL;
    if (lq_server_create(&cfg, &srv, err, sizeof err) < 0) {
        /* stderr too, like a bad setting: the log may be off or go to a file */
        LQ_ERROR("serve", "%s", err);
        fprintf(stderr, "lacquer serve: %s\n", err);
        svc_logsink_close(sink);
        return 1;
    }
    g_server = srv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    prefault_stack();
    int rc = lq_server_run(srv);
    g_server = NULL;
    lq_server_destroy(srv);
    LQ_INFO("serve", "bye");
    svc_logsink_close(sink);
    return rc == 0 ? 0 : 1;
}
