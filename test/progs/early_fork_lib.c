/* SPDX-License-Identifier: MIT */
/*
 * A library whose constructor forks.  A program's own libraries are
 * initialised before preloaded ones, so these forks reach the shim before
 * its constructor has run: the case the shim must survive without its
 * policy, its atfork handlers or its dlsym()ed _Fork.
 */
#include "early_fork_lib.h"

#include <sys/wait.h>
#include <unistd.h>

static int results[2];

/* 1 if a child forked by fn exited 0, else 0. */
static int fork_and_wait(pid_t (*fn)(void))
{
	int status;
	pid_t pid = fn();

	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

__attribute__((constructor)) static void fork_in_constructor(void)
{
	results[0] = fork_and_wait(fork);
	results[1] = fork_and_wait(_Fork);
}

int early_fork_ok(void)
{
	return results[0];
}

int early__Fork_ok(void)
{
	return results[1];
}
