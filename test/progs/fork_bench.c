/* SPDX-License-Identifier: MIT */
/*
 * fork_bench RSS_MIB ITERATIONS: touches RSS_MIB MiB of anonymous memory,
 * then times ITERATIONS rounds of fork + child _exit + waitpid.  Prints one
 * CSV line: rss_mib,iterations,mean_us,p50_us,p99_us,min_us
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s RSS_MIB ITERATIONS\n", argv[0]);
		return 2;
	}
	size_t rss = (size_t)atol(argv[1]) << 20;
	int iterations = atoi(argv[2]);
	double *samples = calloc((size_t)iterations, sizeof(*samples));

	if (iterations < 1 || !samples)
		return 2;
	if (rss) {
		char *memory = mmap(NULL, rss, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (memory == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		memset(memory, 1, rss);
	}

	double sum = 0;
	for (int i = 0; i < iterations; i++) {
		double start = now_us();
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		waitpid(pid, NULL, 0);
		samples[i] = now_us() - start;
		sum += samples[i];
	}
	qsort(samples, (size_t)iterations, sizeof(*samples), compare);
	printf("%s,%d,%.1f,%.1f,%.1f,%.1f\n", argv[1], iterations,
	       sum / iterations, samples[iterations / 2],
	       samples[(size_t)((double)iterations * 0.99)], samples[0]);
	return 0;
}
