/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Resume stubs of the wrapper hooks (hook.h, struct ff_wrap).
 *
 * ff_call_<name> is called directly by the wrapper of <name>, with the
 * target's arguments still in their registers.  It pushes the address
 * just past the target's fentry call and returns there: the target runs
 * as if the wrapper had called it, without ftrace firing a second time,
 * and returns into the wrapper.  A return, not an indirect jump: on an
 * IBT kernel the landing site needs no ENDBR (it has none: it is the
 * middle of the function).  The address comes from ff_resume_<name>,
 * written by the ftrace callback before the wrapper could run.
 */
#include <linux/linkage.h>
#include <linux/version.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

.macro FF_RESUME_STUB name
SYM_FUNC_START(ff_call_\name)
	pushq	ff_resume_\name(%rip)
	/* The stack now looks like a function entry: a return address. */
	UNWIND_HINT_FUNC
	RET
SYM_FUNC_END(ff_call_\name)
.endm

/* Both kernels. */
FF_RESUME_STUB copy_page_range
FF_RESUME_STUB handle_mm_fault
FF_RESUME_STUB unmap_page_range
FF_RESUME_STUB change_protection
FF_RESUME_STUB move_page_tables
FF_RESUME_STUB madvise_collapse
FF_RESUME_STUB exit_mmap
FF_RESUME_STUB pagemap_read

#if FF_KERNEL_SERIES < 612
/* userfaultfd fills: 6.1 names. */
FF_RESUME_STUB mcopy_atomic
FF_RESUME_STUB mfill_zeropage
FF_RESUME_STUB mcopy_continue
#else
/* userfaultfd fills and moves, PAGEMAP_SCAN: 6.12 names. */
FF_RESUME_STUB mfill_atomic_copy
FF_RESUME_STUB mfill_atomic_zeropage
FF_RESUME_STUB mfill_atomic_continue
FF_RESUME_STUB mfill_atomic_poison
FF_RESUME_STUB move_pages
FF_RESUME_STUB do_pagemap_scan
#endif
