/* SPDX-License-Identifier: MIT */
/* The per-fork decision: see decide.h. */
#include "decide.h"

#include <errno.h>

#include "counters.h"
#include "device.h"
#include "fastfork_uapi.h"
#include "log.h"
#include "policy.h"
#include "rss.h"

static const char *const origin_names[] = {
	[ORIGIN_FORK] = "fork",
	[ORIGIN__FORK] = "_Fork",
	[ORIGIN_ATFORK] = "fork without the wrapper",
};

static const char *engine_name(uint32_t engine)
{
	return engine == FASTFORK_ENGINE_EAGER ? "eager" : "lazy";
}

static void log_device_reason(struct log_line *line, const char *path,
			      const struct device_outcome *outcome)
{
	switch (outcome->status) {
	case DEVICE_OK:
		break;
	case DEVICE_OPEN_FAILED:
		log_str(line, "no_device: open ");
		log_str(line, path);
		log_str(line, ": ");
		log_errno(line, outcome->err);
		break;
	case DEVICE_NOT_FASTFORK:
		log_str(line, "no_device: ");
		log_str(line, path);
		log_str(line,
			" is not a fastfork device (FASTFORK_IOC_VERSION: ");
		log_errno(line, outcome->err);
		log_str(line, ")");
		break;
	case DEVICE_ABI_MISMATCH:
		log_str(line, "abi_mismatch: module ABI ");
		log_u64(line, outcome->abi_version);
		log_str(line, " features ");
		log_hex(line, outcome->features);
		log_str(line, ", shim needs ABI ");
		log_u64(line, FASTFORK_ABI_VERSION);
		log_str(line, " with FASTFORK_FEAT_ARM");
		break;
	case DEVICE_ARM_REFUSED:
		log_str(line, "arm_refused: FASTFORK_IOC_ARM: ");
		log_errno(line, outcome->err);
		break;
	}
}

static enum counter fallback_counter(enum device_status status)
{
	switch (status) {
	case DEVICE_ABI_MISMATCH:
		return COUNTER_FALLBACK_ABI_MISMATCH;
	case DEVICE_ARM_REFUSED:
		return COUNTER_FALLBACK_ARM_REFUSED;
	default:
		return COUNTER_FALLBACK_NO_DEVICE;
	}
}

/* Ordinary fork before the device is asked: off, filtered, small. */
static void fall_back(const struct policy *policy, enum fork_origin origin,
		      enum counter reason, const char *why, uint64_t rss)
{
	counter_inc(reason);
	if (!policy->debug && policy->mode != MODE_DRYRUN)
		return;

	struct log_line line;
	log_begin(&line);
	log_str(&line, origin_names[origin]);
	log_str(&line, policy->mode == MODE_DRYRUN ? ": dryrun: " : ": ");
	log_str(&line, "ordinary fork (");
	log_str(&line, why);
	if (reason == COUNTER_FALLBACK_BELOW_MIN_RSS) {
		log_str(&line, ": rss ");
		log_u64(&line, rss);
		log_str(&line, " < FASTFORK_MIN_RSS ");
		log_u64(&line, policy->min_rss);
	}
	log_str(&line, ")");
	log_end(&line);
}

static bool below_min_rss(const struct policy *policy, uint64_t *rss)
{
	*rss = 0;
	if (!policy->min_rss)
		return false;
	/* An unreadable RSS is treated as small: the ordinary fork is the
	 * conservative choice. */
	return !rss_read(rss) || *rss < policy->min_rss;
}

static void dry_run(const struct policy *policy, enum fork_origin origin)
{
	struct device_outcome outcome;
	struct log_line line;

	counter_inc(COUNTER_FALLBACK_DRYRUN);
	device_probe_and_arm(policy->device, false, policy->engine, &outcome);
	log_begin(&line);
	log_str(&line, origin_names[origin]);
	log_str(&line, ": dryrun: ordinary fork; ");
	if (outcome.status == DEVICE_OK) {
		log_str(&line, "would arm engine=");
		log_str(&line, engine_name(policy->engine));
	} else {
		log_str(&line, "would fall back (");
		log_device_reason(&line, policy->device, &outcome);
		log_str(&line, ")");
	}
	log_end(&line);
}

static bool arm(const struct policy *policy, enum fork_origin origin)
{
	struct device_outcome outcome;
	struct log_line line;

	device_probe_and_arm(policy->device, true, policy->engine, &outcome);
	if (outcome.status == DEVICE_OK) {
		counter_inc(COUNTER_FORKS_SERVED);
		if (policy->debug) {
			log_begin(&line);
			log_str(&line, origin_names[origin]);
			log_str(&line, ": armed engine=");
			log_str(&line, engine_name(policy->engine));
			log_end(&line);
		}
		return true;
	}

	bool fail = policy->mode == MODE_FORCE && origin != ORIGIN_ATFORK;
	if (fail)
		counter_inc(COUNTER_FORCE_FAILURES);
	else
		counter_inc(fallback_counter(outcome.status));
	if (policy->mode != MODE_FORCE && !policy->debug)
		return true;

	log_begin(&line);
	log_str(&line, origin_names[origin]);
	if (fail)
		log_str(&line, ": force: failing with ENODEV (");
	else if (policy->mode == MODE_FORCE)
		log_str(&line, ": force: too late to fail, ordinary fork (");
	else
		log_str(&line, ": ordinary fork (");
	log_device_reason(&line, policy->device, &outcome);
	log_str(&line, ")");
	log_end(&line);
	return !fail;
}

bool decide_and_arm(enum fork_origin origin)
{
	const struct policy *policy;
	uint64_t rss;

	counter_inc(COUNTER_FORKS_SEEN);
	switch (policy_get(&policy)) {
	case POLICY_EARLY:
		/* Neither the kill-switch nor the configuration has been
		 * read yet: the only safe choice is an ordinary fork. */
		counter_inc(COUNTER_FALLBACK_EARLY);
		return true;
	case POLICY_DISABLED:
		counter_inc(COUNTER_FALLBACK_KILLSWITCH);
		return true;
	case POLICY_READY:
		break;
	}

	if (policy->mode == MODE_OFF)
		fall_back(policy, origin, COUNTER_FALLBACK_OFF,
			  "FASTFORK_MODE=off", 0);
	else if (policy->cmd_filtered)
		fall_back(policy, origin, COUNTER_FALLBACK_CMD_FILTERED,
			  "program excluded by FASTFORK_ONLY_CMDS/SKIP_CMDS",
			  0);
	else if (below_min_rss(policy, &rss))
		fall_back(policy, origin, COUNTER_FALLBACK_BELOW_MIN_RSS,
			  "below_min_rss", rss);
	else if (policy->mode == MODE_DRYRUN)
		dry_run(policy, origin);
	else
		return arm(policy, origin);
	return true;
}
