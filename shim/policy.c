/* SPDX-License-Identifier: MIT */
/* Loading the fork policy: see policy.h and config/fastfork.conf. */
#include "policy.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fastfork_uapi.h"
#include "log.h"

#define ENV_PREFIX "FASTFORK_"

extern char **environ;

static struct policy policy;
static _Atomic int state = POLICY_EARLY;

/* Values under construction; strings point into the environment or the
 * config file's buffer, both of which outlive the constructor. */
struct staged {
	struct policy policy;
	const char *only_cmds; /* NULL: not set */
	const char *skip_cmds; /* NULL: not set */
};

struct setting {
	const char *key;
	const char *expected; /* what a valid value looks like */
	const char *default_text;
	bool (*apply)(const char *value, struct staged *staged);
};

static const char *const mode_names[] = {
	[MODE_AUTO] = "auto",
	[MODE_FORCE] = "force",
	[MODE_OFF] = "off",
	[MODE_DRYRUN] = "dryrun",
};

static bool apply_mode(const char *value, struct staged *staged)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]);
	     i++) {
		if (strcasecmp(value, mode_names[i]) == 0) {
			staged->policy.mode = (enum mode)i;
			return true;
		}
	}
	return false;
}

static bool apply_engine(const char *value, struct staged *staged)
{
	if (strcasecmp(value, "lazy") == 0)
		staged->policy.engine = FASTFORK_ENGINE_LAZY;
	else if (strcasecmp(value, "eager") == 0)
		staged->policy.engine = FASTFORK_ENGINE_EAGER;
	else
		return false;
	return true;
}

static bool apply_min_rss(const char *value, struct staged *staged)
{
	uint64_t n = 0;
	const char *p = value;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}

	unsigned shift = 0;
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return false;
	}
	if (shift && *++p != '\0')
		return false;
	if (n > UINT64_MAX >> shift)
		return false;
	staged->policy.min_rss = n << shift;
	return true;
}

static bool apply_debug(const char *value, struct staged *staged)
{
	if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
		return false;
	staged->policy.debug = value[0] == '1';
	return true;
}

static bool is_absolute_path(const char *value)
{
	return value[0] == '/' && strlen(value) < PATH_MAX;
}

/* Takes effect at once, so that the warnings that follow go to the log. */
static bool apply_log(const char *value, struct staged *staged)
{
	(void)staged;
	if (strcmp(value, "stderr") == 0) {
		log_set_path(NULL);
		return true;
	}
	if (!is_absolute_path(value))
		return false;
	log_set_path(value);
	return true;
}

static bool apply_device(const char *value, struct staged *staged)
{
	if (!is_absolute_path(value))
		return false;
	strcpy(staged->policy.device, value);
	return true;
}

/* A comma-separated list of program names: no '/', no empty list. */
static bool is_cmd_list(const char *value)
{
	bool has_name = false;

	for (const char *p = value; *p; p++) {
		if (*p == '/')
			return false;
		if (*p != ',' && *p != ' ' && *p != '\t')
			has_name = true;
	}
	return has_name;
}

static bool apply_only_cmds(const char *value, struct staged *staged)
{
	if (!is_cmd_list(value))
		return false;
	staged->only_cmds = value;
	return true;
}

static bool apply_skip_cmds(const char *value, struct staged *staged)
{
	if (!is_cmd_list(value))
		return false;
	staged->skip_cmds = value;
	return true;
}

/* FASTFORK_LOG comes first, so that every later warning goes to the log. */
static const struct setting settings[] = {
	{"FASTFORK_LOG", "\"stderr\" or an absolute path", "stderr", apply_log},
	{"FASTFORK_MODE", "auto, force, off or dryrun", "auto", apply_mode},
	{"FASTFORK_ENGINE", "lazy or eager", "lazy", apply_engine},
	{"FASTFORK_MIN_RSS", "a size in bytes with optional K, M or G suffix",
	 "0", apply_min_rss},
	{"FASTFORK_ONLY_CMDS", "a comma-separated list of program names",
	 "(unset)", apply_only_cmds},
	{"FASTFORK_SKIP_CMDS", "a comma-separated list of program names",
	 "(unset)", apply_skip_cmds},
	{"FASTFORK_DEBUG", "0 or 1", "0", apply_debug},
	{"FASTFORK_DEVICE", "an absolute path", FASTFORK_DEVICE_PATH,
	 apply_device},
};

/* Where the value in effect came from, for warnings. */
struct origin {
	const char *text;
	const char *where; /* "built-in default", CONFIG_PATH or env */
	unsigned line;	   /* config file line, or 0 */
};

static void log_origin(struct log_line *line, const struct origin *origin)
{
	log_str(line, origin->where);
	if (origin->line) {
		log_str(line, ":");
		log_u64(line, origin->line);
	}
}

static void warn_bad_value(const struct setting *setting,
			   const struct origin *bad, const struct origin *used)
{
	struct log_line line;

	log_begin(&line);
	log_str(&line, "warning: ");
	log_str(&line, setting->key);
	log_str(&line, "=\"");
	log_str(&line, bad->text);
	log_str(&line, "\" (");
	log_origin(&line, bad);
	log_str(&line, ") is invalid, expected ");
	log_str(&line, setting->expected);
	log_str(&line, "; using \"");
	log_str(&line, used->text);
	log_str(&line, "\" (");
	log_origin(&line, used);
	log_str(&line, ")");
	log_end(&line);
}

static void warn(const char *what, const char *detail)
{
	struct log_line line;

	log_begin(&line);
	log_str(&line, "warning: ");
	log_str(&line, what);
	log_str(&line, detail);
	log_end(&line);
}

static const struct config_entry *find_entry(const struct config *config,
					     const char *key)
{
	const struct config_entry *found = NULL;

	/* The last assignment of a key wins, as in a shell. */
	for (unsigned i = 0; i < config->count; i++) {
		if (config->entries[i].value &&
		    strcmp(config->entries[i].key, key) == 0)
			found = &config->entries[i];
	}
	return found;
}

/* Built-in default, then the config file, then the environment.  An empty
 * value counts as not set.  A bad value keeps the value from below it. */
static void resolve(const struct setting *setting, const struct config *config,
		    bool secure, struct staged *staged)
{
	struct origin used = {setting->default_text, "built-in default", 0};
	const struct config_entry *entry = find_entry(config, setting->key);

	if (entry && entry->value[0]) {
		struct origin from_file = {entry->value, CONFIG_PATH,
					   entry->line};
		if (setting->apply(entry->value, staged))
			used = from_file;
		else
			warn_bad_value(setting, &from_file, &used);
	}

	/* secure_getenv() already returns NULL under AT_SECURE; checking
	 * secure as well keeps that rule visible here. */
	const char *value = secure ? NULL : secure_getenv(setting->key);
	if (value && value[0]) {
		struct origin from_env = {value, "environment", 0};
		if (!setting->apply(value, staged))
			warn_bad_value(setting, &from_env, &used);
	}
}

static void warn_config_status(const struct config *config)
{
	struct log_line line;
	const char *problem = NULL;

	switch (config->status) {
	case CONFIG_ABSENT:
	case CONFIG_LOADED:
		return;
	case CONFIG_UNREADABLE:
		log_begin(&line);
		log_str(&line, "warning: cannot read " CONFIG_PATH ": ");
		log_errno(&line, config->err);
		log_str(&line, "; using built-in defaults");
		log_end(&line);
		return;
	case CONFIG_NOT_REGULAR:
		problem = "is not a regular file";
		break;
	case CONFIG_NOT_ROOT:
		problem = "is not owned by root";
		break;
	case CONFIG_WRITABLE:
		problem = "is group- or world-writable";
		break;
	case CONFIG_TOO_LARGE:
		problem = "is too large";
		break;
	case CONFIG_TOO_MANY:
		problem = "has too many settings";
		break;
	}
	warn(CONFIG_PATH " ignored: it ", problem);
}

static bool is_known_key(const char *key, size_t len)
{
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		if (strlen(settings[i].key) == len &&
		    strncmp(settings[i].key, key, len) == 0)
			return true;
	}
	return false;
}

static void warn_config_lines(const struct config *config)
{
	for (unsigned i = 0; i < config->count; i++) {
		const struct config_entry *entry = &config->entries[i];
		const char *problem = NULL;

		if (!entry->value)
			problem = ": not a KEY=value line; ignored";
		else if (!is_known_key(entry->key, strlen(entry->key)))
			problem = ": unknown key; line ignored";
		if (!problem)
			continue;

		struct log_line line;
		log_begin(&line);
		log_str(&line, "warning: " CONFIG_PATH ":");
		log_u64(&line, entry->line);
		log_str(&line, ": \"");
		log_str(&line, entry->key);
		log_str(&line, "\"");
		log_str(&line, problem);
		log_end(&line);
	}
}

/* A misspelt variable would otherwise be silently ignored. */
static void warn_unknown_environment(void)
{
	for (char **env = environ; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		if (strncmp(*env, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 || !eq)
			continue;
		if (is_known_key(*env, (size_t)(eq - *env)))
			continue;

		struct log_line line;
		log_begin(&line);
		log_str(&line, "warning: unknown variable ");
		log_str(&line, *env);
		log_str(&line, "; ignored");
		log_end(&line);
	}
}

static bool list_has(const char *list, const char *name)
{
	size_t name_len = strlen(name);
	const char *p = list;

	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		const char *start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		if ((size_t)(p - start) == name_len && name_len &&
		    strncmp(start, name, name_len) == 0)
			return true;
	}
	return false;
}

/*
 * The program is identified by program_invocation_short_name (the basename
 * of argv[0]), copied here before main() runs, so a program that later
 * rewrites its argv to show its status (redis-server does) keeps its name.
 * argv[0] rather than /proc/self/exe, because that is the name the
 * administrator knows: Debian's redis-server is a symlink to
 * redis-check-rdb, and python3 one to python3.11.
 */
static void read_program_name(char *name, size_t size)
{
	const char *base = program_invocation_short_name;
	size_t len = strlen(base);

	if (len >= size)
		len = size - 1;
	memcpy(name, base, len);
	name[len] = '\0';
}

static bool killswitch_engaged(bool *untrusted)
{
	struct stat st;

	*untrusted = false;
	if (stat(KILLSWITCH_PATH, &st) != 0)
		return false;
	if (st.st_uid == 0)
		return true;
	*untrusted = true;
	return false;
}

static void log_policy(const struct staged *staged, const char *program,
		       bool secure)
{
	struct log_line line;

	log_begin(&line);
	log_str(&line, "policy: mode=");
	log_str(&line, mode_names[staged->policy.mode]);
	log_str(&line, staged->policy.engine == FASTFORK_ENGINE_EAGER
			       ? " engine=eager"
			       : " engine=lazy");
	log_str(&line, " min_rss=");
	log_u64(&line, staged->policy.min_rss);
	log_str(&line, " device=");
	log_str(&line, staged->policy.device);
	log_str(&line, " program=");
	log_str(&line, program);
	log_str(&line, staged->policy.cmd_filtered ? " (filtered out)" : "");
	log_str(&line, secure ? " environment=ignored(AT_SECURE)" : "");
	log_end(&line);
}

enum policy_state policy_get(const struct policy **current)
{
	*current = &policy;
	return (enum policy_state)atomic_load_explicit(&state,
						       memory_order_acquire);
}

enum policy_state policy_load(void)
{
	static struct config config;
	struct staged staged = {.policy = {.mode = MODE_AUTO,
					   .engine = FASTFORK_ENGINE_LAZY,
					   .device = FASTFORK_DEVICE_PATH}};
	char program[NAME_MAX + 1];
	bool untrusted_killswitch;

	/* The kill-switch comes before anything else, logging included. */
	if (killswitch_engaged(&untrusted_killswitch)) {
		atomic_store_explicit(&state, POLICY_DISABLED,
				      memory_order_release);
		return POLICY_DISABLED;
	}

	read_program_name(program, sizeof(program));
	log_set_program(program);
	config_read(&config);
	bool secure = getauxval(AT_SECURE) != 0;

	resolve(&settings[0], &config, secure, &staged);
	warn_config_status(&config);
	warn_config_lines(&config);
	if (untrusted_killswitch)
		warn(KILLSWITCH_PATH, " is not owned by root; ignored");
	if (!secure)
		warn_unknown_environment();
	for (size_t i = 1; i < sizeof(settings) / sizeof(settings[0]); i++)
		resolve(&settings[i], &config, secure, &staged);

	if (staged.only_cmds && staged.skip_cmds)
		warn("FASTFORK_ONLY_CMDS and FASTFORK_SKIP_CMDS are both set",
		     "; ignoring both");
	else if (staged.only_cmds)
		staged.policy.cmd_filtered =
			!list_has(staged.only_cmds, program);
	else if (staged.skip_cmds)
		staged.policy.cmd_filtered =
			list_has(staged.skip_cmds, program);

	if (staged.policy.debug)
		log_policy(&staged, program, secure);
	policy = staged.policy;
	atomic_store_explicit(&state, POLICY_READY, memory_order_release);
	return POLICY_READY;
}
