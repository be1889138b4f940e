// SPDX-License-Identifier: GPL-2.0
/*
 * When the engine acts: detach at an armed fork, hand detached tables on
 * at every fork, resolve a range before the kernel touches it, drop a
 * reference when an owner unmaps a whole table.  See ENGINE-DESIGN.md.
 *
 * Accounting rule: every owner of a node counts its table in its
 * pgtables_bytes and its anon pages in its RSS, exactly as if the table
 * were mapped in it (a stock fork gives the child the same counts).  So
 * detach, copy and attach change no counter; handing a node to a child
 * adds to the child's; dropping a reference subtracts from the dropper's.
 *
 * Locking order: mmap lock (callers) > ff_mm.lock (parent's
 * before child's in a fork) > anon_vma lock > ff_node.lock > PMD lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/task_work.h>
#include <linux/userfaultfd_k.h>

#include "compat.h"
#include "engine.h"
#include "fastfork.h"

/* The VMA flags that make an armed fork copy a VMA the stock way. */
#define FF_VM_INELIGIBLE (VM_SHARED | VM_MAYSHARE | VM_HUGETLB | VM_PFNMAP | \
			  VM_MIXEDMAP | VM_IO | VM_LOCKED | VM_MERGEABLE | \
			  VM_GROWSDOWN | VM_DONTCOPY | VM_WIPEONFORK)

static bool ff_vma_detachable(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma) && vma->anon_vma &&
	       !(vma->vm_flags & FF_VM_INELIGIBLE) && !userfaultfd_armed(vma);
}

/*
 * MMU notifiers (KVM, device SVM) would need invalidations we cannot
 * send from a module; DMA pins must be copied at fork, not later.
 */
static bool ff_mm_detachable(struct mm_struct *mm)
{
	return !mm_has_notifiers(mm) && !test_bit(MMF_HAS_PINNED, &mm->flags);
}

static bool ff_node_within(const struct ff_node *node, unsigned long start,
			   unsigned long end)
{
	return node->addr >= start && node->addr + PMD_SIZE <= end;
}

/*
 * Make @node's range of @ffm's mm ordinary memory again, before the
 * kernel acts on it, and take the node out of @ffm: attach the table if
 * @ffm holds the last reference, else copy it, or with @drop (the range
 * is being unmapped whole) only give up @ffm's reference and its share
 * of the counters.  Caller holds ffm->lock and keeps the mm's page
 * tables alive.  Returns 0, or -ENOMEM, -EBUSY (a page may be pinned)
 * or -EEXIST (a missing hook), with the node kept.
 */
static int ff_node_resolve(struct ff_mm *ffm, struct ff_node *node,
			   struct vm_area_struct *vma, bool drop, gfp_t gfp)
{
	struct mm_struct *mm = ffm->mm;
	unsigned long idx = FF_IDX(node->addr);
	pmd_t *pmd = ff_pmd_lookup(mm, node->addr);
	unsigned long nr_anon;
	bool detacher, last;
	int err;

	ff_index_load(&ffm->nodes, idx, &detacher);
	mutex_lock(&node->lock);
	last = refcount_read(&node->owners) == 1;
	nr_anon = node->nr_anon;
	if (!last && drop)
		err = 0;
	else if (!pmd)
		err = -EEXIST;
	else if (last)
		err = ff_table_attach(mm, pmd, node->table, !detacher);
	else
		err = ff_table_copy(mm, pmd, node, vma, detacher, gfp);
	/*
	 * Once this reference is gone, another owner may take the lock, find
	 * itself the last one and free the node.  mutex_unlock() can still
	 * read the mutex after that owner took it (its slow path takes
	 * wait_lock after the owner field is released: a KASAN
	 * use-after-free on the debug kernel, in a fork storm).  So the
	 * release runs inside an RCU read-side section, which keeps the
	 * node's memory a node with a valid mutex (ff_node_free()).
	 */
	rcu_read_lock();
	if (!err && !last)
		refcount_dec(&node->owners);
	mutex_unlock(&node->lock);
	rcu_read_unlock();
	if (err == -EEXIST)
		goto conflict;
	if (err)
		return err;
	ff_index_erase(&ffm->nodes, idx);
	if (last) {
		ff_node_free(node);
		ff_stat_inc(FF_STAT_TABLES_ATTACHED);
	} else if (drop) {
		ff_add_anon_rss(mm, -(long)nr_anon);
		mm_dec_nr_ptes(mm);
		ff_stat_inc(FF_STAT_TABLES_DROPPED);
	} else {
		ff_stat_inc(FF_STAT_TABLES_COPIED);
	}
	return 0;

conflict:
	/*
	 * A kernel path filled the range behind the engine's back: a hook
	 * is missing.  Keep the node (it leaks, loudly) rather than lose
	 * either set of pages.
	 */
	ff_stat_inc(FF_STAT_RESOLVE_CONFLICTS);
	pr_err_ratelimited("pid %d: range %#lx already mapped at resolve; keeping the detached table\n",
			   current->pid, node->addr);
	return -EEXIST;
}

/*
 * Resolve @node of @ffm's mm if it was detached at least @min_age jiffies
 * ago.  Caller holds ffm->lock.  @vma: a VMA of the mm, or NULL when the
 * caller holds the mmap lock (one is looked up).  Returns 1 if resolved,
 * 0 if skipped (too young, or a conflict), or -ENOMEM or -EBUSY.
 */
static int ff_node_resolve_aged(struct ff_mm *ffm, struct ff_node *node,
				struct vm_area_struct *vma,
				unsigned long min_age, gfp_t gfp)
{
	int err;

	if (time_before(jiffies, node->detached_at + min_age))
		return 0;
	vma = vma ?: find_vma(ffm->mm, node->addr);
	/* A node always lies in a VMA of its owner (invariant 3). */
	if (WARN_ON_ONCE(!vma))
		return 0;
	err = ff_node_resolve(ffm, node, vma, false, gfp);
	if (err == -EEXIST)
		return 0;
	return err ?: 1;
}

/*
 * Resolve every node of @ffm's mm that overlaps [@start, @end).  Caller
 * holds ffm->lock; @vma as for ff_node_resolve_aged().  A node that
 * cannot be resolved now does not stop the walk: a resolver must not let
 * one pinned or unallocatable table keep every later one detached, and a
 * caller that fails anyway loses nothing by the others being resolved.
 * Adds the number resolved to *@resolved (may be NULL); returns 0 or the
 * first error (-ENOMEM, -EBUSY).
 */
static int ff_resolve_nodes(struct ff_mm *ffm, struct vm_area_struct *vma,
			    unsigned long start, unsigned long end, gfp_t gfp,
			    unsigned int *resolved)
{
	struct ff_node *node;
	unsigned long idx;
	int first_err = 0, ret;

	ff_index_for_each(&ffm->nodes, idx, node, FF_IDX(start),
			  FF_IDX(end - 1)) {
		ret = ff_node_resolve_aged(ffm, node, vma, 0, gfp);
		if (ret < 0)
			first_err = first_err ?: ret;
		else if (resolved)
			*resolved += ret;
	}
	return first_err;
}

/*
 * Resolve [@start, @end) of @mm before a kernel path reads or changes
 * it.  Caller holds the mmap lock; @vma, when not NULL, covers the
 * range.  Returns 0 or -errno (some table of the range is still
 * detached).
 */
int ff_resolve_range(struct mm_struct *mm, struct vm_area_struct *vma,
		     unsigned long start, unsigned long end, gfp_t gfp)
{
	struct ff_mm *ffm;
	int ret;

	if (!ff_mm_may_hold(mm, start, end))
		return 0;
	ffm = ff_mm_get(mm);
	if (!ffm)
		return 0;
	mutex_lock(&ffm->lock);
	ret = ff_resolve_nodes(ffm, vma, start, end, gfp, NULL);
	ff_mm_unlock(ffm);
	ff_mm_put(ffm);
	return ret;
}

/*
 * Like ff_resolve_range(), for callers that hold no lock of @mm (they
 * take it themselves later): takes a user reference and the mmap lock.
 * Cannot fail: used where the kernel path it precedes cannot fail either.
 */
void ff_resolve_range_unlocked(struct mm_struct *mm, unsigned long start,
			       unsigned long end)
{
	struct ff_mm *ffm = ff_mm_get(mm);

	if (!ffm)
		return;
	if (mmget_not_zero(mm)) {
		mmap_read_lock(mm);
		ff_resolve_range(mm, NULL, start, end,
				 GFP_KERNEL | __GFP_NOFAIL);
		mmap_read_unlock(mm);
		mmput(mm);
	}
	ff_mm_put(ffm);
}

/*
 * [@start, @end) of @vma is about to be unmapped.  A node wholly inside
 * goes without a copy: the last owner attaches it (the kernel then zaps
 * and frees the table as its own), any other owner drops its reference
 * and its share of the counters.  A node only partly inside is resolved
 * first, since the rest of it stays mapped.
 */
void ff_unmap_range(struct vm_area_struct *vma, unsigned long start,
		    unsigned long end, gfp_t gfp)
{
	struct mm_struct *mm = vma->vm_mm;
	struct ff_mm *ffm = ff_mm_get(mm);
	struct ff_node *node;
	unsigned long idx;

	if (!ffm)
		return;
	mutex_lock(&ffm->lock);
	ff_index_for_each(&ffm->nodes, idx, node, FF_IDX(start),
			  FF_IDX(end - 1))
		ff_node_resolve(ffm, node, vma,
				ff_node_within(node, start, end), gfp);
	ff_mm_unlock(ffm);
	ff_mm_put(ffm);
}

/*
 * Record in @ffm the tables just detached by its mm, @nodes[0..@nr).  A
 * table that cannot be recorded (no memory for the index, or a node
 * already recorded at its index, which would mean a missing hook) goes
 * back under its PMD, which nothing can have filled meanwhile (the fork
 * holds the mmap lock for writing): nobody else saw it, and the stock
 * copy takes it.  Returns how many were recorded.
 */
static unsigned int ff_detach_record(struct ff_mm *ffm,
				     struct ff_node_stash *stash,
				     struct ff_node **nodes, unsigned int nr)
{
	unsigned int i, recorded;
	int err;

	recorded = ff_index_record(&ffm->nodes, nodes, nr,
				   GFP_NOWAIT | __GFP_NOWARN, &err);
	for (i = recorded; i < nr; i++) {
		struct ff_node *node = nodes[i];
		pmd_t *pmd = ff_pmd_lookup(ffm->mm, node->addr);

		WARN_ON_ONCE(!pmd ||
			     ff_table_attach(ffm->mm, pmd, node->table, false));
		ff_node_untake(stash, node);
		if (err == -ENOMEM)
			ff_stat_inc(FF_STAT_FALLBACK_TABLE_NOMEM);
	}
	return recorded;
}

/*
 * Detach the eligible tables wholly inside @vma (armed fork, parent).
 * A range still detached since an earlier fork has an empty PMD, so the
 * PMD alone tells which ranges to try.  Nodes are allocated and recorded
 * in batches of FF_NODE_BATCH: per table that leaves the scan.
 */
static void ff_detach_vma(struct ff_mm *ffm, struct vm_area_struct *vma)
{
	unsigned long start = ALIGN(vma->vm_start, PMD_SIZE);
	unsigned long end = ALIGN_DOWN(vma->vm_end, PMD_SIZE);
	struct ff_node *batch[FF_NODE_BATCH];
	struct mm_struct *mm = vma->vm_mm;
	struct ff_node_stash stash = { };
	unsigned long addr, detached = 0;
	unsigned int nr = 0;
	pmd_t *pmd = NULL;

	if (start >= end)
		return;
	anon_vma_lock_write(vma->anon_vma);
	/* GUP-fast pinners of @mm retry, as around fork's own COW marking. */
	raw_write_seqcount_begin(&mm->write_protect_seq);
	for (addr = start; addr < end; addr += PMD_SIZE) {
		struct ff_node *node;
		int err;

		/* The PMD entries of one PUD lie side by side. */
		if (pmd && !IS_ALIGNED(addr, PUD_SIZE))
			pmd++;
		else
			pmd = ff_pmd_lookup(mm, addr);
		if (!pmd || pmd_none(*pmd) || pmd_trans_huge(*pmd))
			continue;
		/* No direct reclaim: reclaim takes the anon_vma lock. */
		node = ff_node_take(&stash, FF_IDX(end - addr), addr,
				    GFP_NOWAIT | __GFP_NOWARN);
		if (!node) {
			ff_stat_inc(FF_STAT_FALLBACK_TABLE_NOMEM);
			continue;
		}
		err = ff_table_detach(mm, pmd, &node->table, &node->nr_anon);
		if (err) {
			ff_node_untake(&stash, node);
			if (err == -EAGAIN)
				ff_stat_inc(FF_STAT_FALLBACK_TABLE_ENTRIES);
			continue;
		}
		batch[nr++] = node;
		if (nr == FF_NODE_BATCH) {
			detached += ff_detach_record(ffm, &stash, batch, nr);
			nr = 0;
		}
	}
	detached += ff_detach_record(ffm, &stash, batch, nr);
	raw_write_seqcount_end(&mm->write_protect_seq);
	anon_vma_unlock_write(vma->anon_vma);
	ff_node_stash_drain(&stash);
	ff_stat_add(FF_STAT_TABLES_DETACHED, detached);
}

/*
 * Resolve the nodes that straddle an edge of @vma (it was split after
 * they were detached).  Nodes cover aligned 2 MiB ranges, so only the
 * ones holding an unaligned vm_start or vm_end can: two lookups, however
 * many nodes lie inside.  Caller holds ffm->lock.
 */
static void ff_resolve_edges(struct ff_mm *ffm, struct vm_area_struct *vma)
{
	unsigned long edges[] = { FF_IDX(vma->vm_start),
				  FF_IDX(vma->vm_end - 1) };
	struct ff_node *node;
	int i;

	for (i = 0; i < ARRAY_SIZE(edges); i++) {
		if (i && edges[i] == edges[0])
			break;	/* the VMA lies inside one 2 MiB range */
		node = ff_index_load(&ffm->nodes, edges[i], NULL);
		if (node && !ff_node_within(node, vma->vm_start, vma->vm_end))
			ff_node_resolve(ffm, node, vma, false,
					GFP_KERNEL | __GFP_NOFAIL);
	}
}

/*
 * dup_mmap() is about to copy @src_vma (of current's mm) into @dst_vma.
 * Nodes that straddle the VMA's edges (the VMA was split after they were
 * detached) cannot be handed on whole: resolve them in the parent, so
 * that the stock copy sees them.  On an armed fork, detach what is
 * eligible, so that the stock copy skips it.
 */
void ff_engine_fork_begin(struct vm_area_struct *dst_vma,
			  struct vm_area_struct *src_vma, bool armed)
{
	struct mm_struct *mm = src_vma->vm_mm;
	bool detach = armed && ff_vma_detachable(src_vma);
	struct ff_mm *ffm;

	if (armed && !detach)
		ff_stat_inc(FF_STAT_FALLBACK_VMA);
	/* No whole 2 MiB range inside: nothing to detach, no fallback. */
	if (ALIGN(src_vma->vm_start, PMD_SIZE) >=
	    ALIGN_DOWN(src_vma->vm_end, PMD_SIZE))
		detach = false;
	if (detach && !ff_mm_detachable(mm)) {
		ff_stat_inc(FF_STAT_FALLBACK_MM);
		detach = false;
	}
	if (detach) {
		ffm = ff_mm_lock_for_adding(mm, 0);
		if (!ffm) {
			ff_stat_inc(FF_STAT_FALLBACK_TABLE_NOMEM);
			return;
		}
	} else {
		/* Most VMAs of a process hold no node: skip the lock. */
		if (!ff_mm_may_hold(mm, src_vma->vm_start, src_vma->vm_end))
			return;
		ffm = ff_mm_get(mm);
		if (!ffm)
			return;
		mutex_lock(&ffm->lock);
	}
	ff_resolve_edges(ffm, src_vma);
	if (detach)
		ff_detach_vma(ffm, src_vma);
	ff_mm_unlock(ffm);
	ff_mm_put(ffm);
}

/*
 * The stock copy of @src_vma into @dst_vma succeeded: give the child a
 * reference to every node of the parent inside the VMA (armed fork or
 * not: the parent's own nodes are memory the child must inherit).
 * Returns 0 or -ENOMEM, which fails the fork cleanly (the child's mm is
 * torn down, dropping what it got).
 */
int ff_engine_fork_end(struct vm_area_struct *dst_vma,
		       struct vm_area_struct *src_vma, bool eager)
{
	unsigned long first = FF_IDX(src_vma->vm_start);
	unsigned long last = FF_IDX(src_vma->vm_end - 1);
	struct mm_struct *child = dst_vma->vm_mm;
	unsigned long tables = 0;
	struct ff_mm *ffp, *ffc;
	long anon = 0;
	int err = 0;

	if (!ff_mm_may_hold(src_vma->vm_mm, src_vma->vm_start, src_vma->vm_end))
		return 0;
	ffp = ff_mm_get(src_vma->vm_mm);
	if (!ffp)
		return 0;
	mutex_lock(&ffp->lock);
	if (!ff_index_find(&ffp->nodes, &first, last))
		goto out;
	ffc = ff_mm_lock_for_adding(child, SINGLE_DEPTH_NESTING);
	if (!ffc) {
		err = -ENOMEM;
		goto out;
	}
	err = ff_index_share(&ffp->nodes, &ffc->nodes, first, last, GFP_KERNEL,
			     &tables, &anon);
	/* The child's counters, as a stock fork would have set them. */
	ff_add_anon_rss(child, anon);
	atomic_long_add(tables * PTRS_PER_PTE * sizeof(pte_t),
			&child->pgtables_bytes);
	ff_stat_add(FF_STAT_TABLES_SHARED, tables);
	if (eager)
		ffc->eager = true;
	ff_mm_unlock(ffc);
	ff_mm_put(ffc);
out:
	ff_mm_unlock(ffp);
	ff_mm_put(ffp);
	return err;
}

/*
 * Background resolver (resolver.c, a kworker): resolve the nodes of
 * @ffm's mm detached at least @min_age jiffies ago, as many as can be
 * now (the others wait for the next pass).  Returns the number resolved.
 *
 * The locks are dropped after every FF_NODE_BATCH nodes: a fault of the
 * owner on any detached range waits for ffm->lock, and copying a whole
 * mm's tables in one hold (2,113 for a 4 GiB Redis) stalled the Redis
 * server of scripts/bench-redis for half a second in the middle of a
 * BGSAVE.  Each batch is gathered anew from where the last one ended:
 * the owner may have forked or resolved in between.
 */
unsigned int ff_resolve_older(struct ff_mm *ffm, unsigned long min_age)
{
	struct ff_node *batch[FF_NODE_BATCH];
	struct mm_struct *mm = ffm->mm;
	unsigned int done = 0, i, nr;
	unsigned long idx = 0;
	int ret;

	if (!mmget_not_zero(mm))
		return 0;
	do {
		mmap_read_lock(mm);
		mutex_lock(&ffm->lock);
		nr = ff_index_gather(&ffm->nodes, &idx,
				     FF_IDX(TASK_SIZE_MAX - 1), batch,
				     FF_NODE_BATCH);
		for (i = 0; i < nr; i++) {
			ret = ff_node_resolve_aged(ffm, batch[i], NULL, min_age,
						   GFP_KERNEL);
			if (ret > 0)
				done += ret;
		}
		ff_mm_unlock(ffm);
		mmap_read_unlock(mm);
		cond_resched();
	} while (nr == FF_NODE_BATCH);
	/* Never run exit_mmap() from here if the owner exited meanwhile. */
	mmput_async(mm);
	return done;
}

/*
 * Task work of an eager child: resolve everything before user space.
 * Also runs, with nothing left to do, if the child dies first.
 */
static void ff_eager_resolve(struct callback_head *work)
{
	struct ff_mm *ffm = container_of(work, struct ff_mm, eager_work);
	struct mm_struct *mm = ffm->mm;
	unsigned int done = 0;

	if (mmget_not_zero(mm)) {
		mmap_read_lock(mm);
		mutex_lock(&ffm->lock);
		ff_resolve_nodes(ffm, NULL, 0, TASK_SIZE_MAX,
				 GFP_KERNEL | __GFP_NOFAIL, &done);
		ff_mm_unlock(ffm);
		mmap_read_unlock(mm);
		mmput(mm);
	}
	if (done)
		ff_stat_add(FF_STAT_TABLES_RESOLVED_EAGER, done);
	ff_mm_put(ffm);
}

/*
 * sched_process_fork, in the parent, before @child first runs: an eager
 * child gets a task work that runs on its way to user space.
 */
void ff_engine_child_forked(struct task_struct *child)
{
	struct ff_mm *ffm;

	if (!child->mm)
		return;
	ffm = ff_mm_get(child->mm);
	if (!ffm)
		return;
	if (ffm->eager) {
		ffm->eager = false;
		init_task_work(&ffm->eager_work, ff_eager_resolve);
		if (!task_work_add(child, &ffm->eager_work, TWA_RESUME))
			return;	/* the work owns the reference now */
	}
	ff_mm_put(ffm);
}
