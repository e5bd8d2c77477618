/* main.c - `lacquer CMD [options]`: dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

static const lq_cli_cmd commands[] = {
    {"version", "print the version and exit", lq_cmd_version},
    {"serve", "run the try-on WebSocket service (ws://HOST:8002/ws/tryon)", lq_cmd_serve},
    {"detect", "find hands in images and print their landmarks as JSON", lq_cmd_detect},
    {"render", "paint a nail design onto the hands in a photo", lq_cmd_render},
    {"gallery", "render every shape x pattern x finish into contact sheets", lq_cmd_gallery},
    {"nails", "find the nails in a photo: JSON and a nail mask (PNG)", lq_cmd_nails},
    {"stream", "replay frame folders like cameras against `serve`: latency, drops, errors",
     lq_cmd_stream},
    {"worker", "batch mode: try-on jobs from a Redis stream (docs/batch.md)", lq_cmd_worker},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

int lq_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int lq_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("lacquer %s\n", LQ_VERSION);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer COMMAND [options]\n\n"
               "Real-time virtual nail try-on.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'lacquer COMMAND --help' for the options of one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return lq_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "lacquer: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
