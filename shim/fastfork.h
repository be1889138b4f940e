/* SPDX-License-Identifier: MIT */
/*
 * libfastfork.so: public interface of the preloaded fork shim.
 *
 * The shim keeps per-process counters of the forks it saw and of what it
 * did with each.  They are plain relaxed atomics: cheap in the fork path,
 * exact once the process is quiescent.  A child starts with zeroed
 * counters (a fork done before the shim's constructor ran is the only
 * exception: its child inherits the parent's counts).
 *
 * Reading them:
 *  (a) call fastfork_shim_counters().  Programs that do not link against
 *      the shim look it up at run time, so they work with and without it:
 *
 *	int (*get)(struct fastfork_shim_counters *, size_t) =
 *		dlsym(RTLD_DEFAULT, "fastfork_shim_counters");
 *	struct fastfork_shim_counters c;
 *	if (get && get(&c, sizeof(c)) > 0)
 *		printf("%llu\n", (unsigned long long)c.forks_served);
 *
 *  (b) run with FASTFORK_DEBUG=1: the shim writes one summary line with
 *      every counter to its log (FASTFORK_LOG) when the process exits
 *      through exit() or returns from main().
 *
 * Every fork the shim sees ends in exactly one of: served (armed through
 * the module), one fallback reason (ordinary fork), or a force failure, so
 *   forks_seen == forks_served + sum(fallback_*) + force_failures
 * once no fork is in flight.  vforks are always passed through and counted
 * apart.
 */
#ifndef FASTFORK_H
#define FASTFORK_H

#include <stddef.h>
#include <stdint.h>

struct fastfork_shim_counters {
	uint64_t forks_seen;   /* fork(), _Fork() and forks by daemon(),
				  forkpty() and other glibc-internal callers */
	uint64_t forks_served; /* armed successfully: the module takes it */
	uint64_t vforks_seen;  /* vfork(): always an ordinary vfork */
	/* Ordinary forks, by the first reason that applied: */
	uint64_t fallback_off;		 /* FASTFORK_MODE=off */
	uint64_t fallback_killswitch;	 /* /etc/fastfork.disable exists */
	uint64_t fallback_below_min_rss; /* RSS below FASTFORK_MIN_RSS */
	uint64_t fallback_cmd_filtered;	 /* FASTFORK_ONLY_CMDS/SKIP_CMDS */
	uint64_t fallback_no_device;	 /* no fastfork device at the path */
	uint64_t fallback_abi_mismatch;	 /* module ABI or features differ */
	uint64_t fallback_arm_refused;	 /* FASTFORK_IOC_ARM failed */
	uint64_t fallback_dryrun;	 /* FASTFORK_MODE=dryrun */
	uint64_t fallback_early; /* fork before the shim's constructor */
	uint64_t force_failures; /* FASTFORK_MODE=force: fork() failed ENODEV */
};

/*
 * Copies min(size, sizeof(struct fastfork_shim_counters)) bytes of this
 * process's counters to *c and returns the number of bytes copied; pass
 * sizeof(*c).  Fields added in later versions go at the end, so older
 * callers keep working.  Returns -1 with errno EINVAL if c is NULL.
 */
int fastfork_shim_counters(struct fastfork_shim_counters *c, size_t size);

#endif /* FASTFORK_H */
