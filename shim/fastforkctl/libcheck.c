/* SPDX-License-Identifier: MIT */
/*
 * Is the shim library safe to list in /etc/ld.so.preload?  Every program
 * on the system would load it, so it must exist, be an ELF shared object
 * for this architecture, be owned by root and writable by nobody else,
 * and actually load: a child of fastforkctl runs with it in LD_PRELOAD and
 * must find its exported symbol.
 */
#include "ctl.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOADCHECK_OK "fastforkctl-loadcheck: ok"

/* Reads the ELF header of path; false if it is not one. */
static bool elf_header(const char *path, Elf64_Ehdr *h)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	memset(h, 0, sizeof(*h));
	n = read(fd, h, sizeof(*h));
	close(fd);
	/* e_ident, e_type and e_machine sit at the same offsets in both
	 * classes. */
	return n >= 20 && memcmp(h->e_ident, ELFMAG, SELFMAG) == 0;
}

static int check_file(const char *path)
{
	char dirbuf[4096];
	Elf64_Ehdr lib, self;
	struct stat st;

	if (stat(path, &st) < 0) {
		err_msg("%s: %s: the shim library is not installed%s", path,
			strerror(errno),
			errno == ENOENT ? " (install it first: cmake --install)"
					: "");
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err_msg("%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != 0) {
		err_msg("%s: owned by uid %u, not root: refusing to make every "
			"program load it",
			path, (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		err_msg("%s: writable by %s (mode %04o): refusing to make "
			"every program load it",
			path, (st.st_mode & S_IWOTH) ? "others" : "its group",
			(unsigned)(st.st_mode & 07777));
		return -1;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	if (stat(dirname(dirbuf), &st) == 0 &&
	    (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
		err_msg("%s: its directory is not root's alone (uid %u, mode "
			"%04o): refusing",
			path, (unsigned)st.st_uid,
			(unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (!elf_header(path, &lib)) {
		err_msg("%s: not an ELF file", path);
		return -1;
	}
	if (!elf_header("/proc/self/exe", &self)) {
		err_msg("cannot read /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	if (lib.e_ident[EI_CLASS] != self.e_ident[EI_CLASS] ||
	    lib.e_machine != self.e_machine) {
		err_msg("%s: built for another architecture (ELF class %u, "
			"machine %u; this system: class %u, machine %u)",
			path, lib.e_ident[EI_CLASS], lib.e_machine,
			self.e_ident[EI_CLASS], self.e_machine);
		return -1;
	}
	if (lib.e_type != ET_DYN) {
		err_msg("%s: not a shared object", path);
		return -1;
	}
	return 0;
}

/* Runs `fastforkctl __loadcheck` with path in LD_PRELOAD. */
static int check_loads(const char *path)
{
	char out[4096];
	size_t n = 0;
	int pfd[2], status;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		err_msg("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		setenv("LD_PRELOAD", path, 1);
		/* The check must not fork through the module nor log. */
		setenv("FASTFORK_MODE", "off", 1);
		execl("/proc/self/exe", "fastforkctl", LOADCHECK_CMD,
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t r = read(pfd[0], out + n, sizeof(out) - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(out) - 1)
			break;
	}
	out[n] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    strstr(out, LOADCHECK_OK) && !strstr(out, "ld.so"))
		return 0;
	err_msg("%s: fails to load into a program (LD_PRELOAD test: %s):\n%s",
		path, WIFEXITED(status) ? "exited" : "killed by a signal",
		n ? out : "(no output)");
	return -1;
}

int libcheck(const char *path)
{
	if (check_file(path) < 0)
		return -1;
	return check_loads(path);
}

/* In the child: the preloaded shim exports fastfork_shim_counters. */
int cmd_loadcheck(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "fastfork_shim_counters");

	if (!sym) {
		printf("fastforkctl-loadcheck: the library was not preloaded "
		       "(no fastfork_shim_counters)\n");
		return 3;
	}
	printf("%s\n", LOADCHECK_OK);
	return 0;
}
