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

void ff_stat_add(enum ff_stat stat, long delta)
{
	atomic64_add(delta, &ff_stats[stat]);
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
	stats->tables_detached = ff_stat_read(FF_STAT_TABLES_DETACHED);
	stats->tables_shared = ff_stat_read(FF_STAT_TABLES_SHARED);
	stats->tables_copied = ff_stat_read(FF_STAT_TABLES_COPIED);
	stats->tables_attached = ff_stat_read(FF_STAT_TABLES_ATTACHED);
	stats->tables_dropped = ff_stat_read(FF_STAT_TABLES_DROPPED);
	stats->tables_resolved_eager =
		ff_stat_read(FF_STAT_TABLES_RESOLVED_EAGER);
	stats->tables_resolved_background =
		ff_stat_read(FF_STAT_TABLES_RESOLVED_BACKGROUND);
	stats->tables_live = ff_stat_read(FF_STAT_TABLES_LIVE);
	stats->fallback_vma = ff_stat_read(FF_STAT_FALLBACK_VMA);
	stats->fallback_mm = ff_stat_read(FF_STAT_FALLBACK_MM);
	stats->fallback_table_entries =
		ff_stat_read(FF_STAT_FALLBACK_TABLE_ENTRIES);
	stats->fallback_table_nomem =
		ff_stat_read(FF_STAT_FALLBACK_TABLE_NOMEM);
	stats->resolve_conflicts = ff_stat_read(FF_STAT_RESOLVE_CONFLICTS);
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
static FF_STAT_ATTR(tables_detached, FF_STAT_TABLES_DETACHED);
static FF_STAT_ATTR(tables_shared, FF_STAT_TABLES_SHARED);
static FF_STAT_ATTR(tables_copied, FF_STAT_TABLES_COPIED);
static FF_STAT_ATTR(tables_attached, FF_STAT_TABLES_ATTACHED);
static FF_STAT_ATTR(tables_dropped, FF_STAT_TABLES_DROPPED);
static FF_STAT_ATTR(tables_resolved_eager, FF_STAT_TABLES_RESOLVED_EAGER);
static FF_STAT_ATTR(tables_resolved_background,
		    FF_STAT_TABLES_RESOLVED_BACKGROUND);
static FF_STAT_ATTR(tables_live, FF_STAT_TABLES_LIVE);
static FF_STAT_ATTR(fallback_vma, FF_STAT_FALLBACK_VMA);
static FF_STAT_ATTR(fallback_mm, FF_STAT_FALLBACK_MM);
static FF_STAT_ATTR(fallback_table_entries, FF_STAT_FALLBACK_TABLE_ENTRIES);
static FF_STAT_ATTR(fallback_table_nomem, FF_STAT_FALLBACK_TABLE_NOMEM);
static FF_STAT_ATTR(resolve_conflicts, FF_STAT_RESOLVE_CONFLICTS);

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
	&ff_stat_attr_tables_detached.attr.attr,
	&ff_stat_attr_tables_shared.attr.attr,
	&ff_stat_attr_tables_copied.attr.attr,
	&ff_stat_attr_tables_attached.attr.attr,
	&ff_stat_attr_tables_dropped.attr.attr,
	&ff_stat_attr_tables_resolved_eager.attr.attr,
	&ff_stat_attr_tables_resolved_background.attr.attr,
	&ff_stat_attr_tables_live.attr.attr,
	&ff_stat_attr_fallback_vma.attr.attr,
	&ff_stat_attr_fallback_mm.attr.attr,
	&ff_stat_attr_fallback_table_entries.attr.attr,
	&ff_stat_attr_fallback_table_nomem.attr.attr,
	&ff_stat_attr_resolve_conflicts.attr.attr,
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
