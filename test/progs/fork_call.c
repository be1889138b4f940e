/* SPDX-License-Identifier: MIT */
/*
 * fork_call METHOD [EXIT_CODE]: forks once through METHOD (fork, _Fork,
 * daemon or forkpty); the child exits with EXIT_CODE (default 0).
 * Prints, as name=value lines:
 *   at_secure   getauxval(AT_SECURE)
 *   result      ok, or error with errno=NAME when the fork failed
 *   status      the child's exit status
 *   errno_parent/errno_child  preserved if errno survived a successful
 *               fork unchanged in that process
 * and then the shim's counters (in the parent; for daemon, in the child
 * that daemon() leaves running).  Exits 0 after a successful fork, 3 after
 * a failed one.
 */
#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_counters.h"

/* Any value the fork path would not produce itself. */
#define ERRNO_SENTINEL EDOM

static int child_exit_code;

static void report_failure(int err)
{
	printf("result=error\nerrno=%s\n", strerrorname_np(err));
	print_shim_counters();
	exit(3);
}

/* In the child: exits with the requested code, or 99 if errno changed. */
static void child(int err)
{
	_exit(err == ERRNO_SENTINEL ? child_exit_code : 99);
}

static void report_child(pid_t pid, int err)
{
	int status;

	printf("errno_parent=%s\n",
	       err == ERRNO_SENTINEL ? "preserved" : strerrorname_np(err));
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		exit(1);
	}
	if (WIFEXITED(status))
		printf("result=ok\nstatus=%d\n", WEXITSTATUS(status));
	else
		printf("result=ok\nstatus=signal%d\n", WTERMSIG(status));
	printf("errno_child=%s\n",
	       WIFEXITED(status) && WEXITSTATUS(status) == 99 ? "clobbered"
							      : "preserved");
}

static void call_fork(pid_t (*fn)(void))
{
	errno = ERRNO_SENTINEL;
	pid_t pid = fn();
	int err = errno;

	if (pid < 0)
		report_failure(err);
	if (pid == 0)
		child(err);
	report_child(pid, err);
}

static void call_forkpty(void)
{
	int master;

	errno = ERRNO_SENTINEL;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	int err = errno;

	if (pid < 0)
		report_failure(err);
	if (pid == 0)
		child(err);
	/* Drain the terminal so the child never blocks on it. */
	char buf[256];
	while (read(master, buf, sizeof(buf)) > 0)
		;
	report_child(pid, err);
	close(master);
}

static void call_daemon(void)
{
	/* daemon() exits the parent; the child carries on here. */
	errno = ERRNO_SENTINEL;
	if (daemon(1, 1) != 0)
		report_failure(errno);
	printf("result=ok\ndaemon=child\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s fork|_Fork|daemon|forkpty [code]\n",
			argv[0]);
		return 2;
	}
	child_exit_code = argc > 2 ? atoi(argv[2]) : 0;
	printf("at_secure=%lu\n", getauxval(AT_SECURE));
	fflush(stdout);

	if (strcmp(argv[1], "fork") == 0)
		call_fork(fork);
	else if (strcmp(argv[1], "_Fork") == 0)
		call_fork(_Fork);
	else if (strcmp(argv[1], "forkpty") == 0)
		call_forkpty();
	else if (strcmp(argv[1], "daemon") == 0)
		call_daemon();
	else {
		fprintf(stderr, "%s: unknown method %s\n", argv[0], argv[1]);
		return 2;
	}
	print_shim_counters();
	return 0;
}
