/* SPDX-License-Identifier: MIT */
/*
 * libfake_fastfork.so: stands in for the fastfork module on hosts that
 * have none.  Preloaded after libfastfork.so, its ioctl() answers the
 * fastfork ioctls issued on /dev/null (use FASTFORK_DEVICE=/dev/null) and
 * passes everything else to libc.  FAKE_FASTFORK_MODULE picks the module
 * it pretends to be:
 *   ok       ABI 1 with FASTFORK_FEAT_ARM; every arm succeeds
 *   abi2     reports ABI version 2
 *   nofeat   ABI 1 without FASTFORK_FEAT_ARM
 *   refuse   ABI 1, but FASTFORK_IOC_ARM fails with EPERM
 * Each successful arm writes "fake-fastfork: armed engine=N" to stderr.
 * A malformed request (wrong size, nonzero flags, unknown engine) fails
 * with EINVAL, as the module would.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fastfork_uapi.h"

typedef int ioctl_fn(int, unsigned long, ...);

static int is_dev_null(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(1, 3);
}

static int fake_version(struct fastfork_version *version, const char *module)
{
	if (version->size != sizeof(*version)) {
		errno = EINVAL;
		return -1;
	}
	version->abi_version = strcmp(module, "abi2") == 0 ? 2 : 1;
	version->features =
		strcmp(module, "nofeat") == 0 ? 0 : FASTFORK_FEAT_ARM;
	strcpy(version->module_version, "fake");
	return 0;
}

static int fake_arm(const struct fastfork_arm *arm, const char *module)
{
	static const char armed[] = "fake-fastfork: armed engine=";

	if (arm->size != sizeof(*arm) || arm->flags != 0 ||
	    arm->engine > FASTFORK_ENGINE_EAGER) {
		errno = EINVAL;
		return -1;
	}
	if (strcmp(module, "refuse") == 0) {
		errno = EPERM;
		return -1;
	}
	/* The text without its NUL, the engine digit and a newline. */
	char line[sizeof(armed) + 1];
	memcpy(line, armed, sizeof(armed) - 1);
	line[sizeof(armed) - 1] = (char)('0' + arm->engine);
	line[sizeof(armed)] = '\n';
	(void)!write(STDERR_FILENO, line, sizeof(line));
	return 0;
}

__attribute__((visibility("default"))) int ioctl(int fd, unsigned long request,
						 ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);

	const char *module = getenv("FAKE_FASTFORK_MODULE");
	if (module && is_dev_null(fd)) {
		if (request == FASTFORK_IOC_VERSION)
			return fake_version(arg, module);
		if (request == FASTFORK_IOC_ARM)
			return fake_arm(arg, module);
	}
	ioctl_fn *next = (ioctl_fn *)dlsym(RTLD_NEXT, "ioctl");
	return next(fd, request, arg);
}
