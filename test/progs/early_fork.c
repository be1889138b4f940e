/* SPDX-License-Identifier: MIT */
/*
 * early_fork: reports the forks that its library's constructor made before
 * any preloaded library's constructor ran ("fork=1", "_Fork=1" when they
 * worked), then the shim's counters.
 */
#include <stdio.h>

#include "early_fork_lib.h"
#include "shim_counters.h"

int main(void)
{
	printf("fork=%d\n_Fork=%d\n", early_fork_ok(), early__Fork_ok());
	print_shim_counters();
	return 0;
}
