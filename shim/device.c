/* SPDX-License-Identifier: MIT */
/* Arming through the fastfork module: see device.h. */
#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fastfork_uapi.h"

static void check_and_arm(int fd, bool arm, uint32_t engine,
			  struct device_outcome *out)
{
	struct fastfork_version version;

	memset(&version, 0, sizeof(version));
	version.size = sizeof(version);
	if (ioctl(fd, FASTFORK_IOC_VERSION, &version) != 0) {
		out->status = DEVICE_NOT_FASTFORK;
		out->err = errno;
		return;
	}
	out->abi_version = version.abi_version;
	out->features = version.features;
	if (version.size < FASTFORK_VERSION_SIZE_VER1 ||
	    version.abi_version != FASTFORK_ABI_VERSION ||
	    !(version.features & FASTFORK_FEAT_ARM)) {
		out->status = DEVICE_ABI_MISMATCH;
		return;
	}
	if (!arm)
		return;

	struct fastfork_arm request = {
		.size = sizeof(request),
		.engine = engine,
		.flags = 0,
	};
	if (ioctl(fd, FASTFORK_IOC_ARM, &request) != 0) {
		out->status = DEVICE_ARM_REFUSED;
		out->err = errno;
	}
}

void device_probe_and_arm(const char *path, bool arm, uint32_t engine,
			  struct device_outcome *out)
{
	int saved_errno = errno;

	out->status = DEVICE_OK;
	out->err = 0;
	out->abi_version = 0;
	out->features = 0;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		out->status = DEVICE_OPEN_FAILED;
		out->err = errno;
	} else {
		check_and_arm(fd, arm, engine, out);
		close(fd);
	}
	errno = saved_errno;
}
