/* SPDX-License-Identifier: MIT */
/* Prints the shim's counters, looked up at run time (see shim/fastfork.h). */
#ifndef TEST_SHIM_COUNTERS_H
#define TEST_SHIM_COUNTERS_H

/*
 * Writes "shim=absent", or "shim=loaded" and one "name=value" line per
 * counter, to stdout.
 */
void print_shim_counters(void);

#endif /* TEST_SHIM_COUNTERS_H */
