/* outq.c - per-connection output queue (see outq.h). */
#include "service/outq.h"

#include <libwebsockets.h>
#include <stdlib.h>

_Static_assert(WS_OUT_PRE >= LWS_PRE, "WS_OUT_PRE must cover LWS_PRE");

#define WS_OUT_MAX_LEN ((size_t)1 << 31)

ws_out *ws_out_new(size_t len, int binary)
{
    if (len > WS_OUT_MAX_LEN)
        return NULL;
    ws_out *m = malloc(sizeof *m + WS_OUT_PRE + len + 1);
    if (!m)
        return NULL;
    m->next = NULL;
    m->binary = binary ? 1 : 0;
    m->kind = WS_OUT_CONTROL;
    m->len = len;
    m->payload = m->storage + WS_OUT_PRE;
    m->payload[len] = 0;
    return m;
}

void ws_out_truncate(ws_out *m, size_t len)
{
    if (len < m->len) {
        m->len = len;
        m->payload[len] = 0;
    }
}

void ws_out_free(ws_out *m)
{
    free(m);
}

void ws_outq_push(ws_outq *q, ws_out *m)
{
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
    q->bytes += m->len;
}

ws_out *ws_outq_pop(ws_outq *q)
{
    ws_out *m = q->head;
    if (!m)
        return NULL;
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= m->len;
    m->next = NULL;
    return m;
}

void ws_outq_clear(ws_outq *q)
{
    ws_out *m;
    while ((m = ws_outq_pop(q)) != NULL)
        ws_out_free(m);
}
