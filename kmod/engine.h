/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The detached page-table engine: interfaces between its three parts.
 *
 *   registry.c  which mms hold detached tables (struct ff_mm), and the
 *               nodes (struct ff_node)
 *   index.c     which node holds each 2 MiB range of one mm
 *   table.c     what is done to one PTE table: scan, detach, copy, attach
 *   engine.c    when: detach at an armed fork, hand on at every fork,
 *               resolve before the kernel touches a range, drop at unmap
 *   mm_hooks.c  the kernel entry points that call engine.c
 *   resolver.c  the background resolver: bounds how long a table stays
 *               detached
 *   inject.c    allocation-failure injection for the tests
 *
 * See ENGINE-DESIGN.md for the invariants, the locking and the accounting.
 */
#ifndef FASTFORK_ENGINE_H
#define FASTFORK_ENGINE_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/task_work.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct mm_struct;
struct vm_area_struct;
struct page;
struct task_struct;

/*
 * One detached PTE table: mapped by nobody, owned by every process that
 * had it mapped at the fork that detached it and by their later fork
 * children.  All owners hold it at the same 2 MiB-aligned address.
 */
struct ff_node {
	union {
		struct page *table;	/* the PTE table page */
		struct ff_node *next_free;	/* in the reserve (registry.c) */
	};
	unsigned long addr;	/* PMD-aligned user address */
	unsigned int nr_anon;	/* present PTEs of anon pages (RSS) */
	unsigned long detached_at; /* jiffies; the background resolver's age */
	refcount_t owners;	/* processes holding it */
	/* Serialises copy/attach/drop by owners.  Initialised once per slab
	 * object, not per node: see ff_node_free().
	 */
	struct mutex lock;
};

/* The nodes one mm holds, by FF_IDX() of their address (index.c). */
struct ff_index {
	struct xarray chunks;	/* of struct ff_chunk, private to index.c */
};

/*
 * The detached tables one mm holds, created with its first one and freed
 * when the mm is torn down (exit_mmap) or it holds none any more.
 * A reference on the mm_struct (mmgrab) keeps the key from being reused.
 */
struct ff_mm {
	struct hlist_node hash;	/* in the registry, under its lock */
	struct mm_struct *mm;	/* key */
	refcount_t ref;		/* the registry's + one per user */
	struct mutex lock;	/* serialises changes to @nodes */
	struct ff_index nodes;
	bool retired;		/* unhashed: takes no nodes; under @lock */
	bool eager;		/* resolve all before first return to user */
	struct callback_head eager_work;
	struct rcu_head rcu;
};

/* The index of the 2 MiB range that holds @addr. */
#define FF_IDX(addr)	((addr) >> PMD_SHIFT)

/*
 * Nodes handled per batch: allocated and recorded at detach, and
 * resolved by the background resolver per hold of the locks.
 */
#define FF_NODE_BATCH	32

/* Nodes allocated ahead for a detach loop (ff_node_take()). */
struct ff_node_stash {
	unsigned int nr;
	void *nodes[FF_NODE_BATCH];
};

/* registry.c */
extern atomic_t ff_nr_mms;	/* live struct ff_mm; 0: nothing to look up */

static inline bool ff_any_detached(void)
{
	return atomic_read(&ff_nr_mms) != 0;
}

bool ff_mm_may_hold(struct mm_struct *mm, unsigned long start,
		    unsigned long end);
struct ff_mm *ff_mm_get(struct mm_struct *mm);
struct ff_mm *ff_mm_get_or_create(struct mm_struct *mm);
void ff_mm_put(struct ff_mm *ffm);
void ff_mm_forget(struct mm_struct *mm);
struct ff_mm *ff_mm_lock_for_adding(struct mm_struct *mm,
				    unsigned int subclass);
void ff_mm_unlock(struct ff_mm *ffm);
unsigned int ff_mm_get_batch(struct ff_mm **batch, unsigned int max,
			     unsigned int *cursor);
int ff_registry_init(void);
void ff_registry_exit(void);
struct ff_node *ff_node_take(struct ff_node_stash *stash, unsigned int want,
			     unsigned long addr, gfp_t gfp);
void ff_node_untake(struct ff_node_stash *stash, struct ff_node *node);
void ff_node_stash_drain(struct ff_node_stash *stash);
void ff_node_free(struct ff_node *node);

/* index.c: callers hold the ff_mm.lock, except as ff_index_any() says. */
void ff_index_init(struct ff_index *ix);
bool ff_index_empty(struct ff_index *ix);
void ff_index_destroy(struct ff_index *ix);
bool ff_index_any(struct ff_index *ix, unsigned long first,
		  unsigned long last);
struct ff_node *ff_index_load(struct ff_index *ix, unsigned long idx,
			      bool *detacher);
struct ff_node *ff_index_find(struct ff_index *ix, unsigned long *idx,
			      unsigned long last);
void ff_index_erase(struct ff_index *ix, unsigned long idx);
unsigned int ff_index_record(struct ff_index *ix, struct ff_node **nodes,
			     unsigned int nr, gfp_t gfp, int *err);
int ff_index_share(struct ff_index *src, struct ff_index *dst,
		   unsigned long first, unsigned long last, gfp_t gfp,
		   unsigned long *tables, long *anon);
unsigned int ff_index_gather(struct ff_index *ix, unsigned long *idx,
			     unsigned long last, struct ff_node **nodes,
			     unsigned int max);

/* Every node of @ix at an index in [@first, @last], in order of index. */
#define ff_index_for_each(ix, idx, node, first, last)			\
	for ((idx) = (first); ((node) = ff_index_find((ix), &(idx), (last))); \
	     (idx)++)

/* table.c */
pmd_t *ff_pmd_lookup(struct mm_struct *mm, unsigned long addr);
bool ff_pmd_settled(struct mm_struct *mm, unsigned long addr);
int ff_table_detach(struct mm_struct *mm, pmd_t *pmd, struct page **table,
		    unsigned int *nr_anon);
int ff_table_attach(struct mm_struct *mm, pmd_t *pmd, struct page *table,
		    bool shared);
int ff_table_copy(struct mm_struct *mm, pmd_t *pmd, struct ff_node *node,
		  struct vm_area_struct *vma, bool detacher, gfp_t gfp);

/* engine.c */
void ff_engine_fork_begin(struct vm_area_struct *dst_vma,
			  struct vm_area_struct *src_vma, bool armed);
int ff_engine_fork_end(struct vm_area_struct *dst_vma,
		       struct vm_area_struct *src_vma, bool eager);
int ff_resolve_range(struct mm_struct *mm, struct vm_area_struct *vma,
		     unsigned long start, unsigned long end, gfp_t gfp);
void ff_resolve_range_unlocked(struct mm_struct *mm, unsigned long start,
			       unsigned long end);
void ff_unmap_range(struct vm_area_struct *vma, unsigned long start,
		    unsigned long end, gfp_t gfp);
void ff_engine_child_forked(struct task_struct *child);
unsigned int ff_resolve_older(struct ff_mm *ffm, unsigned long min_age);

/* resolver.c */
void ff_resolver_init(void);
void ff_resolver_exit(void);

/* inject.c: true when this allocation must fail (tests only). */
bool ff_inject_nomem(gfp_t gfp);

#endif /* FASTFORK_ENGINE_H */
