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
	struct ff_mm *ffm;
	bool found = false;

	if (!ff_any_detached())
		return false;
	rcu_read_lock();
	ffm = ff_mm_lookup_rcu(mm);
	if (ffm)
		found = ff_index_any(&ffm->nodes, FF_IDX(start),
				     FF_IDX(end - 1));
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
	ff_index_init(&ffm->nodes);

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
	ff_index_destroy(&ffm->nodes);
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
	bool retire = ff_index_empty(&ffm->nodes) && ff_mm_retire_locked(ffm);

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
	if (!ff_index_empty(&ffm->nodes))
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

static struct kmem_cache *ff_node_cache;

/* A node's mutex outlives the node: see ff_node_free(). */
static void ff_node_ctor(void *object)
{
	struct ff_node *node = object;

	mutex_init(&node->lock);
}

/*
 * Freed nodes kept for the next detach, up to FF_NODE_RESERVE_MAX.  A
 * parent that takes back thousands of tables between two forks (one per
 * 2 MiB range it touches) frees as many nodes, which empties whole slabs.
 * The slab allocator keeps only a few empty slabs per cache and gives the
 * others back (after a grace period: SLAB_TYPESAFE_BY_RCU), so the next
 * fork had to get fresh pages and run the constructor on every object
 * again: about a fifth of what a table cost a 4 GiB fork under TCG (see
 * ENGINE-DESIGN.md).  A node in the reserve is still a node with a valid
 * mutex, as ff_node_free() requires.  The reserve is a plain list under a
 * spinlock: it is taken once per FF_NODE_BATCH nodes, and given to once
 * per node freed, where kmem_cache_free() was called before.
 */
#define FF_NODE_RESERVE_MAX	8192	/* 16 GiB of tables, under 1 MiB */

static DEFINE_SPINLOCK(ff_node_reserve_lock);
static struct ff_node *ff_node_reserve;	/* linked through ->next_free */
static unsigned int ff_node_reserve_nr;

/* Move up to @want nodes from the reserve to @nodes; returns how many. */
static unsigned int ff_node_reserve_take(void **nodes, unsigned int want)
{
	unsigned int n = 0;

	spin_lock(&ff_node_reserve_lock);
	for (; n < want && ff_node_reserve; n++) {
		nodes[n] = ff_node_reserve;
		ff_node_reserve = ff_node_reserve->next_free;
	}
	ff_node_reserve_nr -= n;
	spin_unlock(&ff_node_reserve_lock);
	return n;
}

/* Give @nodes[0..@nr) up: to the reserve while it has room, else freed. */
static void ff_node_release(void **nodes, unsigned int nr)
{
	unsigned int kept;

	spin_lock(&ff_node_reserve_lock);
	for (kept = 0; kept < nr && ff_node_reserve_nr < FF_NODE_RESERVE_MAX;
	     kept++, ff_node_reserve_nr++) {
		struct ff_node *node = nodes[kept];

		node->next_free = ff_node_reserve;
		ff_node_reserve = node;
	}
	spin_unlock(&ff_node_reserve_lock);
	if (kept < nr)
		kmem_cache_free_bulk(ff_node_cache, nr - kept, nodes + kept);
}

int ff_registry_init(void)
{
	ff_node_cache = kmem_cache_create("ff_node", sizeof(struct ff_node), 0,
					  SLAB_TYPESAFE_BY_RCU, ff_node_ctor);
	return ff_node_cache ? 0 : -ENOMEM;
}

/*
 * Every node is freed: each one holds an ff_mm, which holds the module.
 * kmem_cache_destroy() waits for the grace period that SLAB_TYPESAFE_BY_RCU
 * slabs need before they go.
 */
void ff_registry_exit(void)
{
	struct ff_node *node;

	while ((node = ff_node_reserve)) {
		ff_node_reserve = node->next_free;
		kmem_cache_free(ff_node_cache, node);
	}
	ff_node_reserve_nr = 0;
	kmem_cache_destroy(ff_node_cache);
}

/*
 * A node with one owner for the table about to be detached at @addr
 * (table and nr_anon still unset), from @stash.  An empty stash is
 * refilled with up to @want nodes from the reserve, or else in one bulk
 * allocation: a detach loop needs one node per table, and one slab call
 * per table was a third of a detach under TCG.  Returns NULL without
 * memory.
 */
struct ff_node *ff_node_take(struct ff_node_stash *stash, unsigned int want,
			     unsigned long addr, gfp_t gfp)
{
	struct ff_node *node;

	if (!stash->nr) {
		want = clamp(want, 1U, (unsigned int)FF_NODE_BATCH);
		if (ff_inject_nomem(gfp))
			return NULL;
		stash->nr = ff_node_reserve_take(stash->nodes, want) ?:
			    kmem_cache_alloc_bulk(ff_node_cache, gfp, want,
						  stash->nodes);
		if (!stash->nr)
			return NULL;
	}
	node = stash->nodes[--stash->nr];
	node->table = NULL;
	node->addr = addr;
	node->nr_anon = 0;
	node->detached_at = jiffies;
	refcount_set(&node->owners, 1);
	ff_stat_add(FF_STAT_TABLES_LIVE, 1);
	return node;
}

/* Give back a node taken from @stash but not used. */
void ff_node_untake(struct ff_node_stash *stash, struct ff_node *node)
{
	ff_stat_add(FF_STAT_TABLES_LIVE, -1);
	stash->nodes[stash->nr++] = node;
}

/* Give up the nodes left in @stash. */
void ff_node_stash_drain(struct ff_node_stash *stash)
{
	ff_node_release(stash->nodes, stash->nr);
	stash->nr = 0;
}

/*
 * The last owner attached the table: the node has no more use.  Another
 * owner that dropped its reference may still be inside mutex_unlock() of
 * the node's lock (ff_node_resolve()), which can touch the mutex after
 * the next owner took it.  So the cache is SLAB_TYPESAFE_BY_RCU and the
 * mutex is set up by the slab constructor, not per node: freed, or taken
 * again by ff_node_take(), the memory stays a node with a valid mutex
 * until a grace period after its slab is released, and that unlock runs
 * under rcu_read_lock().  Its worst effect on a reused node is a
 * spurious wake-up of a waiter, which mutex_lock() tolerates.  Freeing
 * each node with call_rcu() instead put the callbacks of every table a
 * parent had attached since its last fork inside its next fork.
 */
void ff_node_free(struct ff_node *node)
{
	ff_stat_add(FF_STAT_TABLES_LIVE, -1);
	ff_node_release((void **)&node, 1);
}
