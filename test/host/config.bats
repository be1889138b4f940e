#!/usr/bin/env bats
# /etc/fastfork.conf and the /etc/fastfork.disable kill-switch, each test
# in a private mount namespace over an overlay of /etc (the real /etc is
# never modified).

bats_require_minimum_version 1.5.0
load common

setup() {
	common_setup
}

@test "the host's /etc is not changed by these tests" {
	put_etc fastfork.conf "FASTFORK_MODE=force"
	fork_with
	expect_status 3
	[[ ! -e /etc/fastfork.conf || $(cat /etc/fastfork.conf) != "FASTFORK_MODE=force" ]]
}

@test "/etc/fastfork.conf overrides the built-in defaults" {
	put_etc fastfork.conf "$(printf '%s\n' '# system policy' '' \
		'  FASTFORK_MODE = force  ' 'FASTFORK_DEVICE=/dev/null')"
	fork_with
	expect_status 3
	expect_field errno ENODEV
	expect_match "$stderr" "/dev/null is not a fastfork device"
}

@test "the environment overrides /etc/fastfork.conf" {
	put_etc fastfork.conf "FASTFORK_MODE=force"
	fork_with FASTFORK_MODE=auto
	expect_status 0
	expect_field fallback_no_device 1
	expect_lines "$stderr" 0
}

@test "an invalid environment value keeps the config file's value, with one warning" {
	put_etc fastfork.conf "$(printf '%s\n' '# comment' 'FASTFORK_MODE=force')"
	fork_with FASTFORK_MODE=bogus
	expect_status 3
	expect_field errno ENODEV
	expect_match "$stderr" 'warning: FASTFORK_MODE="bogus" (environment) is invalid, expected auto, force, off or dryrun; using "force" (/etc/fastfork.conf:2)'
}

@test "an invalid config file value gives one warning naming the line, and the default" {
	put_etc fastfork.conf "$(printf '%s\n' 'FASTFORK_ENGINE=lazy' 'FASTFORK_MIN_RSS=lots')"
	fork_with
	expect_status 0
	expect_lines "$stderr" 1
	expect_match "$stderr" 'warning: FASTFORK_MIN_RSS="lots" (/etc/fastfork.conf:2) is invalid'
	expect_match "$stderr" 'using "0" (built-in default)'
}

@test "unknown keys and lines without '=' in the config file are warned about" {
	put_etc fastfork.conf "$(printf '%s\n' 'FASTFORK_MODES=force' 'just words' 'FASTFORK_MODE=dryrun')"
	fork_with
	expect_status 0
	expect_field fallback_dryrun 1
	expect_match "$stderr" '/etc/fastfork.conf:1: "FASTFORK_MODES": unknown key; line ignored'
	expect_match "$stderr" '/etc/fastfork.conf:2: "just words": not a KEY=value line; ignored'
}

@test "FASTFORK_LOG from the config file is used" {
	local log=$BATS_TEST_TMPDIR/conf.log
	put_etc fastfork.conf "$(printf '%s\n' "FASTFORK_LOG=$log" 'FASTFORK_MODE=dryrun')"
	fork_with
	expect_status 0
	expect_lines "$stderr" 0
	run cat "$log"
	expect_match "$output" "fork: dryrun"
}

@test "an invalid FASTFORK_LOG in the environment is reported in the config file's log" {
	local log=$BATS_TEST_TMPDIR/conf.log
	put_etc fastfork.conf "FASTFORK_LOG=$log"
	fork_with FASTFORK_LOG=relative.log
	expect_status 0
	expect_lines "$stderr" 0
	run cat "$log"
	expect_match "$output" "warning: FASTFORK_LOG=\"relative.log\" (environment) is invalid"
	expect_match "$output" "using \"$log\" (/etc/fastfork.conf:1)"
}

@test "a group-writable config file is ignored with a warning" {
	put_etc fastfork.conf "FASTFORK_MODE=force"
	chmod 0664 "$ETC_UPPER/fastfork.conf"
	fork_with
	expect_status 0
	expect_lines "$stderr" 1
	expect_match "$stderr" "warning: /etc/fastfork.conf ignored: it is group- or world-writable"
}

@test "a config file not owned by root is ignored with a warning" {
	put_etc fastfork.conf "FASTFORK_MODE=force"
	chown 65534:65534 "$ETC_UPPER/fastfork.conf"
	fork_with
	expect_status 0
	expect_match "$stderr" "warning: /etc/fastfork.conf ignored: it is not owned by root"
}

@test "a config file that is not a regular file is ignored with a warning" {
	mkdir "$ETC_UPPER/fastfork.conf"
	fork_with
	expect_status 0
	expect_match "$stderr" "warning: /etc/fastfork.conf ignored: it is not a regular file"
}

@test "the root-owned kill-switch makes the shim do nothing" {
	local log=$BATS_TEST_TMPDIR/ff.log
	put_etc fastfork.disable ""
	put_etc fastfork.conf "$(printf '%s\n' 'FASTFORK_MODE=force' "FASTFORK_LOG=$log")"
	fork_with FASTFORK_MODE=force FASTFORK_DEBUG=1 FASTFORK_LOG="$log" FASTFORK_BOGUS=1
	expect_status 0
	expect_field result ok
	expect_field fallback_killswitch 1
	expect_lines "$stderr" 0
	[[ ! -e $log ]]
}

@test "a kill-switch not owned by root is ignored with a warning" {
	put_etc fastfork.disable ""
	chown 65534:65534 "$ETC_UPPER/fastfork.disable"
	fork_with FASTFORK_MODE=force
	expect_status 3
	expect_match "$stderr" "warning: /etc/fastfork.disable is not owned by root; ignored"
}
