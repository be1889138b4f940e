/* SPDX-License-Identifier: MIT */
/*
 * `status`: what an administrator needs to know at a glance.  Reads only;
 * works as any user (less is visible without root).
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fastfork_uapi.h"

#define EFI_DIR "/sys/firmware/efi"
#define SECUREBOOT_VAR                                                         \
	EFI_DIR "/efivars/SecureBoot-8be4dfc1-93ca-11d0-aae5-b13d2b8c7b8c"

__attribute__((format(printf, 2, 3))) static void item(const char *label,
						       const char *fmt, ...)
{
	va_list ap;

	printf("%-14s ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void module_and_device(void)
{
	char ver[64] = "", line[64];
	struct stat st;

	if (access(FF_SYSFS_MODULE, F_OK) == 0) {
		read_line(FF_SYSFS_MODULE "/version", ver, sizeof(ver));
		item("module:", "loaded%s%s", ver[0] ? ", version " : "", ver);
	} else {
		item("module:",
		     "not loaded (no %s; load it: modprobe "
		     "fastfork)",
		     FF_SYSFS_MODULE);
	}
	if (stat(FF_DEVICE, &st) == 0)
		item("device:", "%s %s, mode %04o, uid %u gid %u", FF_DEVICE,
		     S_ISCHR(st.st_mode) ? "character device" : "NOT a device",
		     (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
		     (unsigned)st.st_gid);
	else
		item("device:", "%s: %s", FF_DEVICE, strerror(errno));

	int fd = open(FF_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct fastfork_version v = {.size = sizeof(v)};

		if (ioctl(fd, FASTFORK_IOC_VERSION, &v) == 0) {
			v.module_version[sizeof(v.module_version) - 1] = '\0';
			item("abi:",
			     "%u (module %s, features%s%s%s); this "
			     "tool: %d%s",
			     v.abi_version, v.module_version,
			     (v.features & FASTFORK_FEAT_ARM) ? " arm" : "",
			     (v.features & FASTFORK_FEAT_DETACH) ? " detach"
								 : "",
			     v.features ? "" : " none", FASTFORK_ABI_VERSION,
			     v.abi_version == FASTFORK_ABI_VERSION
				     ? ""
				     : " (MISMATCH: the shim forks normally)");
		} else {
			item("abi:", "FASTFORK_IOC_VERSION failed: %s",
			     strerror(errno));
		}
		close(fd);
	} else if (read_line(FF_SYSFS_MISC "/abi_version", line,
			     sizeof(line))) {
		item("abi:", "%s (from sysfs; %s: %s); this tool: %d", line,
		     FF_DEVICE, strerror(errno), FASTFORK_ABI_VERSION);
	} else {
		item("abi:", "unknown (module not loaded)");
	}
}

static void kernel(void)
{
	struct utsname u;

	if (uname(&u) == 0)
		item("kernel:", "%s %s %s", u.release, u.version, u.machine);
}

/* The module reports no hook list; show what ftrace shows. */
static void hooks(void)
{
	static const char *const files[] = {
		"/sys/kernel/tracing/enabled_functions",
		"/sys/kernel/debug/tracing/enabled_functions",
	};
	char *text = NULL;
	const char *file = NULL;

	for (size_t i = 0; i < 2 && !text; i++) {
		text = read_file(files[i], 1 << 22, NULL);
		file = files[i];
	}
	if (!text) {
		item("hooks:",
		     "not reported by the module; %s not readable "
		     "(%s)",
		     files[0], strerror(errno));
		return;
	}
	int n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!strstr(l, "fastfork") && strncmp(l, "kernel_clone ", 13) &&
		    strncmp(l, "copy_page_range ", 16))
			continue;
		if (!n++)
			item("hooks:", "ftrace (%s):", file);
		printf("%-14s   %s\n", "", l);
	}
	if (!n)
		item("hooks:", "none: %s shows no fastfork hook", file);
	free(text);
}

static void ibt(void)
{
	char *cpu = read_file("/proc/cpuinfo", 1 << 24, NULL);
	char cmdline[4096] = "", *p, val[64] = "";
	bool flag = false;

	if (cpu) {
		char *flags = strstr(cpu, "\nflags");

		if (flags) {
			char *eol = strchr(flags + 1, '\n');

			if (eol)
				*eol = '\0';
			flag = strstr(flags, " ibt ") ||
			       (strlen(flags) >= 4 &&
				strcmp(flags + strlen(flags) - 4, " ibt") == 0);
		}
		free(cpu);
	}
	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	p = strstr(cmdline, "ibt=");
	if (p && (p == cmdline || p[-1] == ' '))
		sscanf(p, "%63s", val);
	item("ibt:", "cpu flag ibt: %s; kernel command line: %s",
	     cpu ? (flag ? "yes" : "no") : "unknown",
	     val[0] ? val : "no ibt= (kernel default)");
}

static void secure_boot(void)
{
	unsigned char buf[8];
	char lock[128] = "";
	ssize_t n = -1;
	int fd;

	read_line("/sys/kernel/security/lockdown", lock, sizeof(lock));
	if (access(EFI_DIR, F_OK) < 0) {
		item("secure boot:", "unknown (no EFI)%s%s",
		     lock[0] ? "; lockdown: " : "", lock);
		return;
	}
	fd = open(SECUREBOOT_VAR, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	if (n < 5)
		item("secure boot:", "unknown (EFI, but %s unreadable)%s%s",
		     SECUREBOOT_VAR, lock[0] ? "; lockdown: " : "", lock);
	else
		item("secure boot:", "%s%s%s",
		     buf[n - 1] == 1 ? "enabled (the module must be signed "
				       "with an enrolled key)"
				     : "disabled",
		     lock[0] ? "; lockdown: " : "", lock);
}

static void preload(void)
{
	const char *file = rooted(FF_PRELOAD_FILE, 0);
	const char *lib = shim_path();
	char other[4096];
	char *text = read_file(file, 1 << 20, NULL);

	if (!text) {
		item("preload:", "off: %s: %s", file, strerror(errno));
	} else {
		bool listed = preload_lists(text, FF_PRELOAD_ENTRY, other,
					    sizeof(other));

		if (listed)
			item("preload:", "on: %s lists %s", file,
			     FF_PRELOAD_ENTRY);
		else if (other[0])
			item("preload:", "on: %s lists %s", file, other);
		else
			item("preload:", "off: %s does not list %s", file,
			     FF_LIB_NAME);
		free(text);
	}
	item("library:", "%s %s", lib,
	     access(lib, F_OK) == 0 ? "present" : "MISSING");
}

static void killswitch(void)
{
	const char *file = rooted(FF_KILLSWITCH_FILE, 1);
	struct stat st;

	if (stat(file, &st) == 0)
		item("kill-switch:",
		     "ON: %s exists%s: the shim does nothing "
		     "in processes started now",
		     file,
		     st.st_uid == 0 ? ""
				    : " (but not owned by root: "
				      "ignored by the shim)");
	else
		item("kill-switch:", "off (no %s)", file);
}

int cmd_status(int argc, char **argv)
{
	int r = paths_parse_args(argc, argv);

	if (r)
		return r;
	printf("%-14s %s\n", "fastforkctl:", FF_VERSION);
	module_and_device();
	kernel();
	hooks();
	ibt();
	secure_boot();
	preload();
	killswitch();
	return EXIT_OK;
}
