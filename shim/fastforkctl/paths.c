/* SPDX-License-Identifier: MIT */
/* Where fastforkctl looks: --root, --lib and the baked-in paths. */
#include "ctl.h"

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
