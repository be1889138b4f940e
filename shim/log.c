/* SPDX-License-Identifier: MIT */
/* Async-signal-safe logging: see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* Empty: stderr.  Written only by the constructor. */
static char log_path[PATH_MAX];
/* Until the constructor names the program, lines say "?". */
static char program[NAME_MAX + 1] = "?";

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{EPERM, "EPERM"},     {ENOENT, "ENOENT"},
	{EINTR, "EINTR"},     {EIO, "EIO"},
	{ENXIO, "ENXIO"},     {E2BIG, "E2BIG"},
	{EBADF, "EBADF"},     {EAGAIN, "EAGAIN"},
	{ENOMEM, "ENOMEM"},   {EACCES, "EACCES"},
	{EFAULT, "EFAULT"},   {EBUSY, "EBUSY"},
	{EEXIST, "EEXIST"},   {ENODEV, "ENODEV"},
	{ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
	{EINVAL, "EINVAL"},   {ENFILE, "ENFILE"},
	{EMFILE, "EMFILE"},   {ENOTTY, "ENOTTY"},
	{EROFS, "EROFS"},     {ELOOP, "ELOOP"},
	{ENOSYS, "ENOSYS"},   {EOPNOTSUPP, "EOPNOTSUPP"},
	{ESRCH, "ESRCH"},     {ENAMETOOLONG, "ENAMETOOLONG"},
};

void log_str(struct log_line *line, const char *s)
{
	/* Keep one byte for the newline that log_end() adds. */
	while (*s && line->len < sizeof(line->buf) - 1)
		line->buf[line->len++] = *s++;
}

void log_u64(struct log_line *line, uint64_t v)
{
	char digits[21];
	size_t n = sizeof(digits);

	digits[--n] = '\0';
	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	log_str(line, &digits[n]);
}

void log_hex(struct log_line *line, uint64_t v)
{
	char digits[19];
	size_t n = sizeof(digits);

	digits[--n] = '\0';
	do {
		digits[--n] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	digits[--n] = 'x';
	digits[--n] = '0';
	log_str(line, &digits[n]);
}

void log_errno(struct log_line *line, int err)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]);
	     i++) {
		if (errno_names[i].err == err) {
			log_str(line, errno_names[i].name);
			return;
		}
	}
	log_str(line, "errno ");
	log_u64(line, (uint64_t)err);
}

void log_begin(struct log_line *line)
{
	line->len = 0;
	log_str(line, "fastfork: ");
	log_str(line, program);
	log_str(line, "[");
	log_u64(line, (uint64_t)getpid());
	log_str(line, "]: ");
}

void log_end(struct log_line *line)
{
	int saved_errno = errno;
	int fd = STDERR_FILENO;

	line->buf[line->len++] = '\n';
	if (log_path[0]) {
		fd = open(log_path,
			  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
			  0600);
		if (fd < 0) {
			errno = saved_errno;
			return;
		}
	}
	/* A short or failed write loses a log line, nothing else. */
	(void)!write(fd, line->buf, line->len);
	if (fd != STDERR_FILENO)
		close(fd);
	errno = saved_errno;
}

void log_set_path(const char *path)
{
	if (!path) {
		log_path[0] = '\0';
		return;
	}
	/* The caller has checked that the path fits. */
	strcpy(log_path, path);
}

void log_set_program(const char *name)
{
	size_t n = strlen(name);

	if (n >= sizeof(program))
		n = sizeof(program) - 1;
	memcpy(program, name, n);
	program[n] = '\0';
}
