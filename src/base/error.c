#include "base/error.h"

const char *lq_strerror(int code)
{
    switch (code) {
    case LQ_OK:
        return "success";
#define LQ__ERR_MSG(name, val, msg)                                            \
    case LQ_##name:                                                            \
        return msg;
        LQ_ERRNO_MAP(LQ__ERR_MSG)
#undef LQ__ERR_MSG
    default:
        return "unknown error";
    }
}

const char *lq_err_name(int code)
{
    switch (code) {
    case LQ_OK:
        return "LQ_OK";
#define LQ__ERR_NAME(name, val, msg)                                           \
    case LQ_##name:                                                            \
        return "LQ_" #name;
        LQ_ERRNO_MAP(LQ__ERR_NAME)
#undef LQ__ERR_NAME
    default:
        return "LQ_UNKNOWN";
    }
}
