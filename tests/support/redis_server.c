#include "redis_server.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lq_test.h"

int lq_test_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (s < 0)
        return -1;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &n) < 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

/* 1 once the server accepts a connection and answers PING (after AUTH when
 * it has a password). */
static int answers_ping(int port, const char *password)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    int up = 0;
    if (c && !c->err) {
        if (password) {
            redisReply *a = redisCommand(c, "AUTH %s", password);
            if (a)
                freeReplyObject(a);
        }
        redisReply *p = redisCommand(c, "PING");
        up = p && p->type == REDIS_REPLY_STATUS;
        if (p)
            freeReplyObject(p);
    }
    if (c)
        redisFree(c);
    return up;
}

int lq_test_redis_start(lq_test_redis *r, const char *password)
{
    if (access(LQ_TEST_REDIS_SERVER, X_OK) != 0) {
        fprintf(stderr, "%s is needed (scripts/deps.sh --test)\n", LQ_TEST_REDIS_SERVER);
        return -1;
    }
    if (!r->dir[0]) {
        snprintf(r->dir, sizeof r->dir, "/tmp/lq-redis-XXXXXX");
        if (!mkdtemp(r->dir)) {
            perror("mkdtemp");
            r->dir[0] = 0;
            return -1;
        }
    }
    if (!r->port)
        r->port = lq_test_free_port();
    if (r->port <= 0) {
        fprintf(stderr, "no free loopback port for redis-server\n");
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    r->pid = fork();
    if (r->pid < 0) {
        perror("fork");
        r->pid = 0;
        return -1;
    }
    if (r->pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        if (password)
            execl(LQ_TEST_REDIS_SERVER, LQ_TEST_REDIS_SERVER, "--port", port, "--bind",
                  "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r->dir,
                  "--requirepass", password, (char *)NULL);
        else
            execl(LQ_TEST_REDIS_SERVER, LQ_TEST_REDIS_SERVER, "--port", port, "--bind",
                  "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r->dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (answers_ping(r->port, password))
            return 0;
        lq_test_sleep_ms(25);
    }
    fprintf(stderr, "redis-server did not start\n");
    return -1;
}

void lq_test_redis_stop(lq_test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

int lq_test_redis_remove(lq_test_redis *r)
{
    lq_test_redis_stop(r);
    if (!r->dir[0])
        return 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", r->dir);
        return -1;
    }
    r->dir[0] = 0;
    return 0;
}
