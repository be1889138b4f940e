/* SPDX-License-Identifier: MIT */
/*
 * atfork_check METHOD COUNT: registers pthread_atfork handlers, forks
 * COUNT times through METHOD (fork or forkpty) and checks that in every
 * fork the prepare and parent handlers ran in the parent and the prepare
 * and child handlers in the child.  Prints "good=N bad=M"; exits 0 only if
 * every fork was good.
 */
#include <pthread.h>
#include <pty.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int prepare_ran, parent_ran, child_ran;

static void on_prepare(void)
{
	prepare_ran++;
}

static void on_parent(void)
{
	parent_ran++;
}

static void on_child(void)
{
	child_ran++;
}

static pid_t fork_once(bool use_forkpty, int *master)
{
	*master = -1;
	if (use_forkpty)
		return forkpty(master, NULL, NULL, NULL);
	return fork();
}

int main(int argc, char **argv)
{
	if (argc != 3 ||
	    (strcmp(argv[1], "fork") && strcmp(argv[1], "forkpty"))) {
		fprintf(stderr, "usage: %s fork|forkpty COUNT\n", argv[0]);
		return 2;
	}
	bool use_forkpty = strcmp(argv[1], "forkpty") == 0;
	int count = atoi(argv[2]);
	int good = 0, bad = 0;

	if (pthread_atfork(on_prepare, on_parent, on_child) != 0) {
		perror("pthread_atfork");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		int master;

		prepare_ran = parent_ran = child_ran = 0;
		pid_t pid = fork_once(use_forkpty, &master);
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(prepare_ran == 1 && child_ran == 1 &&
					      parent_ran == 0
				      ? 0
				      : 1);

		char buf[64];
		while (master >= 0 && read(master, buf, sizeof(buf)) > 0)
			;
		int status;
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		if (master >= 0)
			close(master);
		bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			  prepare_ran == 1 && parent_ran == 1 && child_ran == 0;
		if (ok)
			good++;
		else
			bad++;
	}
	printf("good=%d bad=%d\n", good, bad);
	return bad == 0 && good == count ? 0 : 1;
}
