/* SPDX-License-Identifier: MIT */
/*
 * The system-wide configuration file /etc/fastfork.conf: KEY=value lines.
 * Format documented in config/fastfork.conf.
 */
#ifndef FASTFORK_CONFIG_H
#define FASTFORK_CONFIG_H

#define CONFIG_PATH	   "/etc/fastfork.conf"
#define CONFIG_MAX_ENTRIES 64

enum config_status {
	CONFIG_ABSENT,	    /* no file: built-in defaults */
	CONFIG_LOADED,	    /* entries below are valid */
	CONFIG_UNREADABLE,  /* open/read failed: err says why */
	CONFIG_NOT_REGULAR, /* not a regular file: ignored */
	CONFIG_NOT_ROOT,    /* not owned by root: ignored */
	CONFIG_WRITABLE,    /* group- or world-writable: ignored */
	CONFIG_TOO_LARGE,   /* larger than the read buffer: ignored */
	CONFIG_TOO_MANY,    /* more than CONFIG_MAX_ENTRIES settings */
};

struct config_entry {
	unsigned line;
	const char *key;
	const char *value; /* NULL: the line has no '=' */
};

struct config {
	enum config_status status;
	int err;
	unsigned count;
	struct config_entry entries[CONFIG_MAX_ENTRIES];
};

/*
 * Reads and splits the file.  Keys are not checked here: the caller does
 * that once it knows where warnings go.  The strings live in a static
 * buffer for the life of the process.  Constructor only.
 */
void config_read(struct config *config);

#endif /* FASTFORK_CONFIG_H */
