// SPDX-License-Identifier: GPL-2.0
/*
 * ff-stats: print the module's statistics from FASTFORK_IOC_STATS, one
 * "<field> <value>" line per field, named as the files under
 * /sys/class/misc/fastfork/stats/.  With a field name, print its value only.
 */
#include "ff-common.h"

int main(int argc, char **argv)
{
	static const char *const names[] = {
		"arms",
		"forks_served",
		"arms_cleared_exec",
		"arms_cleared_exit",
		"arms_cleared_failed_clone",
		"armed_threads",
	};
	unsigned long long values[6];
	struct fastfork_stats st;
	size_t i;

	ff_stats(ff_open(), &st);
	values[0] = st.arms;
	values[1] = st.forks_served;
	values[2] = st.arms_cleared_exec;
	values[3] = st.arms_cleared_exit;
	values[4] = st.arms_cleared_failed_clone;
	values[5] = st.armed_threads;
	for (i = 0; i < 6; i++) {
		if (argc < 2)
			printf("%s %llu\n", names[i], values[i]);
		else if (!strcmp(argv[1], names[i])) {
			printf("%llu\n", values[i]);
			return 0;
		}
	}
	if (argc > 1) {
		fprintf(stderr, "unknown field %s\n", argv[1]);
		return 2;
	}
	return 0;
}
