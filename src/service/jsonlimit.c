/* jsonlimit.c - the weight of a JSON message (see jsonlimit.h). */
#include "service/jsonlimit.h"

size_t svc_json_weight(const char *buf, size_t len)
{
    size_t longest = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '"')
            continue;
        size_t start = i++;
        while (i < len && buf[i] != '"') {
            if (buf[i] == '\\' && i + 1 < len)
                i++;
            i++;
        }
        size_t n = (i < len ? i + 1 : len) - start; /* with its quotes */
        if (n > longest)
            longest = n;
    }
    return len - longest;
}
