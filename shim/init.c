/* SPDX-License-Identifier: MIT */
/* Library lifecycle: load the policy at start, summarise at exit. */
#include "counters.h"
#include "fork.h"
#include "policy.h"
#include "rss.h"

__attribute__((constructor)) static void fastfork_init(void)
{
	/* Kill-switch: no handlers, no device access, no logging. */
	if (policy_load() == POLICY_DISABLED)
		return;
	rss_init();
	fork_init();
}

__attribute__((destructor)) static void fastfork_fini(void)
{
	const struct policy *policy;

	if (policy_get(&policy) == POLICY_READY && policy->debug)
		counters_log_summary();
}
