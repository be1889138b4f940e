/* SPDX-License-Identifier: MIT */
/*
 * Async-signal-safe logging: a line is formatted into a stack buffer by a
 * tiny formatter and written with one write(2).  No stdio, no malloc.
 */
#ifndef FASTFORK_LOG_H
#define FASTFORK_LOG_H

#include <stddef.h>
#include <stdint.h>

struct log_line {
	char buf[512];
	size_t len;
};

/* Starts a line with "fastfork: <program>[<pid>]: ". */
void log_begin(struct log_line *line);
void log_str(struct log_line *line, const char *s);
void log_u64(struct log_line *line, uint64_t v);
void log_hex(struct log_line *line, uint64_t v);
/* Appends the symbolic name of an errno value ("ENOENT"). */
void log_errno(struct log_line *line, int err);
/* Terminates the line and writes it; preserves errno. */
void log_end(struct log_line *line);

/*
 * Sends later lines to the file at path (opened O_APPEND per line, so the
 * shim never holds a descriptor the application could close or reuse), or
 * to stderr if path is NULL.  Not async-signal-safe: constructor only.
 */
void log_set_path(const char *path);
/* Names the program in every line.  Constructor only. */
void log_set_program(const char *name);

#endif /* FASTFORK_LOG_H */
