// SPDX-License-Identifier: GPL-2.0
/*
 * ff-hold: one fork of a process holding anonymous memory, with the child
 * kept alive without touching it, for the engine's lifecycle tests.
 *
 *   ff-hold [-u UNMAP_MIB] [-n NTH] [-r] [-c] [-p] MIB lazy|eager|stock
 *           CHILD_MS [PARENT_TOUCH_MS]
 *
 * Maps MIB MiB (MADV_NOHUGEPAGE, 2 MiB aligned) and writes every page,
 * arms the fork with the engine named (stock: no arm), forks.  The child
 * first prints the module's tables_resolved_eager as it sees it on its
 * first return to user space, unmaps the top UNMAP_MIB MiB of the range
 * with -u, then sleeps CHILD_MS without touching the rest of the memory,
 * checks every page it kept and prints "child_check 0" (all as before
 * the fork) or 1, then exits.  With -c the child writes every page it
 * kept instead (a copy each 2 MiB, then a copy-on-write fault per page)
 * and checks that it reads back what it wrote.  The parent prints its
 * VmRSS before and right after the fork; with PARENT_TOUCH_MS it writes
 * every page after that many ms (while the child lives), or with -r
 * reads and checks every page instead (a resolve each 2 MiB, no
 * copy-on-write per page).
 * With -p the child sleeps until the parent has written or read its
 * memory, or died, instead of CHILD_MS: a test that needs the parent to
 * touch everything while the child still holds the snapshot (to run a
 * memory cgroup into its limit) then does not depend on how fast a
 * loaded or debug kernel lets the parent write.
 * It prints "ready <child pid>" once the child runs, and
 * "parent_check 0|1" after the child ended.
 *
 * With -n (kernels with CONFIG_FAULT_INJECTION), the parent writes NTH
 * to /proc/thread-self/fail-nth just before fork(): the NTH allocation
 * the kernel makes for it from there on (in the fork, or in its resolves
 * later) fails; at the end it prints "fail_nth_left K", 0 when that
 * allocation was reached.
 *
 * Exit 0 when every page held what it should in both processes, 1
 * otherwise (or when the child was killed), 2 on setup errors, 3 when
 * fork() itself failed (the error is printed).
 */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "ff-common.h"

#define PAGE 4096UL
#define HUGE (2UL << 20)

static long vm_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int check(const unsigned char *mem, size_t len, unsigned char want,
		 const char *who)
{
	size_t i;

	for (i = 0; i < len; i += PAGE)
		if (mem[i] != (unsigned char)(want + i / PAGE)) {
			printf("%s: page %zu holds %u, expected %u\n", who,
			       i / PAGE, mem[i],
			       (unsigned char)(want + i / PAGE));
			return 1;
		}
	return 0;
}

static void fill(unsigned char *mem, size_t len, unsigned char base)
{
	size_t i;

	for (i = 0; i < len; i += PAGE)
		memset(mem + i, (unsigned char)(base + i / PAGE), PAGE);
}

/* The thread's fail-nth file, or -1; opened before, as that allocates. */
static int fail_nth_open(void)
{
	return open("/proc/thread-self/fail-nth", O_RDWR);
}

static int fail_nth_set(int fd, unsigned long nth)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lu", nth);

	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

/* Print what is left of the countdown and stop it. */
static void fail_nth_report(int fd)
{
	char buf[32] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) > 0)
		printf("fail_nth_left %lu\n", strtoul(buf, NULL, 10));
	fail_nth_set(fd, 0);
	fflush(stdout);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts))
		;
}

int main(int argc, char **argv)
{
	struct fastfork_stats st;
	unsigned char *raw, *mem;
	long child_ms, touch_ms = -1;
	int ready[2], touched[2], status, fd, bad, opt, nth_fd = -1;
	int read_only = 0, child_writes = 0, until_touched = 0;
	size_t len, unmap_len = 0;
	unsigned long nth = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "u:n:rcp")) != -1) {
		if (opt == 'p')
			until_touched = 1;
		else if (opt == 'r')
			read_only = 1;
		else if (opt == 'c')
			child_writes = 1;
		else if (opt == 'u')
			unmap_len = strtoul(optarg, NULL, 0) << 20;
		else if (opt == 'n')
			nth = strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc < 4) {
		fprintf(stderr,
			"usage: ff-hold [-u UNMAP_MIB] [-n NTH] [-r] [-c] [-p] "
			"MIB lazy|eager|stock CHILD_MS [PARENT_TOUCH_MS]\n");
		return 2;
	}
	len = strtoul(argv[1], NULL, 0) << 20;
	if (unmap_len > len)
		return 2;
	child_ms = atol(argv[3]);
	if (argc > 4)
		touch_ms = atol(argv[4]);
	raw = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED || pipe(ready) || pipe(touched))
		return 2;
	mem = (unsigned char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(mem, len, MADV_NOHUGEPAGE);
	fill(mem, len, 1);
	fd = ff_open();
	printf("rss_before %ld\n", vm_rss_kib());
	fflush(stdout); /* or the child prints it again */
	if (strcmp(argv[2], "stock") &&
	    ff_arm(fd, strcmp(argv[2], "eager") ? FASTFORK_ENGINE_LAZY
						: FASTFORK_ENGINE_EAGER)) {
		perror("arm");
		return 2;
	}
	if (nth) {
		nth_fd = fail_nth_open();
		if (nth_fd < 0) {
			perror("/proc/thread-self/fail-nth");
			return 2;
		}
		if (fail_nth_set(nth_fd, nth))
			return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		if (nth_fd >= 0)
			fail_nth_report(nth_fd);
		return 3;
	}
	if (!pid) {
		ff_stats(fd, &st);
		printf("child_eager_seen %llu\n",
		       (unsigned long long)st.tables_resolved_eager);
		fflush(stdout);
		if (unmap_len && munmap(mem + len - unmap_len, unmap_len))
			_exit(2);
		close(ready[0]);
		close(touched[1]);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		/* EOF once the parent closed its end, or died. */
		if (until_touched)
			while (read(touched[0], &status, 1) < 0 &&
			       errno == EINTR)
				;
		else
			sleep_ms(child_ms);
		if (child_writes)
			fill(mem, len - unmap_len, 9);
		bad = check(mem, len - unmap_len, child_writes ? 9 : 1,
			    "child");
		printf("child_check %d\n", bad);
		fflush(stdout);
		_exit(bad);
	}
	printf("rss_after %ld\n", vm_rss_kib());
	close(ready[1]);
	if (read(ready[0], &status, 1) != 1)
		return 2;
	printf("ready %d\n", pid);
	fflush(stdout);
	bad = 0;
	if (touch_ms >= 0) {
		sleep_ms(touch_ms);
		if (read_only)
			bad = check(mem, len, 1, "parent (read)");
		else
			fill(mem, len, 7);
	}
	close(touched[1]);
	if (waitpid(pid, &status, 0) != pid)
		return 2;
	if (nth_fd >= 0)
		fail_nth_report(nth_fd);
	bad |= check(mem, len, touch_ms >= 0 && !read_only ? 7 : 1, "parent");
	printf("parent_check %d\n", bad);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return bad;
}
