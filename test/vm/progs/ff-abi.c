// SPDX-License-Identifier: GPL-2.0
/*
 * ff-abi: exercise every ioctl of /dev/fastfork, good and bad, and check
 * each result against the ABI of fastfork_uapi.h.  Prints one TAP-like
 * line per check; exits 1 if any check failed, 2 on setup errors.
 *
 *   ff-abi          run all checks (needs access to /dev/fastfork)
 *   ff-abi denied   become uid/gid 65534 and check open() gets EACCES
 */
#include <grp.h>
#include <stdint.h>
#include <sys/mman.h>

#include "ff-common.h"

static int failures;
static int checks;

static void check(int cond, const char *what)
{
	checks++;
	if (!cond)
		failures++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", checks, what);
}

/* ioctl() returning 0 or -errno. */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int denied(void)
{
	int fd;

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534)) {
		perror("drop privileges");
		return 2;
	}
	fd = open(FASTFORK_DEVICE_PATH, O_RDWR);
	check(fd < 0 && errno == EACCES, "uid 65534 cannot open the device");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char big[8192];
	struct fastfork_version ver;
	struct fastfork_stats st;
	struct fastfork_arm arm;
	unsigned char *pages;
	int fd;

	if (argc > 1 && !strcmp(argv[1], "denied"))
		return denied();
	fd = ff_open();
	/* Two pages: the first readable and writable, the second PROT_NONE. */
	pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED || mprotect(pages + page, page, PROT_NONE)) {
		perror("mmap");
		return 2;
	}

	/* VERSION */
	memset(&ver, 0, sizeof(ver));
	ver.size = sizeof(ver);
	check(xioctl(fd, FASTFORK_IOC_VERSION, &ver) == 0, "VERSION succeeds");
	check(ver.size == FASTFORK_VERSION_SIZE_VER1,
	      "VERSION writes back the bytes filled");
	check(ver.abi_version == FASTFORK_ABI_VERSION,
	      "VERSION reports ABI version 1");
	check(ver.features & FASTFORK_FEAT_ARM, "VERSION reports FEAT_ARM");
	check(ver.module_version[0] != 0 &&
		      memchr(ver.module_version, 0,
			     sizeof(ver.module_version)) != NULL,
	      "VERSION module_version is a NUL-terminated string");

	memset(big, 0, sizeof(big));
	*(uint32_t *)big = 64;
	memset(big + 64, 0xaa, 16);
	check(xioctl(fd, FASTFORK_IOC_VERSION, big) == 0 &&
		      *(uint32_t *)big == FASTFORK_VERSION_SIZE_VER1,
	      "VERSION with a larger zero-tailed struct fills its own size");
	check(big[64] == 0xaa, "VERSION writes nothing past its own size");

	memset(big, 0, sizeof(big));
	*(uint32_t *)big = 64;
	big[60] = 1;
	check(xioctl(fd, FASTFORK_IOC_VERSION, big) == -E2BIG,
	      "VERSION with a non-zero unknown tail fails with E2BIG");

	memset(big, 0, sizeof(big));
	*(uint32_t *)big = page;
	check(xioctl(fd, FASTFORK_IOC_VERSION, big) == 0,
	      "VERSION with size = PAGE_SIZE and zero tail succeeds");
	*(uint32_t *)big = page + 1;
	check(xioctl(fd, FASTFORK_IOC_VERSION, big) == -E2BIG,
	      "VERSION with size > PAGE_SIZE fails with E2BIG");
	*(uint32_t *)big = 0xffffffff;
	check(xioctl(fd, FASTFORK_IOC_VERSION, big) == -E2BIG,
	      "VERSION with size 0xffffffff fails with E2BIG");
	*(uint32_t *)big = FASTFORK_VERSION_SIZE_VER1 - 1;
	check(xioctl(fd, FASTFORK_IOC_VERSION, big) == -EINVAL,
	      "VERSION with size below VER1 fails with EINVAL");
	*(uint32_t *)big = 0;
	check(xioctl(fd, FASTFORK_IOC_VERSION, big) == -EINVAL,
	      "VERSION with size 0 fails with EINVAL");

	check(xioctl(fd, FASTFORK_IOC_VERSION, NULL) == -EFAULT,
	      "VERSION with a NULL pointer fails with EFAULT");
	check(xioctl(fd, FASTFORK_IOC_VERSION, pages + page) == -EFAULT,
	      "VERSION with an unmapped pointer fails with EFAULT");
	check(xioctl(fd, FASTFORK_IOC_VERSION, (void *)-4096L) == -EFAULT,
	      "VERSION with a kernel address fails with EFAULT");
	/* Size field readable, the struct runs into the PROT_NONE page. */
	memset(pages, 0, page);
	*(uint32_t *)(pages + page - 8) = FASTFORK_VERSION_SIZE_VER1;
	check(xioctl(fd, FASTFORK_IOC_VERSION, pages + page - 8) == -EFAULT,
	      "VERSION with a struct crossing into unmapped memory fails "
	      "with EFAULT");

	/* Dispatch on type and number only, not on the encoded size. */
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = FASTFORK_VERSION_SIZE_VER1;
	check(xioctl(fd, _IOWR(FASTFORK_IOC_MAGIC, 0x00, char[200]), big) == 0,
	      "VERSION encoded with another size is still VERSION");
	check(xioctl(fd, _IO(FASTFORK_IOC_MAGIC, 0x00), big) == 0,
	      "VERSION encoded without direction is still VERSION");
	check(xioctl(fd, _IOWR(FASTFORK_IOC_MAGIC, 0x03, char[8]), big) ==
		      -ENOTTY,
	      "unknown command number 3 fails with ENOTTY");
	check(xioctl(fd, _IOWR(FASTFORK_IOC_MAGIC, 0xff, char[8]), big) ==
		      -ENOTTY,
	      "unknown command number 255 fails with ENOTTY");
	check(xioctl(fd, _IOWR(0xFE, 0x00, struct fastfork_version), big) ==
		      -ENOTTY,
	      "wrong ioctl type fails with ENOTTY");
	check(xioctl(fd, FIONREAD, big) == -ENOTTY,
	      "a generic ioctl (FIONREAD) fails with ENOTTY");

	/* ARM */
	arm = (struct fastfork_arm){.size = sizeof(arm)};
	arm.engine = 2;
	check(xioctl(fd, FASTFORK_IOC_ARM, &arm) == -EINVAL,
	      "ARM with unknown engine 2 fails with EINVAL");
	arm.engine = 0xffffffff;
	check(xioctl(fd, FASTFORK_IOC_ARM, &arm) == -EINVAL,
	      "ARM with unknown engine 0xffffffff fails with EINVAL");
	arm.engine = FASTFORK_ENGINE_LAZY;
	arm.flags = 1;
	check(xioctl(fd, FASTFORK_IOC_ARM, &arm) == -EINVAL,
	      "ARM with flags bit 0 fails with EINVAL");
	arm.flags = 1ULL << 63;
	check(xioctl(fd, FASTFORK_IOC_ARM, &arm) == -EINVAL,
	      "ARM with flags bit 63 fails with EINVAL");
	arm.flags = 0;
	arm.size = FASTFORK_ARM_SIZE_VER1 - 4;
	check(xioctl(fd, FASTFORK_IOC_ARM, &arm) == -EINVAL,
	      "ARM with size below VER1 fails with EINVAL");
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = 32;
	big[20] = 1;
	check(xioctl(fd, FASTFORK_IOC_ARM, big) == -E2BIG,
	      "ARM with a non-zero unknown tail fails with E2BIG");
	big[20] = 0;
	check(xioctl(fd, FASTFORK_IOC_ARM, big) == 0,
	      "ARM with a larger zero-tailed struct succeeds");
	check(xioctl(fd, FASTFORK_IOC_ARM, NULL) == -EFAULT,
	      "ARM with a NULL pointer fails with EFAULT");
	arm = (struct fastfork_arm){.size = sizeof(arm),
				    .engine = FASTFORK_ENGINE_EAGER};
	check(xioctl(fd, FASTFORK_IOC_ARM, &arm) == 0,
	      "ARM with engine EAGER succeeds");
	arm.engine = FASTFORK_ENGINE_LAZY;
	check(xioctl(fd, FASTFORK_IOC_ARM, &arm) == 0,
	      "ARM with engine LAZY succeeds");

	/* STATS */
	check(sizeof(st) == FASTFORK_STATS_SIZE_VER2,
	      "sizeof(struct fastfork_stats) is FASTFORK_STATS_SIZE_VER2");
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	check(xioctl(fd, FASTFORK_IOC_STATS, &st) == 0, "STATS succeeds");
	check(st.size == FASTFORK_STATS_SIZE_VER2,
	      "STATS writes back the bytes filled (VER2)");
	check(st.reserved == 0, "STATS reserved is zero");
	check(st.arms >= 3, "STATS counts the successful ARM calls");
	check(st.armed_threads >= 1, "STATS counts this armed thread");
	/* A caller built against VER1 gets exactly the VER1 fields. */
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = FASTFORK_STATS_SIZE_VER1;
	memset(big + FASTFORK_STATS_SIZE_VER1, 0x55, 8);
	check(xioctl(fd, FASTFORK_IOC_STATS, big) == 0 &&
		      *(uint32_t *)big == FASTFORK_STATS_SIZE_VER1 &&
		      big[FASTFORK_STATS_SIZE_VER1] == 0x55,
	      "STATS with size VER1 fills VER1 bytes and nothing past them");
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = FASTFORK_STATS_SIZE_VER1 + 8;
	memset(big + FASTFORK_STATS_SIZE_VER1 + 8, 0x55, 8);
	check(xioctl(fd, FASTFORK_IOC_STATS, big) == 0 &&
		      *(uint32_t *)big == FASTFORK_STATS_SIZE_VER1 + 8 &&
		      big[FASTFORK_STATS_SIZE_VER1 + 8] == 0x55,
	      "STATS with a size between VER1 and VER2 fills that size");
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = FASTFORK_STATS_SIZE_VER2 + 32;
	memset(big + FASTFORK_STATS_SIZE_VER2 + 32, 0x55, 8);
	check(xioctl(fd, FASTFORK_IOC_STATS, big) == 0 &&
		      *(uint32_t *)big == FASTFORK_STATS_SIZE_VER2 &&
		      big[FASTFORK_STATS_SIZE_VER2] == 0 &&
		      big[FASTFORK_STATS_SIZE_VER2 + 31] == 0 &&
		      big[FASTFORK_STATS_SIZE_VER2 + 32] == 0x55,
	      "STATS with a larger struct fills only its own size");
	*(uint32_t *)big = FASTFORK_STATS_SIZE_VER2 + 32;
	big[FASTFORK_STATS_SIZE_VER2 + 4] = 1;
	check(xioctl(fd, FASTFORK_IOC_STATS, big) == -E2BIG,
	      "STATS with a non-zero unknown tail fails with E2BIG");
	*(uint32_t *)big = 8;
	check(xioctl(fd, FASTFORK_IOC_STATS, big) == -EINVAL,
	      "STATS with size below VER1 fails with EINVAL");
	*(uint32_t *)big = page * 2;
	check(xioctl(fd, FASTFORK_IOC_STATS, big) == -E2BIG,
	      "STATS with size > PAGE_SIZE fails with E2BIG");
	check(xioctl(fd, FASTFORK_IOC_STATS, (void *)1) == -EFAULT,
	      "STATS with pointer 1 fails with EFAULT");
	/* Readable but not writable: the copy back faults. */
	memset(pages, 0, page);
	*(uint32_t *)pages = FASTFORK_STATS_SIZE_VER1;
	mprotect(pages, page, PROT_READ);
	check(xioctl(fd, FASTFORK_IOC_STATS, pages) == -EFAULT,
	      "STATS into read-only memory fails with EFAULT");

	printf("# %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
