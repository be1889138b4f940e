// SPDX-License-Identifier: GPL-2.0
/*
 * What the engine does to one PTE table.  Nothing here frees a page, a
 * swap entry or a table that the kernel installed: a table leaves a PMD
 * only to be reinstalled (attach) or copied entry by entry, and the
 * kernel's own unmap code frees it in the end.
 *
 * Locking, for every function: the caller keeps the PMD table that holds
 * @pmd alive (mmap lock, or the VMA lock of a VMA in that range) and
 * serialises engine work on the range (ff_mm.lock); the PMD entry itself
 * is read and written under the PMD lock, as move_normal_pmd() does.
 */
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <asm/pgalloc.h>
#include <asm/tlbflush.h>

#include "compat.h"
#include "engine.h"

/*
 * The PMD entry of @mm that maps @addr, or NULL when an upper level is
 * missing or maps a huge page.  Walks without allocating: the upper
 * levels' allocators are not exported (and are sealed on 6.12).
 */
pmd_t *ff_pmd_lookup(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;

	pgd = pgd_offset(mm, addr);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || !pud_present(*pud) || pud_trans_huge(*pud) ||
	    pud_bad(*pud))
		return NULL;
	return pmd_offset(pud, addr);
}

/*
 * Can a fault at @addr of @mm skip the engine's node lookup?  Yes when
 * its PMD entry is not empty and no table copy runs in @mm.  Every owner
 * of a node keeps the node's PMD entry empty until it resolves the node,
 * and the one resolve that shows a table before its entries are in
 * place, ff_table_copy(), does its work inside a write section of
 * mm->write_protect_seq.  Reading the PMD and then an even sequence
 * therefore means: no node here, or one whose table is complete.  A few
 * loads of page tables the fault walks anyway, where the lookup costs a
 * process that holds nodes about 1 us per fault under TCG.
 * Caller holds the mmap lock or the VMA lock of @addr: the tables read
 * here stay, and no fork can detach one meanwhile.
 */
bool ff_pmd_settled(struct mm_struct *mm, unsigned long addr)
{
	pmd_t *pmd = ff_pmd_lookup(mm, addr);

	if (!pmd || pmd_none(READ_ONCE(*pmd)))
		return false;
	smp_rmb();	/* the PMD, then the sequence: see ff_table_copy() */
	return !(raw_read_seqcount(&mm->write_protect_seq) & 1);
}

/* Does @pmdval point to a PTE table (not empty, not a huge page)? */
static bool ff_pmd_is_table(pmd_t pmdval)
{
	return !pmd_none(pmdval) && pmd_present(pmdval) &&
	       !pmd_trans_huge(pmdval) && !pmd_devmap(pmdval) &&
	       !pmd_bad(pmdval);
}

/*
 * Account one PTE value of a table being scanned, without a branch: the
 * scan runs for every table an armed fork detaches, and straight-line
 * code lets the loop unroll (under QEMU's TCG every taken branch ends a
 * translated block, which made a branchy scan the dominant cost of a
 * fork).  @bad collects the bits of entries that are neither empty nor
 * present (swap, migration, device, marker): nonzero means "do not
 * detach".  PROT_NONE and NUMA-hinting entries count as present, as
 * pte_present() says.
 */
static __always_inline void ff_scan_pte(u64 v, u64 *bad, unsigned int *present,
					unsigned int *anon)
{
	u64 p = (v | (v >> (_PAGE_BIT_PROTNONE - _PAGE_BIT_PRESENT))) & 1;

	*bad |= v & (p - 1);
	*present += p;
	*anon += p & ~(v >> _PAGE_BIT_SPECIAL);
}

/*
 * Does every entry of @ptes map a normal page (present, not special)?
 * That is what a table of a process's own anonymous memory looks like,
 * and it needs neither ff_scan_pte()'s classes nor its counts: one AND
 * and one OR per entry tell, where the full scan takes about a dozen
 * instructions per entry.
 */
static bool ff_table_all_normal(const u64 *ptes)
{
	u64 all = ~0ULL, any = 0;
	int i;

#pragma GCC unroll 16
	for (i = 0; i < PTRS_PER_PTE; i++) {
		u64 v = READ_ONCE(ptes[i]);

		all &= v;
		any |= v;
	}
	return (all & _PAGE_PRESENT) && !(any & _PAGE_SPECIAL);
}

/*
 * Detach the PTE table under @pmd: clear the PMD entry and hand the
 * table to the caller.  Only tables whose entries are all present or
 * empty qualify: a swap or migration entry left in a table that rmap can
 * no longer reach would dangle.  The scan reads PTE values only, never a
 * struct page.  Caller: the fork of @mm, holding its mmap lock for
 * writing and the VMA's anon_vma lock for writing (no rmap walker can be
 * converting an entry of this table meanwhile).
 *
 * Returns 0 with *table and *nr_anon (present PTEs of anon pages, which
 * is all but the zero page in an anonymous VMA) filled in; -ENOENT when
 * there is no table or it maps nothing; -EAGAIN when an entry is neither
 * present nor empty.
 */
int ff_table_detach(struct mm_struct *mm, pmd_t *pmd, struct page **table,
		    unsigned int *nr_anon)
{
	unsigned int present = 0, anon = 0;
	const u64 *ptes;
	spinlock_t *ptl;
	pmd_t pmdval;
	u64 bad = 0;
	int i, err = 0;

	ptl = pmd_lock(mm, pmd);
	pmdval = *pmd;
	if (!ff_pmd_is_table(pmdval)) {
		err = -ENOENT;
		goto out;
	}
	ptes = page_address(pmd_page(pmdval));
	if (ff_table_all_normal(ptes)) {
		present = anon = PTRS_PER_PTE;
		goto detach;
	}
#pragma GCC unroll 16
	for (i = 0; i < PTRS_PER_PTE; i++)
		ff_scan_pte(READ_ONCE(ptes[i]), &bad, &present, &anon);
	if (bad) {
		err = -EAGAIN;
		goto out;
	}
	if (!present) {
		err = -ENOENT;
		goto out;
	}
detach:
	pmd_clear(pmd);
	*table = pmd_page(pmdval);
	*nr_anon = anon;
out:
	spin_unlock(ptl);
	return err;
}

/*
 * Might a page of @ptes be pinned for DMA?  Such a page must be copied at
 * fork rather than shared (copy_present_pte() does that with helpers a
 * module cannot call).  Eligibility excludes mms with pinned pages at
 * detach, and nobody can pin through a table that nobody maps, so this
 * only runs, and only finds something, if an owner pinned memory
 * elsewhere since.
 */
static bool ff_table_maybe_pinned(const pte_t *ptes)
{
	int i;

	for (i = 0; i < PTRS_PER_PTE; i++) {
		pte_t pte = READ_ONCE(ptes[i]);
		struct page *page;

		if (pte_none(pte) || pte_special(pte))
			continue;
		page = pte_page(pte);
		if (PageAnonExclusive(page) &&
		    folio_maybe_dma_pinned(page_folio(page)))
			return true;
	}
	return false;
}

/*
 * Install @table under @pmd of @mm, which must be empty: the last owner
 * takes a detached table back.  The process that detached it gets it as
 * it is, with no per-entry work: its entries are exactly as before the
 * fork, or write-protected by owners that copied them since, and no other
 * process ever reached its pages.  Any other process (@shared: a child
 * whose parent copied or dropped the table) gets what a stock fork would
 * have left it: every entry old and write-protected and every page no
 * longer anon-exclusive, so that a write copies the page if anyone else
 * still holds a reference to it (vmsplice, O_DIRECT), exactly as after a
 * fork, and reclaim sees the child's pages as untouched by the child.
 * Until the PMD is populated below, the table is mapped by nobody (no
 * walker, no TLB entry can reach it), so plain stores of the new values
 * suffice, where a mapped entry would need the atomic updates of
 * ptep_set_wrprotect() and ptep_test_and_clear_young().
 *
 * Returns 0, -EEXIST if the PMD is taken, or -EBUSY if @shared and a
 * page may be pinned for DMA (nothing is changed then).
 */
int ff_table_attach(struct mm_struct *mm, pmd_t *pmd, struct page *table,
		    bool shared)
{
	pte_t *ptes = (pte_t *)page_address(table);
	spinlock_t *ptl;
	int i, err = 0;

	if (shared && ff_table_maybe_pinned(ptes))
		return -EBUSY;
	ptl = pmd_lock(mm, pmd);
	if (!pmd_none(*pmd)) {
		err = -EEXIST;
		goto unlock;
	}
	for (i = 0; shared && i < PTRS_PER_PTE; i++) {
		pte_t pte = READ_ONCE(ptes[i]);
		pte_t forked;

		if (pte_none(pte))
			continue;
		if (!pte_special(pte))
			ClearPageAnonExclusive(pte_page(pte));
		forked = pte_mkold(pte_wrprotect(pte));
		if (!pte_same(forked, pte))
			set_pte(&ptes[i], forked);
	}
	/* Entries visible before the PMD, as pmd_install() does. */
	smp_wmb();
	pmd_populate(mm, pmd, table);
unlock:
	spin_unlock(ptl);
	return err;
}

/* What ff_table_fill() copies, and for whom. */
struct ff_table_fill_args {
	struct ff_node *node;
	struct vm_area_struct *vma;
	bool detacher;		/* the mm that detached the table copies it */
};

/*
 * apply_to_page_range() callback, called once with @dst pointing to the
 * first entry of the table that the kernel has just installed for the
 * 2 MiB-aligned @addr, with that table's PTE lock held: fill all of it
 * from the node's table.  Every page becomes mapped once more
 * (reference, mapcount, anon-exclusive cleared) and write-protected in
 * both tables.  The node's table is mapped by nobody, so write-protecting
 * its entries needs no TLB flush; the new table was empty, so nothing
 * stale can be cached for it.  The accessed bits go as in fork: the mm
 * that detached the table keeps them (a stock fork leaves the parent's
 * entries young), any other gets old entries (the child's, in fork), so
 * that reclaim does not take a parent's working set for cold memory
 * after every fork.
 *
 * The caller, ff_table_copy(), holds a write section of the mm's
 * write_protect_seq: duplicating an anon rmap is done, as in fork,
 * inside one (page_try_dup_anon_rmap() asserts it), so that a GUP-fast
 * pin taken meanwhile through the entries already filled is dropped
 * again.
 *
 * Returns 0, or -EEXIST (nothing changed) if the table is not empty: a
 * kernel path filled the range behind the engine's back.
 */
static int ff_table_fill(pte_t *dst, unsigned long addr, void *data)
{
	const struct ff_table_fill_args *args = data;
	pte_t *src = (pte_t *)page_address(args->node->table);
	struct mm_struct *mm = args->vma->vm_mm;
	int i;

	for (i = 0; i < PTRS_PER_PTE; i++)
		if (!pte_none(READ_ONCE(dst[i])))
			return -EEXIST;
	for (i = 0; i < PTRS_PER_PTE; i++, addr += PAGE_SIZE) {
		pte_t pte = READ_ONCE(src[i]);

		if (pte_none(pte))
			continue;
		/* Cannot fail after ff_table_maybe_pinned() said no. */
		if (!pte_special(pte))
			WARN_ON_ONCE(ff_dup_anon_page(pte_page(pte), args->vma));
		if (pte_write(pte)) {
			ptep_set_wrprotect(mm, addr, &src[i]);
			pte = pte_wrprotect(pte);
		}
		set_pte_at(mm, addr, &dst[i],
			   args->detacher ? pte : pte_mkold(pte));
	}
	return 0;
}

/*
 * Give @mm its own copy of @node's table, as fork would have.  @pmd, the
 * PMD entry of @mm for the node's range, must be empty.  @vma is any VMA
 * of @mm (only its mm and flags are consulted).  @detacher: @mm is the
 * one that detached the table (its entries stay young).
 *
 * The kernel allocates the table: apply_to_page_range() on the node's
 * first page runs pte_alloc_map_lock(), which installs a fresh table
 * (pte_alloc_one(): zeroed, charged to the current memcg, its PTE lock
 * set up) and counts it in pgtables_bytes, then calls ff_table_fill()
 * under that table's lock.  A module cannot build a table itself on
 * every kernel: with lockdep, PTE locks no longer fit in struct page and
 * are allocated by ptlock_alloc(), which is not exported.  Each owner of
 * the node already counts its table in pgtables_bytes, so the count the
 * kernel adds is taken back.  Between the PMD check below and the
 * installation the PMD lock is dropped; nothing else fills the PMD of a
 * detached range meanwhile, because every path that would (faults,
 * khugepaged, mremap, userfaultfd) is hooked or excluded by the mmap
 * lock and resolves through ffm->lock first.  If a missing hook broke
 * that, the filled table makes ff_table_fill() fail with -EEXIST; an
 * empty table it installed would be filled, and the extra count shows as
 * "non-zero pgtables_bytes" at exit.
 *
 * The kernel's allocation is GFP_KERNEL; @gfp says whether it may fail:
 * with __GFP_NOFAIL, -ENOMEM is retried, as the page allocator would.
 *
 * Returns 0, -ENOMEM, -EEXIST if the PMD is taken, or -EBUSY if a page
 * may be pinned for DMA (nothing is changed then).
 */
int ff_table_copy(struct mm_struct *mm, pmd_t *pmd, struct ff_node *node,
		  struct vm_area_struct *vma, bool detacher, gfp_t gfp)
{
	struct ff_table_fill_args args = {
		.node = node, .vma = vma, .detacher = detacher
	};
	pte_t *src = (pte_t *)page_address(node->table);
	spinlock_t *ptl;
	bool empty;
	int err;

	if (test_bit(MMF_HAS_PINNED, &mm->flags) && ff_table_maybe_pinned(src))
		return -EBUSY;
	ptl = pmd_lock(mm, pmd);
	empty = pmd_none(*pmd);
	spin_unlock(ptl);
	if (!empty)
		return -EEXIST;
	/*
	 * From before the table shows under the PMD until its entries are
	 * in place: ff_pmd_settled() must not take the PMD for a resolved
	 * range meanwhile.  The sections must not overlap: fork opens its
	 * own under the mmap write lock, and every caller of
	 * ff_table_copy() holds the mmap lock and ffm->lock.
	 */
	raw_write_seqcount_begin(&mm->write_protect_seq);
	for (;;) {
		err = ff_inject_nomem(gfp) ? -ENOMEM :
			apply_to_page_range(mm, node->addr, PAGE_SIZE,
					    ff_table_fill, &args);
		if (err != -ENOMEM || !(gfp & __GFP_NOFAIL))
			break;
		memalloc_retry_wait(gfp);
	}
	raw_write_seqcount_end(&mm->write_protect_seq);
	if (!err)
		mm_dec_nr_ptes(mm);
	return err;
}
