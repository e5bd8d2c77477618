/*
 * cli_run.h - runs the real `lacquer` binary of this build for the CLI tests
 * (tests/unit/cli/test_cmd_*.c), the way a user would from a shell.
 *
 *   char *out = NULL;
 *   assert_int_equal(lq_test_run("detect --compact 'a.jpg'", &out), 0);
 *   ... parse out ...
 *   free(out);
 *   assert_int_equal(lq_test_run("render --bogus in.jpg out.png", NULL), 2);
 */
#ifndef LQ_TEST_CLI_RUN_H
#define LQ_TEST_CLI_RUN_H

/* The most of a command's stdout that lq_test_run keeps. */
#define LQ_TEST_RUN_OUT_MAX (4u << 20)
/* The longest args lq_test_run takes. */
#define LQ_TEST_RUN_ARGS_MAX (64u << 10)

/* Runs `LQ_MODELS_DIR=<test models> <build>/lacquer <args>` through /bin/sh
 * (args are shell words: quote paths in them) with stderr discarded, and
 * waits for it to end.
 *
 * out == NULL: stdout is discarded too.
 * out != NULL: *out receives stdout as a NUL-terminated malloc'd string the
 * caller frees (also on a non-zero exit). Only the first LQ_TEST_RUN_OUT_MAX
 * bytes are kept; the rest is read and dropped, so the command still runs to
 * its end.
 *
 * Returns the command's exit code, or -1 if it did not exit normally (a
 * signal). Args longer than LQ_TEST_RUN_ARGS_MAX, a shell that cannot be
 * started or no memory fail the running cmocka test. */
int lq_test_run(const char *args, char **out);

/* 1 if the models `lacquer render` and `lacquer gallery` need are there: the
 * full palm detector and hand landmark models in LQ_MODELS_DIR and the
 * committed nail segmentation network (assets/nailseg/nailseg.tflite). */
int lq_test_have_render_models(void);

#endif
