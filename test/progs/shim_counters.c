/* SPDX-License-Identifier: MIT */
/* Prints the shim's counters: see shim_counters.h. */
#include "shim_counters.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>

#include "fastfork.h"

typedef int counters_fn(struct fastfork_shim_counters *, size_t);

void print_shim_counters(void)
{
	counters_fn *get =
		(counters_fn *)dlsym(RTLD_DEFAULT, "fastfork_shim_counters");
	struct fastfork_shim_counters c;

	if (!get || get(&c, sizeof(c)) != (int)sizeof(c)) {
		printf("shim=absent\n");
		return;
	}
#define PRINT(field) printf(#field "=%" PRIu64 "\n", c.field)
	printf("shim=loaded\n");
	PRINT(forks_seen);
	PRINT(forks_served);
	PRINT(vforks_seen);
	PRINT(fallback_off);
	PRINT(fallback_killswitch);
	PRINT(fallback_below_min_rss);
	PRINT(fallback_cmd_filtered);
	PRINT(fallback_no_device);
	PRINT(fallback_abi_mismatch);
	PRINT(fallback_arm_refused);
	PRINT(fallback_dryrun);
	PRINT(fallback_early);
	PRINT(force_failures);
#undef PRINT
	fflush(stdout);
}
