// SPDX-License-Identifier: GPL-2.0
/*
 * ff-storm: arm storms and abuse for fastfork.ko, checked through its
 * statistics.  Run alone (the checks use deltas of global counters).
 *
 *   ff-storm arm SECONDS THREADS   waves of THREADS threads arm, re-arm,
 *       fork, create threads, spawn children that arm and exec or exit,
 *       and exit while armed.  Every arm, re-arm and its outcome is
 *       counted here and must match the module's counters exactly:
 *         arms = A, forks_served = F, arms_cleared_exec = X,
 *         arms_cleared_exit = E, arms_cleared_failed_clone = 0,
 *         arms - rearms = forks_served + cleared_exec + cleared_exit
 *                         + cleared_failed_clone + armed_threads,
 *       and armed_threads back to where it was.
 *   ff-storm kill SECONDS          looper processes (two threads each)
 *       arm and fork, their children arm and fork too; they and their
 *       children are SIGKILLed at random.  No thread ever re-arms, so
 *       arms = forks_served + cleared_exec + cleared_exit +
 *       cleared_failed_clone must hold exactly once all are gone, with
 *       armed_threads back to where it was.
 *   ff-storm isolate               arms of some threads are not consumed
 *       by forks of other threads, of another process, nor of a process
 *       that shares the same open file; each armed thread's own fork is.
 *   ff-storm churn SECONDS THREADS threads open the device, arm, close it,
 *       then fork (at once or after up to 0.3 s) or exit while armed, for
 *       unload/reload tests (no checks: the module may come and go).  A
 *       thread never arms twice without a fork or exit in between.
 *   ff-storm noop                  exit 0 (exec target).
 * Exit status: 0 pass, 1 a check failed, 2 setup error.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "ff-common.h"

static int dev_fd = -1;
static time_t deadline;
static int failures;
static const char *self_exe = "/proc/self/exe";

/* Counters shared with child processes. */
struct tally {
	atomic_long arms;    /* successful FASTFORK_IOC_ARM */
	atomic_long rearms;  /* ... by a thread that was already armed */
	atomic_long served;  /* successful forks by an armed thread */
	atomic_long execs;   /* execve by an armed thread */
	atomic_long exits;   /* exits of armed threads */
	atomic_long kills;   /* SIGKILLs sent */
	atomic_long threads; /* threads run */
};
static struct tally *tally;

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245U + 12345U;
	return *s >> 8;
}

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static void check_eq(long long got, long long want, const char *what)
{
	printf("%s: %s: %lld (expected %lld)\n", got == want ? "ok" : "FAIL",
	       what, got, want);
	if (got != want)
		failures++;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Wait for armed_threads to reach @want (thread exit races join). */
static void settle(struct fastfork_stats *st, unsigned long long want)
{
	int i;

	for (i = 0; i < 1000; i++) {
		ff_stats(dev_fd, st);
		if (st->armed_threads == want)
			return;
		usleep(10000);
	}
}

static void *noop_thread(void *unused)
{
	return unused;
}

/* ---- arm storm ---------------------------------------------------- */

static void storm_child(unsigned int seed)
{
	/* A new process: never armed.  Arm, then exec or exit. */
	if (ff_arm(dev_fd, seed & 1) == 0)
		atomic_fetch_add(&tally->arms, 1);
	else
		_exit(3);
	if (seed & 2) {
		atomic_fetch_add(&tally->execs, 1);
		execl(self_exe, "ff-storm", "noop", (char *)NULL);
		atomic_fetch_sub(&tally->execs, 1);
	}
	atomic_fetch_add(&tally->exits, 1);
	_exit(0);
}

static void *storm_thread(void *p)
{
	unsigned int s = (unsigned int)(uintptr_t)p;
	int armed = 0, n = 1 + rnd(&s) % 8, i;
	unsigned int choice;
	pthread_t t;
	pid_t pid;

	atomic_fetch_add(&tally->threads, 1);
	for (i = 0; i < n; i++) {
		if (ff_arm(dev_fd, rnd(&s) & 1) == 0) {
			atomic_fetch_add(&tally->arms, 1);
			if (armed)
				atomic_fetch_add(&tally->rearms, 1);
			armed = 1;
		}
		switch (choice = rnd(&s) % 5) {
		case 0: /* fork: consumes the arm; the child exits at once */
		case 2: /* ... or arms itself, then execs or exits */
			pid = fork();
			if (pid == 0) {
				if (choice == 2)
					storm_child(rnd(&s));
				_exit(0);
			}
			if (pid < 0) {
				perror("fork");
				exit(2);
			}
			reap(pid);
			if (armed)
				atomic_fetch_add(&tally->served, 1);
			armed = 0;
			break;
		case 1: /* a thread: keeps the arm */
			if (pthread_create(&t, NULL, noop_thread, NULL) == 0)
				pthread_join(t, NULL);
			break;
		default: /* arm again next round */
			break;
		}
	}
	if (armed)
		atomic_fetch_add(&tally->exits, 1);
	return NULL;
}

static int storm(int seconds, int nthreads)
{
	struct fastfork_stats a, b;
	pthread_t *t = calloc(nthreads, sizeof(*t));
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	long waves = 0;
	int i;

	if (!t)
		return 2;
	printf("seed %u\n", seed);
	ff_stats(dev_fd, &a);
	deadline = time(NULL) + seconds;
	while (time(NULL) < deadline) {
		for (i = 0; i < nthreads; i++)
			if (pthread_create(&t[i], NULL, storm_thread,
					   (void *)(uintptr_t)rnd(&seed))) {
				perror("pthread_create");
				return 2;
			}
		for (i = 0; i < nthreads; i++)
			pthread_join(t[i], NULL);
		waves++;
	}
	settle(&b, a.armed_threads);
	printf("%ld waves, %ld threads: arms %ld rearms %ld served %ld "
	       "exec %ld exit %ld\n",
	       waves, atomic_load(&tally->threads), atomic_load(&tally->arms),
	       atomic_load(&tally->rearms), atomic_load(&tally->served),
	       atomic_load(&tally->execs), atomic_load(&tally->exits));
	check_eq(b.armed_threads, a.armed_threads,
		 "armed_threads back after every thread exited");
	check_eq(b.arms - a.arms, atomic_load(&tally->arms), "arms");
	check_eq(b.forks_served - a.forks_served, atomic_load(&tally->served),
		 "forks_served");
	check_eq(b.arms_cleared_exec - a.arms_cleared_exec,
		 atomic_load(&tally->execs), "arms_cleared_exec");
	check_eq(b.arms_cleared_exit - a.arms_cleared_exit,
		 atomic_load(&tally->exits), "arms_cleared_exit");
	check_eq(b.arms_cleared_failed_clone - a.arms_cleared_failed_clone, 0,
		 "arms_cleared_failed_clone");
	check_eq((long long)(b.arms - a.arms) - atomic_load(&tally->rearms),
		 (long long)((b.forks_served - a.forks_served) +
			     (b.arms_cleared_exec - a.arms_cleared_exec) +
			     (b.arms_cleared_exit - a.arms_cleared_exit) +
			     (b.arms_cleared_failed_clone -
			      a.arms_cleared_failed_clone) +
			     (b.armed_threads - a.armed_threads)),
		 "arms - rearms = served + cleared_{exec,exit,failed_clone} "
		 "+ armed");
	return failures ? 1 : 0;
}

/* ---- SIGKILL storm -------------------------------------------------- */

static void *looper_thread(void *p)
{
	unsigned int s = (unsigned int)(uintptr_t)p;

	for (;;) {
		pid_t pid;

		/* Arm once per fork: a thread never re-arms. */
		ff_arm(dev_fd, rnd(&s) & 1);
		pid = fork();
		if (pid == 0) {
			/* The child arms too and forks (or exits) armed. */
			ff_arm(dev_fd, 0);
			if (rnd(&s) & 1) {
				pid_t g = fork();

				if (g == 0)
					_exit(0);
				if (g > 0)
					reap(g);
			}
			usleep(rnd(&s) % 2000);
			_exit(0);
		}
		if (pid > 0)
			reap(pid);
		else
			usleep(1000);
	}
	return NULL;
}

static void looper(unsigned int seed)
{
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, looper_thread,
			       (void *)(uintptr_t)(seed + i * 7919));
	for (;;)
		pause();
}

static pid_t spawn_looper(unsigned int seed)
{
	pid_t pid = fork();

	if (pid == 0)
		looper(seed);
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	return pid;
}

/* Kill a random child of any thread of @pid. */
static int kill_a_child(pid_t pid, unsigned int *s)
{
	char path[64], buf[512];
	pid_t kids[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir)) && n < 64) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children",
			 pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *p = buf, *end;

			for (;;) {
				long k = strtol(p, &end, 10);

				if (end == p || n >= 64)
					break;
				kids[n++] = (pid_t)k;
				p = end;
			}
		}
		fclose(f);
	}
	closedir(dir);
	if (!n)
		return 0;
	kill(kids[rnd(s) % n], SIGKILL);
	return 1;
}

static int killstorm(int seconds)
{
	enum { NLOOPERS = 3 };
	struct fastfork_stats a, b;
	pid_t loopers[NLOOPERS];
	unsigned int s = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	long kill_parent = 0, kill_child = 0;
	int i;

	printf("seed %u\n", s);
	/* Orphans of killed loopers come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ff_stats(dev_fd, &a);
	for (i = 0; i < NLOOPERS; i++)
		loopers[i] = spawn_looper(rnd(&s));
	deadline = time(NULL) + seconds;
	while (time(NULL) < deadline) {
		usleep(rnd(&s) % 30000);
		i = (int)(rnd(&s) % NLOOPERS);
		if (rnd(&s) % 3 == 0) {
			kill(loopers[i], SIGKILL);
			reap(loopers[i]);
			loopers[i] = spawn_looper(rnd(&s));
			kill_parent++;
		} else {
			kill_child += kill_a_child(loopers[i], &s);
		}
		/* Reap orphans as we go. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	for (i = 0; i < NLOOPERS; i++)
		kill(loopers[i], SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	settle(&b, a.armed_threads);
	printf("killed %ld loopers, %ld children; arms %llu served %llu "
	       "exec %llu exit %llu failed_clone %llu\n",
	       kill_parent, kill_child, (unsigned long long)(b.arms - a.arms),
	       (unsigned long long)(b.forks_served - a.forks_served),
	       (unsigned long long)(b.arms_cleared_exec - a.arms_cleared_exec),
	       (unsigned long long)(b.arms_cleared_exit - a.arms_cleared_exit),
	       (unsigned long long)(b.arms_cleared_failed_clone -
				    a.arms_cleared_failed_clone));
	check(kill_parent > 0 && kill_child > 0,
	      "both loopers and their children were killed");
	check(b.arms - a.arms > 0, "threads armed");
	check_eq(b.armed_threads, a.armed_threads,
		 "armed_threads back once every process is gone");
	check_eq(b.arms - a.arms,
		 (b.forks_served - a.forks_served) +
			 (b.arms_cleared_exec - a.arms_cleared_exec) +
			 (b.arms_cleared_exit - a.arms_cleared_exit) +
			 (b.arms_cleared_failed_clone -
			  a.arms_cleared_failed_clone) +
			 (b.armed_threads - a.armed_threads),
		 "arms = served + cleared_{exec,exit,failed_clone} + armed");
	return failures ? 1 : 0;
}

/* ---- isolation ------------------------------------------------------ */

static pthread_barrier_t armed_barrier, go_barrier;

static void *armed_holder(void *unused)
{
	pid_t pid;

	if (ff_arm(dev_fd, FASTFORK_ENGINE_LAZY)) {
		perror("arm");
		exit(2);
	}
	pthread_barrier_wait(&armed_barrier);
	pthread_barrier_wait(&go_barrier);
	/* Now this thread's own fork must take its arm. */
	pid = fork();
	if (pid == 0)
		_exit(0);
	reap(pid);
	return unused;
}

static void *unarmed_forker(void *unused)
{
	int i;

	for (i = 0; i < 20; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		reap(pid);
	}
	return unused;
}

static void fork_n(int n)
{
	while (n--) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		reap(pid);
	}
}

static int isolate(void)
{
	enum { NARMED = 4 };
	struct fastfork_stats a, b;
	pthread_t held[NARMED], other;
	int go[2], ready[2], i;
	pid_t outsider, sharer;
	char c = 0;

	if (pipe(go) || pipe(ready))
		return 2;
	/* A process forked before anyone is armed, waiting for "go". */
	outsider = fork();
	if (outsider == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		fork_n(20);
		_exit(0);
	}
	ff_stats(dev_fd, &a);
	pthread_barrier_init(&armed_barrier, NULL, NARMED + 1);
	pthread_barrier_init(&go_barrier, NULL, NARMED + 1);
	for (i = 0; i < NARMED; i++)
		pthread_create(&held[i], NULL, armed_holder, NULL);
	pthread_barrier_wait(&armed_barrier);

	/* Forks by everyone but the armed threads. */
	if (write(go[1], &c, 1) != 1)
		return 2;
	fork_n(20);
	pthread_create(&other, NULL, unarmed_forker, NULL);
	pthread_join(other, NULL);
	reap(outsider);
	ff_stats(dev_fd, &b);
	check_eq(b.forks_served - a.forks_served, 0,
		 "forks of other threads and another process are not served");
	check_eq(b.armed_threads - a.armed_threads, NARMED,
		 "the armed threads are still armed");

	/* A process sharing the open file arms itself only. */
	sharer = fork();
	if (sharer == 0) {
		if (ff_arm(dev_fd, FASTFORK_ENGINE_EAGER))
			_exit(2);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		fork_n(1);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1)
		return 2;
	fork_n(10);
	ff_stats(dev_fd, &b);
	check_eq(b.forks_served - a.forks_served, 0,
		 "an arm through a shared file is not consumed by the "
		 "sharer's parent");
	check_eq(b.armed_threads - a.armed_threads, NARMED + 1,
		 "the sharing process is armed");
	if (write(go[1], &c, 1) != 1)
		return 2;
	reap(sharer);
	ff_stats(dev_fd, &b);
	check_eq(b.forks_served - a.forks_served, 1,
		 "the sharing process's own fork takes its arm");

	pthread_barrier_wait(&go_barrier);
	for (i = 0; i < NARMED; i++)
		pthread_join(held[i], NULL);
	settle(&b, a.armed_threads);
	check_eq(b.forks_served - a.forks_served, NARMED + 1,
		 "each armed thread's own fork takes its own arm");
	check_eq(b.arms - a.arms, NARMED + 1, "arms");
	check_eq(b.armed_threads, a.armed_threads, "armed_threads back");
	return failures ? 1 : 0;
}

/* ---- churn for unload/reload ---------------------------------------- */

static void *churn_thread(void *p)
{
	unsigned int s = (unsigned int)(uintptr_t)p;
	int n = 1 + rnd(&s) % 6;

	while (n--) {
		int fd = open(FASTFORK_DEVICE_PATH, O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			ff_arm(fd, rnd(&s) & 1);
			close(fd);
		}
		switch (rnd(&s) % 4) {
		case 0:
			return NULL; /* exit while armed */
		case 1:
			/* Stay armed a while: unload may drop the arm. */
			usleep(rnd(&s) % 300000);
			break;
		}
		fork_n(1);
	}
	return NULL;
}

static int churn(int seconds, int nthreads)
{
	pthread_t *t = calloc(nthreads, sizeof(*t));
	unsigned int s = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	long waves = 0;
	int i;

	if (!t)
		return 2;
	deadline = time(NULL) + seconds;
	while (time(NULL) < deadline) {
		for (i = 0; i < nthreads; i++)
			pthread_create(&t[i], NULL, churn_thread,
				       (void *)(uintptr_t)rnd(&s));
		for (i = 0; i < nthreads; i++)
			pthread_join(t[i], NULL);
		waves++;
	}
	printf("churn: %ld waves of %d threads\n", waves, nthreads);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int seconds = argc > 2 ? atoi(argv[2]) : 5;
	int nthreads = argc > 3 ? atoi(argv[3]) : 8;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "noop"))
		return 0;
	if (!strcmp(mode, "churn"))
		return churn(seconds, nthreads);
	if (seconds < 1 || nthreads < 1 || nthreads > 512) {
		fprintf(stderr, "bad SECONDS or THREADS\n");
		return 2;
	}
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED)
		return 2;
	dev_fd = ff_open();
	if (!strcmp(mode, "arm"))
		return storm(seconds, nthreads);
	if (!strcmp(mode, "kill"))
		return killstorm(seconds);
	if (!strcmp(mode, "isolate"))
		return isolate();
	fprintf(stderr, "usage: ff-storm arm SECONDS THREADS | kill SECONDS | "
			"isolate | churn SECONDS THREADS | noop\n");
	return 2;
}
