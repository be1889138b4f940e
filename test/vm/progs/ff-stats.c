// SPDX-License-Identifier: GPL-2.0
/*
 * ff-stats: print the module's statistics from FASTFORK_IOC_STATS, one
 * "<field> <value>" line per field, named as the files under
 * /sys/class/misc/fastfork/stats/.  With a field name, print its value only.
 * Only the fields the module filled (its size written back) are printed: a
 * module older than this program reports fewer; asking for a field it did
 * not fill is an error (exit status 2, "not provided by the module").
 */
#include <stddef.h>

#include "ff-common.h"

#define FIELD(f)                                                               \
	{                                                                      \
#f, offsetof(struct fastfork_stats, f)                         \
	}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		FIELD(arms),
		FIELD(forks_served),
		FIELD(arms_cleared_exec),
		FIELD(arms_cleared_exit),
		FIELD(arms_cleared_failed_clone),
		FIELD(armed_threads),
		FIELD(tables_detached),
		FIELD(tables_shared),
		FIELD(tables_copied),
		FIELD(tables_attached),
		FIELD(tables_dropped),
		FIELD(tables_resolved_eager),
		FIELD(tables_resolved_background),
		FIELD(tables_live),
		FIELD(fallback_vma),
		FIELD(fallback_mm),
		FIELD(fallback_table_entries),
		FIELD(fallback_table_nomem),
		FIELD(resolve_conflicts),
	};
	struct fastfork_stats st;
	size_t i;

	ff_stats(ff_open(), &st);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		unsigned long long v;
		int filled = fields[i].offset + sizeof(__u64) <= st.size;

		memcpy(&v, (char *)&st + fields[i].offset, sizeof(v));
		if (argc < 2) {
			if (filled)
				printf("%s %llu\n", fields[i].name, v);
		} else if (!strcmp(argv[1], fields[i].name)) {
			if (!filled) {
				fprintf(stderr,
					"field %s not provided by the module "
					"(it fills %u bytes)\n",
					argv[1], st.size);
				return 2;
			}
			printf("%llu\n", v);
			return 0;
		}
	}
	if (argc > 1) {
		fprintf(stderr, "unknown field %s\n", argv[1]);
		return 2;
	}
	return 0;
}
