/* SPDX-License-Identifier: MIT */
/* Where fastforkctl looks: --root, --lib and the baked-in paths. */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>

struct ctl_paths ctl_paths = {.root = "", .lib = NULL};

const char *rooted(const char *path, int slot)
{
	static char buf[4][4096];

	if (!ctl_paths.root[0])
		return path;
	snprintf(buf[slot & 3], sizeof(buf[0]), "%s%s", ctl_paths.root, path);
	return buf[slot & 3];
}

const char *shim_path(void)
{
	return ctl_paths.lib ? ctl_paths.lib : rooted(FF_LIB_PATH, 3);
}

int paths_option(int opt, const char *arg)
{
	switch (opt) {
	case 'R':
		/* "/" and "" both mean the real root. */
		ctl_paths.root = (arg[0] == '/' && arg[1] == '\0') ? "" : arg;
		return 1;
	case 'L':
		ctl_paths.lib = arg;
		return 1;
	}
	return 0;
}

int paths_parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'R'},
		{"lib", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (paths_option(c, optarg))
			continue;
		if (c == 'h')
			return usage_error(
				"%s: takes --root DIR and --lib PATH", argv[0]);
		return usage_error("%s: unknown option '%s'", argv[0],
				   argv[optind - 1]);
	}
	if (optind < argc)
		return usage_error("%s: unexpected argument '%s'", argv[0],
				   argv[optind]);
	return 0;
}
