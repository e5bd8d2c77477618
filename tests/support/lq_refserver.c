#include "lq_refserver.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lq_test.h"

extern char **environ;

#define PYTHON "/usr/bin/python3"

/* Reads "PORT <n>\n" from fd within timeout_ms; returns the port or -1. */
static int read_port(int fd, int timeout_ms)
{
    char line[128];
    size_t n = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (n + 1 < sizeof line) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(timeout_ms - spent));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        ssize_t r = read(fd, line + n, 1);
        if (r <= 0)
            return -1;
        if (line[n] == '\n') {
            line[n] = 0;
            int port = -1;
            if (sscanf(line, "PORT %d", &port) == 1 && port > 0 && port < 65536)
                return port;
            return -1;
        }
        n++;
    }
    return -1;
}

int lq_refserver_start(lq_refserver *s, const char *root)
{
    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->stdin_fd = -1;
    if (!root)
        root = LQ_SHARED_DATA;
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/support/refserver.py", LQ_SOURCE_DIR);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = {PYTHON, script, "--root", (char *)root, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, PYTHON, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        fprintf(stderr, "refserver: cannot run %s: %s\n", PYTHON, strerror(rc));
        close(in[1]);
        close(out[0]);
        return -1;
    }
    s->pid = pid;
    s->stdin_fd = in[1];
    s->port = read_port(out[0], 10000);
    close(out[0]);
    if (s->port < 0) {
        fprintf(stderr, "refserver: %s did not report its port\n", script);
        lq_refserver_stop(s);
        return -1;
    }
    return 0;
}

void lq_refserver_stop(lq_refserver *s)
{
    if (!s)
        return;
    if (s->stdin_fd >= 0) {
        close(s->stdin_fd);
        s->stdin_fd = -1;
    }
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int st;
        while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR) {
        }
        s->pid = -1;
    }
}

char *lq_refserver_url_host(const lq_refserver *s, const char *host, const char *path,
                            char *buf, size_t len)
{
    snprintf(buf, len, "http://%s:%d%s", host ? host : "127.0.0.1", s->port, path);
    return buf;
}

char *lq_refserver_url(const lq_refserver *s, const char *path, char *buf, size_t len)
{
    return lq_refserver_url_host(s, NULL, path, buf, len);
}

typedef struct {
    char text[64];
    size_t n;
} small_buf;

static size_t collect(char *p, size_t size, size_t nmemb, void *ud)
{
    small_buf *b = ud;
    size_t n = size * nmemb;
    size_t room = sizeof b->text - 1 - b->n;
    size_t k = n < room ? n : room;
    memcpy(b->text + b->n, p, k);
    b->n += k;
    b->text[b->n] = 0;
    return n;
}

long lq_refserver_hits(const lq_refserver *s, const char *path)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    char *esc = curl_easy_escape(e, path, 0);
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hits?path=%s", s->port, esc ? esc : "");
    curl_free(esc);
    small_buf b = {.n = 0};
    b.text[0] = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(e);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK || code != 200)
        return -1;
    char *end = NULL;
    long v = strtol(b.text, &end, 10);
    return end == b.text ? -1 : v;
}
