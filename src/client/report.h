/*
 * report.h - what a load run measured, and how it is printed.
 *
 *   lq_load_report r;
 *   lq_load_report_reset(&r);
 *   lq_load_report_count_code(&r, "HAND_NOT_DETECTED");   // while running
 *   lq_load_report_print(&r, stdout);                        // a table for people
 *   char *json = lq_load_report_json(&r);                    // for machines; free()
 *
 * Definitions (the same in the table and the JSON):
 *   slots         frames a perfect camera would have sent (sessions x seconds x fps)
 *   sent          frames handed to the socket
 *   client drops  slots that passed while the previous frame was still unsent
 *                 (or while the loop was late): never sent, never burst
 *   server drops  PROCESSING_TIMEOUT errors: the service dropped the frame
 *   errors        error replies to frames other than PROCESSING_TIMEOUT,
 *                 by code (detection problems such as HAND_NOT_DETECTED too)
 *   unanswered    sent frames that had no reply when the run ended
 *   latency       end to end per processed_frame: from the first byte of the
 *                 frame handed to the socket to its complete reply (the image
 *                 included); frames sent during the warm-up are left out
 *   server time   processing_time_ms of those replies (the service's own clock)
 *   throughput    processed frames per second of streaming
 *
 * Plain data (the histograms are embedded); not thread-safe.
 */
#ifndef LQ_CLIENT_REPORT_H
#define LQ_CLIENT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "client/histogram.h"
#include "client/messages.h"

#define LQ_LOAD_REPORT_CODES 32
#define LQ_LOAD_REPORT_FAILURES 8

typedef struct lq_load_code_count {
    char code[LQ_CLIENT_CODE_MAX];
    uint64_t n;
} lq_load_code_count;

typedef struct lq_load_report {
    /* what was asked */
    char url[256];
    char encoding[8];
    int sessions;
    double fps;
    double seconds;
    double warmup_s;
    /* sessions */
    int sessions_ready;
    int sessions_failed; /* never ready, or lost before the end */
    /* frames */
    uint64_t slots, sent, replies, processed, errors, server_drops, client_drops, unanswered;
    uint64_t checked, check_failed, saved, save_failed;
    uint64_t bytes_sent, bytes_received;
    /* time */
    double streaming_s;  /* first slot to last slot */
    double elapsed_s;    /* connect to last close */
    double ready_ms_max; /* slowest init_session -> session_ready */
    /* latencies, microseconds */
    lq_client_hist latency_us;
    lq_client_hist server_us;
    double stage_ms_sum[LQ_STAGE_COUNT];
    uint64_t stage_n[LQ_STAGE_COUNT];
    /* errors by code (PROCESSING_TIMEOUT included); codes past the table
     * are counted under "OTHER" in the last slot */
    lq_load_code_count codes[LQ_LOAD_REPORT_CODES];
    int ncodes;
    /* the service's own counters: the last stats message of each session, summed */
    int64_t srv_frames_received, srv_frames_processed, srv_frames_dropped, srv_frames_with_errors;
    int srv_stats_sessions;
    /* the first few failures, for people */
    char failures[LQ_LOAD_REPORT_FAILURES][160];
    int nfailures;
    uint64_t failures_total;
} lq_load_report;

void lq_load_report_reset(lq_load_report *r);
void lq_load_report_count_code(lq_load_report *r, const char *code);
uint64_t lq_load_report_code(const lq_load_report *r, const char *code);
/* Keeps the first LQ_LOAD_REPORT_FAILURES messages; counts all. */
void lq_load_report_failure(lq_load_report *r, const char *fmt, ...) LQ_PRINTF(2, 3);
/* Processed frames per second of streaming (0 when nothing streamed). */
double lq_load_report_throughput(const lq_load_report *r);

/* Prints the final report as a table. */
void lq_load_report_print(const lq_load_report *r, FILE *f);
/* The report as a JSON object (malloc'd, NUL-terminated; NULL if out of memory). */
char *lq_load_report_json(const lq_load_report *r);

#endif
