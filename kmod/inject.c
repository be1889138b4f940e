// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation-failure injection, for tests.  Debian's kernels are built
 * without CONFIG_FAULT_INJECTION, so failslab and fail_page_alloc cannot
 * reach the engine's allocations.  With inject_nomem_every=N, each engine
 * allocation that is allowed to fail (not __GFP_NOFAIL) fails with
 * probability 1/N, at random (a fixed period would lock onto the same
 * call of every fork).  The tests then check each consequence: a detach
 * falls back to the stock copy, a hand-on fails the fork with -ENOMEM, a
 * resolve in a fault returns VM_FAULT_OOM (the fault is retried), the
 * background resolver tries again later.  Off by default; costs one read
 * when off.
 */
#include <linux/gfp.h>
#include <linux/moduleparam.h>
#include <linux/random.h>

#include "engine.h"

static unsigned int inject_nomem_every;
module_param(inject_nomem_every, uint, 0644);
MODULE_PARM_DESC(inject_nomem_every,
		 "testing: fail 1 in N engine allocations that may fail, at random (default 0: never)");

bool ff_inject_nomem(gfp_t gfp)
{
	unsigned int every = READ_ONCE(inject_nomem_every);

	if (likely(!every) || (gfp & __GFP_NOFAIL))
		return false;
	return get_random_u32() % every == 0;
}
