#!/usr/bin/env bats
# Guest suite (scripts/vm-run): libfastfork.so together with the module.
# Runs as root; /init has insmod'ed $FF_KO before bats starts.
# $FF_PROGS/fork_call METHOD forks once through METHOD and prints
# result=ok|error, errno=NAME on failure (exit 3), status=<child status>.

bats_require_minimum_version 1.5.0

STATS=/sys/class/misc/fastfork/stats

preloaded() { env LD_PRELOAD="$FF_SHIM" "$@"; }

loaded() { grep -q '^fastfork ' /proc/modules; }
served() { cat "$STATS/forks_served"; }

setup() {
	[ -f "$FF_SHIM" ] || { echo "FF_SHIM ($FF_SHIM) missing" >&2; return 1; }
	[ -x "$FF_PROGS/fork_call" ] || { echo "$FF_PROGS/fork_call missing" >&2; return 1; }
	loaded || insmod "$FF_KO"
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	loaded || insmod "$FF_KO"
}

# fork_call under the shim in MODE (auto|force), as root.
shim_fork() {
	local mode=$1
	shift
	preloaded FASTFORK_MODE="$mode" "$FF_PROGS/fork_call" "$@"
}

# As the unprivileged user ffuser (uid/gid 1000, no supplementary groups).
as_ffuser() { cd /tmp && setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all -- "$@"; }

@test "auto mode serves one fork through the module and counts exactly one" {
	local before
	before=$(served)
	run --separate-stderr shim_fork auto fork
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[[ $output == *"result=ok"* ]]
	[[ $output == *"status=0"* ]]
	[ "$(served)" -eq $((before + 1)) ]
}

@test "auto mode counts one served fork per fork of a forking loop" {
	local before
	before=$(served)
	# bash forks once per external command in the loop, nothing else
	preloaded FASTFORK_MODE=auto bash -c 'for ((i = 0; i < 25; i++)); do /bin/true; done'
	[ "$(served)" -eq $((before + 25)) ]
}

@test "a served fork leaves no thread armed" {
	shim_fork auto fork >/dev/null
	[ "$(cat "$STATS/armed_threads")" -eq 0 ]
}

@test "auto mode falls back silently to an ordinary fork when the module is unloaded" {
	rmmod fastfork
	run --separate-stderr shim_fork auto fork
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[[ $output == *"result=ok"* ]]
	[[ $output == *"status=0"* ]]
	[ -z "$stderr" ] || { echo "stderr: $stderr"; return 1; }
}

@test "forks made while the module was unloaded are not counted once it is back" {
	rmmod fastfork
	shim_fork auto fork >/dev/null
	preloaded FASTFORK_MODE=auto bash -c 'for i in 1 2 3; do /bin/true; done'
	insmod "$FF_KO"
	[ "$(served)" -eq 0 ]
}

@test "force mode fails fork with ENODEV when the module is unloaded" {
	rmmod fastfork
	run --separate-stderr shim_fork force fork
	[ "$status" -eq 3 ] || { echo "$output $stderr"; return 1; }
	[[ $output == *"result=error"* ]]
	[[ $output == *"errno=ENODEV"* ]]
}

@test "force mode forks through the module when it is loaded" {
	local before
	before=$(served)
	run --separate-stderr shim_fork force fork
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[[ $output == *"result=ok"* ]]
	[ "$(served)" -eq $((before + 1)) ]
}

@test "an unprivileged user cannot open /dev/fastfork" {
	run as_ffuser bash -c 'exec 7<>/dev/fastfork'
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
}

@test "an unprivileged user's forks under auto succeed silently without the module" {
	local before
	before=$(served)
	run --separate-stderr as_ffuser env LD_PRELOAD="$FF_SHIM" FASTFORK_MODE=auto "$FF_PROGS/fork_call" fork
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[[ $output == *"result=ok"* ]]
	[ -z "$stderr" ] || { echo "stderr: $stderr"; return 1; }
	[ "$(served)" -eq "$before" ]
}
