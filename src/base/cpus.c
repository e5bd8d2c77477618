/* cpus.c - how many CPUs this process may really use (see cpus.h). */
#include "base/cpus.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lq_cpus_parse_cpu_max(const char *text)
{
    if (!text)
        return -1;
    char quota[32];
    long long period = 0;
    if (sscanf(text, "%31s %lld", quota, &period) != 2 || period <= 0)
        return -1;
    if (strcmp(quota, "max") == 0)
        return 0;
    char *end = NULL;
    long long q = strtoll(quota, &end, 10);
    if (end == quota || *end || q <= 0)
        return -1;
    long long cpus = (q + period - 1) / period;
    return cpus > 4096 ? 4096 : (int)cpus;
}

int lq_cpus_usable(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int a = CPU_COUNT(&set);
        if (a >= 1 && a < n)
            n = a;
    }
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char line[96];
        if (fgets(line, sizeof line, f)) {
            int q = lq_cpus_parse_cpu_max(line);
            if (q >= 1 && q < n)
                n = q;
        }
        fclose(f);
    }
    return n > 4096 ? 4096 : (int)n;
}
