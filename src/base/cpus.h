/*
 * cpus.h - how many CPUs this process may really use.
 *
 * The online CPU count overstates it inside a container: a CPU affinity mask
 * (docker --cpuset-cpus) or a CFS quota (docker --cpus=2 on a 64-core host,
 * cgroup v2 cpu.max "200000 100000") leaves fewer cores than the host has,
 * and one worker or inference thread per host core would then fight over
 * the quota. lq_cpus_usable takes the least of the three.
 */
#ifndef LQ_BASE_CPUS_H
#define LQ_BASE_CPUS_H

/* CPUs usable by this process: min(online CPUs, CPUs in the affinity mask,
 * the cgroup v2 quota rounded up), at least 1. Reads /sys/fs/cgroup/cpu.max
 * once per call (a missing file means no quota). Thread-safe. */
int lq_cpus_usable(void);

/* Parses the content of a cgroup v2 cpu.max file ("max 100000" or
 * "QUOTA PERIOD"): the quota in CPUs rounded up, 0 for no quota (max), or
 * -1 if the text is not in that form. */
int lq_cpus_parse_cpu_max(const char *text);

#endif
