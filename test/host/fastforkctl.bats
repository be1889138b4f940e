#!/usr/bin/env bats
# fastforkctl on the host (no module here): usage and errors, status,
# stats, run, and enable/disable against a --root tree instead of /etc.

bats_require_minimum_version 1.5.0

load common

CTL=${FF_CTL:?FF_CTL must name the fastforkctl binary; run through ctest}
# What this build's fastforkctl writes and checks (prefix /usr: the entry
# /usr/$LIB/libfastfork.so and /usr/lib/x86_64-linux-gnu/libfastfork.so).
ENTRY=${FF_PRELOAD_ENTRY:?FF_PRELOAD_ENTRY must be set; run through ctest}
LIBPATH=${FF_LIB_PATH:?FF_LIB_PATH must be set; run through ctest}

setup() {
	common_setup
	R=$BATS_TEST_TMPDIR/root
	RLIB=$R$LIBPATH
	PRELOAD=$R/etc/ld.so.preload
	mkdir -p "$R/etc" "${RLIB%/*}"
	chmod -R 0755 "$R"
	install -m 0644 "$SHIM" "$RLIB"
}

ctl() { "$CTL" --root "$R" "$@"; }

# ------------------------------------------------------------ usage, errors

@test "fastforkctl without a command prints usage and exits 2" {
	run -2 "$CTL"
	expect_match "$output" "no command given"
	expect_match "$output" "Usage: fastforkctl"
}

@test "an unknown command exits 2 with usage" {
	run -2 "$CTL" frobnicate
	expect_match "$output" "unknown command 'frobnicate'"
	expect_match "$output" "Usage: fastforkctl"
}

@test "an unknown global option exits 2 with usage" {
	run -2 "$CTL" --frob status
	expect_match "$output" "unknown option '--frob'"
}

@test "an unknown option of a command exits 2 with usage" {
	run -2 "$CTL" enable --frob
	expect_match "$output" "unknown option '--frob'"
	run -2 "$CTL" stats --frob
	run -2 "$CTL" status --frob
	run -2 "$CTL" disable extra-argument
}

@test "--help prints usage on stdout and exits 0" {
	run -0 "$CTL" --help
	expect_match "$output" "Usage: fastforkctl"
	expect_match "$output" "$ENTRY"
}

@test "--version prints the project version" {
	run -0 "$CTL" --version
	[ "$output" = "fastforkctl $FF_VERSION" ]
}

# ------------------------------------------------------------ status, stats

@test "status on a host without the module says it is not loaded and exits 0" {
	run -0 ctl status
	grep -Eq '^module: +not loaded' <<<"$output"
	grep -Eq '^abi: +unknown \(module not loaded\)' <<<"$output"
	[[ $output == *"kernel:        $(uname -r) "* ]]
	grep -Eq '^ibt: +cpu flag ibt: (yes|no); kernel command line: ' <<<"$output"
}

@test "status reports Secure Boot from the EFI variable, or unknown without EFI" {
	run -0 ctl status
	if [ -d /sys/firmware/efi ]; then
		grep -Eq '^secure boot: +(enabled|disabled|unknown \(EFI)' <<<"$output"
	else
		grep -Eq '^secure boot: +unknown \(no EFI\)' <<<"$output"
	fi
}

@test "status shows whether ld.so.preload lists the shim" {
	run -0 ctl status
	grep -Eq '^preload: +off' <<<"$output"
	ctl enable
	run -0 ctl status
	grep -Fq "preload:       on: $PRELOAD lists $ENTRY" <<<"$output"
}

@test "status shows the kill-switch when /etc/fastfork.disable exists" {
	run -0 ctl status
	grep -Eq '^kill-switch: +off' <<<"$output"
	touch "$R/etc/fastfork.disable"
	run -0 ctl status
	grep -Eq '^kill-switch: +ON' <<<"$output"
}

@test "stats without the module fails with exit 1 and says it is not loaded" {
	[ ! -e /sys/module/fastfork ] || { echo "the module is loaded on this host"; return 1; }
	run -1 "$CTL" stats
	expect_match "$output" "module is not loaded"
	run -1 "$CTL" stats --json
	[[ $output != *"{"* ]]
}

# ------------------------------------------------------------------- run

@test "run puts the shim in LD_PRELOAD and sets every FASTFORK_ variable it is given" {
	run -0 "$CTL" --lib "$SHIM" run --mode dryrun --engine eager \
		--min-rss 64M --log /dev/null --debug --only-cmds env,redis-server -- env
	expect_field LD_PRELOAD "$SHIM"
	expect_field FASTFORK_MODE dryrun
	expect_field FASTFORK_ENGINE eager
	expect_field FASTFORK_MIN_RSS 64M
	expect_field FASTFORK_LOG /dev/null
	expect_field FASTFORK_DEBUG 1
	expect_field FASTFORK_ONLY_CMDS env,redis-server
}

@test "run keeps the existing LD_PRELOAD entries after the shim, without listing it twice" {
	local other=$FF_PROGS/libfake_fastfork.so
	LD_PRELOAD="$other" run -0 "$CTL" --lib "$SHIM" run -- env
	expect_field LD_PRELOAD "$SHIM:$other"
	LD_PRELOAD="$SHIM $other" run -0 "$CTL" --lib "$SHIM" run -- env
	expect_field LD_PRELOAD "$SHIM:$other"
}

@test "run's policy reaches the shim in the command it runs" {
	run -0 in_private_etc "$CTL" --lib "$SHIM" run --mode off -- "$PROGS/fork_call" fork
	expect_field result ok
	expect_field fallback_off 1
	expect_field forks_seen 1
}

@test "run uses the installed library by default (here under --root)" {
	run -0 ctl run -- env
	expect_field LD_PRELOAD "$RLIB"
}

@test "run rejects a bad --mode, --engine, --min-rss or --log with exit 2" {
	run -2 "$CTL" --lib "$SHIM" run --mode fast -- true
	expect_match "$output" "--mode must be auto, force, off or dryrun"
	run -2 "$CTL" --lib "$SHIM" run --engine quick -- true
	run -2 "$CTL" --lib "$SHIM" run --min-rss lots -- true
	run -2 "$CTL" --lib "$SHIM" run --log relative.log -- true
}

@test "run without a command exits 2" {
	run -2 "$CTL" --lib "$SHIM" run --mode auto --
	expect_match "$output" "no command given"
}

@test "run of a command that does not exist exits 127" {
	run -127 "$CTL" --lib "$SHIM" run -- /nonexistent/program
	expect_match "$output" "/nonexistent/program"
}

@test "run fails with exit 1 when the shim library is missing" {
	run -1 "$CTL" --lib /nonexistent/libfastfork.so run -- true
	expect_match "$output" "not installed"
}

# --------------------------------------------------------------- enable

@test "enable creates ld.so.preload with the entry, mode 0644, owned by root" {
	run -0 ctl enable
	expect_match "$output" "enabled: added $ENTRY"
	[ "$(cat "$PRELOAD")" = "$ENTRY" ]
	[ "$(stat -c '%a %u %g' "$PRELOAD")" = "644 0 0" ]
}

@test "enable is idempotent: a second run keeps one entry and says already enabled" {
	ctl enable
	run -0 ctl enable
	expect_match "$output" "already enabled"
	[ "$(grep -c libfastfork "$PRELOAD")" -eq 1 ]
}

@test "enable keeps the other lines and comments byte for byte" {
	printf '# local preloads\n/usr/lib/x86_64-linux-gnu/libfoo.so  # foo\n\n/opt/bar.so' >"$PRELOAD"
	cp "$PRELOAD" "$BATS_TEST_TMPDIR/before"
	run -0 ctl enable
	# the old contents, a newline for the unterminated last line, the entry
	[ "$(head -c "$(stat -c %s "$BATS_TEST_TMPDIR/before")" "$PRELOAD" | cmp - "$BATS_TEST_TMPDIR/before" && echo same)" = same ]
	[ "$(tail -n 2 "$PRELOAD")" = "/opt/bar.so
$ENTRY" ]
}

@test "enable replaces the file by rename and leaves no temporary file" {
	echo '/opt/other.so' >"$PRELOAD"
	local inode
	inode=$(stat -c %i "$PRELOAD")
	run -0 ctl enable
	[ "$(stat -c %i "$PRELOAD")" != "$inode" ]
	[ "$(ls -A "$R/etc")" = ld.so.preload ]
}

@test "enable refuses a missing library and leaves ld.so.preload untouched" {
	rm "$RLIB"
	run -1 ctl enable
	expect_match "$output" "not installed"
	[ ! -e "$PRELOAD" ]
}

@test "enable refuses a library not owned by root" {
	chown 1000:1000 "$RLIB"
	run -1 ctl enable
	expect_match "$output" "not root"
	[ ! -e "$PRELOAD" ]
}

@test "enable refuses a world-writable or group-writable library" {
	chmod 0646 "$RLIB"
	run -1 ctl enable
	expect_match "$output" "writable by others"
	chmod 0664 "$RLIB"
	run -1 ctl enable
	expect_match "$output" "writable by its group"
	[ ! -e "$PRELOAD" ]
}

@test "enable refuses a library in a world-writable directory" {
	chmod 0777 "${RLIB%/*}"
	run -1 ctl enable
	expect_match "$output" "directory is not root's alone"
	[ ! -e "$PRELOAD" ]
}

@test "enable refuses a library that fails to load" {
	head -c 3000 "$SHIM" >"$RLIB" # an ELF header, then nothing
	run -1 ctl enable
	expect_match "$output" "fails to load"
	[ ! -e "$PRELOAD" ]
}

@test "enable refuses a library built for another architecture" {
	printf '\xb7\x00' | dd of="$RLIB" bs=1 seek=18 conv=notrunc status=none # EM_AARCH64
	run -1 ctl enable
	expect_match "$output" "another architecture"
	[ ! -e "$PRELOAD" ]
}

@test "enable refuses a file that is not a shared library" {
	printf 'not a library\n' >"$RLIB"
	run -1 ctl enable
	expect_match "$output" "not an ELF file"
}

@test "enable refuses an unparseable ld.so.preload and leaves it as it was" {
	head -c 64 "$SHIM" >"$PRELOAD"
	cp "$PRELOAD" "$BATS_TEST_TMPDIR/before"
	run -1 ctl enable
	expect_match "$output" "cannot parse it"
	cmp "$PRELOAD" "$BATS_TEST_TMPDIR/before"
}

@test "enable refuses when another libfastfork.so path is already listed" {
	echo /usr/local/lib/libfastfork.so >"$PRELOAD"
	run -1 ctl enable
	expect_match "$output" "another libfastfork.so entry (/usr/local/lib/libfastfork.so)"
	[ "$(cat "$PRELOAD")" = /usr/local/lib/libfastfork.so ]
}

# -------------------------------------------------------------- disable

@test "disable removes the entry and keeps the other lines and comments" {
	printf '# local preloads\n/opt/foo.so\n' >"$PRELOAD"
	cp "$PRELOAD" "$BATS_TEST_TMPDIR/before"
	ctl enable
	run -0 ctl disable
	expect_match "$output" "disabled: removed 1 libfastfork.so entry"
	cmp "$PRELOAD" "$BATS_TEST_TMPDIR/before"
	[ "$(stat -c '%a %u' "$PRELOAD")" = "644 0" ]
}

@test "disable removes ld.so.preload when the entry was all it held" {
	ctl enable
	run -0 ctl disable
	[ ! -e "$PRELOAD" ]
}

@test "disable is idempotent" {
	run -0 ctl disable
	expect_match "$output" "already disabled"
	echo /opt/foo.so >"$PRELOAD"
	run -0 ctl disable
	expect_match "$output" "already disabled"
	[ "$(cat "$PRELOAD")" = /opt/foo.so ]
}

@test "disable removes the entry when the listed library is missing" {
	ctl enable
	rm "$RLIB"
	run -0 ctl disable
	expect_match "$output" "disabled: removed 1"
	expect_match "$output" "was missing"
	[ ! -e "$PRELOAD" ]
}

@test "disable takes fastfork entries out of a shared line and keeps the rest" {
	printf '%s\n' "/opt/a.so $ENTRY:/opt/b.so # site" "/opt/c.so" >"$PRELOAD"
	run -0 ctl disable
	[ "$(cat "$PRELOAD")" = "/opt/a.so /opt/b.so # site
/opt/c.so" ]
}

@test "disable refuses an unparseable ld.so.preload" {
	head -c 64 "$SHIM" >"$PRELOAD"
	run -1 ctl disable
	expect_match "$output" "cannot parse it"
}
