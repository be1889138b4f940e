/* SPDX-License-Identifier: MIT */
/*
 * Per-process counters.  Relaxed atomics: the fork path may run on any
 * thread and must stay cheap; nobody orders other memory by a counter.
 */
#include "counters.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"

_Static_assert(sizeof(struct fastfork_shim_counters) ==
		       COUNTER_COUNT * sizeof(uint64_t),
	       "enum counter must list every field of the public struct");

static _Atomic uint64_t counters[COUNTER_COUNT];

static const char *const counter_names[COUNTER_COUNT] = {
	[COUNTER_FORKS_SEEN] = "forks_seen",
	[COUNTER_FORKS_SERVED] = "forks_served",
	[COUNTER_VFORKS_SEEN] = "vforks_seen",
	[COUNTER_FALLBACK_OFF] = "off",
	[COUNTER_FALLBACK_KILLSWITCH] = "killswitch",
	[COUNTER_FALLBACK_BELOW_MIN_RSS] = "below_min_rss",
	[COUNTER_FALLBACK_CMD_FILTERED] = "cmd_filtered",
	[COUNTER_FALLBACK_NO_DEVICE] = "no_device",
	[COUNTER_FALLBACK_ABI_MISMATCH] = "abi_mismatch",
	[COUNTER_FALLBACK_ARM_REFUSED] = "arm_refused",
	[COUNTER_FALLBACK_DRYRUN] = "dryrun",
	[COUNTER_FALLBACK_EARLY] = "early",
	[COUNTER_FORCE_FAILURES] = "force_failures",
};

void counter_inc(enum counter which)
{
	atomic_fetch_add_explicit(&counters[which], 1, memory_order_relaxed);
}

void counters_reset(void)
{
	for (int i = 0; i < COUNTER_COUNT; i++)
		atomic_store_explicit(&counters[i], 0, memory_order_relaxed);
}

__attribute__((visibility("default"))) int
fastfork_shim_counters(struct fastfork_shim_counters *c, size_t size)
{
	uint64_t snapshot[COUNTER_COUNT];

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < COUNTER_COUNT; i++)
		snapshot[i] = atomic_load_explicit(&counters[i],
						   memory_order_relaxed);
	if (size > sizeof(snapshot))
		size = sizeof(snapshot);
	memcpy(c, snapshot, size);
	return (int)size;
}

void counters_log_summary(void)
{
	struct log_line line;

	log_begin(&line);
	log_str(&line, "counters:");
	for (int i = 0; i < COUNTER_COUNT; i++) {
		log_str(&line, " ");
		log_str(&line, counter_names[i]);
		log_str(&line, "=");
		log_u64(&line, atomic_load_explicit(&counters[i],
						    memory_order_relaxed));
	}
	log_end(&line);
}
