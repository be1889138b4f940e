// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/fastfork: the misc device and its ioctls (see fastfork_uapi.h).
 *
 * Every argument struct starts with a __u32 size.  Commands are matched
 * on _IOC_TYPE and _IOC_NR only; the size encoded in the command number
 * is ignored and the size field is trusted instead, within
 * [FASTFORK_*_SIZE_VER1, PAGE_SIZE].  Input beyond what the module knows
 * must be zero (copy_struct_from_user); output fills min(size, ours)
 * bytes and writes that count back to size.
 *
 * Locking: none here; the ioctls act on the calling thread (arm.c) or
 * read atomic counters (stats.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "fastfork.h"

static ushort mode = 0600;
module_param(mode, ushort, 0444);
MODULE_PARM_DESC(mode, "permission bits of /dev/fastfork (default 0600; udev may override)");

/*
 * Read the caller's struct of @ksize bytes (first published size
 * @size_ver1) into @kbuf.  Returns the caller's size or a negative errno.
 */
static long ff_copy_in(void *kbuf, size_t ksize, size_t size_ver1,
		       void __user *uarg)
{
	u32 usize;
	int err;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < size_ver1)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(kbuf, ksize, uarg, usize);
	if (err)
		return err;
	return usize;
}

/* Write back min(@usize, @ksize) bytes of @kbuf, its size field first. */
static long ff_copy_out(void __user *uarg, void *kbuf, size_t ksize,
			u32 usize)
{
	u32 filled = min_t(u32, usize, ksize);

	*(u32 *)kbuf = filled;
	if (copy_to_user(uarg, kbuf, filled))
		return -EFAULT;
	return 0;
}

static long ff_ioctl_version(void __user *uarg)
{
	struct fastfork_version ver;
	long usize;

	usize = ff_copy_in(&ver, sizeof(ver), FASTFORK_VERSION_SIZE_VER1, uarg);
	if (usize < 0)
		return usize;
	memset(&ver, 0, sizeof(ver));
	ver.abi_version = FASTFORK_ABI_VERSION;
	ver.features = FASTFORK_FEAT_ARM | FASTFORK_FEAT_DETACH;
	strscpy(ver.module_version, FF_MODULE_VERSION,
		sizeof(ver.module_version));
	return ff_copy_out(uarg, &ver, sizeof(ver), usize);
}

static long ff_ioctl_arm(void __user *uarg)
{
	struct fastfork_arm arm;
	long usize;

	usize = ff_copy_in(&arm, sizeof(arm), FASTFORK_ARM_SIZE_VER1, uarg);
	if (usize < 0)
		return usize;
	if (arm.engine != FASTFORK_ENGINE_LAZY &&
	    arm.engine != FASTFORK_ENGINE_EAGER)
		return -EINVAL;
	if (arm.flags & ~FASTFORK_ARM_FLAGS_ALL)
		return -EINVAL;
	return ff_arm_current(arm.engine);
}

static long ff_ioctl_stats(void __user *uarg)
{
	struct fastfork_stats stats;
	long usize;

	usize = ff_copy_in(&stats, sizeof(stats), FASTFORK_STATS_SIZE_VER1,
			   uarg);
	if (usize < 0)
		return usize;
	memset(&stats, 0, sizeof(stats));
	ff_stats_fill(&stats);
	return ff_copy_out(uarg, &stats, sizeof(stats), usize);
}

static long ff_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != FASTFORK_IOC_MAGIC)
		return -ENOTTY;

	/* The outcome of the caller's last clone is due before any answer. */
	ff_arm_settle_current();

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(FASTFORK_IOC_VERSION):
		return ff_ioctl_version(uarg);
	case _IOC_NR(FASTFORK_IOC_ARM):
		return ff_ioctl_arm(uarg);
	case _IOC_NR(FASTFORK_IOC_STATS):
		return ff_ioctl_stats(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ff_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = ff_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice ff_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = FASTFORK_DEVICE_NAME,
	.fops = &ff_fops,
	.groups = ff_dev_attr_groups,
};

int ff_dev_init(void)
{
	int err;

	if (mode & ~0777) {
		pr_err("invalid mode=%#o: only permission bits are allowed, refusing to load\n",
		       mode);
		return -EINVAL;
	}
	ff_miscdev.mode = mode;
	err = misc_register(&ff_miscdev);
	if (err)
		pr_err("cannot register /dev/%s (%d), refusing to load\n",
		       FASTFORK_DEVICE_NAME, err);
	return err;
}

void ff_dev_exit(void)
{
	misc_deregister(&ff_miscdev);
}
