/* SPDX-License-Identifier: MIT */
/* The fork interposers (fork.c, vfork.S). */
#ifndef FASTFORK_FORK_H
#define FASTFORK_FORK_H

/* Constructor only: resolves the next _Fork, registers atfork handlers. */
void fork_init(void);
/* Called by the vfork stub in vfork.S before it jumps to libc's vfork. */
void vfork_prehook(void);

#endif /* FASTFORK_FORK_H */
