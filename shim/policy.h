/* SPDX-License-Identifier: MIT */
/*
 * The fork policy: built-in defaults, overridden by /etc/fastfork.conf,
 * overridden by FASTFORK_* environment variables (ignored entirely under
 * AT_SECURE).  Loaded once by the constructor.
 */
#ifndef FASTFORK_POLICY_H
#define FASTFORK_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define KILLSWITCH_PATH "/etc/fastfork.disable"

enum mode {
	MODE_AUTO,   /* fast path when the module serves it, else ordinary */
	MODE_FORCE,  /* fail a fork the module cannot serve with ENODEV */
	MODE_OFF,    /* ordinary fork, no device access */
	MODE_DRYRUN, /* decide and log, then ordinary fork */
};

enum policy_state {
	POLICY_EARLY,	 /* constructor not run yet: ordinary forks */
	POLICY_READY,	 /* policy loaded */
	POLICY_DISABLED, /* kill-switch: the shim does nothing */
};

struct policy {
	enum mode mode;
	uint32_t engine;   /* FASTFORK_ENGINE_* */
	uint64_t min_rss;  /* bytes; 0: no minimum */
	bool cmd_filtered; /* this program is excluded by ONLY/SKIP lists */
	bool debug;	   /* log every decision and the exit summary */
	char device[PATH_MAX];
};

/*
 * Async-signal-safe.  Returns the state and points *policy at the loaded
 * policy (meaningful only when the state is POLICY_READY).
 */
enum policy_state policy_get(const struct policy **policy);
/* Constructor only: loads the policy, writing warnings to the log. */
enum policy_state policy_load(void);

#endif /* FASTFORK_POLICY_H */
