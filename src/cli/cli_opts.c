/* cli_opts.c - table-driven options of the subcommands (see cli_opts.h). */
#include "cli/cli_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parses v for d into its field; -1 if it is not a number in range. */
static int set_value(const lq_cli_opt *d, const char *v, void *fields)
{
    char *field = (char *)fields + d->offset;
    char *end = NULL;
    errno = 0;
    switch (d->type) {
    case LQ_CLI_STRING:
    case LQ_CLI_PATH:
        *(const char **)(void *)field = v;
        return 0;
    case LQ_CLI_INT: {
        long x = strtol(v, &end, 10);
        if (errno || !end || *end || end == v || x < (long)d->min || x > (long)d->max)
            return -1;
        *(int *)(void *)field = (int)x;
        return 0;
    }
    case LQ_CLI_DOUBLE: {
        double x = strtod(v, &end);
        if (errno || !end || *end || end == v || !(x >= d->min && x <= d->max))
            return -1;
        *(double *)(void *)field = x;
        return 0;
    }
    case LQ_CLI_FLAG:
        break;
    }
    return -1;
}

int lq_cli_opt_take(const char *cmd, const lq_cli_opt *table, size_t n, int argc, char **argv,
                    int *i, void *fields)
{
    const char *a = argv[*i];
    const lq_cli_opt *d = NULL;
    for (size_t k = 0; k < n && !d; k++)
        if (strcmp(a, table[k].name) == 0)
            d = &table[k];
    if (!d) {
        fprintf(stderr, "lacquer %s: unknown option %s\n", cmd, a);
        return -1;
    }
    if (d->type == LQ_CLI_FLAG) {
        *(int *)(void *)((char *)fields + d->offset) = 1;
        return 0;
    }
    if (*i + 1 >= argc || (d->type == LQ_CLI_PATH && argv[*i + 1][0] == 0)) {
        fprintf(stderr, "lacquer %s: %s needs a value (%s)\n", cmd, a, d->arg);
        return -1;
    }
    const char *v = argv[++*i];
    if (set_value(d, v, fields) < 0) {
        fprintf(stderr, "lacquer %s: bad value '%s' for %s (%s)\n", cmd, v, a, d->help);
        return -1;
    }
    return 0;
}

int lq_cli_opts_parse(const char *cmd, const lq_cli_opt *table, size_t n, int argc, char **argv,
                      void *fields)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] == 0)
            break;
        if (lq_cli_opt_take(cmd, table, n, argc, argv, &i, fields) < 0)
            return -1;
    }
    return i;
}

void lq_cli_opts_help(FILE *f, const lq_cli_opt *table, size_t n, int width)
{
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", table[i].name, table[i].arg ? " " : "",
                 table[i].arg ? table[i].arg : "");
        fprintf(f, "  %-*s %s\n", width, left, table[i].help);
    }
    fprintf(f, "  %-*s %s\n", width, "-h, --help", "show this help");
}
