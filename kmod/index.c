// SPDX-License-Identifier: GPL-2.0
/*
 * The index of one mm's detached tables: which node holds the table of
 * each 2 MiB range (by FF_IDX()), and whether this mm detached it itself.
 *
 * Two levels: an xarray of chunks, each a flat array of FF_CHUNK_SLOTS
 * slots for as many consecutive 2 MiB ranges.  A fork records thousands
 * of nodes in the parent and hands as many on to the child, in address
 * order; here each is one store into a slot, where an xarray entry per
 * node cost a fork about a fifth of its time under TCG (ENGINE-DESIGN.md,
 * "The index").  A slot holds the node's address with FF_SLOT_DETACHER
 * in bit 0 (nodes are word aligned) for a node this mm detached.
 *
 * Locking: every change, and every lookup that returns a node, runs
 * under the ff_mm.lock of the index's mm.  ff_index_any() alone runs
 * under RCU without that lock: it reads each slot once, and a
 * chunk leaves the xarray when its last slot is cleared and is freed
 * after a grace period.  A chunk is never left empty in the xarray, so an
 * index without chunks holds no node.
 */
#include <linux/minmax.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "engine.h"

#define FF_CHUNK_SHIFT		8
#define FF_CHUNK_SLOTS		(1UL << FF_CHUNK_SHIFT)	/* 512 MiB */
#define FF_CHUNK_MASK		(FF_CHUNK_SLOTS - 1)
#define FF_SLOT_DETACHER	1UL

struct ff_chunk {
	unsigned long slots[FF_CHUNK_SLOTS];	/* node | FF_SLOT_DETACHER */
	unsigned int nr;			/* slots in use */
	struct rcu_head rcu;
};

static struct ff_node *ff_slot_node(unsigned long slot)
{
	return (struct ff_node *)(slot & ~FF_SLOT_DETACHER);
}

/* The first index of chunk @cidx, and the last. */
static unsigned long ff_chunk_first(unsigned long cidx)
{
	return cidx << FF_CHUNK_SHIFT;
}

static unsigned long ff_chunk_last(unsigned long cidx)
{
	return ff_chunk_first(cidx) + FF_CHUNK_MASK;
}

/*
 * The first chunk of @ix at or after chunk *@cidx that covers an index
 * up to @last; *@cidx is set to its number.  NULL if none.
 */
static struct ff_chunk *ff_chunk_find(struct ff_index *ix, unsigned long *cidx,
				      unsigned long last)
{
	if (*cidx > last >> FF_CHUNK_SHIFT)
		return NULL;
	return xa_find(&ix->chunks, cidx, last >> FF_CHUNK_SHIFT, XA_PRESENT);
}

/* The chunk of @ix for index @idx, created empty if there is none. */
static struct ff_chunk *ff_chunk_get(struct ff_index *ix, unsigned long idx,
				     gfp_t gfp)
{
	unsigned long cidx = idx >> FF_CHUNK_SHIFT;
	struct ff_chunk *chunk = xa_load(&ix->chunks, cidx);

	if (chunk)
		return chunk;
	if (ff_inject_nomem(gfp))
		return NULL;
	chunk = kzalloc(sizeof(*chunk), gfp);
	if (!chunk)
		return NULL;
	/* Published zeroed: an RCU reader finds no node in it yet. */
	if (xa_is_err(xa_store(&ix->chunks, cidx, chunk, gfp))) {
		kfree(chunk);
		return NULL;
	}
	return chunk;
}

/*
 * Fill the empty slot for @idx in @chunk, the chunk that covers it.
 * Callers only get a chunk when they have a node to store in it, so a
 * chunk never stays empty.
 */
static int ff_chunk_fill(struct ff_chunk *chunk, unsigned long idx,
			 unsigned long slot)
{
	unsigned long *dst = &chunk->slots[idx & FF_CHUNK_MASK];

	if (*dst)
		return -EBUSY;
	WRITE_ONCE(*dst, slot);
	chunk->nr++;
	return 0;
}

void ff_index_init(struct ff_index *ix)
{
	xa_init(&ix->chunks);
}

bool ff_index_empty(struct ff_index *ix)
{
	return xa_empty(&ix->chunks);
}

/*
 * The index is going away.  It is empty unless an unmap was missed
 * (ff_mm_forget() reports that): the nodes left then leak, loudly, but
 * the chunks are the index's own.
 */
void ff_index_destroy(struct ff_index *ix)
{
	struct ff_chunk *chunk;
	unsigned long cidx;

	/* ff_index_any() may still be reading them: see ff_mm_put(). */
	xa_for_each(&ix->chunks, cidx, chunk)
		kfree_rcu(chunk, rcu);
	xa_destroy(&ix->chunks);
}

/*
 * Does @ix hold a node at an index in [@first, @last]?  Caller holds
 * rcu_read_lock() (and keeps the ff_mm alive by it); no ff_mm.lock.
 */
bool ff_index_any(struct ff_index *ix, unsigned long first,
		  unsigned long last)
{
	return ff_index_find(ix, &first, last);
}

/*
 * The node of @ix at @idx, or NULL; *@detacher (if not NULL) tells
 * whether this mm detached it.
 */
struct ff_node *ff_index_load(struct ff_index *ix, unsigned long idx,
			      bool *detacher)
{
	struct ff_chunk *chunk = xa_load(&ix->chunks, idx >> FF_CHUNK_SHIFT);
	unsigned long slot = chunk ? chunk->slots[idx & FF_CHUNK_MASK] : 0;

	if (detacher)
		*detacher = slot & FF_SLOT_DETACHER;
	return ff_slot_node(slot);
}

/*
 * The first node of @ix at an index from *@idx to @last, with *@idx set
 * to its index; NULL if there is none.  Each slot is read once, so that
 * ff_index_any() can ask under RCU alone (the node it finds is only
 * valid under the ff_mm.lock).
 */
struct ff_node *ff_index_find(struct ff_index *ix, unsigned long *idx,
			      unsigned long last)
{
	unsigned long cidx = *idx >> FF_CHUNK_SHIFT, i, slot;
	struct ff_chunk *chunk;

	for (; (chunk = ff_chunk_find(ix, &cidx, last)); cidx++) {
		for (i = max(*idx, ff_chunk_first(cidx));
		     i <= min(last, ff_chunk_last(cidx)); i++) {
			slot = READ_ONCE(chunk->slots[i & FF_CHUNK_MASK]);
			if (slot) {
				*idx = i;
				return ff_slot_node(slot);
			}
		}
	}
	return NULL;
}

/* Take the node at @idx out of @ix. */
void ff_index_erase(struct ff_index *ix, unsigned long idx)
{
	unsigned long cidx = idx >> FF_CHUNK_SHIFT;
	struct ff_chunk *chunk = xa_load(&ix->chunks, cidx);

	if (WARN_ON_ONCE(!chunk || !chunk->slots[idx & FF_CHUNK_MASK]))
		return;
	WRITE_ONCE(chunk->slots[idx & FF_CHUNK_MASK], 0);
	if (--chunk->nr)
		return;
	xa_erase(&ix->chunks, cidx);
	kfree_rcu(chunk, rcu);
}

/*
 * Record @nodes[0..@nr), just detached by this mm, in ascending order of
 * address, in @ix.  Stops at the first index already taken (-EBUSY) or
 * when a chunk cannot be allocated (-ENOMEM).  Returns how many were
 * recorded, @nodes[0..ret), and the error in *@err (0 if all).
 */
unsigned int ff_index_record(struct ff_index *ix, struct ff_node **nodes,
			     unsigned int nr, gfp_t gfp, int *err)
{
	unsigned long cidx = ULONG_MAX;
	struct ff_chunk *chunk = NULL;
	unsigned int i;

	*err = 0;
	for (i = 0; i < nr; i++) {
		unsigned long idx = FF_IDX(nodes[i]->addr);

		if (idx >> FF_CHUNK_SHIFT != cidx) {
			cidx = idx >> FF_CHUNK_SHIFT;
			chunk = ff_chunk_get(ix, idx, gfp);
			if (!chunk) {
				*err = -ENOMEM;
				break;
			}
		}
		*err = ff_chunk_fill(chunk, idx,
				     (unsigned long)nodes[i] | FF_SLOT_DETACHER);
		if (*err)
			break;
	}
	return i;
}

/*
 * Hand every node of @src at an index in [@first, @last] on to @dst, the
 * index of a fork child: store it there (not as the child's own detach)
 * and take an owner reference on it.  Adds the nodes handed on to
 * *@tables and their anon pages to *@anon.  Returns 0, or -ENOMEM or
 * -EBUSY (an index of @dst already taken) with the nodes before it
 * handed on.  Caller holds both ff_mm locks.
 */
int ff_index_share(struct ff_index *src, struct ff_index *dst,
		   unsigned long first, unsigned long last, gfp_t gfp,
		   unsigned long *tables, long *anon)
{
	unsigned long cidx = first >> FF_CHUNK_SHIFT, idx;
	struct ff_chunk *from, *to;
	struct ff_node *node;
	int err;

	for (; (from = ff_chunk_find(src, &cidx, last)); cidx++) {
		to = NULL;
		for (idx = max(first, ff_chunk_first(cidx));
		     idx <= min(last, ff_chunk_last(cidx)); idx++) {
			node = ff_slot_node(from->slots[idx & FF_CHUNK_MASK]);
			if (!node)
				continue;
			to = to ?: ff_chunk_get(dst, idx, gfp);
			if (!to)
				return -ENOMEM;
			err = ff_chunk_fill(to, idx, (unsigned long)node);
			if (err)
				return err;
			refcount_inc(&node->owners);
			*anon += node->nr_anon;
			(*tables)++;
		}
	}
	return 0;
}

/*
 * Collect up to @max nodes of @ix from index *@idx to @last, in
 * ascending order, and move *@idx past them.  A caller that drops the
 * ff_mm.lock between calls resumes at *@idx and misses what changed
 * below it meanwhile.  Returns how many were collected; 0 once the range
 * is done.
 */
unsigned int ff_index_gather(struct ff_index *ix, unsigned long *idx,
			     unsigned long last, struct ff_node **nodes,
			     unsigned int max)
{
	unsigned int n = 0;

	while (n < max && (nodes[n] = ff_index_find(ix, idx, last))) {
		n++;
		(*idx)++;
	}
	return n;
}
