#!/usr/bin/env bats
# CPython's os.fork (glibc fork() plus CPython's own atfork machinery)
# under the shim.

bats_require_minimum_version 1.5.0
load common

PYTHON=/usr/bin/python3

setup() {
	common_setup
}

# The child exits 7; the parent prints the status and the shim counters.
FORK_SCRIPT='
import ctypes, os
pid = os.fork()
if pid == 0:
    os._exit(7)
_, status = os.waitpid(pid, 0)
print("status=%d" % os.waitstatus_to_exitcode(status))
class Counters(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "forks_seen", "forks_served", "vforks_seen", "fallback_off",
        "fallback_killswitch", "fallback_below_min_rss",
        "fallback_cmd_filtered", "fallback_no_device",
        "fallback_abi_mismatch", "fallback_arm_refused", "fallback_dryrun",
        "fallback_early", "force_failures")]
c = Counters()
n = ctypes.CDLL(None).fastfork_shim_counters(ctypes.byref(c), ctypes.sizeof(c))
print("counters_size=%d" % n)
for name, _ in Counters._fields_:
    print("%s=%d" % (name, getattr(c, name)))
'

@test "python3 os.fork works under the shim and the child's status propagates" {
	run --separate-stderr shim "$PYTHON" -c "$FORK_SCRIPT"
	expect_status 0
	expect_field status 7
	expect_lines "$stderr" 0
}

@test "python3 reads the shim's counters through ctypes" {
	run --separate-stderr shim "$PYTHON" -c "$FORK_SCRIPT"
	expect_status 0
	expect_field counters_size 104
	expect_field forks_seen 1
	expect_field fallback_no_device 1
}

@test "python3 os.fork is intercepted: force mode raises OSError ENODEV" {
	run --separate-stderr shim FASTFORK_MODE=force "$PYTHON" -c '
import errno, os
try:
    os.fork()
except OSError as e:
    print("errno=%s" % errno.errorcode[e.errno])'
	expect_status 0
	expect_field errno ENODEV
	expect_match "$stderr" "python3["
	expect_match "$stderr" "fork: force: failing with ENODEV"
}
