/* SPDX-License-Identifier: MIT */
/* Reading /etc/fastfork.conf: see config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file text, split in place into NUL-terminated keys and values. */
static char text[16384];

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* A file anyone but root can change must not steer setuid programs. */
static enum config_status check_owner(int fd, int *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		*err = errno;
		return CONFIG_UNREADABLE;
	}
	if (!S_ISREG(st.st_mode))
		return CONFIG_NOT_REGULAR;
	if (st.st_uid != 0)
		return CONFIG_NOT_ROOT;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return CONFIG_WRITABLE;
	return CONFIG_LOADED;
}

static enum config_status read_all(int fd, int *err)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, text + len, sizeof(text) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = errno;
			return CONFIG_UNREADABLE;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* Full buffer: the file may be longer than we can hold. */
		if (len == sizeof(text) - 1)
			return CONFIG_TOO_LARGE;
	}
	text[len] = '\0';
	return CONFIG_LOADED;
}

static enum config_status split(struct config *config)
{
	unsigned line_no = 0;
	char *next = text;

	while (next) {
		char *line = next;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (config->count == CONFIG_MAX_ENTRIES)
			return CONFIG_TOO_MANY;

		struct config_entry *entry = &config->entries[config->count++];
		char *eq = strchr(line, '=');
		entry->line = line_no;
		entry->value = NULL;
		if (eq) {
			*eq = '\0';
			entry->value = trim(eq + 1);
		}
		entry->key = trim(line);
	}
	return CONFIG_LOADED;
}

void config_read(struct config *config)
{
	config->count = 0;
	config->err = 0;
	/* O_NONBLOCK: a FIFO planted here must not hang every process. */
	int fd =
		open(CONFIG_PATH, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		config->err = errno;
		config->status =
			errno == ENOENT ? CONFIG_ABSENT : CONFIG_UNREADABLE;
		return;
	}
	config->status = check_owner(fd, &config->err);
	if (config->status == CONFIG_LOADED)
		config->status = read_all(fd, &config->err);
	close(fd);
	if (config->status == CONFIG_LOADED)
		config->status = split(config);
	if (config->status != CONFIG_LOADED)
		config->count = 0;
}
