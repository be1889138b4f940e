/* SPDX-License-Identifier: MIT */
/*
 * vfork_exec COUNT: COUNT times, vfork and exec /bin/true, after the child
 * has used a deep stack frame of garbage (as a real child building argv
 * would).  The vfork child runs on the parent's stack, so any frame an
 * interposer left there is overwritten: the parent would then crash or
 * see its locals changed.  Checks the parent's locals after every round;
 * prints "rounds=N" and "bad=M" and the shim's counters; exits 0 if all held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_counters.h"

extern char **environ;

/* Fills a large frame with garbage, then execs: runs in the vfork child. */
static __attribute__((noinline, noreturn)) void exec_true(int round)
{
	char scratch[8192];
	char *argv[] = {"true", NULL};

	memset(scratch, 0xA5 ^ round, sizeof(scratch));
	__asm__ volatile("" : : "r"(scratch) : "memory");
	execve("/bin/true", argv, environ);
	_exit(127);
}

/* One round; the locals are what a corrupted stack would change. */
static __attribute__((noinline)) int round_ok(int round)
{
	volatile uint64_t canary_low = 0x1122334455667788ULL ^ (uint64_t)round;
	volatile int counter = round;
	char pattern[64];

	memset(pattern, round & 0xff, sizeof(pattern));
	pid_t pid = vfork();
	if (pid == 0)
		exec_true(round);
	if (pid < 0) {
		perror("vfork");
		return 0;
	}

	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(pattern); i++)
		if (pattern[i] != (char)(round & 0xff))
			return 0;
	return canary_low == (0x1122334455667788ULL ^ (uint64_t)round) &&
	       counter == round;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s COUNT\n", argv[0]);
		return 2;
	}
	int rounds = atoi(argv[1]);
	int bad = 0;

	for (int i = 0; i < rounds; i++)
		if (!round_ok(i))
			bad++;
	printf("rounds=%d\nbad=%d\n", rounds, bad);
	print_shim_counters();
	return bad == 0 ? 0 : 1;
}
