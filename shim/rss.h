/* SPDX-License-Identifier: MIT */
/* Resident set size of the calling process, read per fork. */
#ifndef FASTFORK_RSS_H
#define FASTFORK_RSS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Async-signal-safe: reads /proc/self/statm with open/read.  Returns false
 * (errno preserved) if the RSS cannot be read.
 */
bool rss_read(uint64_t *bytes);
/* Records the page size statm counts in.  Constructor only. */
void rss_init(void);

#endif /* FASTFORK_RSS_H */
