// SPDX-License-Identifier: GPL-2.0
/*
 * ff-arm: check the arm semantics of fastfork.ko through its statistics.
 * Each scenario arms through FASTFORK_IOC_ARM directly, does one kind of
 * clone (or exec, exit, failing clone), and compares the deltas of the
 * module's counters with what the ABI promises.  Run as root, one
 * scenario per call:  ff-arm <scenario>;  ff-arm list  names them;
 * ff-arm all  runs them all.  ff-arm hold  arms, closes the device and
 * sleeps until killed (for unload tests).  ff-arm churn SECONDS  arms
 * and forks from two threads while the module may come and go.
 * Exit status 0 when every expectation held, 1 otherwise, 2 on setup
 * errors.  Assumes nothing else arms threads while it runs.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "ff-common.h"

static int ff_fd;
static int failures;

/* Expected change of each counter between two snapshots. */
struct delta {
	long long arms, served, exec, exit, failed, armed;
};

static void expect(const char *step, const struct fastfork_stats *a,
		   const struct fastfork_stats *b, struct delta d)
{
	const struct {
		const char *name;
		long long got, want;
	} f[] = {
		{"arms", (long long)(b->arms - a->arms), d.arms},
		{"forks_served", (long long)(b->forks_served - a->forks_served),
		 d.served},
		{"arms_cleared_exec",
		 (long long)(b->arms_cleared_exec - a->arms_cleared_exec),
		 d.exec},
		{"arms_cleared_exit",
		 (long long)(b->arms_cleared_exit - a->arms_cleared_exit),
		 d.exit},
		{"arms_cleared_failed_clone",
		 (long long)(b->arms_cleared_failed_clone -
			     a->arms_cleared_failed_clone),
		 d.failed},
		{"armed_threads",
		 (long long)(b->armed_threads - a->armed_threads), d.armed},
	};
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].got == f[i].want)
			continue;
		printf("  %s: %s changed by %lld, expected %lld\n", step,
		       f[i].name, f[i].got, f[i].want);
		ok = 0;
	}
	printf("%s %s\n", ok ? "ok" : "not ok", step);
	if (!ok)
		failures++;
}

static void arm_or_die(void)
{
	int err = ff_arm(ff_fd, FASTFORK_ENGINE_LAZY);

	if (err) {
		fprintf(stderr, "FASTFORK_IOC_ARM: %s\n", strerror(-err));
		exit(2);
	}
}

/* Wait for @pid; its exit status must be 0. */
static void reap(pid_t pid)
{
	int status;

	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (waitpid(pid, &status, __WALL) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child %d failed (status %#x)\n", pid, status);
		failures++;
	}
}

/* A plain fork whose child exits at once. */
static void do_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	reap(pid);
}

/* The thread still armed after an event that must not consume the arm. */
static void check_still_armed(const struct fastfork_stats *base)
{
	struct fastfork_stats now;

	do_fork();
	ff_stats(ff_fd, &now);
	expect("a later fork consumes the arm that was kept", base, &now,
	       (struct delta){.arms = 1, .served = 1});
}

static int scen_fork(void)
{
	struct fastfork_stats a, b;

	ff_stats(ff_fd, &a);
	arm_or_die();
	do_fork();
	ff_stats(ff_fd, &b);
	expect("an armed fork is served once and consumes the arm", &a, &b,
	       (struct delta){.arms = 1, .served = 1});
	do_fork();
	ff_stats(ff_fd, &a);
	expect("the next fork is not served", &b, &a, (struct delta){0});
	return 0;
}

static int scen_unarmed(void)
{
	struct fastfork_stats a, b;

	ff_stats(ff_fd, &a);
	do_fork();
	ff_stats(ff_fd, &b);
	expect("an unarmed fork is not served", &a, &b, (struct delta){0});
	return 0;
}

static int scen_vfork(void)
{
	struct fastfork_stats a, b;
	pid_t pid;

	ff_stats(ff_fd, &a);
	arm_or_die();
	pid = vfork();
	if (pid == 0)
		_exit(0);
	reap(pid);
	ff_stats(ff_fd, &b);
	expect("vfork keeps the arm", &a, &b,
	       (struct delta){.arms = 1, .armed = 1});
	check_still_armed(&a);
	return 0;
}

static void *thread_nop(void *arg)
{
	return arg;
}

static int scen_thread(void)
{
	struct fastfork_stats a, b;
	pthread_t t;

	ff_stats(ff_fd, &a);
	arm_or_die();
	if (pthread_create(&t, NULL, thread_nop, NULL)) {
		perror("pthread_create");
		return 2;
	}
	pthread_join(t, NULL);
	ff_stats(ff_fd, &b);
	expect("pthread_create keeps the arm", &a, &b,
	       (struct delta){.arms = 1, .armed = 1});
	check_still_armed(&a);
	return 0;
}

static int clone_child(void *arg)
{
	(void)arg;
	return 0;
}

static int scen_clone_vm(void)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	struct fastfork_stats a, b;
	pid_t pid;

	ff_stats(ff_fd, &a);
	arm_or_die();
	pid = clone(clone_child, stack + sizeof(stack), CLONE_VM | SIGCHLD,
		    NULL);
	reap(pid);
	ff_stats(ff_fd, &b);
	expect("clone(CLONE_VM) keeps the arm", &a, &b,
	       (struct delta){.arms = 1, .armed = 1});
	check_still_armed(&a);
	return 0;
}

static int scen_exec(void)
{
	struct fastfork_stats a, b;
	pid_t pid;

	ff_stats(ff_fd, &a);
	pid = fork();
	if (pid == 0) {
		arm_or_die();
		execl("/proc/self/exe", "ff-arm", "noop", (char *)NULL);
		_exit(3);
	}
	reap(pid);
	ff_stats(ff_fd, &b);
	expect("execve clears the arm (arms_cleared_exec)", &a, &b,
	       (struct delta){.arms = 1, .exec = 1});
	return 0;
}

/* Poll the statistics for up to 5 s until armed_threads is @want. */
static void wait_armed_threads(struct fastfork_stats *st,
			       unsigned long long want)
{
	int i;

	for (i = 0; i < 500; i++) {
		ff_stats(ff_fd, st);
		if (st->armed_threads == want)
			return;
		usleep(10000);
	}
}

static void *thread_arm_and_exit(void *arg)
{
	arm_or_die();
	return arg;
}

static int scen_exit(void)
{
	struct fastfork_stats a, b;
	pthread_t t;
	pid_t pid;

	ff_stats(ff_fd, &a);
	if (pthread_create(&t, NULL, thread_arm_and_exit, NULL)) {
		perror("pthread_create");
		return 2;
	}
	pthread_join(t, NULL);
	/*
	 * pthread_join() returns when the thread clears its TID, in
	 * exit_mm(), a little before its exit tracepoint: wait for it.
	 */
	wait_armed_threads(&b, a.armed_threads);
	expect("thread exit clears its arm (arms_cleared_exit)", &a, &b,
	       (struct delta){.arms = 1, .exit = 1});
	pid = fork();
	if (pid == 0) {
		arm_or_die();
		_exit(0);
	}
	reap(pid);
	ff_stats(ff_fd, &a);
	expect("process exit clears its arm (arms_cleared_exit)", &b, &a,
	       (struct delta){.arms = 1, .exit = 1});
	return 0;
}

static void *thread_fork(void *arg)
{
	do_fork();
	return arg;
}

static int scen_other_thread(void)
{
	struct fastfork_stats a, b;
	pthread_t t;

	ff_stats(ff_fd, &a);
	arm_or_die();
	if (pthread_create(&t, NULL, thread_fork, NULL)) {
		perror("pthread_create");
		return 2;
	}
	pthread_join(t, NULL);
	ff_stats(ff_fd, &b);
	expect("a fork by another thread leaves the arm alone", &a, &b,
	       (struct delta){.arms = 1, .armed = 1});
	check_still_armed(&a);
	return 0;
}

static int scen_child(void)
{
	struct fastfork_stats a, b;
	pid_t pid;

	ff_stats(ff_fd, &a);
	arm_or_die();
	pid = fork();
	if (pid == 0) {
		/* The child inherits no arm: its own fork is not served. */
		failures = 0;
		do_fork();
		_exit(failures ? 1 : 0);
	}
	reap(pid);
	ff_stats(ff_fd, &b);
	expect("the child is not armed: only the parent's fork is served", &a,
	       &b, (struct delta){.arms = 1, .served = 1});
	return 0;
}

static int scen_rearm(void)
{
	struct fastfork_stats a, b;

	ff_stats(ff_fd, &a);
	arm_or_die();
	arm_or_die();
	ff_stats(ff_fd, &b);
	expect("arming twice counts two arms for one armed thread", &a, &b,
	       (struct delta){.arms = 2, .armed = 1});
	do_fork();
	ff_stats(ff_fd, &b);
	expect("one fork consumes it", &a, &b,
	       (struct delta){.arms = 2, .served = 1});
	return 0;
}

static int scen_failed_clone(void)
{
	struct fastfork_stats a, b;
	long ret;

	ff_stats(ff_fd, &a);
	arm_or_die();
	/* CLONE_SIGHAND without CLONE_VM: copy_process() says EINVAL. */
	ret = syscall(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0);
	if (ret != -1 || errno != EINVAL) {
		fprintf(stderr, "clone(CLONE_SIGHAND) returned %ld\n", ret);
		if (ret == 0)
			_exit(0);
		return 2;
	}
	ff_stats(ff_fd, &b);
	expect("a failing fork-like clone clears the arm "
	       "(arms_cleared_failed_clone)",
	       &a, &b, (struct delta){.arms = 1, .failed = 1});
	do_fork();
	ff_stats(ff_fd, &a);
	expect("the fork after it is not served", &b, &a, (struct delta){0});
	return 0;
}

static int scen_nproc(void)
{
	struct fastfork_stats a, b;
	struct rlimit rl = {0, 0};
	pid_t pid;

	ff_stats(ff_fd, &a);
	pid = fork();
	if (pid == 0) {
		/* Keep the root-opened fd; RLIMIT_NPROC binds non-root. */
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) ||
		    setrlimit(RLIMIT_NPROC, &rl)) {
			perror("drop privileges");
			_exit(2);
		}
		arm_or_die();
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0) {
			fprintf(stderr, "fork over RLIMIT_NPROC succeeded\n");
			waitpid(pid, NULL, 0);
			_exit(1);
		}
		if (errno != EAGAIN) {
			perror("fork over RLIMIT_NPROC");
			_exit(1);
		}
		/* Settle it in this thread before exiting (see arm.c). */
		ff_stats(ff_fd, &b);
		_exit(0);
	}
	reap(pid);
	ff_stats(ff_fd, &b);
	expect("a fork refused by RLIMIT_NPROC clears the arm "
	       "(arms_cleared_failed_clone)",
	       &a, &b, (struct delta){.arms = 1, .failed = 1});
	return 0;
}

/*
 * Arm and fork in a loop from two threads for @seconds, opening the
 * device only around each arm (when the module is loaded), so that the
 * module can be unloaded and reloaded meanwhile.  Checks nothing itself:
 * the kernel log is the oracle.
 */
static int churn_seconds;

static void *churn_thread(void *unused)
{
	time_t end = time(NULL) + churn_seconds;
	long forks = 0;

	(void)unused;
	while (time(NULL) < end) {
		int fd = open(FASTFORK_DEVICE_PATH, O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			ff_arm(fd, FASTFORK_ENGINE_LAZY);
			close(fd);
		}
		do_fork();
		forks++;
	}
	return (void *)forks;
}

static int churn(int seconds)
{
	pthread_t t[2];
	void *forks;
	int i;

	churn_seconds = seconds;
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, churn_thread, NULL)) {
			perror("pthread_create");
			return 2;
		}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &forks);
		printf("thread %d: %ld forks\n", i, (long)forks);
	}
	return failures ? 1 : 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} scenarios[] = {
	{"fork", scen_fork},
	{"unarmed", scen_unarmed},
	{"vfork", scen_vfork},
	{"thread", scen_thread},
	{"clone-vm", scen_clone_vm},
	{"exec", scen_exec},
	{"exit", scen_exit},
	{"other-thread", scen_other_thread},
	{"child", scen_child},
	{"rearm", scen_rearm},
	{"failed-clone", scen_failed_clone},
	{"nproc", scen_nproc},
};

int main(int argc, char **argv)
{
	size_t i;
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: ff-arm <scenario>|all|list\n");
		return 2;
	}
	if (!strcmp(argv[1], "noop"))
		return 0;
	if (!strcmp(argv[1], "churn"))
		return churn(argc > 2 ? atoi(argv[2]) : 5);
	if (!strcmp(argv[1], "hold")) {
		/* Arm, let go of the module, report, sleep until killed. */
		ff_fd = ff_open();
		arm_or_die();
		close(ff_fd);
		printf("armed\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!strcmp(argv[1], "list")) {
			printf("%s\n", scenarios[i].name);
			continue;
		}
		if (strcmp(argv[1], "all") &&
		    strcmp(argv[1], scenarios[i].name))
			continue;
		if (!ff_fd)
			ff_fd = ff_open();
		printf("# %s\n", scenarios[i].name);
		ret = scenarios[i].run();
		if (ret)
			return ret;
		if (strcmp(argv[1], "all"))
			return failures ? 1 : 0;
	}
	if (!strcmp(argv[1], "list"))
		return 0;
	if (!ff_fd) {
		fprintf(stderr, "unknown scenario %s\n", argv[1]);
		return 2;
	}
	return failures ? 1 : 0;
}
