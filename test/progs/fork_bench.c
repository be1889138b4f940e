/* SPDX-License-Identifier: MIT */
/*
 * fork_bench: fork latency microbenchmarks.
 *
 * Classic form (scripts/bench-shim-overhead):
 *   fork_bench RSS_MIB ITERATIONS
 * touches RSS_MIB MiB of anonymous memory, then times ITERATIONS rounds of
 * fork + child _exit + waitpid.  Prints one CSV line:
 *   rss_mib,iterations,mean_us,p50_us,p99_us,min_us
 *
 * Size-sweep form (scripts/bench-fork, inside the VM):
 *   fork_bench --size MIB --pages 4k|thp [--fork-reps N] [--write-reps M]
 *              [--throughput-sec T]
 * maps MIB MiB of private anonymous memory (2 MiB aligned), madvises it
 * MADV_NOHUGEPAGE (4k) or MADV_HUGEPAGE (thp), writes every 4 KiB page, and
 * measures
 *   fork_latency      fork() call to its return in the parent, the parent
 *                     having written one byte in every 2 MiB of the region
 *                     since the last fork; N samples (after one
 *                     unrecorded warm-up fork)
 *   refork_latency    the same for forks in a row, nothing written between
 *                     them (fastfork hands on the tables the last fork
 *                     detached); N samples
 *   write_after_fork  the parent writes one byte in every 4 KiB page of the
 *                     region right after fork() returns, while the child
 *                     is alive (it blocks on a pipe until the parent is
 *                     done, then _exits); M samples
 * With --throughput-sec T (T > 0) it also measures, for about T seconds
 * each, back-to-back rounds of
 *   fork_exit         fork(), the child _exits at once, waitpid()
 *   fork_exec         fork(), the child execs /bin/true, waitpid()
 * and reports the round time's median and p90 with the rounds per second.
 * Prints CSV lines "page_kind,size_mib,metric,median_us,p90_us,reps,per_sec"
 * (per_sec empty but for fork_exit and fork_exec), then
 * "forks,<number of successful fork() calls made>" and
 * "anon_huge_kib,<AnonHugePages of the process after touching>".
 * Exits 1 when a fork, mmap, madvise, pipe or wait fails (or a child does
 * not exit 0), 2 on usage errors.
 */
#include <errno.h>
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

static int classic(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr,
			"usage: %s RSS_MIB ITERATIONS\n"
			"       %s --size MIB --pages 4k|thp [--fork-reps N] "
			"[--write-reps M]\n",
			argv[0], argv[0]);
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

static long forks;

/* Waits for pid; 0 when it exited with status 0. */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("waitpid");
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "fork_bench: child %d ended with status 0x%x\n",
			(int)pid, status);
		return -1;
	}
	return 0;
}

/* Median (lower of the middle two for even n) and nearest-rank p90. */
static void report_rate(const char *kind, long mib, const char *metric,
			double *s, int n, double per_sec)
{
	qsort(s, (size_t)n, sizeof(*s), compare);
	int p90 = (9 * n + 9) / 10 - 1; /* ceil(0.9 n) - 1 */
	printf("%s,%ld,%s,%.1f,%.1f,%d,", kind, mib, metric, s[(n - 1) / 2],
	       s[p90 < 0 ? 0 : p90], n);
	if (per_sec >= 0)
		printf("%.2f", per_sec);
	printf("\n");
}

static void report(const char *kind, long mib, const char *metric, double *s,
		   int n)
{
	report_rate(kind, mib, metric, s, n, -1);
}

/*
 * Rounds of fork + (_exit or exec of /bin/true) + waitpid for about sec
 * seconds; reports them as metric.  0 on success.
 */
static int throughput(const char *kind, long mib, const char *metric, int exec,
		      int sec)
{
	int cap = 1024, n = 0;
	double *s = malloc((size_t)cap * sizeof(*s));
	double begin = now_us(), end = begin + sec * 1e6, t = begin;

	if (!s)
		return 1;
	while (t < end || n < 3) {
		pid_t pid = fork();
		if (pid == 0) {
			if (exec) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			_exit(0);
		}
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		forks++;
		if (reap(pid))
			return 1;
		double now = now_us();
		if (n == cap) {
			cap *= 2;
			s = realloc(s, (size_t)cap * sizeof(*s));
			if (!s)
				return 1;
		}
		s[n++] = now - t;
		t = now;
	}
	report_rate(kind, mib, metric, s, n, n / ((t - begin) / 1e6));
	free(s);
	return 0;
}

/*
 * Forks a child that blocks until the parent closes *release (then it
 * _exits), so that the child's exit is never part of what the parent
 * times.  *fork_us (when not NULL): the fork() call to its return in the
 * parent.  Returns the child's pid, or -1 after printing why.
 */
static pid_t fork_held(int *release, double *fork_us)
{
	int fds[2];
	char c;

	if (pipe(fds)) {
		perror("pipe");
		return -1;
	}
	double start = now_us();
	pid_t pid = fork();
	double end = now_us();
	if (pid == 0) {
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(fds[0]);
	if (pid < 0) {
		perror("fork");
		close(fds[1]);
		return -1;
	}
	forks++;
	*release = fds[1];
	if (fork_us)
		*fork_us = end - start;
	return pid;
}

/*
 * n fork latency samples into s (after one unrecorded warm-up fork).
 * With touch, the parent first writes one byte in every 2 MiB of the
 * region, so that every fork finds all the region's page tables mapped:
 * the module then detaches every table anew, as at a Redis BGSAVE after
 * writes.  Without, forks follow each other and tables the last fork
 * detached are still detached: the module only hands them on.  0 on
 * success.
 */
static int fork_latency(char *mem, size_t len, int touch, double *s, int n)
{
	for (int i = -1; i < n; i++) {
		int release;
		double us;

		if (touch)
			for (size_t off = 0; off < len; off += 2UL << 20)
				mem[off]++;
		pid_t pid = fork_held(&release, &us);
		if (pid < 0)
			return 1;
		close(release);
		if (reap(pid))
			return 1;
		if (i >= 0)
			s[i] = us;
	}
	return 0;
}

static long anon_huge_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int sweep(int argc, char **argv)
{
	long mib = 0;
	const char *kind = NULL;
	int fork_reps = 11, write_reps = 5, throughput_sec = 0;

	for (int i = 1; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			goto usage;
		if (!strcmp(argv[i], "--size"))
			mib = atol(val);
		else if (!strcmp(argv[i], "--pages"))
			kind = val;
		else if (!strcmp(argv[i], "--fork-reps"))
			fork_reps = atoi(val);
		else if (!strcmp(argv[i], "--write-reps"))
			write_reps = atoi(val);
		else if (!strcmp(argv[i], "--throughput-sec"))
			throughput_sec = atoi(val);
		else
			goto usage;
		i++;
	}
	if (mib < 1 || !kind || fork_reps < 0 || write_reps < 0 ||
	    throughput_sec < 0 || (strcmp(kind, "4k") && strcmp(kind, "thp")))
		goto usage;

	const size_t huge = 2UL << 20, page = 4096;
	size_t len = (size_t)mib << 20;
	char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char *mem = (char *)(((unsigned long)raw + huge - 1) & ~(huge - 1));
	if (madvise(mem, len,
		    strcmp(kind, "thp") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE)) {
		perror("madvise");
		return 1;
	}
	for (size_t off = 0; off < len; off += page)
		mem[off] = 1;
	long huge_kib = anon_huge_kib(); /* before COW splits the THPs */

	int n = fork_reps > write_reps ? fork_reps : write_reps;
	double *s = calloc((size_t)n + 1, sizeof(*s));
	if (!s)
		return 1;

	if (fork_reps) {
		if (fork_latency(mem, len, 1, s, fork_reps))
			return 1;
		report(kind, mib, "fork_latency", s, fork_reps);
		if (fork_latency(mem, len, 0, s, fork_reps))
			return 1;
		report(kind, mib, "refork_latency", s, fork_reps);
	}

	/* write_after_fork */
	for (int i = 0; i < write_reps; i++) {
		int release;
		pid_t pid = fork_held(&release, NULL);

		if (pid < 0)
			return 1;
		double start = now_us();
		for (size_t off = 0; off < len; off += page)
			mem[off] = (char)(i + 2);
		s[i] = now_us() - start;
		close(release);
		if (reap(pid))
			return 1;
	}
	if (write_reps)
		report(kind, mib, "write_after_fork", s, write_reps);

	if (throughput_sec &&
	    (throughput(kind, mib, "fork_exit", 0, throughput_sec) ||
	     throughput(kind, mib, "fork_exec", 1, throughput_sec)))
		return 1;

	printf("forks,%ld\n", forks);
	printf("anon_huge_kib,%ld\n", huge_kib);
	return 0;

usage:
	fprintf(stderr,
		"usage: %s --size MIB --pages 4k|thp [--fork-reps N] "
		"[--write-reps M] [--throughput-sec T]\n",
		argv[0]);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strncmp(argv[1], "--", 2))
		return sweep(argc, argv);
	return classic(argc, argv);
}
