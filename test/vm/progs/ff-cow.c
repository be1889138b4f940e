// SPDX-License-Identifier: GPL-2.0
/*
 * ff-cow: fork isolation of anonymous memory, scenario by scenario, for the
 * detached page-table engine of fastfork.ko.  With --engine stock nothing
 * is armed and every check must pass on the kernel's own fork too.
 *
 * Each scenario maps a region, fills every 4 KiB page with words derived
 * from (page, generation, region tag), arms the next fork through
 * FASTFORK_IOC_ARM right before fork() and then lets parent and child (and
 * grandchildren) touch, change and check the region in a fixed order
 * (pipes).  Every process keeps a model of what each page must hold; a
 * check reads four words of every page (word 0, 1, one that depends on the
 * page, 511) and all 512 words of every 61st page.  Every fork also checks
 * that the forking process's RSS right after fork() equals its RSS right
 * before (64 KiB slack): RssAnon both ways, VmRSS must not drop.
 *
 *   ff-cow [options] --scenario NAME[,NAME...]|all
 *   ff-cow --list        the scenario names, one per line
 *   ff-cow --help        the options and what each scenario does
 *
 * Options:
 *   --engine lazy|eager|stock  arm each fork for that engine (stock: do not
 *                              arm); default lazy
 *   --size N[K|M|G]            region size (default 8M, rounded up to 4K)
 *   --thp on|off|mixed         MADV_HUGEPAGE, MADV_NOHUGEPAGE, or both
 *                              alternating by 2 MiB chunk (default off)
 *   --threads N                threads that write and check at once
 *   --offset N[K|M]            start the region N bytes past a 2 MiB
 *                              boundary (default 0)
 *   --density PCT              populate only PCT% of the 2 MiB chunks
 *                              (default 100)
 *   --variant NAME             run only that variant of each scenario
 *   --timeout SEC              fail a variant not done after SEC s (600)
 *   -v                         one line per check
 *
 * Output: "ok <scenario>/<variant>" or "not ok ..." per variant; failed
 * checks as "FAIL <scenario>/<variant> <who> <when>: page P (addr) word W:
 * expected X (decoded) got Y (decoded)"; "# N/A <scenario>: <reason>" for a
 * scenario this kernel cannot run; finally "# armed forks: N" (forks armed
 * through the module by this run, descendants included).
 * Exit status 0: every check passed; 1: a check failed; 2: usage or setup
 * error (no device, ...).  Never 77: nothing is skipped silently.
 */
#include <limits.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "ff-common.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE	    4096UL
#define PMD	    (2UL << 20)
#define NWORDS	    (PAGE / 8)
#define MAX_THREADS 16
#define MAX_REPORT  8	      /* mismatches printed per check */
#define GROW_PAGES  (512 + 3) /* mremap grow: one table and a bit */

/* Model: generation of each page (0..199), or one of these. */
#define G_FILE 200  /* the tmpfs file's own content */
#define G_GONE 0xfe /* not mapped: any access faults */
#define G_ZERO 0xff /* reads as zeros */
/* Model: per-page flags. */
#define F_RO	0x01 /* read-only: writes fault */
#define F_DEFER 0x02 /* left untouched until the op's final step */
#define F_ANY	0x04 /* expected content or zeros (MADV_FREE) */

/* Generations written after the fork. */
#define GEN_PARENT     1
#define GEN_CHILD      2
#define GEN_GRANDCHILD 3
#define GEN_PVM	       5  /* process_vm_writev */
#define GEN_UFFD       7  /* UFFDIO_COPY */
#define GEN_FINAL      10 /* + GEN_PARENT or GEN_CHILD: op's final step */
#define GEN_STORM      20 /* + fork number */

#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uintptr_t)(a)-1))
#define MIN(a, b)      ((a) < (b) ? (a) : (b))
#define MAX(a, b)      ((a) > (b) ? (a) : (b))

enum { E_LAZY, E_EAGER, E_STOCK };
enum { THP_OFF, THP_ON, THP_MIXED };
enum { R_ANON, R_BRK, R_SHARED, R_FILE };

/* Options. */
static int engine = E_LAZY;
static size_t opt_pages = (8UL << 20) / PAGE;
static int opt_thp = THP_OFF;
static int opt_threads = 1;
static size_t opt_offset;
static int opt_density = 100;
static const char *opt_variant;
static int verbose;

static int dev_fd = -1;
static atomic_long *armed_forks; /* shared by every descendant */
static pid_t top_pid;
static char ctx[96]; /* "<scenario>/<variant>" */
static const char *who = "parent";
static atomic_long fails; /* failed checks in this process */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int region_tag;
static unsigned int opt_timeout = 600; /* per variant, seconds */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* One failed check: "FAIL <scenario>/<variant> <who>: <what>". */
static void fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	atomic_fetch_add(&fails, 1);
	say("FAIL %s %s: %s\n", ctx, who, buf);
}

/* A setup step failed: the scenario cannot go on in this process. */
static void __attribute__((noreturn)) die(const char *what)
{
	fail("%s: %s", what, strerror(errno));
	fflush(NULL);
	if (getpid() == top_pid)
		exit(1);
	_exit(1);
}

/* ------------------------------------------------------------------ */
/* Page contents */

static inline uint64_t pat(unsigned int gen, size_t key, unsigned int w)
{
	return (uint64_t)(gen + 1) << 56 | (uint64_t)(region_tag & 0xff) << 48 |
	       (uint64_t)(key & 0xffffffffULL) << 16 | w;
}

static void describe(uint64_t v, char *buf, size_t len)
{
	unsigned int gen = (unsigned int)(v >> 56) - 1;

	if (!v)
		snprintf(buf, len, "0 (zero)");
	else if ((v & 0xffff) < NWORDS && v >> 56)
		snprintf(buf, len,
			 "%#018llx (%s%u, tag %u, page %llu, word %u)",
			 (unsigned long long)v,
			 gen == G_FILE ? "file content, gen " : "gen ", gen,
			 (unsigned int)(v >> 48) & 0xff,
			 (unsigned long long)(v >> 16) & 0xffffffffULL,
			 (unsigned int)(v & 0xffff));
	else
		snprintf(buf, len, "%#018llx (not a pattern word)",
			 (unsigned long long)v);
}

/* ------------------------------------------------------------------ */
/* Regions and their models */

struct seg {
	size_t first, count; /* pages [first, first + count) */
	char *addr;	     /* address of page first */
};

struct mapping {
	char *addr;
	size_t len;
};

struct region {
	int kind;
	size_t n, cap; /* pages in the model; array capacity */
	struct seg seg[4];
	int nseg;
	uint8_t *gen, *flags;
	uint8_t *pm;		/* pre-fork pagemap: 1 present, 2 swapped */
	unsigned int dup;	/* KSM: the key of page i is i % dup */
	struct mapping map[16]; /* released at teardown */
	int nmap;
	struct mapping gone[8]; /* address ranges that must fault */
	int ngone;
	char *brk_start, *brk_end;
	int fd;	     /* R_FILE */
	size_t a, b; /* the "part" range of the ops */
};

static inline size_t key_of(const struct region *r, size_t i)
{
	return r->dup ? i % r->dup : i;
}

static inline int page_full(const struct region *r, size_t i)
{
	return r->dup || i % 61 == 0;
}

static inline unsigned int mid_word(size_t key)
{
	return 2 + key % 509;
}

static char *page_addr(const struct region *r, size_t i)
{
	int s;

	for (s = 0; s < r->nseg; s++)
		if (i >= r->seg[s].first &&
		    i < r->seg[s].first + r->seg[s].count)
			return r->seg[s].addr + (i - r->seg[s].first) * PAGE;
	return NULL;
}

static void write_page(const struct region *r, size_t i, char *p,
		       unsigned int gen)
{
	uint64_t *w = (uint64_t *)p;
	size_t key = key_of(r, i);
	unsigned int k;

	if (page_full(r, i)) {
		for (k = 0; k < NWORDS; k++)
			w[k] = pat(gen, key, k);
		return;
	}
	w[0] = pat(gen, key, 0);
	w[1] = pat(gen, key, 1);
	w[mid_word(key)] = pat(gen, key, mid_word(key));
	w[NWORDS - 1] = pat(gen, key, NWORDS - 1);
}

static int is_hole(size_t i)
{
	size_t c = i / 512;

	if (opt_density < 100 &&
	    ((c * 2654435761UL) >> 8) % 100 >= (size_t)opt_density)
		return 1;
	return i % 97 == 2;
}

static void *xmmap_array(size_t len)
{
	void *p = mmap(NULL, ALIGN_UP(len, PAGE), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap (model)");
	return p;
}

static void add_map(struct region *r, char *addr, size_t len)
{
	if (r->nmap == (int)(sizeof(r->map) / sizeof(r->map[0]))) {
		errno = ENOSPC;
		die("too many mappings");
	}
	r->map[r->nmap].addr = addr;
	r->map[r->nmap++].len = len;
}

/* Reserve len bytes plus slack, PROT_NONE; return a 2 MiB boundary in it
 * plus --offset, leaving guard space before and after.
 */
static char *reserve(struct region *r, size_t len)
{
	size_t rlen = len + opt_offset + 6 * PMD;
	char *res = mmap(NULL, rlen, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (res == MAP_FAILED)
		die("mmap (reservation)");
	add_map(r, res, rlen);
	return (char *)ALIGN_UP((uintptr_t)res + PAGE, PMD) + opt_offset;
}

static void apply_thp(char *start, size_t len)
{
	uintptr_t a = (uintptr_t)start, end = a + len, next;

	if (opt_thp != THP_MIXED) {
		if (madvise(start, len,
			    opt_thp == THP_ON ? MADV_HUGEPAGE
					      : MADV_NOHUGEPAGE))
			die("madvise (THP)");
		return;
	}
	for (; a < end; a = next) {
		next = MIN(ALIGN_UP(a + 1, PMD), end);
		if (madvise((void *)a, next - a,
			    (a / PMD) % 2 ? MADV_NOHUGEPAGE : MADV_HUGEPAGE))
			die("madvise (THP mixed)");
	}
}

static void fill_all(struct region *r);

/* Map, fill with generation 0 (holes stay zero), set the part range. */
static void region_setup(struct region *r, int kind, unsigned int dup)
{
	size_t len = opt_pages * PAGE, first_b;
	char *start;

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->dup = dup;
	r->fd = -1;
	r->n = opt_pages;
	r->cap = opt_pages + GROW_PAGES;
	r->gen = xmmap_array(r->cap);
	r->flags = xmmap_array(r->cap);
	r->pm = xmmap_array(r->cap);
	region_tag = (region_tag + 1) & 0xff;

	switch (kind) {
	case R_ANON:
	case R_SHARED:
		/* 1 GiB and more: no commit charge, or a 2 GiB region would
		 * not fit the heuristic overcommit of a 2 GiB guest.
		 */
		start = reserve(r, len);
		if (mmap(start, len, PROT_READ | PROT_WRITE,
			 MAP_FIXED |
				 (kind == R_SHARED ? MAP_SHARED : MAP_PRIVATE) |
				 (len >= (1UL << 30) ? MAP_NORESERVE : 0) |
				 MAP_ANONYMOUS,
			 -1, 0) == MAP_FAILED)
			die("mmap (region)");
		break;
	case R_BRK: {
		char *cur = sbrk(0);
		size_t pad = ALIGN_UP((uintptr_t)cur, PMD) + opt_offset -
			     (uintptr_t)cur;

		if (sbrk(pad + len) == (void *)-1)
			die("sbrk");
		r->brk_start = cur;
		start = cur + pad;
		r->brk_end = start + len;
		break;
	}
	case R_FILE: {
		char path[64], *buf = xmmap_array(PMD);
		size_t i, off;

		snprintf(path, sizeof(path), "/dev/shm/ff-cow.%d.%u",
			 (int)getpid(), region_tag);
		r->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (r->fd < 0)
			die("open /dev/shm file");
		unlink(path);
		for (off = 0; off < len; off += PMD) {
			size_t chunk = MIN(PMD, len - off);

			for (i = 0; i < chunk / PAGE; i++) {
				size_t pg = off / PAGE + i;
				unsigned int k;

				for (k = 0; k < NWORDS; k++)
					((uint64_t *)(buf + i * PAGE))[k] =
						pat(G_FILE, pg, k);
			}
			if (pwrite(r->fd, buf, chunk, off) != (ssize_t)chunk)
				die("write /dev/shm file");
		}
		munmap(buf, PMD);
		start = reserve(r, len);
		if (mmap(start, len, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE, r->fd, 0) == MAP_FAILED)
			die("mmap (file)");
		break;
	}
	default:
		abort();
	}
	r->nseg = 1;
	r->seg[0].first = 0;
	r->seg[0].count = r->n;
	r->seg[0].addr = start;
	apply_thp(start, len);

	/* Part: from 3 pages before the first 2 MiB boundary inside the
	 * region through 4 tables and 5 pages past it, when there is room.
	 */
	first_b =
		(ALIGN_UP((uintptr_t)start + 1, PMD) - (uintptr_t)start) / PAGE;
	if (r->n >= first_b + 8) {
		r->a = first_b >= 3 ? first_b - 3 : first_b;
		r->b = MIN(r->n, first_b + 4 * 512 + 5);
	} else {
		r->a = r->n / 4;
		r->b = r->a + MAX((size_t)1, r->n / 2);
	}
	fill_all(r);
}

static void region_teardown(struct region *r)
{
	int k;

	if (r->kind == R_FILE) {
		/* Private writes must never reach the file. */
		uint64_t w[2];
		size_t i;

		for (i = 0; i < r->n; i += 1 + r->n / 64) {
			if (pread(r->fd, w, sizeof(w), i * PAGE) != sizeof(w))
				die("read back the /dev/shm file");
			if (w[0] != pat(G_FILE, i, 0) ||
			    w[1] != pat(G_FILE, i, 1)) {
				char e[96], g[96];

				describe(pat(G_FILE, i, 0), e, sizeof(e));
				describe(w[0], g, sizeof(g));
				fail("tmpfs file page %zu changed by a private "
				     "write: expected %s got %s",
				     i, e, g);
			}
		}
		close(r->fd);
	}
	if (r->kind == R_BRK) {
		if (sbrk(0) == r->brk_end) {
			if (brk(r->brk_start))
				die("brk (release)");
		} else {
			/* Someone else grew the heap: just drop the pages. */
			madvise(r->seg[0].addr, r->brk_end - r->seg[0].addr,
				MADV_DONTNEED);
		}
	}
	for (k = 0; k < r->nseg; k++)
		if (r->kind != R_BRK)
			munmap(r->seg[k].addr, r->seg[k].count * PAGE);
	for (k = 0; k < r->nmap; k++)
		munmap(r->map[k].addr, r->map[k].len);
	munmap(r->gen, ALIGN_UP(r->cap, PAGE));
	munmap(r->flags, ALIGN_UP(r->cap, PAGE));
	munmap(r->pm, ALIGN_UP(r->cap, PAGE));
}

/* ------------------------------------------------------------------ */
/* Fault probes (main thread only) */

static __thread sigjmp_buf probe_env;
static __thread volatile sig_atomic_t probing;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	int len;

	(void)uc;
	if (probing)
		siglongjmp(probe_env, 1);
	len = snprintf(msg, sizeof(msg),
		       "FAIL %s %s: unexpected signal %d at address %p\n", ctx,
		       who, sig, si->si_addr);
	if (write(STDOUT_FILENO, msg, len) < 0)
		_exit(1);
	signal(sig, SIG_DFL);
}

static void on_alarm(int sig)
{
	char msg[160];
	int len;

	(void)sig;
	len = snprintf(msg, sizeof(msg),
		       "FAIL %s: not done after %u s (hung?)\n", ctx,
		       opt_timeout);
	if (write(STDOUT_FILENO, msg, len) < 0)
		_exit(1);
	_exit(1);
}

/* 1 when the access faulted. */
static int probe(char *addr, int write, uint64_t val)
{
	probing = 1;
	if (sigsetjmp(probe_env, 1)) {
		probing = 0;
		return 1;
	}
	if (write)
		*(volatile uint64_t *)addr = val;
	else
		(void)*(volatile uint64_t *)addr;
	probing = 0;
	return 0;
}

static inline int probe_sample(size_t i, size_t lo, size_t hi)
{
	return i == lo || i == hi - 1 || (i - lo) % 127 == 0;
}

/* ------------------------------------------------------------------ */
/* Parallel writes and checks */

enum { J_CHECK, J_WRITE };

struct job {
	struct region *r;
	int what;
	const char *when;	   /* J_CHECK: for the messages */
	const uint8_t *gen;	   /* J_CHECK: the model (default r->gen) */
	unsigned int wgen;	   /* J_WRITE: generation to write */
	size_t lo, hi;		   /* pages [lo, hi) */
	size_t stride, res, width; /* pages with (i - res) mod stride < width */
	char *base; /* J_CHECK: pages at base + (i - lo) * PAGE */
	atomic_long bad;
	atomic_int shown;
};

struct worker {
	struct job *j;
	int t, nt;
	pthread_t tid;
};

static inline int selected(const struct job *j, size_t i)
{
	return (i + j->stride - j->res % j->stride) % j->stride < j->width;
}

static void mismatch(struct job *j, size_t i, const char *p, unsigned int k,
		     uint64_t want, uint64_t got)
{
	char e[96], g[96];

	atomic_fetch_add(&j->bad, 1);
	if (atomic_fetch_add(&j->shown, 1) >= MAX_REPORT)
		return;
	describe(want, e, sizeof(e));
	describe(got, g, sizeof(g));
	fail("%s: page %zu (%p, table %#lx) word %u: expected %s got %s",
	     j->when, i, (void *)p, (unsigned long)((uintptr_t)p & ~(PMD - 1)),
	     k, e, g);
}

static void check_page(struct job *j, size_t i, const char *p)
{
	const struct region *r = j->r;
	unsigned int g = j->gen[i], f = r->flags[i], k;
	const uint64_t *w = (const uint64_t *)p;
	size_t key = key_of(r, i);
	unsigned int words[4] = {0, 1, mid_word(key), NWORDS - 1};
	int full = page_full(r, i);
	unsigned int nw = full ? NWORDS : 4;

	if (g == G_GONE || (f & F_DEFER))
		return;
	for (k = 0; k < nw; k++) {
		unsigned int wi = full ? k : words[k];
		uint64_t want = g == G_ZERO ? 0 : pat(g, key, wi);

		if (w[wi] == want)
			continue;
		if (f & F_ANY) {
			/* MADV_FREE: the old content or a zero page. */
			unsigned int z;

			for (z = 0; z < nw && !w[full ? z : words[z]]; z++)
				;
			if (z == nw)
				return;
		}
		mismatch(j, i, p, wi, want, w[wi]);
		return;
	}
}

static void *work(void *arg)
{
	struct worker *wk = arg;
	struct job *j = wk->j;
	struct region *r = j->r;
	size_t T = wk->nt, t = wk->t, i, lo, hi;
	int s;

	if (j->base) {
		for (i = j->lo + t; i < j->hi; i += T)
			if (selected(j, i))
				check_page(j, i, j->base + (i - j->lo) * PAGE);
		return NULL;
	}
	for (s = 0; s < r->nseg; s++) {
		const struct seg *sg = &r->seg[s];

		lo = MAX(j->lo, sg->first);
		hi = MIN(j->hi, sg->first + sg->count);
		if (lo >= hi)
			continue;
		for (i = lo + (t + T - lo % T) % T; i < hi; i += T) {
			char *p = sg->addr + (i - sg->first) * PAGE;

			if (!selected(j, i))
				continue;
			if (j->what == J_CHECK) {
				check_page(j, i, p);
				continue;
			}
			if (r->gen[i] == G_GONE ||
			    (r->flags[i] & (F_RO | F_DEFER)))
				continue;
			write_page(r, i, p, j->wgen);
			r->gen[i] = j->wgen;
			r->flags[i] &= ~F_ANY;
		}
	}
	return NULL;
}

static void run_job(struct job *j)
{
	struct worker wk[MAX_THREADS];
	int t, nt = opt_threads;

	if (!j->gen)
		j->gen = j->r->gen;
	if (!j->stride) {
		j->stride = 1;
		j->width = 1;
	}
	for (t = 0; t < nt; t++) {
		wk[t].j = j;
		wk[t].t = t;
		wk[t].nt = nt;
	}
	for (t = 1; t < nt; t++) {
		errno = pthread_create(&wk[t].tid, NULL, work, &wk[t]);
		if (errno)
			die("pthread_create");
	}
	work(&wk[0]);
	for (t = 1; t < nt; t++)
		pthread_join(wk[t].tid, NULL);
}

/* 1: must fault on read (unmapped), 2: must fault on write, 0: neither. */
static inline int fault_kind(const struct region *r, size_t i)
{
	if (r->gen[i] == G_GONE)
		return 1;
	return (r->flags[i] & (F_RO | F_DEFER)) == F_RO ? 2 : 0;
}

/* Probe what must fault: unmapped pages, read-only pages, gone ranges. */
static void check_faults(struct region *r, const char *when)
{
	size_t i, j, end;
	int k, kind;

	for (i = 0; i < r->n; i = end) {
		kind = fault_kind(r, i);
		for (end = i + 1; end < r->n && fault_kind(r, end) == kind;
		     end++)
			;
		if (!kind)
			continue;
		for (j = i; j < end; j++) {
			char *p = page_addr(r, j);
			unsigned int g = r->gen[j];
			uint64_t v = g >= G_GONE ? 0 : pat(g, key_of(r, j), 0);

			if (!probe_sample(j, i, end))
				continue;
			if (kind == 1 && !probe(p, 0, 0))
				fail("%s: page %zu (%p) is readable but must "
				     "be unmapped",
				     when, j, (void *)p);
			else if (kind == 2 && !probe(p, 1, v))
				fail("%s: page %zu (%p) is writable but must "
				     "be read-only",
				     when, j, (void *)p);
		}
	}
	for (k = 0; k < r->ngone; k++) {
		size_t np = r->gone[k].len / PAGE;

		for (i = 0; i < np; i++)
			if (probe_sample(i, 0, np) &&
			    !probe(r->gone[k].addr + i * PAGE, 0, 0))
				fail("%s: old address %p (range %d page %zu) "
				     "is still readable",
				     when, (void *)(r->gone[k].addr + i * PAGE),
				     k, i);
	}
}

/* The whole model of this process against its memory. */
static void check(struct region *r, const char *when)
{
	struct job j = {.r = r, .what = J_CHECK, .when = when, .hi = r->n};

	check_faults(r, when);
	run_job(&j);
	if (atomic_load(&j.bad) > MAX_REPORT)
		fail("%s: %ld pages differed (first %d shown)", when,
		     (long)atomic_load(&j.bad), MAX_REPORT);
	if (verbose)
		say("# %s %s: checked %zu pages %s: %ld bad\n", ctx, who, r->n,
		    when, (long)atomic_load(&j.bad));
}

/* Write generation gen into the write set of residue res. */
static size_t write_stride(void)
{
	return opt_pages <= 16384 ? 3 : 16;
}

static void write_set(struct region *r, unsigned int gen, size_t res)
{
	struct job j = {.r = r,
			.what = J_WRITE,
			.wgen = gen,
			.hi = r->n,
			.stride = write_stride(),
			.res = res,
			.width = 2};

	run_job(&j);
}

static void write_range(struct region *r, unsigned int gen, size_t lo,
			size_t hi)
{
	struct job j = {
		.r = r, .what = J_WRITE, .wgen = gen, .lo = lo, .hi = hi};

	run_job(&j);
}

/* Generation 0 everywhere but in holes (zero, or the file's content). */
static void fill_all(struct region *r)
{
	struct job j = {.r = r, .what = J_WRITE, .wgen = 0, .hi = r->n};
	size_t i;

	for (i = 0; i < r->n; i++) {
		r->gen[i] = r->kind == R_FILE ? G_FILE : G_ZERO;
		/* skip holes: GONE is skipped by the writer */
		if (is_hole(i))
			r->flags[i] = F_DEFER;
	}
	run_job(&j);
	for (i = 0; i < r->n; i++)
		r->flags[i] = 0;
}

/* ------------------------------------------------------------------ */
/* Process helpers */

struct rss {
	long vm, anon; /* VmRSS, RssAnon (kB) */
};

static long status_field(const char *buf, const char *name)
{
	const char *p = strstr(buf, name);

	if (!p) {
		errno = ENOENT;
		die(name);
	}
	return strtol(p + strlen(name), NULL, 10);
}

/*
 * 6.1 counts RSS per task and folds the task's share into the mm only
 * every 64 page faults (SPLIT_RSS_COUNTING): VmRSS can lag by up to 64
 * pages, and a fault in the fork path may fold them in.  Read faults on
 * untouched anonymous memory map the zero page and change no counter, so
 * 130 of them fold whatever was pending and leave nothing pending.
 */
#define RSS_SYNC_PAGES 130
static char *rss_scratch;

static void rss_sync(void)
{
	size_t i;

	if (!rss_scratch) {
		rss_scratch = mmap(NULL, RSS_SYNC_PAGES * PAGE, PROT_READ,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (rss_scratch == MAP_FAILED ||
		    madvise(rss_scratch, RSS_SYNC_PAGES * PAGE,
			    MADV_NOHUGEPAGE))
			die("mmap (RSS scratch)");
	}
	for (i = 0; i < RSS_SYNC_PAGES; i++)
		(void)*(volatile char *)(rss_scratch + i * PAGE);
	if (madvise(rss_scratch, RSS_SYNC_PAGES * PAGE, MADV_DONTNEED))
		die("madvise (RSS scratch)");
}

static struct rss rss_now(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t len;
	struct rss r;

	if (fd < 0)
		die("open /proc/self/status");
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		die("read /proc/self/status");
	buf[len] = 0;
	r.vm = status_field(buf, "\nVmRSS:");
	r.anon = status_field(buf, "\nRssAnon:");
	return r;
}

/* Arm (unless stock) and fork; check the forking process's VmRSS: its
 * anonymous part (RssAnon) must not change by more than 64 KiB, and VmRSS
 * must not drop by more.  VmRSS may grow: the fork path maps file pages
 * (shmem in the guest, whose root is a tmpfs) on first use in a process
 * that was itself forked.
 */
static pid_t xfork(int armed)
{
	struct rss before, after;
	pid_t pid;
	int err;

	fflush(NULL);
	rss_sync();
	before = rss_now();
	if (armed && engine != E_STOCK) {
		err = ff_arm(dev_fd, engine == E_EAGER ? FASTFORK_ENGINE_EAGER
						       : FASTFORK_ENGINE_LAZY);
		if (err) {
			errno = -err;
			die("FASTFORK_IOC_ARM");
		}
	}
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		atomic_store(&fails, 0);
		return 0;
	}
	rss_sync();
	after = rss_now();
	if (armed && engine != E_STOCK)
		atomic_fetch_add(armed_forks, 1);
	if (labs(after.anon - before.anon) > 64 || after.vm < before.vm - 64)
		fail("VmRSS %ld kB (RssAnon %ld kB) right after fork, %ld kB "
		     "(RssAnon %ld kB) right before: more than 64 kB apart",
		     after.vm, after.anon, before.vm, before.anon);
	return pid;
}

/* Wait for pid; it must have exited with 0. */
static void reap(pid_t pid, const char *name)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	if (WIFSIGNALED(st))
		fail("the %s (pid %d) was killed by signal %d", name, (int)pid,
		     WTERMSIG(st));
	else if (WEXITSTATUS(st))
		fail("the %s (pid %d) failed (exit status %d)", name, (int)pid,
		     WEXITSTATUS(st));
}

/* Reap every child (also orphans given to us as subreaper). */
static void reap_all(const char *name)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, 0)) > 0) {
		if (WIFSIGNALED(st))
			fail("the %s (pid %d) was killed by signal %d", name,
			     (int)pid, WTERMSIG(st));
		else if (WEXITSTATUS(st))
			fail("the %s (pid %d) failed (exit status %d)", name,
			     (int)pid, WEXITSTATUS(st));
	}
}

static void __attribute__((noreturn)) child_exit(void)
{
	fflush(NULL);
	if (getpid() == top_pid)
		exit(1); /* only after a failed await */
	_exit(atomic_load(&fails) ? 1 : 0);
}

/* Two pipes between a parent and a child. */
struct chan {
	int down[2], up[2]; /* parent -> child, child -> parent */
	int rd, wr;	    /* this side's ends after chan_side() */
};

static void chan_open(struct chan *c)
{
	if (pipe2(c->down, O_CLOEXEC) || pipe2(c->up, O_CLOEXEC))
		die("pipe2");
}

static void chan_side(struct chan *c, int child)
{
	if (child) {
		close(c->down[1]);
		close(c->up[0]);
		c->rd = c->down[0];
		c->wr = c->up[1];
	} else {
		close(c->down[0]);
		close(c->up[1]);
		c->rd = c->up[0];
		c->wr = c->down[1];
	}
}

static void chan_close(struct chan *c)
{
	close(c->rd);
	close(c->wr);
}

/* Opens @ch, forks (armed) and takes this process's side of @ch: the
 * child's pid in the parent, 0 in the child (named "child" in reports).
 */
static pid_t fork_paired(struct chan *ch)
{
	pid_t pid;

	chan_open(ch);
	pid = xfork(1);
	if (pid == 0)
		who = "child";
	chan_side(ch, pid == 0);
	return pid;
}

static void tell(struct chan *c)
{
	char b = 1;

	/* EPIPE: the other side is done already (its exit is checked). */
	if (write(c->wr, &b, 1) != 1 && errno != EPIPE)
		die("write (sync pipe)");
}

static void await(struct chan *c, const char *what)
{
	char b;
	ssize_t n;

	do
		n = read(c->rd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		fail("the other process went away while this one waited for %s",
		     what);
		child_exit();
	}
}

/* Wait until the other side closed the channel (exited). */
static void await_eof(struct chan *c)
{
	char b;

	while (read(c->rd, &b, 1) > 0 || errno == EINTR)
		;
}

/* Pre-fork pagemap of the region into r->pm (1 present, 2 swapped). */
static void pagemap_read(const struct region *r, uint64_t *out, size_t lo,
			 size_t hi)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t i = lo;

	if (fd < 0)
		die("open /proc/self/pagemap");
	while (i < hi) {
		char *p = page_addr(r, i);
		int s;
		size_t cnt = 0;

		for (s = 0; s < r->nseg; s++)
			if (i >= r->seg[s].first &&
			    i < r->seg[s].first + r->seg[s].count)
				cnt = r->seg[s].first + r->seg[s].count - i;
		cnt = MIN(cnt, hi - i);
		if (pread(fd, out + (i - lo), cnt * 8,
			  (uintptr_t)p / PAGE * 8) != (ssize_t)(cnt * 8))
			die("read /proc/self/pagemap");
		i += cnt;
	}
	close(fd);
}

static void pagemap_snapshot(struct region *r)
{
	size_t chunk = 65536, i, k;
	uint64_t *buf = xmmap_array(chunk * 8);

	for (i = 0; i < r->n; i += chunk) {
		size_t hi = MIN(r->n, i + chunk);

		pagemap_read(r, buf, i, hi);
		for (k = i; k < hi; k++)
			r->pm[k] = (buf[k - i] >> 63 & 1) |
				   (buf[k - i] >> 62 & 1) << 1;
	}
	munmap(buf, chunk * 8);
}

/* ------------------------------------------------------------------ */
/* Scenarios built from one operation */

struct op;
typedef int (*op_fn)(const struct op *op, struct region *r);

struct op {
	int kind;	   /* region kind */
	unsigned int dup;  /* KSM key period */
	int acts;	   /* variants: the actor before/after the other */
	int advice;	   /* madvise ops */
	int effect;	   /* madvise ops: what it does to the content */
	int whole;	   /* ops on the whole region, not the part */
	op_fn prefork;	   /* in the parent before the fork */
	op_fn child_fixup; /* in the child right after the fork */
	op_fn apply;	   /* the actor's first touch after the fork */
	op_fn final;	   /* the actor's last step */
};

enum { EFF_NONE, EFF_ZERO, EFF_ANY };

static void op_range(const struct op *op, const struct region *r, size_t *a,
		     size_t *b)
{
	*a = op->whole ? 0 : r->a;
	*b = op->whole ? r->n : r->b;
}

/* Old addresses must fault; keep them reserved so nothing lands there. */
static void retire(struct region *r, char *addr, size_t len, const char *why)
{
	size_t i, np = len / PAGE;
	char *p;

	for (i = 0; i < np; i++)
		if (probe_sample(i, 0, np) && !probe(addr + i * PAGE, 0, 0))
			fail("%s: old address %p still readable", why,
			     (void *)(addr + i * PAGE));
	p = mmap(addr, len, PROT_NONE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		 0);
	if (p == MAP_FAILED)
		die("mmap (placeholder)");
	add_map(r, addr, len);
	if (r->ngone < (int)(sizeof(r->gone) / sizeof(r->gone[0]))) {
		r->gone[r->ngone].addr = addr;
		r->gone[r->ngone++].len = len;
	}
}

static int op_munmap(const struct op *op, struct region *r)
{
	size_t a, b, mid, i;
	char *p;

	op_range(op, r, &a, &b);
	p = page_addr(r, a);
	if (munmap(p, (b - a) * PAGE))
		die("munmap");
	for (i = a; i < b; i++) {
		if (probe_sample(i, a, b) && !probe(page_addr(r, i), 0, 0))
			fail("page %zu (%p) still readable after munmap", i,
			     (void *)page_addr(r, i));
		r->gen[i] = G_GONE;
	}
	/* The first half comes back as fresh memory (must read zeros, no
	 * stale table), the second half stays unmapped.
	 */
	mid = a + (b - a) / 2;
	if (mid > a) {
		if (mmap(p, (mid - a) * PAGE, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0) == MAP_FAILED)
			die("mmap (over the unmapped range)");
		for (i = a; i < mid; i++)
			r->gen[i] = G_ZERO;
	}
	if (mmap(page_addr(r, mid), (b - mid) * PAGE, PROT_NONE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		 0) == MAP_FAILED)
		die("mmap (placeholder)");
	return 0;
}

static int op_mprotect(const struct op *op, struct region *r)
{
	size_t a, b, mid, i;

	op_range(op, r, &a, &b);
	if (mprotect(page_addr(r, a), (b - a) * PAGE, PROT_READ))
		die("mprotect PROT_READ");
	/* The second half is first touched in the final step, after the
	 * other process is gone when the actor is the parent.
	 */
	mid = a + (b - a + 1) / 2;
	for (i = a; i < b; i++)
		r->flags[i] |= F_RO | (i >= mid ? F_DEFER : 0);
	return 0;
}

static int op_mprotect_final(const struct op *op, struct region *r)
{
	size_t a, b, i;
	unsigned int gen = strcmp(who, "child") ? GEN_PARENT : GEN_CHILD;

	op_range(op, r, &a, &b);
	for (i = a; i < b; i++)
		r->flags[i] &= ~F_DEFER;
	check(r, "read-only range touched last");
	if (mprotect(page_addr(r, a), (b - a) * PAGE, PROT_READ | PROT_WRITE))
		die("mprotect back to PROT_READ|PROT_WRITE");
	for (i = a; i < b; i++)
		r->flags[i] &= ~F_RO;
	check(r, "after mprotect back to read-write");
	write_range(r, GEN_FINAL + gen, a, b);
	check(r, "after writing the range made writable again");
	return 0;
}

/* A reservation for mremap targets: 2 MiB boundary + shift. */
static char *mremap_target(struct region *r, size_t len, size_t shift)
{
	size_t rlen = len + 4 * PMD;
	char *res = mmap(NULL, rlen, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (res == MAP_FAILED)
		die("mmap (mremap target)");
	add_map(r, res, rlen);
	return (char *)ALIGN_UP((uintptr_t)res + PAGE, PMD) + shift;
}

/*
 * The VMAs covering [addr, addr + len), clipped to it, from
 * /proc/self/maps: mremap moves one VMA at a time, and --thp mixed (or an
 * mprotect) splits the region into many.
 */
struct piece {
	uintptr_t start, end;
};

static size_t vma_pieces(char *addr, size_t len, struct piece **out)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len, s, e;
	size_t n = 0, cap = 64;
	struct piece *p = malloc(cap * sizeof(*p));
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f || !p)
		die("read /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &s, &e) != 2 || e <= lo || s >= hi)
			continue;
		if (n == cap) {
			cap *= 2;
			p = realloc(p, cap * sizeof(*p));
			if (!p)
				die("realloc");
		}
		p[n].start = MAX(s, lo);
		p[n++].end = MIN(e, hi);
	}
	fclose(f);
	if (!n || p[0].start != lo || p[n - 1].end != hi) {
		errno = EFAULT;
		die("VMAs of the range to move");
	}
	*out = p;
	return n;
}

/* Move [old, old + len) to [to, to + len), VMA by VMA, keeping the layout. */
static void move_range(char *old, size_t len, char *to, const char *what)
{
	struct piece *p;
	size_t n = vma_pieces(old, len, &p), k;

	for (k = 0; k < n; k++) {
		char *dst = to + (p[k].start - (uintptr_t)old);
		size_t plen = p[k].end - p[k].start;

		if (mremap((void *)p[k].start, plen, plen,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst) != dst)
			die(what);
	}
	free(p);
}

static int op_mremap_move(const struct op *op, struct region *r)
{
	size_t len = r->n * PAGE;
	char *old = r->seg[0].addr;
	char *to = mremap_target(r, len, (uintptr_t)old % PMD);

	(void)op;
	move_range(old, len, to, "mremap (move)");
	r->seg[0].addr = to;
	retire(r, old, len, "mremap move");
	return 0;
}

/* The part moves to a place 4 KiB off its old 2 MiB alignment. */
static int op_mremap_part(const struct op *op, struct region *r)
{
	size_t a = r->a, b = r->b, len = (b - a) * PAGE;
	char *base = r->seg[0].addr, *old = base + a * PAGE;
	char *to = mremap_target(r, len, ((uintptr_t)old + PAGE) % PMD);

	(void)op;
	move_range(old, len, to, "mremap (move part)");
	r->nseg = 0;
	if (a) {
		r->seg[r->nseg].first = 0;
		r->seg[r->nseg].count = a;
		r->seg[r->nseg++].addr = base;
	}
	r->seg[r->nseg].first = a;
	r->seg[r->nseg].count = b - a;
	r->seg[r->nseg++].addr = to;
	if (b < r->n) {
		r->seg[r->nseg].first = b;
		r->seg[r->nseg].count = r->n - b;
		r->seg[r->nseg++].addr = base + b * PAGE;
	}
	retire(r, old, len, "mremap move of part");
	return 0;
}

/* Grow the region's last VMA by GROW_PAGES: the guard after the region
 * forces a move, unless the op wants it in place (.whole; then the guard
 * goes first).  With several VMAs only the last one moves.
 */
static int op_mremap_grow(const struct op *op, struct region *r)
{
	size_t len = r->n * PAGE, glen = GROW_PAGES * PAGE, i, first, plen;
	char *base = r->seg[0].addr, *last, *p;
	struct piece *pc;
	size_t np = vma_pieces(base, len, &pc);
	int inplace = op->whole;

	last = (char *)pc[np - 1].start;
	plen = pc[np - 1].end - pc[np - 1].start;
	free(pc);
	first = (last - base) / PAGE;
	if (inplace) {
		if (munmap(base + len, glen))
			die("munmap (guard after the region)");
		p = mremap(last, plen, plen + glen, 0);
		if (p == MAP_FAILED)
			die("mremap (grow in place)");
	} else {
		p = mremap(last, plen, plen + glen, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			die("mremap (grow)");
		if (p == last) {
			errno = EEXIST;
			die("mremap (grow) did not move past the guard");
		}
	}
	for (i = r->n; i < r->n + GROW_PAGES; i++) {
		r->gen[i] = G_ZERO;
		r->flags[i] = 0;
	}
	r->n += GROW_PAGES;
	if (p == last) {
		r->seg[0].count = r->n;
		add_map(r, base + len, glen);
		return 0;
	}
	/* [0, first) stays, [first, n) lives at p now. */
	r->nseg = 0;
	if (first) {
		r->seg[r->nseg].first = 0;
		r->seg[r->nseg].count = first;
		r->seg[r->nseg++].addr = base;
	}
	r->seg[r->nseg].first = first;
	r->seg[r->nseg].count = r->n - first;
	r->seg[r->nseg++].addr = p;
	retire(r, last, plen, "mremap grow");
	return 0;
}

/*
 * Say how many of pages [a, b) are in swap now ("# <ctx> <who>: WHAT: N of
 * M pages in swap after it"; engine-semantics.bats checks N with swap on).
 */
static void report_swapped(const struct region *r, size_t a, size_t b,
			   const char *what)
{
	size_t chunk = 65536, i, k, swapped = 0;
	uint64_t *buf = xmmap_array(chunk * 8);

	for (i = a; i < b; i += chunk) {
		size_t hi = MIN(b, i + chunk);

		pagemap_read(r, buf, i, hi);
		for (k = i; k < hi; k++)
			swapped += buf[k - i] >> 62 & 1;
	}
	munmap(buf, chunk * 8);
	say("# %s %s: %s: %zu of %zu pages in swap after it\n", ctx, who, what,
	    swapped, b - a);
}

static int op_madvise(const struct op *op, struct region *r)
{
	size_t a, b, i;

	op_range(op, r, &a, &b);
	if (madvise(page_addr(r, a), (b - a) * PAGE, op->advice)) {
		if (op->advice == MADV_COLLAPSE) {
			/* Best effort by definition: only content matters. */
			if (verbose)
				say("# %s %s: MADV_COLLAPSE: %s\n", ctx, who,
				    strerror(errno));
			return 0;
		}
		die("madvise");
	}
	if (op->advice == MADV_PAGEOUT)
		report_swapped(r, a, b, "MADV_PAGEOUT");
	for (i = a; i < b; i++) {
		if (r->gen[i] == G_GONE)
			continue;
		if (op->effect == EFF_ZERO)
			r->gen[i] = r->kind == R_FILE ? G_FILE : G_ZERO;
		else if (op->effect == EFF_ANY)
			r->flags[i] |= F_ANY;
	}
	return 0;
}

/* madvise before the fork: the advice sticks to the VMA. */
static int op_pre_madvise(const struct op *op, struct region *r)
{
	size_t a, b;

	op_range(op, r, &a, &b);
	if (madvise(page_addr(r, a), (b - a) * PAGE, op->advice))
		die("madvise (before the fork)");
	return 0;
}

static int op_wipe_child(const struct op *op, struct region *r)
{
	size_t a, b, i;

	op_range(op, r, &a, &b);
	for (i = a; i < b; i++)
		r->gen[i] = G_ZERO;
	return 0;
}

static int op_dontfork_child(const struct op *op, struct region *r)
{
	size_t a, b, i;

	op_range(op, r, &a, &b);
	for (i = a; i < b; i++) {
		if (probe_sample(i, a, b) && !probe(page_addr(r, i), 0, 0))
			fail("page %zu (%p) of a MADV_DONTFORK range is mapped "
			     "in the child",
			     i, (void *)page_addr(r, i));
		r->gen[i] = G_GONE;
	}
	/* Keep the hole: nothing else may land there in the child. */
	if (mmap(page_addr(r, a), (b - a) * PAGE, PROT_NONE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		 0) == MAP_FAILED)
		die("mmap (placeholder)");
	return 0;
}

static int op_mlock(const struct op *op, struct region *r)
{
	size_t a, b;

	op_range(op, r, &a, &b);
	if (mlock(page_addr(r, a), (b - a) * PAGE))
		die("mlock");
	return 0;
}

static int op_munlock(const struct op *op, struct region *r)
{
	size_t a, b;

	op_range(op, r, &a, &b);
	if (munlock(page_addr(r, a), (b - a) * PAGE))
		die("munlock");
	check(r, "after munlock");
	return 0;
}

/* MADV_PAGEOUT before the fork; say how much went to swap. */
static int op_pre_pageout(const struct op *op, struct region *r)
{
	size_t i, swapped = 0;

	(void)op;
	if (madvise(r->seg[0].addr, r->n * PAGE, MADV_PAGEOUT))
		die("madvise MADV_PAGEOUT");
	pagemap_snapshot(r);
	for (i = 0; i < r->n; i++)
		swapped += r->pm[i] >> 1 & 1;
	say("# %s: %zu of %zu pages in swap at the fork%s\n", ctx, swapped,
	    r->n, swapped ? "" : " (no swap active: MADV_PAGEOUT was a no-op)");
	return 0;
}

/* KSM: merge identical pages before the fork when ksmd can run. */
static const char *const ksm_knobs[] = {"run", "pages_to_scan",
					"sleep_millisecs"};
static char ksm_saved[3][32];
static int ksm_changed;

static int ksm_read(const char *knob, char *buf, size_t len)
{
	char path[96];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", knob);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int ksm_write(const char *knob, const char *val)
{
	char path[96];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", knob);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static void ksm_restore(void)
{
	int k;

	if (!ksm_changed || getpid() != top_pid)
		return;
	for (k = 2; k >= 0; k--)
		ksm_write(ksm_knobs[k], ksm_saved[k]);
}

static long ksm_value(const char *knob)
{
	char buf[32];

	return ksm_read(knob, buf, sizeof(buf)) ? -1 : atol(buf);
}

static int op_pre_ksm(const struct op *op, struct region *r)
{
	long scans, sharing = -1;
	int k, tries;

	(void)op;
	if (madvise(r->seg[0].addr, r->n * PAGE, MADV_MERGEABLE))
		die("madvise MADV_MERGEABLE");
	if (!ksm_changed) {
		for (k = 0; k < 3; k++)
			if (ksm_read(ksm_knobs[k], ksm_saved[k],
				     sizeof(ksm_saved[k])))
				break;
		if (k == 3 && !ksm_write("sleep_millisecs", "10") &&
		    !ksm_write("pages_to_scan", "4000") &&
		    !ksm_write("run", "1"))
			ksm_changed = 1;
		else
			say("# %s: cannot start ksmd (not root?): the scenario "
			    "runs unmerged\n",
			    ctx);
	}
	if (ksm_changed) {
		/* Two full scans merge what can be merged (10 s at most). */
		scans = ksm_value("full_scans");
		for (tries = 0;
		     tries < 1000 && ksm_value("full_scans") < scans + 2;
		     tries++)
			usleep(10000);
		sharing = ksm_value("pages_sharing");
	}
	say("# %s: KSM pages_sharing %ld at the fork\n", ctx, sharing);
	return 0;
}

/* userfaultfd: register MISSING after the fork; no fault may come for a
 * page that was populated, UFFDIO_COPY must fail with EEXIST on those and
 * fill the holes.
 */
static int uffd = -1;
static pthread_t uffd_thread;
static atomic_int uffd_stop;
static atomic_long uffd_events, uffd_spurious;
static struct region *uffd_region;

static void *uffd_handler(void *arg)
{
	struct region *r = uffd_region;
	struct pollfd pfd = {.fd = uffd, .events = POLLIN};

	(void)arg;
	while (!atomic_load(&uffd_stop)) {
		struct uffd_msg msg;
		struct uffdio_zeropage zp;
		uintptr_t addr;
		size_t i = SIZE_MAX;
		int s;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		addr = msg.arg.pagefault.address & ~(PAGE - 1);
		atomic_fetch_add(&uffd_events, 1);
		for (s = 0; s < r->nseg; s++)
			if (addr >= (uintptr_t)r->seg[s].addr &&
			    addr < (uintptr_t)r->seg[s].addr +
					    r->seg[s].count * PAGE)
				i = r->seg[s].first +
				    (addr - (uintptr_t)r->seg[s].addr) / PAGE;
		if (i != SIZE_MAX && (r->pm[i] & 1)) {
			atomic_fetch_add(&uffd_spurious, 1);
			fail("userfaultfd MISSING fault for page %zu (%p), "
			     "which was populated before the fork",
			     i, (void *)addr);
		}
		zp.range.start = addr;
		zp.range.len = PAGE;
		zp.mode = 0;
		ioctl(uffd, UFFDIO_ZEROPAGE, &zp);
	}
	return NULL;
}

static int op_uffd(const struct op *op, struct region *r)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg;
	char *src = xmmap_array(PAGE);
	size_t i, step = r->n <= 16384 ? 1 : 17, copied = 0, eexist = 0;

	(void)op;
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		die("userfaultfd");
	if (ioctl(uffd, UFFDIO_API, &api))
		die("UFFDIO_API");
	reg.range.start = (uintptr_t)r->seg[0].addr;
	reg.range.len = r->n * PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
	uffd_region = r;
	atomic_store(&uffd_stop, 0);
	atomic_store(&uffd_events, 0);
	atomic_store(&uffd_spurious, 0);
	errno = pthread_create(&uffd_thread, NULL, uffd_handler, NULL);
	if (errno)
		die("pthread_create (userfaultfd handler)");
	for (i = 0; i < r->n; i++) {
		struct uffdio_copy cp;
		int hole = !(r->pm[i] & 3);

		if (!hole && i % step && i >= 512 && i + 512 < r->n)
			continue;
		write_page(r, i, src, GEN_UFFD);
		if (!page_full(r, i)) {
			/* UFFDIO_COPY writes the whole page. */
			unsigned int k;

			for (k = 0; k < NWORDS; k++)
				((uint64_t *)src)[k] =
					pat(GEN_UFFD, key_of(r, i), k);
		}
		cp.dst = (uintptr_t)page_addr(r, i);
		cp.src = (uintptr_t)src;
		cp.len = PAGE;
		cp.mode = 0;
		cp.copy = 0;
		if (!ioctl(uffd, UFFDIO_COPY, &cp)) {
			if (!hole)
				fail("UFFDIO_COPY into page %zu (%p) "
				     "succeeded, but the page was populated "
				     "before the fork",
				     i, (void *)cp.dst);
			r->gen[i] = GEN_UFFD;
			copied++;
		} else if (errno == EEXIST) {
			if (hole)
				fail("UFFDIO_COPY into hole page %zu (%p): "
				     "EEXIST",
				     i, (void *)cp.dst);
			eexist++;
		} else {
			fail("UFFDIO_COPY into page %zu (%p): %s", i,
			     (void *)cp.dst, strerror(errno));
		}
	}
	munmap(src, PAGE);
	if (verbose)
		say("# %s %s: UFFDIO_COPY filled %zu holes, %zu EEXIST\n", ctx,
		    who, copied, eexist);
	return 0;
}

static int op_uffd_final(const struct op *op, struct region *r)
{
	struct uffdio_range range = {.start = (uintptr_t)r->seg[0].addr,
				     .len = r->n * PAGE};

	(void)op;
	atomic_store(&uffd_stop, 1);
	pthread_join(uffd_thread, NULL);
	if (ioctl(uffd, UFFDIO_UNREGISTER, &range))
		die("UFFDIO_UNREGISTER");
	close(uffd);
	uffd = -1;
	if (atomic_load(&uffd_events))
		fail("%ld userfaultfd MISSING faults after the holes were "
		     "filled (%ld for pages populated before the fork)",
		     (long)atomic_load(&uffd_events),
		     (long)atomic_load(&uffd_spurious));
	check(r, "after UFFDIO_UNREGISTER");
	return 0;
}

/* The generic flow.  A = the actor (applies the op, first thing after the
 * fork), O = the other.  acts: "after" = O touches the region first.
 * Steps alternate between the two; each side awaits its turn.
 */
static void op_variant(const struct op *op, int actor_child, int after)
{
	const char *plan = after ? "OAOA" : "AOA";
	struct region r;
	struct chan ch;
	int child, acting, k, first_a = 1, first_o = 1;
	unsigned int gen;
	size_t res;
	pid_t pid;

	region_setup(&r, op->kind, op->dup);
	if (op->prefork)
		op->prefork(op, &r);
	pagemap_snapshot(&r);
	pid = fork_paired(&ch);
	child = pid == 0;
	if (child && op->child_fixup)
		op->child_fixup(op, &r);
	acting = child == actor_child;
	gen = child ? GEN_CHILD : GEN_PARENT;
	res = child ? 1 : 0;

	for (k = 0; plan[k]; k++) {
		if ((plan[k] == 'A') != acting)
			continue;
		if (k)
			await(&ch, "its turn");
		if (acting && first_a) {
			if (op->apply)
				op->apply(op, &r);
			check(&r,
			      op->apply ? "right after the op" : "first look");
			write_set(&r, gen, res);
			check(&r, "after its own writes");
			first_a = 0;
		} else if (!acting && first_o) {
			check(&r, after ? "first look"
					: "after the other acted and wrote");
			write_set(&r, gen, res);
			check(&r, "after its own writes");
			first_o = 0;
		} else {
			check(&r, "after the other's turn");
		}
		tell(&ch);
	}
	if (child) {
		if (acting && op->final)
			op->final(op, &r);
		check(&r, "at the end");
		child_exit();
	}
	chan_close(&ch);
	reap(pid, "child");
	check(&r, "after the child exited");
	if (acting && op->final)
		op->final(op, &r);
	region_teardown(&r);
}

/* ------------------------------------------------------------------ */
/* Scenarios with their own flow */

/* MAP_SHARED anonymous memory: each sees the other's writes. */
static void shared_variant(int child_first)
{
	struct region r;
	struct chan ch;
	pid_t pid;
	int child, first;
	unsigned int mygen, other;
	size_t myres, ores;

	region_setup(&r, R_SHARED, 0);
	pid = fork_paired(&ch);
	child = pid == 0;
	first = child == child_first;
	mygen = child ? GEN_CHILD : GEN_PARENT;
	other = child ? GEN_PARENT : GEN_CHILD;
	myres = child ? 1 : 0;
	ores = child ? 0 : 1;

	if (!first)
		await(&ch, "the first writer");
	else
		check(&r, "first look");
	if (!first) {
		/* The other's writes are ours too: apply them to the model
		 * (without writing: J_WRITE would write the memory).
		 */
		size_t i, S = write_stride();

		for (i = 0; i < r.n; i++)
			if ((i + S - ores % S) % S < 2)
				r.gen[i] = other;
		check(&r, "after the other wrote (shared: must see it)");
	}
	write_set(&r, mygen, myres);
	check(&r, "after its own writes");
	tell(&ch);
	if (first) {
		size_t i, S = write_stride();

		await(&ch, "the second writer");
		for (i = 0; i < r.n; i++)
			if ((i + S - ores % S) % S < 2)
				r.gen[i] = other;
		check(&r, "after the other wrote (shared: must see it)");
		tell(&ch);
	} else {
		await(&ch, "the first writer's check");
	}
	if (child) {
		check(&r, "at the end");
		child_exit();
	}
	chan_close(&ch);
	reap(pid, "child");
	check(&r, "after the child exited");
	region_teardown(&r);
}

/* Child execs /bin/true or exits without touching the region.
 * mode 0: the parent waits for it to go, then writes every page;
 * mode 1: the parent writes first, then lets it go;
 * mode 2: both at once.
 */
static void release_variant(int use_exec, int mode)
{
	struct region r;
	struct chan ch;
	pid_t pid;

	region_setup(&r, R_ANON, 0);
	pid = fork_paired(&ch);
	if (pid == 0) {
		if (mode == 1)
			await(&ch, "the parent's writes");
		if (use_exec) {
			execl("/bin/true", "true", (char *)NULL);
			fail("execl /bin/true: %s", strerror(errno));
		}
		child_exit();
	}
	if (mode == 0) {
		reap(pid, "child");
		check(&r, "after the child went");
		write_range(&r, GEN_PARENT, 0, r.n);
		check(&r, "after writing every page");
	} else {
		if (mode == 1 && opt_pages <= 16384)
			write_range(&r, GEN_PARENT, 0, r.n);
		else
			write_set(&r, GEN_PARENT, 0);
		check(&r, "after its writes, the child still there");
		tell(&ch);
		reap(pid, "child");
		check(&r, "after the child went");
		write_range(&r, GEN_PARENT + 10, 0, r.n);
		check(&r, "after writing every page");
	}
	chan_close(&ch);
	region_teardown(&r);
}

/* The parent exits first; the child keeps checking.  Run in a process of
 * its own whose orphaned child comes back to us (subreaper).
 * mode 0: the parent exits untouched; 1: it writes, then exits;
 * 2: the child writes first, then the parent exits untouched.
 */
static void orphan_variant(int mode)
{
	struct region r;
	struct chan ch;
	pid_t p, c;

	fflush(NULL);
	p = fork();
	if (p < 0)
		die("fork");
	if (!p)
		atomic_store(&fails, 0);
	if (p) {
		reap_all("parent or orphaned child");
		return;
	}
	region_setup(&r, R_ANON, 0);
	c = fork_paired(&ch);
	if (c == 0) {
		if (mode == 2) {
			check(&r, "first look");
			write_set(&r, GEN_CHILD, 1);
			check(&r, "after its own writes");
		}
		tell(&ch);
		/* EOF: the parent exited (its mm is gone before its files). */
		await_eof(&ch);
		who = "orphaned child";
		check(&r, "after the parent exited");
		write_set(&r, GEN_CHILD + 10, 2);
		check(&r, "after its writes as an orphan");
		write_range(&r, GEN_CHILD + 20, 0, r.n);
		check(&r, "after writing every page");
		child_exit();
	}
	await(&ch, "the child");
	if (mode == 1) {
		write_set(&r, GEN_PARENT, 0);
		check(&r, "after its own writes");
	}
	child_exit();
}

/* Child forks a grandchild.  Modes:
 * 0 untouched: the child forks (armed) before touching anything;
 * 1 unarmed: same with a stock fork of the child;
 * 2 child-wrote: the child writes, then forks;
 * 3 parent-wrote: the parent writes before the child forks;
 * 4 child-exits: the child forks and exits untouched; the grandchild
 *   checks after the child is gone.
 */
static void nested_variant(int mode)
{
	struct region r;
	struct chan ch, cg;
	pid_t pid, g;

	region_setup(&r, R_ANON, 0);
	pid = fork_paired(&ch);
	if (pid == 0) {
		await(&ch, "the parent");
		if (mode == 2) {
			check(&r, "first look");
			write_set(&r, GEN_CHILD, 1);
			check(&r, "after its own writes");
		}
		chan_open(&cg);
		g = xfork(mode != 1);
		if (g == 0) {
			who = "grandchild";
			chan_side(&cg, 1);
			chan_close(&ch);
			if (mode == 4)
				await_eof(&cg);
			check(&r, "first look");
			write_set(&r, GEN_GRANDCHILD, 2);
			check(&r, "after its own writes");
			child_exit();
		}
		chan_side(&cg, 0);
		if (mode == 4) {
			tell(&ch);
			child_exit();
		}
		reap(g, "grandchild");
		check(&r, "after the grandchild exited");
		write_set(&r, GEN_CHILD + 10, 1);
		check(&r, "after its writes");
		tell(&ch);
		child_exit();
	}
	if (mode == 3) {
		write_set(&r, GEN_PARENT, 0);
		check(&r, "after its own writes");
	}
	tell(&ch);
	await(&ch, "the child");
	check(&r, "after the child and grandchild wrote");
	write_set(&r, GEN_PARENT + 10, 0);
	check(&r, "after its writes");
	chan_close(&ch);
	reap_all("child or grandchild");
	check(&r, "after all exited");
	region_teardown(&r);
}

/* Many forks in a row; the parent writes a little between them; each
 * child checks a sample (mode 1: and writes a little), then exits.
 */
static void storm_variant(int mode)
{
	struct region r;
	const int nforks = 12;
	int k;

	region_setup(&r, R_ANON, 0);
	for (k = 0; k < nforks; k++) {
		struct job w = {.r = &r,
				.what = J_WRITE,
				.wgen = GEN_STORM + k,
				.hi = r.n,
				.stride = 37,
				.res = k,
				.width = 1};
		pid_t pid;

		run_job(&w);
		pid = xfork(1);
		if (pid == 0) {
			struct job c = {.r = &r,
					.what = J_CHECK,
					.when = "sample check",
					.hi = r.n,
					.stride = 7,
					.res = k,
					.width = 1};

			who = "child";
			run_job(&c);
			if (mode == 1) {
				struct job cw = {.r = &r,
						 .what = J_WRITE,
						 .wgen = GEN_STORM + 40 + k,
						 .hi = r.n,
						 .stride = 29,
						 .res = k,
						 .width = 1};

				run_job(&cw);
				c.stride = 29;
				c.when = "after its writes";
				run_job(&c);
			}
			child_exit();
		}
	}
	check(&r, "after the storm");
	reap_all("storm child");
	check(&r, "after all children exited");
	region_teardown(&r);
}

/* /proc/self/pagemap right after the fork: presence as before the fork
 * (stock fork copies the PTEs), and the same frames in parent and child.
 */
static void pagemap_variant(int child_first)
{
	struct region r;
	struct chan ch;
	uint64_t *mine, *xchg;
	size_t i, diff = 0, pfn_diff = 0;
	int child;
	pid_t pid;

	region_setup(&r, R_ANON, 0);
	pagemap_snapshot(&r);
	mine = xmmap_array(r.n * 8);
	xchg = mmap(NULL, ALIGN_UP(r.n * 8, PAGE), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (xchg == MAP_FAILED)
		die("mmap (exchange)");
	pid = fork_paired(&ch);
	child = pid == 0;
	/* The first reader reads, then the second; both right after the
	 * fork, before anything touches the region.
	 */
	if (child != child_first)
		await(&ch, "the other's pagemap read");
	pagemap_read(&r, mine, 0, r.n);
	for (i = 0; i < r.n; i++) {
		unsigned int now = (mine[i] >> 63 & 1) | (mine[i] >> 62 & 1)
								 << 1;

		if (now == r.pm[i])
			continue;
		if (diff++ < MAX_REPORT)
			fail("pagemap of page %zu (%p): %s right after the "
			     "fork, %s before",
			     i, (void *)page_addr(&r, i),
			     now & 1   ? "present"
			     : now & 2 ? "swapped"
				       : "none",
			     r.pm[i] & 1   ? "present"
			     : r.pm[i] & 2 ? "swapped"
					   : "none");
	}
	if (diff > MAX_REPORT)
		fail("pagemap: %zu pages differ from before the fork", diff);
	if (child)
		memcpy(xchg, mine, r.n * 8);
	tell(&ch);
	if (child == child_first)
		await(&ch, "the other's pagemap read");
	if (!child) {
		/* Same frame for every page present in both (PFNs read 0
		 * without CAP_SYS_ADMIN: nothing to compare then).
		 */
		for (i = 0; i < r.n; i++) {
			uint64_t a = mine[i] & ((1ULL << 55) - 1);
			uint64_t b = xchg[i] & ((1ULL << 55) - 1);

			if (!(mine[i] >> 63) || !(xchg[i] >> 63) || !a || !b ||
			    a == b)
				continue;
			if (pfn_diff++ < MAX_REPORT)
				fail("pagemap of page %zu: frame %#llx in the "
				     "parent, %#llx in the child right after "
				     "the fork",
				     i, (unsigned long long)a,
				     (unsigned long long)b);
		}
		if (pfn_diff > MAX_REPORT)
			fail("pagemap: %zu pages on other frames in parent and "
			     "child",
			     pfn_diff);
	}
	/* Then the usual isolation. */
	if (child) {
		write_set(&r, GEN_CHILD, 1);
		check(&r, "after its own writes");
		child_exit();
	}
	write_set(&r, GEN_PARENT, 0);
	check(&r, "after its own writes");
	chan_close(&ch);
	reap(pid, "child");
	check(&r, "after the child exited");
	munmap(mine, ALIGN_UP(r.n * 8, PAGE));
	munmap(xchg, ALIGN_UP(r.n * 8, PAGE));
	region_teardown(&r);
}

/* Compare the other process's memory, read with process_vm_readv, with
 * the model tgen.
 */
static void pvm_compare(struct region *r, pid_t target, const uint8_t *tgen,
			char *buf, const char *when)
{
	size_t lo;

	for (lo = 0; lo < r->n; lo += 512) {
		size_t hi = MIN(r->n, lo + 512);
		struct iovec l = {.iov_base = buf, .iov_len = (hi - lo) * PAGE};
		struct iovec rm = {.iov_base = page_addr(r, lo),
				   .iov_len = (hi - lo) * PAGE};
		struct job j = {.r = r,
				.what = J_CHECK,
				.when = when,
				.gen = tgen,
				.lo = lo,
				.hi = hi,
				.base = buf};

		if (process_vm_readv(target, &l, 1, &rm, 1, 0) !=
		    (ssize_t)l.iov_len)
			die("process_vm_readv");
		run_job(&j);
		if (atomic_load(&j.bad) > MAX_REPORT)
			fail("%s: %ld pages differed (first %d shown)", when,
			     (long)atomic_load(&j.bad), MAX_REPORT);
	}
}

static inline int pvm_sel(size_t i)
{
	return i % 11 == 3;
}

/* process_vm_readv/writev of the other process's untouched memory. */
static void pvm_variant(int reader_child)
{
	struct region r;
	struct chan ch;
	uint8_t *tgen;
	char *buf, *page;
	pid_t pid, ppid = getpid(), target;
	int child, reading;
	size_t i, S = write_stride();

	region_setup(&r, R_ANON, 0);
	tgen = xmmap_array(r.cap);
	buf = xmmap_array(PMD);
	page = xmmap_array(PAGE);
	pid = fork_paired(&ch);
	child = pid == 0;
	reading = child == reader_child;
	target = child ? ppid : pid;

	if (reading) {
		memcpy(tgen, r.gen, r.n);
		pvm_compare(&r, target, tgen, buf,
			    "process_vm_readv of the other's untouched memory");
		for (i = 0; i < r.n; i++) {
			struct iovec l = {.iov_base = page, .iov_len = PAGE};
			struct iovec rm = {.iov_base = page_addr(&r, i),
					   .iov_len = PAGE};
			unsigned int k;

			if (!pvm_sel(i))
				continue;
			for (k = 0; k < NWORDS; k++)
				((uint64_t *)page)[k] =
					pat(GEN_PVM, key_of(&r, i), k);
			if (process_vm_writev(target, &l, 1, &rm, 1, 0) !=
			    (ssize_t)PAGE)
				die("process_vm_writev");
			tgen[i] = GEN_PVM;
		}
		check(&r, "after process_vm_writev into the other");
		tell(&ch);
		await(&ch, "the other's writes");
		for (i = 0; i < r.n; i++)
			if ((i + S - (reader_child ? 0 : 1) % S) % S < 2)
				tgen[i] = reader_child ? GEN_PARENT : GEN_CHILD;
		pvm_compare(&r, target, tgen, buf,
			    "process_vm_readv after the other wrote");
		check(&r, "after reading the other");
		tell(&ch);
	} else {
		await(&ch, "the reader");
		for (i = 0; i < r.n; i++)
			if (pvm_sel(i))
				r.gen[i] = GEN_PVM;
		check(&r, "after the other's process_vm_writev");
		write_set(&r, child ? GEN_CHILD : GEN_PARENT, child ? 1 : 0);
		check(&r, "after its own writes");
		tell(&ch);
		await(&ch, "the reader's second read");
	}
	if (child)
		child_exit();
	chan_close(&ch);
	reap(pid, "child");
	check(&r, "after the child exited");
	munmap(tgen, ALIGN_UP(r.cap, PAGE));
	munmap(buf, PMD);
	munmap(page, PAGE);
	region_teardown(&r);
}

/* Rss and Referenced (kB) of the VMAs that overlap the region, from
 * /proc/self/smaps.  Referenced counts the pages whose entry is young.
 */
static void smaps_referenced(const struct region *r, long *rss, long *ref)
{
	uintptr_t lo = (uintptr_t)r->seg[0].addr, hi = lo + r->n * PAGE;
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	int inside = 0;

	if (!f)
		die("open /proc/self/smaps");
	*rss = *ref = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		long kb;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			inside = start < hi && end > lo;
		else if (inside && sscanf(line, "Rss: %ld kB", &kb) == 1)
			*rss += kb;
		else if (inside && sscanf(line, "Referenced: %ld kB", &kb) == 1)
			*ref += kb;
	}
	fclose(f);
}

/* Reads one byte of every 2 MiB range of the region: a lazy fork's
 * owner resolves each range there.
 */
static void read_each_table(const struct region *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const char *p = page_addr(r, i);

		if (i == 0 || (uintptr_t)p % PMD == 0)
			(void)*(const volatile char *)p;
	}
}

/* The accessed bits a fork leaves the parent: a stock fork keeps the
 * parent's entries young (only the child's copy is made old), so every
 * page the parent wrote before the fork counts as referenced in its
 * smaps after the fork, also once it took its own copy of each range
 * (the child still holding the original: parent-first) or got the
 * original back (child-first).  Otherwise reclaim would take a parent's
 * working set for cold memory after every fork.
 */
static void referenced_variant(int child_first)
{
	struct region r;
	struct chan ch;
	long rss, ref;
	int child;
	pid_t pid;

	region_setup(&r, R_ANON, 0);
	smaps_referenced(&r, &rss, &ref);
	if (rss == 0 || ref != rss)
		fail("smaps before the fork: Referenced %ld kB of Rss %ld kB "
		     "(all written: should be equal)",
		     ref, rss);
	pid = fork_paired(&ch);
	child = pid == 0;
	if (child) {
		if (child_first) {
			read_each_table(&r);
			tell(&ch);
		}
		await(&ch, "the parent's check");
		child_exit();
	}
	if (child_first)
		await(&ch, "the child's reads");
	read_each_table(&r);
	smaps_referenced(&r, &rss, &ref);
	if (ref != rss)
		fail("smaps after the fork and a read of each 2 MiB range: "
		     "Referenced %ld kB of Rss %ld kB",
		     ref, rss);
	check(&r, "after reading each range");
	tell(&ch);
	chan_close(&ch);
	reap(pid, "child");
	region_teardown(&r);
}

/* The accessed bits a fork gives the child: a stock fork makes the
 * child's copy of every entry old, so until the child touches the region
 * none of its pages there counts as referenced, whether the child takes
 * its own copy of each range (child-first) or the original table back
 * after the parent took a copy (parent-first).  The child resolves its
 * ranges by reading its pagemap, which touches no page.
 */
static void child_referenced_variant(int child_first)
{
	struct region r;
	struct chan ch;
	long rss_before, rss, ref;
	pid_t pid;

	region_setup(&r, R_ANON, 0);
	smaps_referenced(&r, &rss_before, &ref);
	pid = fork_paired(&ch);
	if (pid == 0) {
		if (!child_first)
			await(&ch, "the parent's reads");
		pagemap_snapshot(&r);
		smaps_referenced(&r, &rss, &ref);
		if (rss != rss_before || ref != 0)
			fail("smaps after the fork and a pagemap read of the "
			     "region: Referenced %ld kB of Rss %ld kB (Rss "
			     "%ld kB before the fork; untouched: Referenced "
			     "should be 0)",
			     ref, rss, rss_before);
		check(&r, "after the smaps check");
		child_exit();
	}
	if (!child_first) {
		read_each_table(&r);
		tell(&ch);
	}
	chan_close(&ch);
	reap(pid, "child");
	check(&r, "after the child's checks");
	region_teardown(&r);
}

/* ------------------------------------------------------------------ */
/* The scenario table */

#define BOTH_ORDERS 1 /* parent-first, child-first */
#define ACTOR_TIMES 2 /* parent/child x before/after */

struct scenario {
	const char *name;
	const char *help;
	struct op op;
	void (*run)(int variant);    /* own flow: variant number */
	const char *const *variants; /* own flow: variant names */
	int probe_advice;	     /* N/A if madvise says EINVAL */
};

static const char *const v_orders[] = {"parent-first", "child-first", NULL};
static const char *const v_acts[] = {"parent-before", "parent-after",
				     "child-before", "child-after", NULL};
static const char *const v_release[] = {"wait-then-write", "write-then-release",
					"concurrent", NULL};
static const char *const v_orphan[] = {"parent-untouched", "parent-wrote",
				       "child-wrote", NULL};
static const char *const v_nested[] = {"untouched",   "unarmed",
				       "child-wrote", "parent-wrote",
				       "child-exits", NULL};
static const char *const v_storm[] = {"readers", "writers", NULL};
static const char *const v_pvm[] = {"parent-reads-child", "child-reads-parent",
				    NULL};

static void run_exec(int v)
{
	release_variant(1, v);
}

static void run_exit(int v)
{
	release_variant(0, v);
}

#define MADV_OP(adv, eff, wh)                                                  \
	{                                                                      \
		.acts = ACTOR_TIMES, .advice = (adv), .effect = (eff),         \
		.whole = (wh), .apply = op_madvise                             \
	}

static const struct scenario scenarios[] = {
	{.name = "rw",
	 .help = "plain reads and writes, parent first and child first",
	 .op = {.acts = BOTH_ORDERS}},
	{.name = "munmap-part",
	 .help = "munmap of a range across 2 MiB tables (half mapped again "
		 "fresh, half left unmapped)",
	 .op = {.acts = ACTOR_TIMES, .apply = op_munmap}},
	{.name = "munmap-all",
	 .help = "munmap of the whole region (half mapped again fresh)",
	 .op = {.acts = ACTOR_TIMES, .whole = 1, .apply = op_munmap}},
	{.name = "mprotect-part",
	 .help = "mprotect PROT_READ of a range (writes must fault, half of it "
		 "first touched at the end, after the other exited), then back "
		 "to read-write",
	 .op = {.acts = ACTOR_TIMES,
		.apply = op_mprotect,
		.final = op_mprotect_final}},
	{.name = "mprotect-all",
	 .help = "mprotect PROT_READ of the whole region, then back",
	 .op = {.acts = ACTOR_TIMES,
		.whole = 1,
		.apply = op_mprotect,
		.final = op_mprotect_final}},
	{.name = "mremap-move",
	 .help = "mremap MAYMOVE|FIXED of the whole region to a new place with "
		 "the same 2 MiB alignment",
	 .op = {.acts = ACTOR_TIMES, .apply = op_mremap_move}},
	{.name = "mremap-move-part",
	 .help = "mremap MAYMOVE|FIXED of a range to a place 4 KiB off its 2 "
		 "MiB alignment",
	 .op = {.acts = ACTOR_TIMES, .apply = op_mremap_part}},
	{.name = "mremap-grow",
	 .help = "mremap growing the region by 2 MiB + 12 KiB (moves: a guard "
		 "follows it)",
	 .op = {.acts = ACTOR_TIMES, .apply = op_mremap_grow}},
	{.name = "mremap-grow-inplace",
	 .help = "mremap growing the region in place",
	 .op = {.acts = ACTOR_TIMES, .whole = 1, .apply = op_mremap_grow}},
	{.name = "madv-dontneed",
	 .help = "MADV_DONTNEED of a range (reads zeros after)",
	 .op = MADV_OP(MADV_DONTNEED, EFF_ZERO, 0)},
	{.name = "madv-free",
	 .help = "MADV_FREE of a range (old content or zeros, the other "
		 "unaffected)",
	 .op = MADV_OP(MADV_FREE, EFF_ANY, 0)},
	{.name = "madv-cold",
	 .help = "MADV_COLD of the whole region",
	 .op = MADV_OP(MADV_COLD, EFF_NONE, 1)},
	{.name = "madv-pageout",
	 .help = "MADV_PAGEOUT of the whole region",
	 .op = MADV_OP(MADV_PAGEOUT, EFF_NONE, 1)},
	{.name = "madv-populate-read",
	 .help = "MADV_POPULATE_READ of the whole region",
	 .op = MADV_OP(MADV_POPULATE_READ, EFF_NONE, 1),
	 .probe_advice = MADV_POPULATE_READ},
	{.name = "madv-populate-write",
	 .help = "MADV_POPULATE_WRITE of a range",
	 .op = MADV_OP(MADV_POPULATE_WRITE, EFF_NONE, 0),
	 .probe_advice = MADV_POPULATE_WRITE},
	{.name = "madv-collapse",
	 .help = "MADV_COLLAPSE of a range (best effort: content must hold)",
	 .op = MADV_OP(MADV_COLLAPSE, EFF_NONE, 0)},
	{.name = "wipeonfork",
	 .help = "MADV_WIPEONFORK on a range before the fork: the child reads "
		 "zeros there",
	 .op = {.acts = BOTH_ORDERS,
		.advice = MADV_WIPEONFORK,
		.prefork = op_pre_madvise,
		.child_fixup = op_wipe_child}},
	{.name = "dontfork",
	 .help = "MADV_DONTFORK on a range before the fork: the child must "
		 "fault there",
	 .op = {.acts = BOTH_ORDERS,
		.advice = MADV_DONTFORK,
		.prefork = op_pre_madvise,
		.child_fixup = op_dontfork_child}},
	{.name = "mlock",
	 .help = "mlock of a range after the fork, munlock at the end",
	 .op = {.acts = ACTOR_TIMES, .apply = op_mlock, .final = op_munlock}},
	{.name = "mlock-prefork",
	 .help = "a range mlocked before the fork (VM_LOCKED)",
	 .op = {.acts = BOTH_ORDERS, .prefork = op_mlock}},
	{.name = "brk",
	 .help = "heap memory grown with sbrk",
	 .op = {.acts = BOTH_ORDERS, .kind = R_BRK}},
	{.name = "uffd",
	 .help = "userfaultfd MISSING registered after the fork: no fault for "
		 "populated pages, UFFDIO_COPY EEXIST on them and fills holes",
	 .op = {.acts = ACTOR_TIMES, .apply = op_uffd, .final = op_uffd_final}},
	{.name = "swap",
	 .help = "MADV_PAGEOUT before the fork (pages in swap when swap is "
		 "active)",
	 .op = {.acts = BOTH_ORDERS, .prefork = op_pre_pageout}},
	{.name = "ksm",
	 .help = "MADV_MERGEABLE with identical pages merged by ksmd before "
		 "the fork",
	 .op = {.acts = BOTH_ORDERS, .dup = 16, .prefork = op_pre_ksm}},
	{.name = "file-private",
	 .help = "MAP_PRIVATE of a tmpfs file written before the fork (the "
		 "file must not change)",
	 .op = {.acts = BOTH_ORDERS, .kind = R_FILE}},
	{.name = "shared",
	 .help = "MAP_SHARED anonymous memory: writes visible both ways",
	 .run = shared_variant,
	 .variants = v_orders},
	{.name = "exec",
	 .help = "the child execs /bin/true without touching the region",
	 .run = run_exec,
	 .variants = v_release},
	{.name = "exit-untouched",
	 .help = "the child exits without touching the region",
	 .run = run_exit,
	 .variants = v_release},
	{.name = "parent-exit",
	 .help = "the parent exits first, the orphaned child checks on",
	 .run = orphan_variant,
	 .variants = v_orphan},
	{.name = "nested",
	 .help = "the child forks a grandchild that checks",
	 .run = nested_variant,
	 .variants = v_nested},
	{.name = "storm",
	 .help = "12 forks in a row, each child checks a sample",
	 .run = storm_variant,
	 .variants = v_storm},
	{.name = "pagemap",
	 .help = "pagemap right after the fork: same present pages as before, "
		 "same frames in both",
	 .run = pagemap_variant,
	 .variants = v_orders},
	{.name = "process-vm",
	 .help = "process_vm_readv/writev of the other's memory",
	 .run = pvm_variant,
	 .variants = v_pvm},
	{.name = "referenced",
	 .help = "the parent's pages stay young (smaps Referenced) after "
		 "the fork, as after a stock fork",
	 .run = referenced_variant,
	 .variants = v_orders},
	{.name = "child-referenced",
	 .help = "the child's pages are old (smaps Referenced 0) until it "
		 "touches them, as after a stock fork",
	 .run = child_referenced_variant,
	 .variants = v_orders},
};

#define NSCEN ((int)(sizeof(scenarios) / sizeof(scenarios[0])))

static const char *kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "?";
	return u.release;
}

/* N/A reason when the kernel does not know the advice, else NULL. */
static const char *advice_na(int advice)
{
	static char why[128];
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int rc;

	if (p == MAP_FAILED)
		die("mmap");
	rc = madvise(p, PAGE, advice);
	munmap(p, PAGE);
	if (rc == 0 || errno != EINVAL)
		return NULL;
	snprintf(why, sizeof(why), "madvise advice %d: EINVAL on %s", advice,
		 kernel_release());
	return why;
}

static int run_scenario(const struct scenario *s)
{
	const char *const *names = s->run		       ? s->variants
				   : s->op.acts == BOTH_ORDERS ? v_orders
							       : v_acts;
	const char *na = s->probe_advice ? advice_na(s->probe_advice) : NULL;
	int v, ran = 0, bad = 0;

	if (na) {
		say("# N/A %s: %s\n", s->name, na);
		return 0;
	}
	for (v = 0; names[v]; v++) {
		long before = atomic_load(&fails);

		if (opt_variant && strcmp(opt_variant, names[v]))
			continue;
		snprintf(ctx, sizeof(ctx), "%s/%s", s->name, names[v]);
		who = "parent";
		alarm(opt_timeout);
		ran++;
		if (s->run)
			s->run(v);
		else if (s->op.acts == BOTH_ORDERS)
			op_variant(&s->op, v == 1, 0);
		else
			op_variant(&s->op, v >= 2, v % 2);
		/* Nothing may be left running. */
		reap_all("leftover process");
		alarm(0);
		if (atomic_load(&fails) != before)
			bad++;
		say("%s %s\n", atomic_load(&fails) != before ? "not ok" : "ok",
		    ctx);
	}
	if (!ran) {
		fprintf(stderr, "ff-cow: scenario %s has no variant %s\n",
			s->name, opt_variant);
		exit(2);
	}
	return bad;
}

/* ------------------------------------------------------------------ */

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end || end == s) {
		fprintf(stderr, "ff-cow: bad size '%s'\n", s);
		exit(2);
	}
	return v;
}

static void usage(FILE *f)
{
	int k;

	fprintf(f, "usage: ff-cow [--engine lazy|eager|stock] [--size "
		   "N[K|M|G]] [--thp on|off|mixed]\n"
		   "              [--threads N] [--offset N[K|M]] [--density "
		   "PCT] [--variant V]\n"
		   "              [--timeout SEC] [-v]\n"
		   "              --scenario NAME[,NAME...]|all\n"
		   "       ff-cow --list\n\nscenarios:\n");
	for (k = 0; k < NSCEN; k++)
		fprintf(f, "  %-20s %s\n", scenarios[k].name,
			scenarios[k].help);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	const char *list = NULL;
	char *names, *tok, *save;
	int k, bad = 0, found;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (k = 1; k < argc; k++) {
		const char *a = argv[k],
			   *val = k + 1 < argc ? argv[k + 1] : NULL;

		if (!strcmp(a, "--list")) {
			for (found = 0; found < NSCEN; found++)
				printf("%s\n", scenarios[found].name);
			return 0;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v")) {
			verbose = 1;
			continue;
		}
		if (!val) {
			usage(stderr);
			return 2;
		}
		k++;
		if (!strcmp(a, "--engine")) {
			if (!strcmp(val, "lazy"))
				engine = E_LAZY;
			else if (!strcmp(val, "eager"))
				engine = E_EAGER;
			else if (!strcmp(val, "stock"))
				engine = E_STOCK;
			else
				goto bad_arg;
		} else if (!strcmp(a, "--size")) {
			opt_pages = (parse_size(val) + PAGE - 1) / PAGE;
			if (!opt_pages)
				goto bad_arg;
		} else if (!strcmp(a, "--thp")) {
			if (!strcmp(val, "on"))
				opt_thp = THP_ON;
			else if (!strcmp(val, "off"))
				opt_thp = THP_OFF;
			else if (!strcmp(val, "mixed"))
				opt_thp = THP_MIXED;
			else
				goto bad_arg;
		} else if (!strcmp(a, "--threads")) {
			opt_threads = atoi(val);
			if (opt_threads < 1 || opt_threads > MAX_THREADS)
				goto bad_arg;
		} else if (!strcmp(a, "--offset")) {
			opt_offset = parse_size(val);
			if (opt_offset % PAGE)
				goto bad_arg;
		} else if (!strcmp(a, "--density")) {
			opt_density = atoi(val);
			if (opt_density < 1 || opt_density > 100)
				goto bad_arg;
		} else if (!strcmp(a, "--scenario")) {
			list = val;
		} else if (!strcmp(a, "--variant")) {
			opt_variant = val;
		} else if (!strcmp(a, "--timeout")) {
			opt_timeout = atoi(val);
			if (!opt_timeout)
				goto bad_arg;
		} else {
			goto bad_arg;
		}
		continue;
	bad_arg:
		fprintf(stderr, "ff-cow: bad argument %s %s\n", a, val);
		usage(stderr);
		return 2;
	}
	if (!list) {
		usage(stderr);
		return 2;
	}
	/* Validate the names before running anything. */
	names = strdup(list);
	for (tok = strtok_r(names, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (found = 0; found < NSCEN; found++)
			if (!strcmp(tok, scenarios[found].name))
				break;
		if (found == NSCEN && strcmp(tok, "all")) {
			fprintf(stderr,
				"ff-cow: unknown scenario %s (see --list)\n",
				tok);
			return 2;
		}
	}
	free(names);

	top_pid = getpid();
	if (engine != E_STOCK)
		dev_fd = ff_open();
	armed_forks = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (armed_forks == MAP_FAILED)
		die("mmap");
	atomic_store(armed_forks, 0);
	/* Orphans (parent-exit, nested child-exits) come back to us. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		die("PR_SET_CHILD_SUBREAPER");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	atexit(ksm_restore);
	say("# ff-cow: engine %s, %zu pages (%zu KiB), thp %s, %d thread%s, "
	    "offset %zu, density %d%%, kernel %s\n",
	    engine == E_LAZY	? "lazy"
	    : engine == E_EAGER ? "eager"
				: "stock",
	    opt_pages, opt_pages * 4,
	    opt_thp == THP_ON	 ? "on"
	    : opt_thp == THP_OFF ? "off"
				 : "mixed",
	    opt_threads, opt_threads > 1 ? "s" : "", opt_offset, opt_density,
	    kernel_release());

	names = strdup(list);
	for (tok = strtok_r(names, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		for (k = 0; k < NSCEN; k++)
			if (!strcmp(tok, "all") ||
			    !strcmp(tok, scenarios[k].name))
				bad += run_scenario(&scenarios[k]);
	free(names);
	say("# armed forks: %ld\n", (long)atomic_load(armed_forks));
	if (bad)
		say("# %d variant%s failed\n", bad, bad > 1 ? "s" : "");
	return bad || atomic_load(&fails) ? 1 : 0;
}
