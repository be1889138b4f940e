// SPDX-License-Identifier: GPL-2.0
/*
 * The registry: which detached tables each mm holds.
 *
 * A hash table of struct ff_mm keyed by mm_struct pointer.  The lookup
 * every page fault pays is one atomic read while no mm holds a detached
 * table, and one RCU hash walk otherwise: no lock is taken unless the
 * faulting mm is in the table.
 *
 * Lifetime: an ff_mm is created for an mm when it first receives a
 * detached table, holds a reference on the mm_struct (mmgrab: the key
 * cannot be reused while it is hashed) and one on this module (rmmod is
 * refused while any mm holds detached tables), and is unhashed (retired)
 * once it holds none (ff_mm_unlock) or its mm is torn down
 * (ff_mm_forget).  A retired ff_mm takes no new nodes.  Users take a reference
 * (ff_mm_get) and drop it with ff_mm_put(); the last put frees it after
 * an RCU grace period.
 *
 * Locking: ff_registry_lock (spinlock) protects the hash chains; lookups
 * run under rcu_read_lock().  ff_mm.lock (mutex) serialises changes to
 * the nodes of one mm; it is taken with the mmap lock, a VMA lock or
 * neither held, and never while holding another ff_mm's lock except
 * parent then child during a fork (engine.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "engine.h"
#include "fastfork.h"

#define FF_REGISTRY_HASH_BITS 8

static DEFINE_HASHTABLE(ff_registry, FF_REGISTRY_HASH_BITS);
static DEFINE_SPINLOCK(ff_registry_lock);
atomic_t ff_nr_mms = ATOMIC_INIT(0);

static struct ff_mm *ff_mm_lookup_rcu(struct mm_struct *mm)
{
	struct ff_mm *ffm;

	hash_for_each_possible_rcu(ff_registry, ffm, hash, (unsigned long)mm)
		if (ffm->mm == mm)
			return ffm;
	return NULL;
}

/* The ff_mm of @mm with a reference for the caller, or NULL. */
struct ff_mm *ff_mm_get(struct mm_struct *mm)
{
	struct ff_mm *ffm;

	if (!ff_any_detached())
		return NULL;
	rcu_read_lock();
	ffm = ff_mm_lookup_rcu(mm);
	if (ffm && !refcount_inc_not_zero(&ffm->ref))
		ffm = NULL;
	rcu_read_unlock();
	return ffm;
}

/*
 * Might @mm hold a detached table overlapping [@start, @end)?  One RCU
 * lookup, no reference, no lock: the question every page fault asks.
 * A "no" is final for a caller that keeps the range's page tables alive
 * (mmap or VMA lock): tables are added to an mm only by a fork holding
 * its mmap lock for writing, or to a child that cannot run yet, and are
 * erased from the index only after the PMD is filled again.
 */
bool ff_mm_may_hold(struct mm_struct *mm, unsigned long start,
		    unsigned long end)
{
	unsigned long idx = start >> PMD_SHIFT;
	struct ff_mm *ffm;
	bool found = false;

	if (!ff_any_detached())
		return false;
	rcu_read_lock();
	ffm = ff_mm_lookup_rcu(mm);
	if (ffm)
		found = xa_find(&ffm->nodes, &idx, (end - 1) >> PMD_SHIFT,
				XA_PRESENT);
	rcu_read_unlock();
	return found;
}

/* Like ff_mm_get(), creating it if needed.  Process context. */
struct ff_mm *ff_mm_get_or_create(struct mm_struct *mm)
{
	struct ff_mm *ffm, *old;

	ffm = ff_mm_get(mm);
	if (ffm)
		return ffm;
	if (ff_inject_nomem(GFP_KERNEL_ACCOUNT))
		return NULL;
	ffm = kzalloc(sizeof(*ffm), GFP_KERNEL_ACCOUNT);
	if (!ffm)
		return NULL;
	ffm->mm = mm;
	refcount_set(&ffm->ref, 2);	/* the registry's and the caller's */
	mutex_init(&ffm->lock);
	xa_init(&ffm->nodes);

	spin_lock(&ff_registry_lock);
	old = ff_mm_lookup_rcu(mm);
	if (old && refcount_inc_not_zero(&old->ref)) {
		spin_unlock(&ff_registry_lock);
		kfree(ffm);
		return old;
	}
	mmgrab(mm);
	__module_get(THIS_MODULE);
	hash_add_rcu(ff_registry, &ffm->hash, (unsigned long)mm);
	atomic_inc(&ff_nr_mms);
	spin_unlock(&ff_registry_lock);
	return ffm;
}

void ff_mm_put(struct ff_mm *ffm)
{
	if (!refcount_dec_and_test(&ffm->ref))
		return;
	xa_destroy(&ffm->nodes);
	mmdrop(ffm->mm);
	kfree_rcu(ffm, rcu);
	module_put(THIS_MODULE);
}

/* Caller holds ffm->lock.  Returns true if the caller must drop the
 * registry's reference (after unlocking).
 */
static bool ff_mm_retire_locked(struct ff_mm *ffm)
{
	if (ffm->retired)
		return false;
	ffm->retired = true;
	spin_lock(&ff_registry_lock);
	hash_del_rcu(&ffm->hash);
	atomic_dec(&ff_nr_mms);
	spin_unlock(&ff_registry_lock);
	return true;
}

/*
 * Lock the ff_mm of @mm, creating it if needed, to add nodes to it.
 * Returns it locked with a reference for the caller, or NULL without
 * memory.  A retired ff_mm takes no nodes: the next lookup creates a
 * fresh one.
 */
struct ff_mm *ff_mm_lock_for_adding(struct mm_struct *mm,
				    unsigned int subclass)
{
	struct ff_mm *ffm;

	for (;;) {
		ffm = ff_mm_get_or_create(mm);
		if (!ffm)
			return NULL;
		mutex_lock_nested(&ffm->lock, subclass);
		if (!ffm->retired)
			return ffm;
		mutex_unlock(&ffm->lock);
		ff_mm_put(ffm);
	}
}

/*
 * Unlock @ffm.  One left without nodes leaves the registry, so that
 * faults in its mm stop paying the lookup, and the module can be
 * unloaded once no mm holds a detached table.
 */
void ff_mm_unlock(struct ff_mm *ffm)
{
	bool retire = xa_empty(&ffm->nodes) && ff_mm_retire_locked(ffm);

	mutex_unlock(&ffm->lock);
	if (retire)
		ff_mm_put(ffm);
}

/*
 * exit_mmap() has unmapped every VMA of @mm: the unmap hook has dropped
 * or attached all its tables, so its ff_mm can go.
 */
void ff_mm_forget(struct mm_struct *mm)
{
	struct ff_mm *ffm = ff_mm_get(mm);
	bool retire;

	if (!ffm)
		return;
	mutex_lock(&ffm->lock);
	if (!xa_empty(&ffm->nodes))
		pr_err("mm torn down with detached tables left (an unmap was missed); leaking them\n");
	retire = ff_mm_retire_locked(ffm);
	mutex_unlock(&ffm->lock);
	if (retire)
		ff_mm_put(ffm);
	ff_mm_put(ffm);
}

/*
 * Take a reference on up to @max ff_mms, starting at hash bucket
 * *@cursor, which is advanced past the buckets taken in full.  Returns
 * how many were taken; 0 once the walk is done.
 */
unsigned int ff_mm_get_batch(struct ff_mm **batch, unsigned int max,
			     unsigned int *cursor)
{
	unsigned int n = 0;
	struct ff_mm *ffm;

	rcu_read_lock();
	for (; *cursor < HASH_SIZE(ff_registry); (*cursor)++) {
		unsigned int taken = n;

		hlist_for_each_entry_rcu(ffm, &ff_registry[*cursor], hash) {
			if (n == max) {
				/* Bucket not taken in full: drop its part. */
				while (n > taken)
					ff_mm_put(batch[--n]);
				goto out;
			}
			if (refcount_inc_not_zero(&ffm->ref))
				batch[n++] = ffm;
		}
	}
out:
	rcu_read_unlock();
	return n;
}

/* A node for @table, detached at @addr, with one owner. */
struct ff_node *ff_node_alloc(struct page *table, unsigned long addr,
			      unsigned int nr_anon, gfp_t gfp)
{
	struct ff_node *node;

	if (ff_inject_nomem(gfp))
		return NULL;
	node = kmalloc(sizeof(*node), gfp);
	if (!node)
		return NULL;
	node->table = table;
	node->addr = addr;
	node->nr_anon = nr_anon;
	node->detached_at = jiffies;
	refcount_set(&node->owners, 1);
	mutex_init(&node->lock);
	ff_stat_add(FF_STAT_TABLES_LIVE, 1);
	return node;
}

/* The last owner attached the table: the node has no more use. */
void ff_node_free(struct ff_node *node)
{
	ff_stat_add(FF_STAT_TABLES_LIVE, -1);
	kfree(node);
}
