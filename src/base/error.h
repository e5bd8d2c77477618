/*
 * error.h - the one list of Lacquer status codes.
 *
 *   int rc = lq_something(...);
 *   if (rc < 0) fprintf(stderr, "failed: %s (%s)\n", lq_strerror(rc), lq_err_name(rc));
 *
 * Every status-returning function in Lacquer returns 0 on success or one of the
 * negative codes below. Functions that need to say more log the exact reason at
 * the failure site (or fill a caller-supplied error buffer) and return the
 * general code. Add new codes at the end of the X-macro; never renumber.
 */
#ifndef LQ_BASE_ERROR_H
#define LQ_BASE_ERROR_H

#if defined(__GNUC__)
#define LQ_NODISCARD __attribute__((warn_unused_result))
#define LQ_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LQ_NODISCARD
#define LQ_PRINTF(fmt, args)
#endif

/* X(NAME, value, message) */
#define LQ_ERRNO_MAP(X)                                                        \
    X(ENOMEM, -1, "out of memory")                                             \
    X(EINVAL, -2, "invalid argument")                                          \
    X(EIO, -3, "input/output error")                                           \
    X(ENOENT, -4, "no such file or resource")                                  \
    X(EFORMAT, -5, "malformed data")                                           \
    X(EUNSUPPORTED, -6, "unsupported feature or format")                       \
    X(ELIMIT, -7, "input exceeds a configured limit")                          \
    X(EMODEL, -8, "model inference failed")                                    \
    X(ESTATE, -9, "operation not valid in the current state")                  \
    X(EBUSY, -10, "resource busy or at capacity")                              \
    X(ETIMEDOUT, -11, "operation timed out")                                   \
    X(EAGAIN, -12, "try again later")                                          \
    X(ECLOSED, -13, "connection or session closed")                            \
    X(EAUTH, -14, "authentication failed")                                     \
    X(ENOTFOUND, -15, "not found")                                             \
    X(EINTERNAL, -16, "internal error")

enum lq_errno {
    LQ_OK = 0,
#define LQ__ERR_ENUM(name, val, msg) LQ_##name = (val),
    LQ_ERRNO_MAP(LQ__ERR_ENUM)
#undef LQ__ERR_ENUM
};

/* Human-readable message for a status code; never NULL, static storage. */
const char *lq_strerror(int code);

/* Symbolic name ("LQ_EINVAL") for a status code; never NULL, static storage. */
const char *lq_err_name(int code);

#endif
