/* SPDX-License-Identifier: MIT */
/* Arming the calling thread through the fastfork module. */
#ifndef FASTFORK_DEVICE_H
#define FASTFORK_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

enum device_status {
	DEVICE_OK,	     /* armed (or, when probing, ready to arm) */
	DEVICE_OPEN_FAILED,  /* no device at the path: err says why */
	DEVICE_NOT_FASTFORK, /* FASTFORK_IOC_VERSION failed: err says why */
	DEVICE_ABI_MISMATCH, /* wrong abi_version or no FASTFORK_FEAT_ARM */
	DEVICE_ARM_REFUSED,  /* FASTFORK_IOC_ARM failed: err says why */
};

struct device_outcome {
	enum device_status status;
	int err;
	uint32_t abi_version;
	uint64_t features;
};

/*
 * Async-signal-safe; preserves errno.  Opens the device at path, checks
 * its ABI version and features, and, if arm is true, arms the calling
 * thread's next fork with the given FASTFORK_ENGINE_*.  The device is
 * opened and checked on every call: a cached descriptor could have been
 * closed, dup2()ed over or inherited from before a module reload.
 */
void device_probe_and_arm(const char *path, bool arm, uint32_t engine,
			  struct device_outcome *out);

#endif /* FASTFORK_DEVICE_H */
