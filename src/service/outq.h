/*
 * outq.h - messages waiting to be written to one WebSocket connection.
 *
 *   ws_out *m = ws_out_new(len, 0);           // text; payload has LWS_PRE headroom
 *   memcpy(m->payload, json, len);
 *   ws_outq_push(&conn->outq, m);             // queue owns m now
 *   ...in LWS_CALLBACK_SERVER_WRITEABLE:
 *   ws_out *m = ws_outq_pop(&q);  lws_write(wsi, m->payload, m->len, ...);  ws_out_free(m);
 *
 * Every message is allocated with WS_OUT_PRE bytes before its payload, so it
 * can be handed to lws_write without a copy. The queue counts messages and
 * payload bytes; the server's slow-reader policy (docs/protocol.md) reads
 * those counts. A queue is owned by one thread (the event loop).
 */
#ifndef LQ_SERVICE_OUTQ_H
#define LQ_SERVICE_OUTQ_H

#include <stddef.h>
#include <stdint.h>

/* Headroom lws_write needs before the payload (LWS_PRE, checked in outq.c). */
#define WS_OUT_PRE 16

/* Kind of message, for the drop policy: frame replies may be dropped,
 * control messages (errors, stats, session changes) never are. */
typedef enum ws_out_kind { WS_OUT_CONTROL = 0, WS_OUT_FRAME = 1 } ws_out_kind;

typedef struct ws_out {
    struct ws_out *next;
    int binary;          /* 1: binary message, 0: text */
    ws_out_kind kind;
    size_t len;          /* payload bytes */
    uint8_t *payload;    /* = storage + WS_OUT_PRE */
    uint8_t storage[];   /* WS_OUT_PRE + len (+1 for a text terminator) */
} ws_out;

/* Allocates a message with len payload bytes (uninitialised; a NUL follows
 * the payload). NULL on allocation failure or absurd len. */
ws_out *ws_out_new(size_t len, int binary);

/* Shrinks m->len after writing fewer bytes than reserved (never grows). */
void ws_out_truncate(ws_out *m, size_t len);

void ws_out_free(ws_out *m);

typedef struct ws_outq {
    ws_out *head, *tail;
    size_t count;
    size_t bytes;        /* sum of payload lengths */
} ws_outq;

void ws_outq_push(ws_outq *q, ws_out *m);
ws_out *ws_outq_pop(ws_outq *q);          /* NULL if empty; caller owns it */
void ws_outq_clear(ws_outq *q);           /* frees every message */

#endif
