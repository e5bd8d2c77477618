/*
 * test_xalloc.c - XNNPACK's allocator when memory runs out.
 *
 * Memory is made to run out for real: each case runs in a forked child whose
 * address space is capped (RLIMIT_AS) a little above its current size, so
 * malloc returns NULL as it would in a capped container. The parent only
 * looks at how the child ended. Not under ASan or TSan: they reserve
 * terabytes of address space, so a cap cannot work there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xnnpack.h>

#include "base/error.h"
#include "lq_test.h"
#include "model/tflite.h"
#include "model/xalloc.h"
#include "model/xgraph.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LQ_NO_AS_CAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LQ_NO_AS_CAP 1
#endif
#endif

static long vm_size_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Caps this process's address space extra_kb above its current size. */
static int cap_memory(long extra_kb)
{
    long kb = vm_size_kb();
    if (kb < 0)
        return -1;
    struct rlimit rl = {(rlim_t)(kb + extra_kb) * 1024, RLIM_INFINITY};
    return setrlimit(RLIMIT_AS, &rl);
}

/* Runs fn in a child; returns its exit status, or 1000 + the signal that
 * killed it. */
static int in_child(int (*fn)(void *), void *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* Takes every byte malloc will give (blocks of shrinking size, kept). */
static void exhaust_memory(void)
{
    void *head = NULL;
    for (size_t sz = 1u << 20; sz >= 16; sz /= 2) {
        void *p;
        while ((p = malloc(sz)) != NULL) {
            *(void **)p = head;
            head = p;
        }
    }
}

static int reserve_child(void *arg)
{
    (void)arg;
    const struct xnn_allocator *a = xa_allocator();
    if (cap_memory(4096) != 0)
        return 10;
    exhaust_memory();
    if (a->allocate(a->context, 4096) || a->aligned_allocate(a->context, 64, 4096))
        return 11; /* outside a guard the system's answer stands */
    xa_guard_begin();
    unsigned char *p = a->allocate(a->context, 4096);
    unsigned char *q = a->aligned_allocate(a->context, 64, 1000);
    if (!p || !q || ((uintptr_t)q & 63) != 0)
        return 12;
    memset(p, 0xab, 4096);
    memset(q, 0xcd, 1000);
    if (xa_guard_used() != 2)
        return 13;
    if (a->allocate(a->context, 2 * XA_RESERVE_BYTES))
        return 14; /* larger than the reserve: NULL, which XNNPACK checks */
    if (a->reallocate(a->context, p, 8192))
        return 15; /* reserve blocks never grow */
    a->deallocate(a->context, p);
    a->aligned_deallocate(a->context, q);
    xa_guard_end();
    if (xa_guard_used() != 0)
        return 16;
    /* the next guard starts with the whole reserve and a clean count */
    xa_guard_begin();
    int used = xa_guard_used();
    void *r = a->allocate(a->context, XA_RESERVE_BYTES - 64);
    a->deallocate(a->context, r);
    int used2 = xa_guard_used();
    xa_guard_end();
    return used == 0 && r && used2 == 1 ? 0 : 17;
}

static void reserve_serves_refused_allocations_inside_a_guard_only(void **state)
{
    (void)state;
#ifdef LQ_NO_AS_CAP
    skip();
#endif
    assert_int_equal(in_child(reserve_child, NULL), 0);
}

static void a_guard_with_memory_to_spare_uses_no_reserve(void **state)
{
    (void)state;
    const struct xnn_allocator *a = xa_allocator();
    xa_guard_begin();
    void *p = a->allocate(a->context, 1 << 20);
    void *q = a->aligned_allocate(a->context, 64, 3); /* size not a multiple of 64 */
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)q & 63, 0);
    assert_int_equal(xa_guard_used(), 0);
    a->deallocate(a->context, p);
    a->aligned_deallocate(a->context, q);
    xa_guard_end();
    xa_guard_end(); /* ending twice, or without a guard, is harmless */
}

static xg_net *load_net(const char *name)
{
    char err[256];
    tfl_model *m = NULL;
    xg_net *net = NULL;
    if (tfl_model_load_file(lq_test_model(name), &m, err, sizeof err) < 0)
        fail_msg("cannot load %s (run scripts/fetch-models.sh): %s", name, err);
    assert_int_equal(xg_net_create(m, &net, err, sizeof err), 0);
    tfl_model_destroy(m);
    return net;
}

typedef struct {
    const xg_net *net;
    long extra_kb;
} create_job;

/* 0 created and ran, 1 out of memory, 2 cap failed, 3 any other error. */
static int create_child(void *arg)
{
    const create_job *j = arg;
    if (cap_memory(j->extra_kb) != 0)
        return 2;
    xg_runner *r = NULL;
    int rc = xg_runner_create(j->net, 1, &r);
    if (rc == 0) {
        rc = xg_runner_invoke(r);
        xg_runner_destroy(r);
        return rc == 0 ? 0 : 3;
    }
    return rc == LQ_ENOMEM ? 1 : 3;
}

/* One child per cap: fails the test if it was killed. 0 created, 1 out of memory. */
static int create_capped(const xg_net *net, const char *name, long extra_kb)
{
    create_job j = {net, extra_kb};
    int st = in_child(create_child, &j);
    if (st >= 1000)
        fail_msg("%s: killed by signal %d at a cap %ld KiB above its size", name, st - 1000,
                 extra_kb);
    if (st != 0 && st != 1)
        fail_msg("%s: error %d at a cap %ld KiB above its size", name, st, extra_kb);
    return st;
}

/* Caps from nothing spare to enough, in 256 KiB steps: out of memory until
 * the cap is enough, never a crash. */
static void runners_under_memory_caps_fail_cleanly(void **state)
{
    (void)state;
#ifdef LQ_NO_AS_CAP
    skip();
#endif
    static const char *const models[] = {"palm_detection_lite.tflite",
                                         "hand_landmark_lite.tflite"};
    for (size_t k = 0; k < sizeof models / sizeof *models; k++) {
        xg_net *net = load_net(models[k]);
        long enough = -1;
        int nomem = 0;
        for (long extra = 0; extra <= 128 * 1024 && enough < 0; extra += 256)
            if (create_capped(net, models[k], extra) == 0)
                enough = extra;
            else
                nomem++;
        printf("  %s: out of memory at %d caps, enough from +%ld KiB\n", models[k], nomem,
               enough);
        assert_true(enough > 0 && nomem > 10);
        xg_net_destroy(net);
    }
}

/* Every allocation XNNPACK makes while creating a runtime, refused in turn
 * (with all after it): each gives LQ_ENOMEM, and nothing is left allocated
 * (LeakSanitizer checks under ASan). Before xalloc's reserve, refusing the
 * memory planner's table (the allocation right after the blob descriptors)
 * was a SIGSEGV inside xnn_create_runtime_v2. */
static void every_refused_allocation_is_out_of_memory(void **state)
{
    (void)state;
    xg_net *net = load_net("palm_detection_lite.tflite");
    xg_runner *r = NULL;
    xa_test_refuse_from(-1);
    assert_int_equal(xg_runner_create(net, 1, &r), 0);
    long total = xa_test_refuse_from(-1);
    xg_runner_destroy(r);
    assert_true(total > 10);
    for (long n = 0; n < total; n++) {
        xa_test_refuse_from(n);
        r = NULL;
        int rc = xg_runner_create(net, 1, &r);
        xa_test_refuse_from(-1);
        if (rc != LQ_ENOMEM)
            fail_msg("allocation %ld of %ld refused: %d (%s)", n, total, rc, lq_strerror(rc));
        assert_null(r);
    }
    /* and with memory back, a runner is made and runs */
    assert_int_equal(xg_runner_create(net, 1, &r), 0);
    assert_int_equal(xg_runner_invoke(r), 0);
    xg_runner_destroy(r);
    printf("  %ld allocations, each refused in turn: out of memory every time\n", total);
    xg_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reserve_serves_refused_allocations_inside_a_guard_only),
        cmocka_unit_test(a_guard_with_memory_to_spare_uses_no_reserve),
        cmocka_unit_test(runners_under_memory_caps_fail_cleanly),
        cmocka_unit_test(every_refused_allocation_is_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
