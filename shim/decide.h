/* SPDX-License-Identifier: MIT */
/* The per-fork decision: ordinary fork, armed fork, or (force) failure. */
#ifndef FASTFORK_DECIDE_H
#define FASTFORK_DECIDE_H

#include <stdbool.h>

/* Which entry point saw the fork, for log lines and for force mode. */
enum fork_origin {
	ORIGIN_FORK,  /* fork() */
	ORIGIN__FORK, /* _Fork() */
	/* glibc's fork called without the wrapper (daemon(), forkpty(),
	 * glibc-internal callers), seen by the pthread_atfork handler: too
	 * late to fail, so force mode logs and forks normally. */
	ORIGIN_ATFORK,
};

/*
 * Async-signal-safe; preserves errno.  Counts the fork, applies the policy
 * and arms the calling thread if the module should serve it.  Returns
 * false if the fork must fail with ENODEV (force mode only).
 */
bool decide_and_arm(enum fork_origin origin);

#endif /* FASTFORK_DECIDE_H */
