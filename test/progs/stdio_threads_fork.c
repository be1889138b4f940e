/* SPDX-License-Identifier: MIT */
/*
 * stdio_threads_fork THREADS FORKS: THREADS threads write to one shared
 * FILE* (and malloc) without pause while the main thread forks FORKS
 * times; each child writes to the same FILE*, mallocs, and exits.  A fork
 * that skipped glibc's lock handling leaves a child holding a stdio or
 * malloc lock that no thread in it will ever release: such a child is
 * killed by its alarm.  Prints "forks=N hung=M failed=K"; exits 0 only if
 * every child exited cleanly.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds a child may take before it counts as hung. */
#define CHILD_DEADLINE 10

static FILE *shared;
static atomic_bool stop;

static void *writer(void *arg)
{
	long id = (long)arg;

	while (!atomic_load(&stop)) {
		char *p = malloc(64 + (size_t)id);
		fprintf(shared, "thread %ld writing a line of text\n", id);
		free(p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s THREADS FORKS\n", argv[0]);
		return 2;
	}
	int nthreads = atoi(argv[1]);
	int nforks = atoi(argv[2]);
	pthread_t threads[64];
	int hung = 0, failed = 0;

	if (nthreads < 1 || nthreads > 64 || nforks < 1)
		return 2;
	shared = fopen("/dev/null", "w");
	if (!shared) {
		perror("/dev/null");
		return 1;
	}
	for (long i = 0; i < nthreads; i++)
		pthread_create(&threads[i], NULL, writer, (void *)i);

	for (int i = 0; i < nforks; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			failed++;
			continue;
		}
		if (pid == 0) {
			alarm(CHILD_DEADLINE);
			char *p = malloc(4096);
			fprintf(shared, "child %d\n", i);
			fflush(shared);
			free(p);
			_exit(0);
		}
		int status;
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			hung++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	printf("forks=%d hung=%d failed=%d\n", nforks, hung, failed);
	return hung == 0 && failed == 0 ? 0 : 1;
}
