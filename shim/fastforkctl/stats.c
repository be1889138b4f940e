/* SPDX-License-Identifier: MIT */
/*
 * `stats [--json] [--sysfs]`: the module's global counters, from
 * FASTFORK_IOC_STATS, or from /sys/class/misc/fastfork/stats/ when the
 * device cannot be opened (not root) or with --sysfs.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fastfork_uapi.h"

#define NFIELDS 6
static const char *const names[NFIELDS] = {
	"arms",
	"forks_served",
	"arms_cleared_exec",
	"arms_cleared_exit",
	"arms_cleared_failed_clone",
	"armed_threads",
};

static int from_ioctl(uint64_t v[NFIELDS], int *err)
{
	struct fastfork_stats s = {.size = sizeof(s)};
	int fd = open(FF_DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (ioctl(fd, FASTFORK_IOC_STATS, &s) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	close(fd);
	v[0] = s.arms;
	v[1] = s.forks_served;
	v[2] = s.arms_cleared_exec;
	v[3] = s.arms_cleared_exit;
	v[4] = s.arms_cleared_failed_clone;
	v[5] = s.armed_threads;
	return 0;
}

static int from_sysfs(uint64_t v[NFIELDS], int *err)
{
	for (int i = 0; i < NFIELDS; i++) {
		char path[256], line[64], *end;

		snprintf(path, sizeof(path), FF_SYSFS_MISC "/stats/%s",
			 names[i]);
		if (!read_line(path, line, sizeof(line))) {
			*err = errno;
			return -1;
		}
		errno = 0;
		v[i] = strtoull(line, &end, 10);
		if (errno || end == line) {
			*err = EINVAL;
			return -1;
		}
	}
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"sysfs", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false, sysfs = false;
	const char *source;
	uint64_t v[NFIELDS];
	int c, ierr = 0, serr = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 's')
			sysfs = true;
		else if (c == 'h')
			return usage_error("stats: takes --json and --sysfs");
		else
			return usage_error("stats: unknown option '%s'",
					   argv[optind - 1]);
	}
	if (optind < argc)
		return usage_error("stats: unexpected argument '%s'",
				   argv[optind]);

	if (!sysfs && from_ioctl(v, &ierr) == 0) {
		source = "ioctl";
	} else if (from_sysfs(v, &serr) == 0) {
		source = "sysfs";
	} else {
		if (access(FF_SYSFS_MODULE, F_OK) < 0)
			err_msg("stats: the fastfork module is not loaded (no "
				"%s, no " FF_SYSFS_MISC "/stats): modprobe "
				"fastfork",
				FF_DEVICE);
		else
			err_msg("stats: cannot read the counters: %s: %s; "
				"%s/stats: %s",
				FF_DEVICE, sysfs ? "not tried" : strerror(ierr),
				FF_SYSFS_MISC, strerror(serr));
		return EXIT_FAIL;
	}
	if (json) {
		printf("{\"source\": \"%s\"", source);
		for (int i = 0; i < NFIELDS; i++)
			printf(", \"%s\": %" PRIu64, names[i], v[i]);
		printf("}\n");
	} else {
		for (int i = 0; i < NFIELDS; i++)
			printf("%-26s %" PRIu64 "\n", names[i], v[i]);
		printf("(from %s)\n", source);
	}
	return EXIT_OK;
}
