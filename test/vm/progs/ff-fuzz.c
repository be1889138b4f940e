// SPDX-License-Identifier: GPL-2.0
/*
 * ff-fuzz: ioctl fuzzer for /dev/fastfork.
 *
 *   ff-fuzz [-s SEED] [-t THREADS] [-d SECONDS] [-n ITERATIONS]
 *   ff-fuzz denied    open() in every mode must fail with EACCES
 *
 * Each worker thread issues random ioctls: command numbers with the right
 * and wrong magic, any direction and size bits; size fields of 0, below
 * the struct's VER1 size, exact, larger with a zero tail, larger with a
 * non-zero tail, at and beyond PAGE_SIZE, huge; random engine and flags;
 * and bad pointers (NULL, unmapped, kernel and non-canonical addresses,
 * read-only memory, a struct that runs into a PROT_NONE guard page right
 * after its readable size field).  Now and then a worker forks, so armed
 * clones and their settlement are mixed in.
 *
 * Every return must be success or one of the documented errnos (ENOTTY,
 * EINVAL, E2BIG, EFAULT, ENOMEM), and where the input fully determines
 * the answer (fastfork_uapi.h, kmod/README.md) it must be that answer.
 * After the workers exit the module's armed_threads gauge must return to
 * what it was before the run.  Bounded by SECONDS and ITERATIONS per
 * thread (whichever comes first); the seed is printed so that a failing
 * run's inputs can be regenerated (thread interleaving aside).
 * Exit status: 0 pass, 1 a check failed, 2 setup error.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "ff-common.h"

#define NR_ERRNOS 6 /* 0 and the five documented errnos */
static const int errnos[NR_ERRNOS] = {0, ENOTTY, EINVAL, E2BIG, EFAULT, ENOMEM};
static const char *const errno_names[NR_ERRNOS] = {"ok",    "ENOTTY", "EINVAL",
						   "E2BIG", "EFAULT", "ENOMEM"};

static int dev_fd;
static long page_size;
static time_t deadline;
static long max_iterations = 100000;
static atomic_long hist[NR_ERRNOS];
static atomic_long mismatches;
static atomic_long undocumented;
static atomic_long total_calls;
static atomic_long forks;

/*
 * A region: guard page, 2 data pages, guard page, read-only page, guard
 * page, unmapped page.
 */
struct region {
	unsigned char *base;
	unsigned char *data; /* 2 read-write pages */
	unsigned char *ro;   /* 1 read-only page (zero filled) */
	void *unmapped;	     /* a page-aligned address with nothing mapped */
};

static uint64_t rnd_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd_below(uint64_t *s, unsigned int n)
{
	return (unsigned int)(rnd_next(s) % n);
}

static int errno_index(int e)
{
	int i;

	for (i = 0; i < NR_ERRNOS; i++)
		if (errnos[i] == e)
			return i;
	return -1;
}

static const size_t ver1_size[3] = {FASTFORK_VERSION_SIZE_VER1,
				    FASTFORK_ARM_SIZE_VER1,
				    FASTFORK_STATS_SIZE_VER1};
static const size_t mod_size[3] = {sizeof(struct fastfork_version),
				   sizeof(struct fastfork_arm),
				   sizeof(struct fastfork_stats)};

static int region_init(struct region *r)
{
	unsigned char *p = mmap(NULL, 7 * page_size, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	r->base = p;
	r->data = p + page_size;
	r->ro = p + 4 * page_size;
	r->unmapped = p + 6 * page_size;
	if (mprotect(r->data, 2 * page_size, PROT_READ | PROT_WRITE) ||
	    mprotect(r->ro, page_size, PROT_READ | PROT_WRITE))
		return -1;
	/* A valid input for every command (zero engine, flags, tail). */
	*(uint32_t *)r->ro = FASTFORK_STATS_SIZE_VER1;
	if (mprotect(r->ro, page_size, PROT_READ))
		return -1;
	/* Nothing is mapped at r->unmapped any more. */
	if (munmap(r->unmapped, page_size))
		return -1;
	return 0;
}

static uint32_t random_cmd(uint64_t *s, int *magic_ok, int *nr)
{
	unsigned int dir = rnd_below(s, 4);
	unsigned int size = rnd_below(s, 1U << _IOC_SIZEBITS);
	unsigned int type;

	*nr = rnd_below(s, 4) ? (int)rnd_below(s, 3)
			      : (int)rnd_below(s, 1U << _IOC_NRBITS);
	switch (rnd_below(s, 8)) {
	case 0: /* exact published commands */
		*magic_ok = 1;
		*nr = (int)rnd_below(s, 3);
		return *nr == 0	  ? FASTFORK_IOC_VERSION
		       : *nr == 1 ? FASTFORK_IOC_ARM
				  : FASTFORK_IOC_STATS;
	case 1:
	case 2: /* wrong magic */
		/*
		 * Skip the types of the commands that do_vfs_ioctl() handles
		 * for every file before the driver sees them (FIOCLEX,
		 * FIBMAP, FICLONE, FS_IOC_*, FIFREEZE, ...): their answers
		 * are not the module's.
		 */
		do
			type = rnd_below(s, 0xFF);
		while (type == 0x00 || type == 'T' || type == 0x94 ||
		       type == 'f' || type == 'X' || type == 0x15);
		*magic_ok = 0;
		return _IOC(dir, type, *nr, size);
	default:
		*magic_ok = 1;
		return _IOC(dir, FASTFORK_IOC_MAGIC, *nr, size);
	}
}

/*
 * Fill the data pages with a struct for command @nr and pick a size
 * field.  Returns the errno the module must answer with given a readable
 * and writable buffer (ENOMEM aside).
 */
static int fill_valid(uint64_t *s, unsigned char *buf, int nr, uint32_t *usize)
{
	size_t v1 = ver1_size[nr], ks = mod_size[nr];
	uint32_t size;
	int tail_dirty = 0;

	memset(buf, 0, 2 * page_size);
	switch (rnd_below(s, 9)) {
	case 0:
		size = 0;
		break;
	case 1:
		size = rnd_below(s, (unsigned int)v1);
		break;
	case 2:
		size = (uint32_t)v1;
		break;
	case 3:
	case 4:
		size = (uint32_t)(ks + 1 + rnd_below(s, page_size - ks));
		break;
	case 5:
		size = (uint32_t)(ks + 1 + rnd_below(s, page_size - ks));
		buf[ks + rnd_below(s, size - ks)] = 1 + rnd_below(s, 255);
		tail_dirty = 1;
		break;
	case 6:
		size = (uint32_t)page_size;
		break;
	case 7:
		size = (uint32_t)(page_size + 1 + rnd_below(s, page_size - 1));
		break;
	default:
		size = rnd_below(s, 2) ? 0xFFFFFFFFU : (uint32_t)rnd_next(s);
		break;
	}
	memcpy(buf, &size, sizeof(size));
	*usize = size;

	if (nr == 1) {
		struct fastfork_arm *a = (struct fastfork_arm *)buf;

		a->engine = rnd_below(s, 3) ? rnd_below(s, 2)
					    : (uint32_t)rnd_next(s);
		a->flags = rnd_below(s, 3) ? 0 : 1ULL << rnd_below(s, 64);
	} else if (rnd_below(s, 4) == 0) {
		/* Output fields on input: ignored by the module. */
		memset(buf + 4, 0xAA, ks - 4);
	}

	if (size < v1)
		return EINVAL;
	if (size > page_size)
		return E2BIG;
	if (tail_dirty)
		return E2BIG;
	if (nr == 1) {
		const struct fastfork_arm *a = (const struct fastfork_arm *)buf;

		if ((a->engine != FASTFORK_ENGINE_LAZY &&
		     a->engine != FASTFORK_ENGINE_EAGER) ||
		    a->flags)
			return EINVAL;
	}
	return 0;
}

/* The module may fill min(size, its size) bytes and must say so. */
static int check_output(const unsigned char *buf, int nr, uint32_t usize)
{
	uint32_t filled;

	memcpy(&filled, buf, sizeof(filled));
	if (nr == 1)
		return 1;
	if (filled != (usize < mod_size[nr] ? usize : mod_size[nr]))
		return 0;
	if (nr == 0) {
		const struct fastfork_version *v =
			(const struct fastfork_version *)buf;

		return v->abi_version == FASTFORK_ABI_VERSION &&
		       (v->features & FASTFORK_FEAT_ARM) &&
		       memchr(v->module_version, 0,
			      sizeof(v->module_version)) != NULL;
	}
	return ((const struct fastfork_stats *)buf)->reserved == 0;
}

static void one_call(uint64_t *s, struct region *r, long id)
{
	int magic_ok, nr, expect, got, idx, check_out = 0;
	uint32_t cmd = random_cmd(s, &magic_ok, &nr), usize = 0;
	unsigned char *arg;
	long ret;

	switch (rnd_below(s, 12)) {
	case 0:
		arg = NULL;
		expect = EFAULT;
		break;
	case 1:
		arg = r->unmapped;
		expect = EFAULT;
		break;
	case 2: {
		static const uintptr_t bad[] = {
			0xffff888000000000ULL, /* direct map */
			0xffffffff81000000ULL, /* kernel text */
			0xfffffffffffff000ULL, 0x8000000000000000ULL,
			0x0000800000000000ULL, /* first non-canonical */
			0x00007ffffffff000ULL, 0x10,
		};
		arg = (unsigned char *)bad[rnd_below(s, 7)];
		expect = EFAULT;
		break;
	}
	case 3: {
		/*
		 * The size field is readable, the struct runs into the
		 * guard page after the data pages: 4 to VER1-1 bytes of it
		 * are readable.
		 */
		size_t v1 = nr < 3 ? ver1_size[nr] : 16;
		size_t readable = 4 + rnd_below(s, (unsigned int)(v1 - 4));
		uint32_t size;

		arg = r->data + 2 * page_size - readable;
		expect = fill_valid(s, r->data, nr < 3 ? nr : 0, &size);
		memcpy(arg, &size, sizeof(size));
		if (size >= ver1_size[nr < 3 ? nr : 0] && size <= page_size)
			expect = EFAULT;
		else
			expect = size < ver1_size[nr < 3 ? nr : 0] ? EINVAL
								   : E2BIG;
		break;
	}
	case 4: {
		/* Read-only memory: input valid, output unwritable. */
		arg = r->ro;
		expect = nr == 1 ? 0 : EFAULT;
		break;
	}
	default:
		arg = r->data;
		expect = fill_valid(s, r->data, nr < 3 ? nr : 1, &usize);
		check_out = (expect == 0);
		break;
	}
	if (!magic_ok || nr >= 3)
		expect = ENOTTY;

	ret = ioctl(dev_fd, cmd, arg);
	got = ret == 0 ? 0 : errno;
	if (ret != 0 && ret != -1)
		got = -1000 - (int)ret;
	atomic_fetch_add(&total_calls, 1);
	idx = errno_index(got);
	if (idx < 0 || ret > 0) {
		atomic_fetch_add(&undocumented, 1);
		fprintf(stderr,
			"thread %ld: ioctl(cmd=%#x, arg=%p) returned %ld errno "
			"%d (%s): not a documented result\n",
			id, cmd, (void *)arg, ret, got, strerror(got));
		return;
	}
	atomic_fetch_add(&hist[idx], 1);
	if (got == ENOMEM)
		return;
	if (got != expect ||
	    (got == 0 && check_out && !check_output(arg, nr, usize))) {
		if (atomic_fetch_add(&mismatches, 1) < 20)
			fprintf(stderr,
				"thread %ld: ioctl(cmd=%#x nr=%d, arg=%p, "
				"size=%u) gave %s, expected %s%s\n",
				id, cmd, nr, (void *)arg, usize,
				errno_names[idx],
				errno_names[errno_index(expect)],
				got == expect ? " (bad output)" : "");
	}
}

struct worker {
	pthread_t thread;
	long id;
	uint64_t seed;
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	uint64_t s = w->seed;
	struct region r;
	long i;

	if (region_init(&r)) {
		perror("region");
		exit(2);
	}
	for (i = 0; i < max_iterations && time(NULL) < deadline; i++) {
		one_call(&s, &r, w->id);
		if (rnd_below(&s, 256) == 0) {
			/* Settle whatever state this thread is in. */
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			atomic_fetch_add(&forks, 1);
		}
	}
	munmap(r.base, 7 * page_size);
	/* The thread exits, armed or not: the exit must clear it. */
	return NULL;
}

static int denied(void)
{
	static const int modes[] = {O_RDONLY, O_WRONLY, O_RDWR};
	int fail = 0;
	size_t i;

	for (i = 0; i < 3; i++) {
		int fd = open(FASTFORK_DEVICE_PATH, modes[i] | O_CLOEXEC);

		if (fd >= 0 || errno != EACCES) {
			fprintf(stderr,
				"uid %d: open(%s, mode %d) = %d (%s), "
				"expected EACCES\n",
				(int)getuid(), FASTFORK_DEVICE_PATH, modes[i],
				fd, fd >= 0 ? "opened" : strerror(errno));
			fail = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	if (!fail)
		printf("uid %d: open in every mode fails with EACCES\n",
		       (int)getuid());
	return fail;
}

int main(int argc, char **argv)
{
	uint64_t seed = 0;
	long nthreads = 4, seconds = 3, i;
	struct fastfork_stats before, after;
	struct worker *w;
	struct timespec ts;
	int opt, failed = 0;

	if (argc > 1 && !strcmp(argv[1], "denied"))
		return denied();
	while ((opt = getopt(argc, argv, "s:t:d:n:")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			nthreads = atol(optarg);
			break;
		case 'd':
			seconds = atol(optarg);
			break;
		case 'n':
			max_iterations = atol(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: ff-fuzz [-s SEED] [-t THREADS] "
				"[-d SECONDS] [-n ITERATIONS] | denied\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 256 || seconds < 1) {
		fprintf(stderr, "bad -t or -d\n");
		return 2;
	}
	if (!seed) {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
		       (uint64_t)getpid();
	}
	printf("ff-fuzz: seed %#llx, %ld threads, %ld s, at most %ld "
	       "iterations per thread, uid %d\n",
	       (unsigned long long)seed, nthreads, seconds, max_iterations,
	       (int)getuid());
	fflush(stdout);
	page_size = sysconf(_SC_PAGESIZE);
	dev_fd = ff_open();
	/* The main thread only reads statistics: it is never armed. */
	ff_stats(dev_fd, &before);
	deadline = time(NULL) + seconds;
	w = calloc(nthreads, sizeof(*w));
	if (!w)
		return 2;
	for (i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].seed = seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			perror("pthread_create");
			return 2;
		}
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);

	printf("ff-fuzz: %ld calls, %ld forks:", atomic_load(&total_calls),
	       atomic_load(&forks));
	for (i = 0; i < NR_ERRNOS; i++)
		printf(" %s %ld", errno_names[i], atomic_load(&hist[i]));
	printf("\n");
	if (atomic_load(&undocumented)) {
		printf("FAIL: %ld undocumented results\n",
		       atomic_load(&undocumented));
		failed = 1;
	}
	if (atomic_load(&mismatches)) {
		printf("FAIL: %ld results differ from the documented answer\n",
		       atomic_load(&mismatches));
		failed = 1;
	}

	/*
	 * pthread_join() returns when the kernel clears the thread id
	 * (exit_mm), which is before sched_process_exit removes the record:
	 * wait a little for the gauge.
	 */
	for (i = 0; i < 500; i++) {
		ff_stats(dev_fd, &after);
		if (after.armed_threads == before.armed_threads)
			break;
		usleep(10000);
	}
	printf("ff-fuzz: arms %llu, forks_served %llu, armed_threads %llu "
	       "(before %llu)\n",
	       (unsigned long long)(after.arms - before.arms),
	       (unsigned long long)(after.forks_served - before.forks_served),
	       (unsigned long long)after.armed_threads,
	       (unsigned long long)before.armed_threads);
	if (after.armed_threads != before.armed_threads) {
		printf("FAIL: armed_threads did not return to %llu\n",
		       (unsigned long long)before.armed_threads);
		failed = 1;
	}
	if (after.arms == before.arms) {
		printf("FAIL: no successful arm in the whole run\n");
		failed = 1;
	}
	printf("ff-fuzz: %s (seed %#llx)\n", failed ? "FAIL" : "PASS",
	       (unsigned long long)seed);
	return failed;
}
