/*
 * colour_model.h - tiny "colour detector" segmentation networks for tests of
 * the nail segmentation code, written as real TFLite files (tfl_builder).
 *
 * The network is one 3x3 stride-2 SAME convolution whose centre tap is
 * 20 * (positive channel - every other channel) - 1, then LOGISTIC: with the
 * defaults, red polish is nail (probability ~1) and skin, grey and the zero
 * padding are not, so a test knows exactly which pixels are nails.
 */
#ifndef LQ_TEST_COLOUR_MODEL_H
#define LQ_TEST_COLOUR_MODEL_H

typedef struct {
    int in_h, in_w, in_c; /* input [1, in_h, in_w, in_c] (3 for a valid model) */
    int out_c;            /* probability channels (1 for a valid model) */
    int positive;         /* the input channel that is "nail" (0 = red) */
    int with_dir;         /* adds a second output [1, h, w, 2], the constant (dir_x, dir_y) */
    float dir_x, dir_y;
} lq_test_colour_model_opts;

/* The valid red detector: 240x320x3 in, 120x160x1 out. */
#define LQ_TEST_COLOUR_MODEL_RED {240, 320, 3, 1, 0, 0, 0.0f, 0.0f}

/* Writes the model to "<build>/test-output/<name>" (name may hold folders
 * that exist) and returns that path in a thread-local buffer valid until the
 * next call from the thread; NULL if the file cannot be written. */
const char *lq_test_colour_model(const char *name, const lq_test_colour_model_opts *o);

/* lq_test_colour_model with LQ_TEST_COLOUR_MODEL_RED. */
const char *lq_test_red_nail_model(const char *name);

#endif
