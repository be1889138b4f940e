/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the fastfork VM test programs. */
#ifndef FF_COMMON_H
#define FF_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fastfork_uapi.h"

static inline int ff_open(void)
{
	int fd = open(FASTFORK_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", FASTFORK_DEVICE_PATH,
			strerror(errno));
		exit(2);
	}
	return fd;
}

/* Read the module's statistics; exits on failure. */
static inline void ff_stats(int fd, struct fastfork_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (ioctl(fd, FASTFORK_IOC_STATS, st) != 0) {
		fprintf(stderr, "FASTFORK_IOC_STATS: %s\n", strerror(errno));
		exit(2);
	}
}

/* Arm the calling thread; returns 0 or -errno. */
static inline int ff_arm(int fd, unsigned int engine)
{
	struct fastfork_arm arm = {
		.size = sizeof(arm), .engine = engine, .flags = 0};

	return ioctl(fd, FASTFORK_IOC_ARM, &arm) ? -errno : 0;
}

#endif
