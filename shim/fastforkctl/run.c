/* SPDX-License-Identifier: MIT */
/*
 * `run [options] -- CMD ARGS...`: runs one command with the shim
 * preloaded (prepended to any LD_PRELOAD it already has) and the policy
 * given as FASTFORK_* environment variables; see fastfork(7).
 */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_MODE = 256,
	OPT_ENGINE,
	OPT_MIN_RSS,
	OPT_LOG,
	OPT_DEBUG,
	OPT_ONLY,
	OPT_SKIP,
};

static const struct option opts[] = {
	{"mode", required_argument, NULL, OPT_MODE},
	{"engine", required_argument, NULL, OPT_ENGINE},
	{"min-rss", required_argument, NULL, OPT_MIN_RSS},
	{"log", required_argument, NULL, OPT_LOG},
	{"debug", no_argument, NULL, OPT_DEBUG},
	{"only-cmds", required_argument, NULL, OPT_ONLY},
	{"skip-cmds", required_argument, NULL, OPT_SKIP},
	{"root", required_argument, NULL, 'R'},
	{"lib", required_argument, NULL, 'L'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return true;
	return false;
}

/* Bytes, or with a K/M/G suffix (any case), as the shim accepts. */
static bool valid_size(const char *v)
{
	size_t n = strspn(v, "0123456789");

	if (n == 0)
		return false;
	return v[n] == '\0' ||
	       (strchr("kKmMgG", v[n]) && v[n] != '\0' && v[n + 1] == '\0');
}

/* LD_PRELOAD with lib first, the existing entries kept (lib once). */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val, *copy, *tok, *save = NULL;
	size_t len;

	if (!old || !old[0])
		return setenv("LD_PRELOAD", lib, 1);
	len = strlen(lib) + strlen(old) + 2;
	val = malloc(len);
	copy = strdup(old);
	if (!val || !copy) {
		free(val);
		free(copy);
		return -1;
	}
	snprintf(val, len, "%s", lib);
	for (tok = strtok_r(copy, " :", &save); tok;
	     tok = strtok_r(NULL, " :", &save)) {
		if (strcmp(tok, lib) == 0)
			continue;
		strcat(val, ":");
		strcat(val, tok);
	}
	free(copy);
	len = (size_t)setenv("LD_PRELOAD", val, 1);
	free(val);
	return (int)len;
}

int cmd_run(int argc, char **argv)
{
	static const char *const modes[] = {"auto", "force", "off", "dryrun",
					    NULL};
	static const char *const engines[] = {"lazy", "eager", NULL};
	const char *lib;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		const char *var = NULL;

		if (paths_option(c, optarg))
			continue;
		switch (c) {
		case OPT_MODE:
			if (!one_of(optarg, modes))
				return usage_error("run: --mode must be auto, "
						   "force, off or dryrun, not "
						   "'%s'",
						   optarg);
			var = "FASTFORK_MODE";
			break;
		case OPT_ENGINE:
			if (!one_of(optarg, engines))
				return usage_error("run: --engine must be lazy "
						   "or eager, not '%s'",
						   optarg);
			var = "FASTFORK_ENGINE";
			break;
		case OPT_MIN_RSS:
			if (!valid_size(optarg))
				return usage_error("run: --min-rss takes bytes "
						   "or a size with K, M or G "
						   "(64M), not '%s'",
						   optarg);
			var = "FASTFORK_MIN_RSS";
			break;
		case OPT_LOG:
			if (strcmp(optarg, "stderr") != 0 && optarg[0] != '/')
				return usage_error("run: --log takes 'stderr' "
						   "or an absolute path, not "
						   "'%s'",
						   optarg);
			var = "FASTFORK_LOG";
			break;
		case OPT_DEBUG:
			setenv("FASTFORK_DEBUG", "1", 1);
			continue;
		case OPT_ONLY:
			var = "FASTFORK_ONLY_CMDS";
			break;
		case OPT_SKIP:
			var = "FASTFORK_SKIP_CMDS";
			break;
		case 'h':
			return usage_error("run: see the usage below");
		default:
			return usage_error("run: unknown option '%s'",
					   argv[optind - 1]);
		}
		if (setenv(var, optarg, 1) < 0) {
			err_msg("run: %s", strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (optind >= argc)
		return usage_error("run: no command given (run [OPTIONS] -- "
				   "CMD [ARGS...])");
	lib = shim_path();
	if (access(lib, R_OK) < 0) {
		err_msg("run: %s: %s: the shim library is not installed "
			"(or use --lib PATH)",
			lib, strerror(errno));
		return EXIT_FAIL;
	}
	if (set_preload(lib) < 0) {
		err_msg("run: %s", strerror(errno));
		return EXIT_FAIL;
	}
	execvp(argv[optind], argv + optind);
	c = errno;
	err_msg("run: %s: %s", argv[optind], strerror(c));
	return c == ENOENT ? 127 : 126;
}
