// SPDX-License-Identifier: GPL-2.0
/*
 * Per-thread arm records.
 *
 * FASTFORK_IOC_ARM arms the calling thread.  The arm is meant for that
 * thread's next fork-like clone (neither CLONE_VM nor CLONE_THREAD):
 *
 *   ARMED --kernel_clone, fork-like--> IN_FLIGHT --copy_page_range--> SERVED
 *
 * and is settled (record removed) when:
 *  - the clone succeeds (sched_process_fork): SERVED is the normal end,
 *    IN_FLIGHT means the child got its mm without copy_page_range and is
 *    counted as a failed clone;
 *  - the clone failed: no event marks that, so the record is settled the
 *    next time its thread shows up (next clone, ioctl, execve or exit).
 *    IN_FLIGHT counts arms_cleared_failed_clone; SERVED (failed after the
 *    mm was copied) was already counted in forks_served;
 *  - the thread execs or exits while ARMED (arms_cleared_exec/_exit).
 * vfork, pthread_create and clone(CLONE_VM) leave an ARMED record alone,
 * and a child never has a record: records are keyed by task_struct.
 *
 * Locking: records live in an RCU hash table keyed by task pointer.
 * Lookups run under rcu_read_lock().  ff_arm_lock serialises insertion
 * and removal; freeing waits for an RCU grace period (kfree_rcu).  A record
 * is created, changed and removed only by its own thread (every caller
 * below runs in the context of that thread), or by ff_arm_drain() once
 * no hook can run any more; so record fields need no lock, and a thread
 * may keep using its own record after rcu_read_unlock().  The task
 * pointer is a key only and is never dereferenced: the exit tracepoint
 * removes the record before the task_struct can be freed.
 *
 * ff_nr_arms counts live records, so hooks on a system where nobody is
 * armed cost one atomic read.  All functions here may be called with
 * preemption disabled, except ff_arm_current() (it allocates).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "fastfork.h"

enum ff_arm_state {
	FF_ARM_ARMED,		/* waiting for the thread's next fork */
	FF_ARM_IN_FLIGHT,	/* a fork-like clone entered kernel_clone */
	FF_ARM_SERVED,		/* that clone reached copy_page_range */
};

struct ff_arm {
	struct hlist_node node;		/* in ff_arm_table, under ff_arm_lock */
	const struct task_struct *task;	/* key; the armed thread */
	u32 engine;			/* FASTFORK_ENGINE_* */
	enum ff_arm_state state;
	const struct mm_struct *child_mm; /* SERVED: the fork's new mm */
	struct rcu_head rcu;
};

#define FF_ARM_HASH_BITS 8

static DEFINE_HASHTABLE(ff_arm_table, FF_ARM_HASH_BITS);
static DEFINE_SPINLOCK(ff_arm_lock);
atomic_t ff_nr_arms = ATOMIC_INIT(0);

static struct ff_arm *ff_arm_find(const struct task_struct *task)
{
	struct ff_arm *arm;

	rcu_read_lock();
	hash_for_each_possible_rcu(ff_arm_table, arm, node, (unsigned long)task) {
		if (arm->task == task) {
			rcu_read_unlock();
			return arm;
		}
	}
	rcu_read_unlock();
	return NULL;
}

static void ff_arm_remove(struct ff_arm *arm)
{
	spin_lock(&ff_arm_lock);
	hash_del_rcu(&arm->node);
	spin_unlock(&ff_arm_lock);
	atomic_dec(&ff_nr_arms);
	kfree_rcu(arm, rcu);
}

/*
 * Settle the outcome of a clone that consumed the arm and did not report
 * success.  Returns false (and does nothing) for an ARMED record.
 */
static bool ff_arm_settle_pending(struct ff_arm *arm)
{
	switch (arm->state) {
	case FF_ARM_ARMED:
		return false;
	case FF_ARM_IN_FLIGHT:
		ff_stat_inc(FF_STAT_ARMS_CLEARED_FAILED_CLONE);
		break;
	case FF_ARM_SERVED:
		break;
	}
	ff_arm_remove(arm);
	return true;
}

/* FASTFORK_IOC_ARM: process context, may sleep. */
int ff_arm_current(u32 engine)
{
	struct ff_arm *arm;

	arm = ff_arm_find(current);
	if (arm && ff_arm_settle_pending(arm))
		arm = NULL;
	if (!arm) {
		arm = kzalloc(sizeof(*arm), GFP_KERNEL_ACCOUNT);
		if (!arm)
			return -ENOMEM;
		arm->task = current;
		arm->state = FF_ARM_ARMED;
		atomic_inc(&ff_nr_arms);
		spin_lock(&ff_arm_lock);
		hash_add_rcu(ff_arm_table, &arm->node, (unsigned long)current);
		spin_unlock(&ff_arm_lock);
	}
	/* Arming an armed thread only changes its engine. */
	arm->engine = engine;
	ff_stat_inc(FF_STAT_ARMS);
	return 0;
}

/* Any ioctl: settle the caller's last clone before answering. */
void ff_arm_settle_current(void)
{
	struct ff_arm *arm;

	if (!ff_any_armed())
		return;
	arm = ff_arm_find(current);
	if (arm)
		ff_arm_settle_pending(arm);
}

/* kernel_clone() entry, in the parent thread, preemption disabled. */
void ff_arm_clone_begin(u64 clone_flags)
{
	struct ff_arm *arm;

	arm = ff_arm_find(current);
	if (!arm || ff_arm_settle_pending(arm))
		return;
	/* vfork, threads and clone(CLONE_VM) share the mm: not ours. */
	if (clone_flags & (CLONE_VM | CLONE_THREAD))
		return;
	arm->state = FF_ARM_IN_FLIGHT;
}

/*
 * copy_page_range(), once per VMA, in the parent thread: the engine the
 * fork was armed with (FASTFORK_ENGINE_*), or -ENOENT for a fork nobody
 * armed.  The first VMA of an armed fork marks it served.
 */
int ff_arm_mm_copy(struct mm_struct *child_mm)
{
	struct ff_arm *arm;

	if (!ff_any_armed())
		return -ENOENT;
	arm = ff_arm_find(current);
	if (!arm)
		return -ENOENT;
	if (arm->state == FF_ARM_IN_FLIGHT) {
		arm->state = FF_ARM_SERVED;
		arm->child_mm = child_mm;
		ff_stat_inc(FF_STAT_FORKS_SERVED);
	}
	if (arm->state != FF_ARM_SERVED || arm->child_mm != child_mm)
		return -ENOENT;
	return arm->engine;
}

/* sched_process_fork: a clone by @parent (current) succeeded. */
void ff_arm_clone_done(struct task_struct *parent)
{
	struct ff_arm *arm;

	arm = ff_arm_find(parent);
	if (arm)
		ff_arm_settle_pending(arm);
}

/* sched_process_exec / sched_process_exit of @task (current). */
void ff_arm_task_gone(struct task_struct *task,
		      enum ff_arm_clear_reason reason)
{
	struct ff_arm *arm;

	arm = ff_arm_find(task);
	if (!arm || ff_arm_settle_pending(arm))
		return;
	ff_stat_inc(reason == FF_ARM_CLEAR_EXEC ?
		    FF_STAT_ARMS_CLEARED_EXEC : FF_STAT_ARMS_CLEARED_EXIT);
	ff_arm_remove(arm);
}

/*
 * Module exit, after every hook, probe and ioctl is gone: free what is
 * left (threads still armed), and check the count of live records.
 */
void ff_arm_drain(void)
{
	struct hlist_node *tmp;
	struct ff_arm *arm;
	unsigned int freed = 0;
	int bkt;

	spin_lock(&ff_arm_lock);
	hash_for_each_safe(ff_arm_table, bkt, tmp, arm, node) {
		hash_del_rcu(&arm->node);
		atomic_dec(&ff_nr_arms);
		kfree_rcu(arm, rcu);
		freed++;
	}
	spin_unlock(&ff_arm_lock);

	if (freed)
		pr_info("dropped %u arm(s) of threads still armed at unload\n",
			freed);
	if (atomic_read(&ff_nr_arms))
		pr_warn("%d arm record(s) unaccounted for at unload, leaking them\n",
			atomic_read(&ff_nr_arms));
	/* kfree_rcu() callbacks do not run module code, but be tidy. */
	rcu_barrier();
}
