/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * fastfork ioctl ABI, shared by the kernel module and libfastfork.so.
 *
 * Every argument struct starts with a __u32 size that the caller sets to
 * sizeof() of the struct it was compiled with.  The module accepts any size
 * from the struct's first published size (FASTFORK_*_SIZE_VER1) up to one
 * page: bytes it does not know must be zero on input, and on output it
 * fills min(caller size, its own size) bytes and writes the number of
 * bytes filled back to size.  Old and new binaries therefore either work
 * together or fail with EINVAL/E2BIG, never with a silent misread.
 * The ioctl numbers carry sizeof() of the version 1 structs; the module
 * dispatches on the command number alone and trusts only the size field.
 */
#ifndef FASTFORK_UAPI_H
#define FASTFORK_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FASTFORK_ABI_VERSION	1
#define FASTFORK_DEVICE_NAME	"fastfork"
#define FASTFORK_DEVICE_PATH	"/dev/fastfork"
#define FASTFORK_IOC_MAGIC	0xFF

/* Features the running module reports in fastfork_version.features. */
#define FASTFORK_FEAT_ARM	(1ULL << 0) /* arm + serve the next fork */
#define FASTFORK_FEAT_DETACH	(1ULL << 1) /* detached page-table engine */

struct fastfork_version {
	__u32 size;		/* in: caller's sizeof; out: bytes filled */
	__u32 abi_version;	/* out: FASTFORK_ABI_VERSION of the module */
	__u64 features;		/* out: FASTFORK_FEAT_* */
	char module_version[32]; /* out: NUL-terminated release string */
};
#define FASTFORK_VERSION_SIZE_VER1 48

/* Engine used for the armed fork. */
#define FASTFORK_ENGINE_LAZY	0 /* each process resolves on first touch */
#define FASTFORK_ENGINE_EAGER	1 /* the child resolves all before it runs */

/* No arm flags are defined yet: flags must be zero. */
#define FASTFORK_ARM_FLAGS_ALL	0ULL

struct fastfork_arm {
	__u32 size;		/* in: caller's sizeof */
	__u32 engine;		/* in: FASTFORK_ENGINE_* */
	__u64 flags;		/* in: FASTFORK_ARM_* (must be zero today) */
};
#define FASTFORK_ARM_SIZE_VER1 16

/*
 * Global counters since the module was loaded.  The same values are
 * readable, one file per field, under /sys/class/misc/fastfork/stats/.
 */
struct fastfork_stats {
	__u32 size;		/* in: caller's sizeof; out: bytes filled */
	__u32 reserved;		/* out: zero */
	__u64 arms;		/* successful FASTFORK_IOC_ARM calls */
	__u64 forks_served;	/* armed fork-like clones the module took */
	__u64 arms_cleared_exec;	/* armed thread called execve */
	__u64 arms_cleared_exit;	/* armed thread exited */
	__u64 arms_cleared_failed_clone; /* consuming clone failed early */
	__u64 armed_threads;	/* gauge: threads armed right now */
	/* Since FASTFORK_STATS_SIZE_VER2: the detached page-table engine. */
	__u64 tables_detached;	/* PTE tables detached at armed forks */
	__u64 tables_shared;	/* detached tables handed on to a child */
	__u64 tables_copied;	/* resolved by copying (other owners left) */
	__u64 tables_attached;	/* resolved by attaching (last owner) */
	__u64 tables_dropped;	/* references dropped by unmap or exit */
	__u64 tables_resolved_eager;	/* resolved by an eager child */
	__u64 tables_resolved_background; /* resolved by the background resolver */
	__u64 tables_live;	/* gauge: detached tables alive right now */
	__u64 fallback_vma;	/* VMAs an armed fork copied: VMA not eligible */
	__u64 fallback_mm;	/* armed forks copied: mm has notifiers or pins */
	__u64 fallback_table_entries; /* tables copied: swap/migration/other entries */
	__u64 fallback_table_nomem;	/* tables copied: no memory for a node */
	__u64 resolve_conflicts; /* a resolve found its PMD taken (a bug) */
};
#define FASTFORK_STATS_SIZE_VER1 56
#define FASTFORK_STATS_SIZE_VER2 160

#define FASTFORK_IOC_VERSION \
	_IOWR(FASTFORK_IOC_MAGIC, 0x00, struct fastfork_version)
#define FASTFORK_IOC_ARM \
	_IOW(FASTFORK_IOC_MAGIC, 0x01, struct fastfork_arm)
#define FASTFORK_IOC_STATS \
	_IOWR(FASTFORK_IOC_MAGIC, 0x02, struct fastfork_stats)

#endif /* FASTFORK_UAPI_H */
