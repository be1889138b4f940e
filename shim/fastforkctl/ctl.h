/* SPDX-License-Identifier: MIT */
/*
 * fastforkctl: the administrator's tool for fastfork (see fastforkctl(8)).
 * Declarations shared by its files, one concept per file:
 *   main.c     command line, dispatch, usage
 *   paths.c    where things are: --root, --lib, the baked-in install paths
 *   util.c     small file helpers
 *   status.c   `status`
 *   stats.c    `stats`
 *   run.c      `run`
 *   preload.c  parsing and editing ld.so.preload contents (in memory)
 *   atomic.c   replacing a file atomically
 *   libcheck.c checking that the shim library is safe to preload
 *   enable.c   `enable` and `disable`
 */
#ifndef FASTFORKCTL_H
#define FASTFORKCTL_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses. */
#define EXIT_OK	   0
#define EXIT_FAIL  1 /* operational failure */
#define EXIT_USAGE 2 /* unknown command or option, bad argument */

/* Baked in at build time (shim/fastforkctl/CMakeLists.txt). */
#ifndef FF_VERSION
#define FF_VERSION "unknown"
#endif
#ifndef FF_PRELOAD_ENTRY /* the ld.so.preload line, $LIB literal */
#define FF_PRELOAD_ENTRY "/usr/$LIB/libfastfork.so"
#endif
#ifndef FF_LIB_PATH /* that entry resolved for this architecture */
#define FF_LIB_PATH "/usr/lib/x86_64-linux-gnu/libfastfork.so"
#endif

#define FF_LIB_NAME	   "libfastfork.so"
#define FF_DEVICE	   "/dev/fastfork"
#define FF_SYSFS_MISC	   "/sys/class/misc/fastfork"
#define FF_SYSFS_MODULE	   "/sys/module/fastfork"
#define FF_PRELOAD_FILE	   "/etc/ld.so.preload"
#define FF_KILLSWITCH_FILE "/etc/fastfork.disable"
#define FF_CONFIG_FILE	   "/etc/fastfork.conf"

/* paths.c: options shared by every command. */
struct ctl_paths {
	const char *root; /* --root DIR: prefix of /etc files; "" = / */
	const char *lib;  /* --lib PATH: the shim file; NULL = default */
};
extern struct ctl_paths ctl_paths;
/* ROOT + path, in a static buffer per slot (slot 0..3). */
const char *rooted(const char *path, int slot);
/* The shim library file to check/preload (--lib, else ROOT+FF_LIB_PATH). */
const char *shim_path(void);
/* Handles --root/--lib; returns 1 if opt was one of them, 0 if not. */
int paths_option(int opt, const char *arg);
/* Parses the arguments of a command that takes only --root and --lib:
 * 0, or the exit code of the usage error it reported. */
int paths_parse_args(int argc, char **argv);

/* util.c */
/* Reads a whole (small) file into a NUL-terminated malloc'd buffer;
 * *len gets its length.  NULL with errno on failure. */
char *read_file(const char *path, size_t max, size_t *len);
/* First line of a file, without newline, into buf; false on failure. */
bool read_line(const char *path, char *buf, size_t size);
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* preload.c: ld.so.preload contents.  Entries are separated by blanks or
 * ':' and a '#' starts a comment to the end of the line (as ld.so reads
 * them).  An entry "is fastfork" if its file name is libfastfork.so. */
bool preload_is_fastfork(const char *entry);
/* Whether text lists exactly `entry`; fills other (if not NULL, size n)
 * with the first fastfork entry that is not `entry`. */
bool preload_lists(const char *text, const char *entry, char *other, size_t n);
/* Text with every fastfork entry removed (lines left empty by that are
 * dropped, everything else kept byte for byte); *removed counts them.
 * malloc'd; NULL on ENOMEM. */
char *preload_remove(const char *text, int *removed);
/* Text with `entry` appended as a line of its own.  malloc'd. */
char *preload_append(const char *text, const char *entry);
/* NULL if text can be parsed, else the reason. */
const char *preload_unparseable(const char *text, size_t len);

/* atomic.c: replaces path by data (mode 0644, owner root when run as
 * root) through a temporary file in the same directory, fsync and
 * rename; len 0 removes the file instead.  0, or -1 with errno. */
int atomic_replace(const char *path, const char *data, size_t len);

/* libcheck.c: 0 if the library at path may go into ld.so.preload, else
 * -1 with the reason printed. */
int libcheck(const char *path);
/* The hidden command a preload check runs in a child (main.c). */
#define LOADCHECK_CMD "__loadcheck"
int cmd_loadcheck(void);

/* Commands: argc/argv start at the command name. */
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);

/* Prints usage to stderr and returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* FASTFORKCTL_H */
