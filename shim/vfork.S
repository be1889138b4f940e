/* SPDX-License-Identifier: MIT */
/*
 * vfork() interposer.  The child of vfork runs on the parent's stack until
 * it execs or exits, so a C wrapper would leave its frame there for the
 * child to overwrite and the parent to return through.  This stub calls
 * the C pre-hook, removes every trace of itself from the stack and jumps
 * to libc's __vfork, which therefore sees the caller's return address and
 * returns straight to the caller in both processes.
 */
	.text
	.globl	vfork
	.type	vfork, @function
vfork:
	/* Indirect-branch target (CET IBT): also reached through the GOT. */
	endbr64
	/* Entry: %rsp is 8 mod 16.  Realign for the call as the ABI wants. */
	subq	$8, %rsp
	call	vfork_prehook
	addq	$8, %rsp
	/* Linked with -z now: the GOT slot is already bound, so the jump
	 * runs no lazy resolver on the vfork path. */
	jmp	__vfork@PLT
	.size	vfork, .-vfork

	.section .note.GNU-stack, "", @progbits
