#!/usr/bin/env bats
# FASTFORK_* environment variables: each setting, and invalid values of
# each (one warning line, safe value, the fork still works).

bats_require_minimum_version 1.5.0
load common

setup() {
	common_setup
}

# expect_one_warning VAR VALUE USED: exactly one stderr line, a warning
# naming VAR, the bad VALUE and the USED value; the fork still succeeded.
expect_one_warning() {
	expect_status 0
	expect_field result ok
	expect_lines "$stderr" 1
	expect_match "$stderr" "warning: $1=\"$2\" (environment) is invalid"
	expect_match "$stderr" "using \"$3\" (built-in default)"
}

@test "auto mode forks normally and silently when the device path does not exist" {
	fork_with FASTFORK_DEVICE=/nonexistent/fastfork
	expect_status 0
	expect_field fallback_no_device 1
	expect_lines "$stderr" 0
}

@test "auto mode forks normally when the device is not a fastfork device" {
	fork_with FASTFORK_DEVICE=/dev/null FASTFORK_DEBUG=1
	expect_status 0
	expect_field fallback_no_device 1
	expect_match "$stderr" "fork: ordinary fork (no_device: /dev/null is not a fastfork device (FASTFORK_IOC_VERSION: ENOTTY))"
}

@test "force mode fails fork() with ENODEV and one line naming a missing device" {
	fork_with FASTFORK_MODE=force FASTFORK_DEVICE=/nonexistent/fastfork
	expect_status 3
	expect_field errno ENODEV
	expect_lines "$stderr" 1
	expect_match "$stderr" "fork: force: failing with ENODEV (no_device: open /nonexistent/fastfork: ENOENT)"
}

@test "force mode fails fork() with ENODEV on a non-fastfork device" {
	fork_with FASTFORK_MODE=force FASTFORK_DEVICE=/dev/null
	expect_status 3
	expect_field errno ENODEV
	expect_field force_failures 1
	expect_match "$stderr" "/dev/null is not a fastfork device"
}

@test "dryrun mode logs the decision and forks normally" {
	fork_with FASTFORK_MODE=dryrun
	expect_status 0
	expect_field status 0
	expect_field fallback_dryrun 1
	expect_lines "$stderr" 1
	expect_match "$stderr" "fork: dryrun: ordinary fork; would fall back (no_device: open /dev/fastfork: ENOENT)"
}

@test "off mode forks normally without looking at the device" {
	fork_with FASTFORK_MODE=off FASTFORK_DEVICE=/dev/null FASTFORK_DEBUG=1
	expect_status 0
	expect_field fallback_off 1
	expect_field fallback_no_device 0
	expect_match "$stderr" "fork: ordinary fork (FASTFORK_MODE=off)"
	[[ $stderr != *"not a fastfork device"* ]]
}

@test "FASTFORK_MODE values are case-insensitive" {
	fork_with FASTFORK_MODE=FORCE
	expect_status 3
	expect_field errno ENODEV
}

@test "an invalid FASTFORK_MODE gives one warning and auto" {
	fork_with FASTFORK_MODE=fast
	expect_one_warning FASTFORK_MODE fast auto
	expect_field fallback_no_device 1
}

@test "FASTFORK_ENGINE=eager is taken" {
	fork_with FASTFORK_ENGINE=eager FASTFORK_DEBUG=1
	expect_status 0
	expect_match "$stderr" "policy: mode=auto engine=eager"
}

@test "an invalid FASTFORK_ENGINE gives one warning and lazy" {
	fork_with FASTFORK_ENGINE=turbo
	expect_one_warning FASTFORK_ENGINE turbo lazy
}

@test "a process below FASTFORK_MIN_RSS forks normally" {
	fork_with FASTFORK_MIN_RSS=1G FASTFORK_MODE=force FASTFORK_DEBUG=1
	expect_status 0
	expect_field fallback_below_min_rss 1
	expect_match "$stderr" "fork: ordinary fork (below_min_rss: rss "
	expect_match "$stderr" " < FASTFORK_MIN_RSS 1073741824)"
}

@test "a process above FASTFORK_MIN_RSS goes to the device" {
	fork_with FASTFORK_MIN_RSS=4k
	expect_status 0
	expect_field fallback_below_min_rss 0
	expect_field fallback_no_device 1
}

@test "FASTFORK_MIN_RSS takes K, M and G suffixes in any case" {
	local value expected
	for value in 4096:4096 2k:2048 2K:2048 3m:3145728 3M:3145728 1g:1073741824 1G:1073741824; do
		expected=${value#*:}
		fork_with FASTFORK_MIN_RSS="${value%%:*}" FASTFORK_DEBUG=1
		expect_status 0
		expect_match "$stderr" "min_rss=$expected "
	done
}

@test "an invalid FASTFORK_MIN_RSS gives one warning and no minimum" {
	local value
	for value in 12Q -5 1.5G 1GB 99999999999999999999 20000000000G; do
		fork_with FASTFORK_MIN_RSS="$value"
		expect_one_warning FASTFORK_MIN_RSS "$value" 0
		expect_field fallback_below_min_rss 0
	done
}

@test "FASTFORK_LOG sends log lines to a file created with mode 0600" {
	local log=$BATS_TEST_TMPDIR/ff.log
	fork_with FASTFORK_MODE=dryrun FASTFORK_LOG="$log"
	expect_status 0
	expect_lines "$stderr" 0
	[[ $(stat -c %a "$log") == 600 ]]
	run cat "$log"
	expect_match "$output" "fork: dryrun"
}

@test "an invalid FASTFORK_LOG gives one warning, stderr, and creates nothing" {
	cd "$BATS_TEST_TMPDIR"
	fork_with FASTFORK_LOG=relative.log
	expect_one_warning FASTFORK_LOG relative.log stderr
	[[ ! -e relative.log ]]
}

@test "FASTFORK_DEBUG=1 logs the policy, each decision and the counters at exit" {
	fork_with FASTFORK_DEBUG=1
	expect_status 0
	expect_match "$stderr" "policy: mode=auto engine=lazy min_rss=0 device=/dev/fastfork program=fork_call"
	expect_match "$stderr" "fork: ordinary fork (no_device: open /dev/fastfork: ENOENT)"
	expect_match "$stderr" "counters: forks_seen=1 forks_served=0 vforks_seen=0 off=0 killswitch=0 below_min_rss=0 cmd_filtered=0 no_device=1 "
}

@test "an invalid FASTFORK_DEBUG gives one warning and 0" {
	fork_with FASTFORK_DEBUG=yes
	expect_one_warning FASTFORK_DEBUG yes 0
}

@test "FASTFORK_DEVICE names the device the shim opens" {
	fork_with FASTFORK_MODE=force FASTFORK_DEVICE=/tmp/no-such-fastfork-device
	expect_status 3
	expect_match "$stderr" "open /tmp/no-such-fastfork-device: ENOENT"
}

@test "an invalid FASTFORK_DEVICE gives one warning and /dev/fastfork" {
	fork_with FASTFORK_DEVICE=dev/fastfork
	expect_one_warning FASTFORK_DEVICE dev/fastfork /dev/fastfork
}

@test "FASTFORK_ONLY_CMDS without this program forks it normally" {
	fork_with FASTFORK_ONLY_CMDS=redis-server,python3.11 FASTFORK_MODE=force
	expect_status 0
	expect_field fallback_cmd_filtered 1
}

@test "FASTFORK_ONLY_CMDS naming this program sends its forks to the device" {
	fork_with "FASTFORK_ONLY_CMDS=redis-server, fork_call" FASTFORK_MODE=force
	expect_status 3
	expect_field errno ENODEV
}

@test "FASTFORK_SKIP_CMDS naming this program forks it normally" {
	fork_with FASTFORK_SKIP_CMDS=fork_call FASTFORK_MODE=force
	expect_status 0
	expect_field fallback_cmd_filtered 1
}

@test "FASTFORK_SKIP_CMDS without this program sends its forks to the device" {
	fork_with FASTFORK_SKIP_CMDS=fork_cal FASTFORK_MODE=force
	expect_status 3
	expect_field errno ENODEV
}

@test "program names are the basename of argv[0] at start-up" {
	run --separate-stderr shim FASTFORK_SKIP_CMDS=renamed FASTFORK_MODE=force \
		bash -c 'exec -a /some/dir/renamed "$1" fork' sh "$PROGS/fork_call"
	expect_status 0
	expect_field fallback_cmd_filtered 1
}

@test "FASTFORK_ONLY_CMDS and FASTFORK_SKIP_CMDS together: one warning, both ignored" {
	fork_with FASTFORK_ONLY_CMDS=other FASTFORK_SKIP_CMDS=fork_call
	expect_status 0
	expect_lines "$stderr" 1
	expect_match "$stderr" "warning: FASTFORK_ONLY_CMDS and FASTFORK_SKIP_CMDS are both set; ignoring both"
	expect_field fallback_cmd_filtered 0
	expect_field fallback_no_device 1
}

@test "an invalid FASTFORK_ONLY_CMDS gives one warning and no list" {
	fork_with FASTFORK_ONLY_CMDS=/usr/bin/redis-server
	expect_one_warning FASTFORK_ONLY_CMDS /usr/bin/redis-server "(unset)"
	expect_field fallback_cmd_filtered 0
}

@test "an invalid FASTFORK_SKIP_CMDS gives one warning and no list" {
	fork_with "FASTFORK_SKIP_CMDS=, ,"
	expect_one_warning FASTFORK_SKIP_CMDS ", ," "(unset)"
	expect_field fallback_cmd_filtered 0
}

@test "an unknown FASTFORK_ variable gives one warning" {
	fork_with FASTFORK_MOD=force
	expect_status 0
	expect_lines "$stderr" 1
	expect_match "$stderr" "warning: unknown variable FASTFORK_MOD=force; ignored"
}

@test "an empty value counts as unset" {
	fork_with FASTFORK_MODE= FASTFORK_MIN_RSS=
	expect_status 0
	expect_lines "$stderr" 0
	expect_field fallback_no_device 1
}
