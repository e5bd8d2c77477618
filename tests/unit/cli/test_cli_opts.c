/* Tests src/cli/cli_opts.c: the option tables of the subcommands (parsing,
 * ranges, "--", options among operands, the --help list). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_opts.h"
#include "lq_test.h"

typedef struct opts {
    const char *name, *path;
    int n, flag;
    double x;
} opts;

#define OFF(f) offsetof(opts, f)
static const lq_cli_opt table[] = {
    {"--name", "S", LQ_CLI_STRING, OFF(name), 0, 0, "a string"},
    {"--path", "FILE", LQ_CLI_PATH, OFF(path), 0, 0, "a non-empty string"},
    {"--n", "N", LQ_CLI_INT, OFF(n), -3, 7, "an int, -3..7"},
    {"--x", "X", LQ_CLI_DOUBLE, OFF(x), 0.5, 2.5, "a double, 0.5..2.5"},
    {"--flag", NULL, LQ_CLI_FLAG, OFF(flag), 0, 1, "a flag"},
};
#define N (sizeof table / sizeof table[0])

static int parse(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    return lq_cli_opts_parse("t", table, N, argc, argv, o);
}

static void parses_every_type_until_the_operands(void **state)
{
    (void)state;
    opts o;
    char *a[] = {"t",   "--name", "",       "--path", "p",   "--n", "-3",
                 "--x", "2.5",    "--flag", "IN",     "--n", "9"};
    assert_int_equal(parse(&o, 13, a), 10);
    assert_string_equal(o.name, ""); /* an empty string is a value */
    assert_string_equal(o.path, "p");
    assert_int_equal(o.n, -3);
    assert_true(o.x == 2.5);
    assert_int_equal(o.flag, 1);
    char *b[] = {"t", "--n", "7", "--", "--flag"};
    assert_int_equal(parse(&o, 5, b), 4); /* after "--" everything is an operand */
    assert_int_equal(o.n, 7);
    assert_int_equal(o.flag, 0);
    char *c[] = {"t", "-", "x"};
    assert_int_equal(parse(&o, 3, c), 1); /* "-" is an operand */
    char *d[] = {"t", "--flag"};
    assert_int_equal(parse(&o, 2, d), 2); /* no operands: argc */
}

static void refuses_bad_options_and_values(void **state)
{
    (void)state;
    opts o;
    char *unknown[] = {"t", "--nope"};
    assert_int_equal(parse(&o, 2, unknown), -1);
    char *missing[] = {"t", "--n"};
    assert_int_equal(parse(&o, 2, missing), -1);
    char *empty_path[] = {"t", "--path", ""};
    assert_int_equal(parse(&o, 3, empty_path), -1);
    char *prefix[] = {"t", "--na", "x"}; /* exact names only */
    assert_int_equal(parse(&o, 3, prefix), -1);
    char *eq[] = {"t", "--n=3"};
    assert_int_equal(parse(&o, 2, eq), -1);
    const char *bad_n[] = {"8", "-4", "1x", "", "0x3", "99999999999999999999", " 3x"};
    for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++) {
        char *v[] = {"t", "--n", (char *)bad_n[i]};
        assert_int_equal(parse(&o, 3, v), -1);
        assert_int_equal(o.n, 0); /* untouched */
    }
    const char *bad_x[] = {"nan", "0.49", "2.51", "inf", "1e999", "", "1.0f"};
    for (size_t i = 0; i < sizeof bad_x / sizeof bad_x[0]; i++) {
        char *v[] = {"t", "--x", (char *)bad_x[i]};
        assert_int_equal(parse(&o, 3, v), -1);
        assert_true(o.x == 0);
    }
}

static void takes_options_among_operands(void **state)
{
    (void)state;
    opts o;
    memset(&o, 0, sizeof o);
    char *a[] = {"t", "IN", "--path", "m.png", "--flag", "--x"};
    int i = 2;
    assert_int_equal(lq_cli_opt_take("t", table, N, 6, a, &i, &o), 0);
    assert_int_equal(i, 3); /* on the value */
    assert_string_equal(o.path, "m.png");
    i = 4;
    assert_int_equal(lq_cli_opt_take("t", table, N, 6, a, &i, &o), 0);
    assert_int_equal(i, 4);
    assert_int_equal(o.flag, 1);
    i = 5;
    assert_int_equal(lq_cli_opt_take("t", table, N, 6, a, &i, &o), -1); /* no value */
}

static void help_lists_every_option(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    lq_cli_opts_help(f, table, N, 10);
    char buf[1024];
    size_t n = 0;
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    /* names padded to the width, one space, the help (a longer name is not cut) */
    assert_string_equal(buf, "  --name S   a string\n"
                             "  --path FILE a non-empty string\n"
                             "  --n N      an int, -3..7\n"
                             "  --x X      a double, 0.5..2.5\n"
                             "  --flag     a flag\n"
                             "  -h, --help show this help\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_type_until_the_operands),
        cmocka_unit_test(refuses_bad_options_and_values),
        cmocka_unit_test(takes_options_among_operands),
        cmocka_unit_test(help_lists_every_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
