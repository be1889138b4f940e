/* SPDX-License-Identifier: MIT */
/* fastforkctl: command line and dispatch (see ctl.h, fastforkctl(8)). */
#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
	"Usage: fastforkctl [--root DIR] [--lib PATH] COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  status            module, ABI, kernel, hooks, IBT, Secure Boot,\n"
	"                    system-wide preload and kill-switch state\n"
	"  stats [--json] [--sysfs]\n"
	"                    the module's global counters\n"
	"  run [--mode M] [--engine E] [--min-rss S] [--log L] [--debug]\n"
	"      [--only-cmds LIST] [--skip-cmds LIST] -- CMD [ARGS...]\n"
	"                    run CMD with the shim preloaded and this policy\n"
	"  enable            add " FF_PRELOAD_ENTRY " to /etc/ld.so.preload\n"
	"                    (after checking that the library loads)\n"
	"  disable           remove every libfastfork.so entry from it\n"
	"\n"
	"Options:\n"
	"  --root DIR        operate on DIR/etc/ld.so.preload,\n"
	"                    DIR/etc/fastfork.disable and DIR" FF_LIB_PATH "\n"
	"  --lib PATH        the shim library file (default " FF_LIB_PATH ")\n"
	"  -h, --help        this text;  --version: the version\n"
	"\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("fastforkctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{"status", cmd_status}, {"stats", cmd_stats},	  {"run", cmd_run},
	{"enable", cmd_enable}, {"disable", cmd_disable},
};

int main(int argc, char **argv)
{
	int i = 1;

	if (argc == 2 && strcmp(argv[1], LOADCHECK_CMD) == 0)
		return cmd_loadcheck();
	/* Global options before the command. */
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return EXIT_OK;
		}
		if (strcmp(a, "--version") == 0) {
			printf("fastforkctl %s\n", FF_VERSION);
			return EXIT_OK;
		}
		if (strcmp(a, "--root") == 0 || strcmp(a, "--lib") == 0) {
			if (i + 1 >= argc)
				return usage_error("option '%s' needs an "
						   "argument",
						   a);
			paths_option(a[2] == 'r' ? 'R' : 'L', argv[i + 1]);
			i += 2;
			continue;
		}
		if (strncmp(a, "--root=", 7) == 0) {
			paths_option('R', a + 7);
			i++;
			continue;
		}
		if (strncmp(a, "--lib=", 6) == 0) {
			paths_option('L', a + 6);
			i++;
			continue;
		}
		return usage_error("unknown option '%s'", a);
	}
	if (i >= argc)
		return usage_error("no command given");
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			return commands[c].fn(argc - i, argv + i);
	return usage_error("unknown command '%s'", argv[i]);
}
