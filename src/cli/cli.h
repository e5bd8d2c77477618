/*
 * cli.h - the `lacquer` command line: one binary, one subcommand per file.
 *
 * Each subcommand lives in src/cli/cmd_<name>.c and exports
 *   int lq_cmd_<name>(int argc, char **argv);
 * where argv[0] is the subcommand name. It returns a process exit code
 * (0 ok, 1 runtime failure, 2 usage error) and prints its own --help.
 * Register it in the table in main.c.
 */
#ifndef LQ_CLI_CLI_H
#define LQ_CLI_CLI_H

typedef int (*lq_cmd_fn)(int argc, char **argv);

typedef struct lq_cli_cmd {
    const char *name;
    const char *summary;
    lq_cmd_fn fn;
} lq_cli_cmd;

/* 1 if argv contains -h or --help (before a "--"). */
int lq_cli_wants_help(int argc, char **argv);

/* Subcommands (declared here, defined in cmd_<name>.c). */
int lq_cmd_version(int argc, char **argv);
int lq_cmd_serve(int argc, char **argv);
int lq_cmd_detect(int argc, char **argv);
int lq_cmd_render(int argc, char **argv);
int lq_cmd_gallery(int argc, char **argv);
int lq_cmd_nails(int argc, char **argv);
int lq_cmd_stream(int argc, char **argv);
int lq_cmd_worker(int argc, char **argv);

#endif
