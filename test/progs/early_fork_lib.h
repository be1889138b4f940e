/* SPDX-License-Identifier: MIT */
/* Results of the forks made by early_fork_lib's constructor. */
#ifndef TEST_EARLY_FORK_LIB_H
#define TEST_EARLY_FORK_LIB_H

/* 1 if the constructor's fork() child exited 0. */
int early_fork_ok(void);
/* 1 if the constructor's _Fork() child exited 0. */
int early__Fork_ok(void);

#endif /* TEST_EARLY_FORK_LIB_H */
