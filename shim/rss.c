/* SPDX-License-Identifier: MIT */
/* Resident set size from /proc/self/statm: see rss.h. */
#include "rss.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <unistd.h>

static uint64_t page_size = 4096;

void rss_init(void)
{
	unsigned long size = getauxval(AT_PAGESZ);

	if (size)
		page_size = size;
}

bool rss_read(uint64_t *bytes)
{
	int saved_errno = errno;
	char buf[128];
	ssize_t n = -1;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	errno = saved_errno;
	if (n <= 0)
		return false;
	buf[n] = '\0';

	/* "size resident shared text lib data dt", in pages. */
	const char *p = buf;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ' ' || *p < '0' || *p > '9')
		return false;
	uint64_t pages = 0;
	while (*p >= '0' && *p <= '9')
		pages = pages * 10 + (uint64_t)(*p++ - '0');
	*bytes = pages * page_size;
	return true;
}
