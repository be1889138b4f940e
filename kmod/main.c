// SPDX-License-Identifier: GPL-2.0
/*
 * fastfork.ko: module load and unload.
 *
 * Load order: check the kernel, hook the clone events, then open
 * /dev/fastfork, so no thread can be armed before its fork is seen.
 * Unload order is the reverse; the device goes first (no ioctl can be
 * running: an open file holds a module reference), then every hook and
 * probe (their removal waits for running callbacks), then the records.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <generated/utsrelease.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/utsname.h>
#include <asm/cpufeature.h>

#include "compat.h"
#include "engine.h"
#include "fastfork.h"

static int __init ff_init(void)
{
	int err;

	if (!ff_kernel_supported()) {
		pr_err("kernel %s is not supported (6.1 to 6.12 only), refusing to load\n",
		       UTS_RELEASE);
		return -EOPNOTSUPP;
	}
	/* vermagic already enforces this; say it clearly if it ever slips. */
	if (strcmp(init_utsname()->release, UTS_RELEASE)) {
		pr_err("built for kernel %s but running %s, refusing to load\n",
		       UTS_RELEASE, init_utsname()->release);
		return -EOPNOTSUPP;
	}

	/* XEN PV page tables would need hypercalls the engine never makes. */
	if (boot_cpu_has(X86_FEATURE_XENPV)) {
		pr_err("Xen PV guests are not supported, refusing to load\n");
		return -EOPNOTSUPP;
	}

	err = ff_registry_init();
	if (err)
		return err;
	err = ff_mm_hooks_init();
	if (err)
		goto registry;
	ff_resolver_init();
	err = ff_clone_hooks_init();
	if (err)
		goto mm_hooks;
	err = ff_dev_init();
	if (err)
		goto clone_hooks;
	pr_info("version %s loaded (ABI %d)\n", FF_MODULE_VERSION,
		FASTFORK_ABI_VERSION);
	return 0;

clone_hooks:
	ff_clone_hooks_exit();
	ff_arm_drain();
mm_hooks:
	ff_resolver_exit();
	ff_mm_hooks_exit();
registry:
	ff_registry_exit();
	return err;
}

static void __exit ff_exit(void)
{
	ff_dev_exit();
	ff_clone_hooks_exit();
	ff_arm_drain();
	/* No mm holds a detached table: each would hold a module reference. */
	ff_resolver_exit();
	ff_mm_hooks_exit();
	ff_registry_exit();
	pr_info("unloaded\n");
}

module_init(ff_init);
module_exit(ff_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(FF_MODULE_VERSION);
MODULE_DESCRIPTION("fastfork: serve armed fork() calls of large processes");
MODULE_AUTHOR("fastfork developers");
