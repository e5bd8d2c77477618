/*
 * cli_opts.h - the option tables of the `lacquer` subcommands: one table per
 * command drives parsing, range checks and the option list of --help.
 *
 *   typedef struct my_opts { const char *models; int seed; double length; int quiet; } my_opts;
 *   #define OFF(f) offsetof(my_opts, f)
 *   static const lq_cli_opt table[] = {
 *       {"--models", "DIR", LQ_CLI_STRING, OFF(models), 0, 0, "folder with the models"},
 *       {"--seed", "N", LQ_CLI_INT, OFF(seed), 0, 2147483647.0, "pattern seed"},
 *       {"--length", "X", LQ_CLI_DOUBLE, OFF(length), 0.5, 3.0, "length factor"},
 *       {"--quiet", NULL, LQ_CLI_FLAG, OFF(quiet), 0, 1, "print nothing"},
 *   };
 *   my_opts o = {.seed = 1};
 *   int first = lq_cli_opts_parse("render", table, 4, argc, argv, &o);
 *   if (first < 0) { usage(stderr); return 2; }      // the message is printed
 *   lq_cli_opts_help(stdout, table, 4, 20);           // "  --seed N   pattern seed"
 *
 * Options are exact names ("--seed 3", never "--seed=3"); a value is the
 * next argument. Fields: LQ_CLI_FLAG an int set to 1; LQ_CLI_INT an int in
 * [min, max] (decimal); LQ_CLI_DOUBLE a double in [min, max] (NaN refused);
 * LQ_CLI_STRING a const char * into argv; LQ_CLI_PATH the same, but an
 * empty value counts as missing. Errors go to stderr as
 * "lacquer CMD: unknown option X", "lacquer CMD: X needs a value (ARG)",
 * "lacquer CMD: bad value 'V' for X (HELP)".
 *
 * Pure functions of their arguments (plus stderr); no allocation.
 */
#ifndef LQ_CLI_CLI_OPTS_H
#define LQ_CLI_CLI_OPTS_H

#include <stddef.h>
#include <stdio.h>

typedef enum lq_cli_opt_type {
    LQ_CLI_FLAG,
    LQ_CLI_INT,
    LQ_CLI_DOUBLE,
    LQ_CLI_STRING,
    LQ_CLI_PATH,
} lq_cli_opt_type;

typedef struct lq_cli_opt {
    const char *name; /* "--seed" */
    const char *arg;  /* "N" in the help and errors; NULL for a flag */
    lq_cli_opt_type type;
    size_t offset;   /* of the field in the caller's struct */
    double min, max; /* LQ_CLI_INT, LQ_CLI_DOUBLE: the allowed range */
    const char *help;
} lq_cli_opt;

/* Takes the option at argv[*i] (the caller has seen that it starts with '-'
 * and is neither "-" nor "--") and its value, sets its field in *fields and
 * leaves *i on the last argument used. Returns 0, or -1 after printing the
 * error (prefixed "lacquer cmd: "). For commands whose options and operands
 * may be mixed. */
int lq_cli_opt_take(const char *cmd, const lq_cli_opt *table, size_t n, int argc, char **argv,
                    int *i, void *fields);

/* Parses the options before the operands: stops at the first argument that
 * does not start with '-' (or is "-"), or after "--". Returns the index of
 * the first operand (argc when there is none), or -1 after printing the
 * error. */
int lq_cli_opts_parse(const char *cmd, const lq_cli_opt *table, size_t n, int argc, char **argv,
                      void *fields);

/* The option list of --help: "  NAME ARG" padded to width, then the help,
 * one line per option, then "-h, --help". */
void lq_cli_opts_help(FILE *f, const lq_cli_opt *table, size_t n, int width);

#endif
