// SPDX-License-Identifier: GPL-2.0
/*
 * Global counters, and their sysfs view on the misc device:
 *   /sys/class/misc/fastfork/abi_version
 *   /sys/class/misc/fastfork/stats/<field>   (one file per UAPI field)
 *
 * Locking: counters are atomic64_t, updated from any context; a reader
 * sees each counter exactly but not a snapshot across counters.
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "fastfork.h"

static atomic64_t ff_stats[FF_NR_STATS];

void ff_stat_inc(enum ff_stat stat)
{
	atomic64_inc(&ff_stats[stat]);
}

static u64 ff_stat_read(enum ff_stat stat)
{
	return atomic64_read(&ff_stats[stat]);
}

void ff_stats_fill(struct fastfork_stats *stats)
{
	stats->reserved = 0;
	stats->arms = ff_stat_read(FF_STAT_ARMS);
	stats->forks_served = ff_stat_read(FF_STAT_FORKS_SERVED);
	stats->arms_cleared_exec = ff_stat_read(FF_STAT_ARMS_CLEARED_EXEC);
	stats->arms_cleared_exit = ff_stat_read(FF_STAT_ARMS_CLEARED_EXIT);
	stats->arms_cleared_failed_clone =
		ff_stat_read(FF_STAT_ARMS_CLEARED_FAILED_CLONE);
	stats->armed_threads = atomic_read(&ff_nr_arms);
}

/* A counter file: which ff_stat it shows. */
struct ff_stat_attribute {
	struct device_attribute attr;
	enum ff_stat stat;
};

static ssize_t ff_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct ff_stat_attribute *sattr =
		container_of(attr, struct ff_stat_attribute, attr);

	return sysfs_emit(buf, "%llu\n", ff_stat_read(sattr->stat));
}

#define FF_STAT_ATTR(_name, _stat)					\
	struct ff_stat_attribute ff_stat_attr_##_name = {		\
		.attr = __ATTR(_name, 0444, ff_stat_show, NULL),	\
		.stat = (_stat),					\
	}

static FF_STAT_ATTR(arms, FF_STAT_ARMS);
static FF_STAT_ATTR(forks_served, FF_STAT_FORKS_SERVED);
static FF_STAT_ATTR(arms_cleared_exec, FF_STAT_ARMS_CLEARED_EXEC);
static FF_STAT_ATTR(arms_cleared_exit, FF_STAT_ARMS_CLEARED_EXIT);
static FF_STAT_ATTR(arms_cleared_failed_clone,
		    FF_STAT_ARMS_CLEARED_FAILED_CLONE);

/* A gauge, not a counter: live arm records right now. */
static ssize_t armed_threads_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&ff_nr_arms));
}
static DEVICE_ATTR_RO(armed_threads);

/* The UAPI "reserved" field is not exported: it carries no value. */
static struct attribute *ff_stats_attrs[] = {
	&ff_stat_attr_arms.attr.attr,
	&ff_stat_attr_forks_served.attr.attr,
	&ff_stat_attr_arms_cleared_exec.attr.attr,
	&ff_stat_attr_arms_cleared_exit.attr.attr,
	&ff_stat_attr_arms_cleared_failed_clone.attr.attr,
	&dev_attr_armed_threads.attr,
	NULL,
};

static const struct attribute_group ff_stats_group = {
	.name = "stats",
	.attrs = ff_stats_attrs,
};

static ssize_t abi_version_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", FASTFORK_ABI_VERSION);
}
static DEVICE_ATTR_RO(abi_version);

static struct attribute *ff_dev_attrs[] = {
	&dev_attr_abi_version.attr,
	NULL,
};

static const struct attribute_group ff_dev_group = {
	.attrs = ff_dev_attrs,
};

const struct attribute_group *ff_dev_attr_groups[] = {
	&ff_dev_group,
	&ff_stats_group,
	NULL,
};
