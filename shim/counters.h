/* SPDX-License-Identifier: MIT */
/* Per-process counters (see fastfork.h), updated from the fork path. */
#ifndef FASTFORK_COUNTERS_H
#define FASTFORK_COUNTERS_H

#include "fastfork.h"

/* Index of each counter: the order of struct fastfork_shim_counters. */
enum counter {
	COUNTER_FORKS_SEEN,
	COUNTER_FORKS_SERVED,
	COUNTER_VFORKS_SEEN,
	COUNTER_FALLBACK_OFF,
	COUNTER_FALLBACK_KILLSWITCH,
	COUNTER_FALLBACK_BELOW_MIN_RSS,
	COUNTER_FALLBACK_CMD_FILTERED,
	COUNTER_FALLBACK_NO_DEVICE,
	COUNTER_FALLBACK_ABI_MISMATCH,
	COUNTER_FALLBACK_ARM_REFUSED,
	COUNTER_FALLBACK_DRYRUN,
	COUNTER_FALLBACK_EARLY,
	COUNTER_FORCE_FAILURES,
	COUNTER_COUNT
};

/* Async-signal-safe. */
void counter_inc(enum counter which);
/* Async-signal-safe: zeroes every counter (in a new child). */
void counters_reset(void);
/* Writes the one-line summary to the log. */
void counters_log_summary(void);

#endif /* FASTFORK_COUNTERS_H */
