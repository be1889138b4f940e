// SPDX-License-Identifier: GPL-2.0
/*
 * The background resolver.  A detached table cannot be reclaimed,
 * migrated or compacted (rmap cannot find its pages), so no table stays
 * detached longer than max_detached_sec: once a second a kworker resolves
 * (copies or attaches, in each owner's mm) every table older than that.
 * Processes normally resolve much sooner by touching their memory; this
 * bounds the rest, such as a parent that never writes while a long-lived
 * child sleeps.
 *
 * Locking: the work runs in process context and takes, per mm, its user
 * reference, mmap lock (read) and ff_mm.lock, like any other resolver.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/workqueue.h>

#include "engine.h"
#include "fastfork.h"

static unsigned int max_detached_sec = 10;
module_param(max_detached_sec, uint, 0644);
MODULE_PARM_DESC(max_detached_sec,
		 "resolve tables detached for longer than this many seconds in the background (default 10; 0: never)");

#define FF_RESOLVER_PERIOD	HZ
#define FF_RESOLVER_BATCH	32

static void ff_resolver_run(struct work_struct *work);
static DECLARE_DELAYED_WORK(ff_resolver_work, ff_resolver_run);

static void ff_resolver_run(struct work_struct *work)
{
	unsigned int limit = READ_ONCE(max_detached_sec);
	unsigned long min_age = (unsigned long)limit * HZ;
	struct ff_mm *batch[FF_RESOLVER_BATCH];
	unsigned int cursor = 0, n, i;

	if (limit && ff_any_detached()) {
		while ((n = ff_mm_get_batch(batch, FF_RESOLVER_BATCH,
					    &cursor))) {
			for (i = 0; i < n; i++) {
				unsigned int done = ff_resolve_older(batch[i],
								     min_age);

				if (done)
					ff_stat_add(FF_STAT_TABLES_RESOLVED_BACKGROUND,
						    done);
				ff_mm_put(batch[i]);
			}
			cond_resched();
		}
	}
	queue_delayed_work(system_unbound_wq, &ff_resolver_work,
			   FF_RESOLVER_PERIOD);
}

void ff_resolver_init(void)
{
	queue_delayed_work(system_unbound_wq, &ff_resolver_work,
			   FF_RESOLVER_PERIOD);
}

void ff_resolver_exit(void)
{
	cancel_delayed_work_sync(&ff_resolver_work);
}
