/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between the files of fastfork.ko.  Each group below
 * belongs to one .c file; see README.md for the overall design.
 */
#ifndef FASTFORK_H
#define FASTFORK_H

#include <linux/atomic.h>
#include <linux/types.h>

#include "fastfork_uapi.h"

#define FF_MODULE_VERSION	"0.2.0"

struct task_struct;
struct mm_struct;
struct attribute_group;

/* stats.c: global counters, exported by ioctl and sysfs. */
enum ff_stat {
	FF_STAT_ARMS,
	FF_STAT_FORKS_SERVED,
	FF_STAT_ARMS_CLEARED_EXEC,
	FF_STAT_ARMS_CLEARED_EXIT,
	FF_STAT_ARMS_CLEARED_FAILED_CLONE,
	FF_STAT_TABLES_DETACHED,
	FF_STAT_TABLES_SHARED,
	FF_STAT_TABLES_COPIED,
	FF_STAT_TABLES_ATTACHED,
	FF_STAT_TABLES_DROPPED,
	FF_STAT_TABLES_RESOLVED_EAGER,
	FF_STAT_TABLES_RESOLVED_BACKGROUND,
	FF_STAT_TABLES_LIVE,		/* a gauge: ff_stat_add(+1/-1) */
	FF_STAT_FALLBACK_VMA,
	FF_STAT_FALLBACK_MM,
	FF_STAT_FALLBACK_TABLE_ENTRIES,
	FF_STAT_FALLBACK_TABLE_NOMEM,
	FF_STAT_RESOLVE_CONFLICTS,
	FF_NR_STATS,
};

void ff_stat_inc(enum ff_stat stat);
void ff_stat_add(enum ff_stat stat, long delta);
void ff_stats_fill(struct fastfork_stats *stats);
extern const struct attribute_group *ff_dev_attr_groups[];

/* arm.c: per-thread arm records. */
enum ff_arm_clear_reason {
	FF_ARM_CLEAR_EXEC,
	FF_ARM_CLEAR_EXIT,
};

/* Number of live arm records; zero means every hook can return at once. */
extern atomic_t ff_nr_arms;

static inline bool ff_any_armed(void)
{
	return atomic_read(&ff_nr_arms) != 0;
}

int ff_arm_current(u32 engine);
void ff_arm_settle_current(void);
void ff_arm_clone_begin(u64 clone_flags);
int ff_arm_mm_copy(struct mm_struct *child_mm);
void ff_arm_clone_done(struct task_struct *parent);
void ff_arm_task_gone(struct task_struct *task,
		      enum ff_arm_clear_reason reason);
void ff_arm_drain(void);

/* clone_hooks.c: the kernel events that drive arm.c. */
int ff_clone_hooks_init(void);
void ff_clone_hooks_exit(void);

/* mm_hooks.c: the kernel entry points of the page-table engine. */
int ff_mm_hooks_init(void);
void ff_mm_hooks_exit(void);

/* dev.c: /dev/fastfork. */
int ff_dev_init(void);
void ff_dev_exit(void);

#endif /* FASTFORK_H */
