/* SPDX-License-Identifier: MIT */
/*
 * `enable` / `disable`: add or remove the shim's entry in
 * /etc/ld.so.preload (ROOT/etc/ld.so.preload with --root).  Both are
 * idempotent; the file is replaced atomically (atomic.c) and every other
 * line and comment is kept.
 */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the preload file: *text = contents ("" when absent).  -1 when it
 * cannot be read or must not be touched. */
static int load(const char *file, char **text)
{
	const char *why;
	struct stat st;
	size_t len = 0;

	if (lstat(file, &st) < 0) {
		if (errno != ENOENT) {
			err_msg("%s: %s", file, strerror(errno));
			return -1;
		}
		*text = strdup("");
		return *text ? 0 : -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err_msg("%s: not a regular file (%s): refusing to replace it; "
			"edit it by hand",
			file,
			S_ISLNK(st.st_mode) ? "a symbolic link" : "special");
		return -1;
	}
	*text = read_file(file, 1 << 20, &len);
	if (!*text) {
		err_msg("%s: %s", file, strerror(errno));
		return -1;
	}
	why = preload_unparseable(*text, len);
	if (why) {
		err_msg("%s: cannot parse it: %s; refusing to change it "
			"(fix or remove it by hand)",
			file, why);
		free(*text);
		return -1;
	}
	return 0;
}

int cmd_enable(int argc, char **argv)
{
	const char *file, *lib = NULL;
	char other[4096], *text, *next;
	bool listed;
	int r = paths_parse_args(argc, argv);

	if (r)
		return r;
	file = rooted(FF_PRELOAD_FILE, 0);
	lib = shim_path();
	if (load(file, &text) < 0)
		return EXIT_FAIL;
	listed = preload_lists(text, FF_PRELOAD_ENTRY, other, sizeof(other));
	if (other[0]) {
		err_msg("%s already lists another libfastfork.so entry (%s): "
			"refusing to add a second one; run 'fastforkctl "
			"disable' first",
			file, other);
		free(text);
		return EXIT_FAIL;
	}
	if (libcheck(lib) < 0) {
		if (listed)
			err_msg("%s lists %s, but the library fails the checks "
				"above: run 'fastforkctl disable'",
				file, FF_PRELOAD_ENTRY);
		else
			err_msg("not enabled: %s left unchanged", file);
		free(text);
		return EXIT_FAIL;
	}
	if (listed) {
		printf("already enabled: %s lists %s (%s)\n", file,
		       FF_PRELOAD_ENTRY, lib);
		free(text);
		return EXIT_OK;
	}
	next = preload_append(text, FF_PRELOAD_ENTRY);
	free(text);
	if (!next || atomic_replace(file, next, strlen(next)) < 0) {
		err_msg("cannot update %s: %s", file, strerror(errno));
		free(next);
		return EXIT_FAIL;
	}
	free(next);
	printf("enabled: added %s to %s; programs started from now on load "
	       "%s\n",
	       FF_PRELOAD_ENTRY, file, lib);
	return EXIT_OK;
}

int cmd_disable(int argc, char **argv)
{
	const char *file;
	char *text, *next;
	int removed, r = paths_parse_args(argc, argv);

	if (r)
		return r;
	file = rooted(FF_PRELOAD_FILE, 0);
	if (load(file, &text) < 0)
		return EXIT_FAIL;
	next = preload_remove(text, &removed);
	free(text);
	if (!next) {
		err_msg("out of memory");
		return EXIT_FAIL;
	}
	if (!removed) {
		printf("already disabled: %s lists no %s\n", file, FF_LIB_NAME);
		free(next);
		return EXIT_OK;
	}
	if (atomic_replace(file, next, strlen(next)) < 0) {
		err_msg("cannot update %s: %s", file, strerror(errno));
		free(next);
		return EXIT_FAIL;
	}
	printf("disabled: removed %d %s entr%s from %s%s; programs started "
	       "from now on do not load it\n",
	       removed, FF_LIB_NAME, removed == 1 ? "y" : "ies", file,
	       next[0] ? "" : " (now empty: removed the file)");
	if (access(shim_path(), F_OK) < 0)
		printf("note: the library %s was missing\n", shim_path());
	free(next);
	return EXIT_OK;
}
