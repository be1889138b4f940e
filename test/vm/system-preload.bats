#!/usr/bin/env bats
# Guest suite (scripts/vm-run): fastfork installed the way the Debian
# install puts it (libfastfork.so in the multiarch libdir, fastforkctl in
# /usr/sbin, a policy in /etc/fastfork.conf), switched on system-wide with
# `fastforkctl enable`, used by a redis-server started by its plain command
# line, and switched off again with `fastforkctl disable`.

bats_require_minimum_version 1.5.0
load redis-helpers

LIB=/usr/lib/x86_64-linux-gnu/libfastfork.so
CTL=/usr/sbin/fastforkctl
PRELOAD=/etc/ld.so.preload
ENTRY='/usr/$LIB/libfastfork.so'
PORT=6393
RDIR=/tmp/redis-system


# The mappings of libfastfork.so in the given process.
maps_shim() { grep -F "$LIB" "/proc/$1/maps"; }

# A new, dynamically linked program (bash) started without LD_PRELOAD
# prints its own mappings of libfastfork.so.  bash reads its maps itself:
# an external grep would be exec'ed in its place (and busybox is static).
new_program_maps_shim() {
	env -u LD_PRELOAD bash -c 'while read -r l; do
		[[ $l == *libfastfork.so* ]] && echo "$l"; done </proc/$$/maps; :'
}

install_fastfork() {
	cp "$FF_SHIM" "$LIB" && chown 0:0 "$LIB" && chmod 0644 "$LIB"
	cp "$FF_CTL" "$CTL" && chown 0:0 "$CTL" && chmod 0755 "$CTL"
}

start_plain_redis() {
	mkdir -p "$RDIR"
	env -u LD_PRELOAD redis-server --port "$PORT" --bind 127.0.0.1 \
		--dir "$RDIR" --save '' --appendonly no --daemonize yes \
		--logfile "$RDIR/redis.log" --enable-debug-command local
	wait_ping "$PORT"
}

stop_redis() { cli shutdown nosave >/dev/null 2>&1 || true; }


setup_file() {
	grep -q '^fastfork ' /proc/modules || insmod "$FF_KO"
	[ -f "$FF_SHIM" ] && [ -x "$FF_CTL" ] || {
		echo "FF_SHIM ($FF_SHIM) or FF_CTL ($FF_CTL) missing" >&2
		return 1
	}
	# The system-wide policy: only redis-server uses the module, so the
	# counters below move for redis-server's forks alone.
	printf '%s\n' FASTFORK_ONLY_CMDS=redis-server \
		FASTFORK_LOG=/tmp/fastfork.log >/etc/fastfork.conf
	chmod 0644 /etc/fastfork.conf
}

setup() {
	install_fastfork
	rm -f "$PRELOAD"
}

teardown() {
	stop_redis
	rm -f "$PRELOAD"
}

teardown_file() {
	stop_redis
	rm -f "$PRELOAD" /etc/fastfork.conf "$LIB" "$CTL"
}

@test "fastforkctl status reports the module loaded with ABI 1 and its ftrace hooks" {
	run "$CTL" status
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	echo "$output"
	grep -Eq '^module: +loaded' <<<"$output"
	grep -Eq '^abi: +1 \(module [0-9]+\.[0-9]+\.[0-9]+, features arm detach\)' <<<"$output"
	[[ $output == *"kernel:        $(uname -r) "* ]]
	grep -Eq '^ +kernel_clone ' <<<"$output"
	grep -Eq '^ +copy_page_range ' <<<"$output"
	grep -Eq '^secure boot: +unknown \(no EFI\)' <<<"$output"
	grep -Eq '^preload: +off' <<<"$output"
}

@test "fastforkctl enable adds the /usr/\$LIB/libfastfork.so line once" {
	run "$CTL" enable
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[ "$(cat "$PRELOAD")" = "$ENTRY" ]
	[ "$(stat -c '%a %u %g' "$PRELOAD")" = "644 0 0" ]
	run "$CTL" enable
	[ "$status" -eq 0 ]
	[[ $output == *"already enabled"* ]]
	[ "$(grep -c libfastfork "$PRELOAD")" -eq 1 ]
	run "$CTL" status
	grep -Eq '^preload: +on' <<<"$output"
}

@test "ld.so expands \$LIB so a program started without LD_PRELOAD maps the installed shim" {
	"$CTL" enable
	run new_program_maps_shim
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[[ $output == *" $LIB"* ]] || { echo "maps: $output"; return 1; }
}

@test "redis-server started by its plain command line loads the shim and its BGSAVE is served by the module" {
	local pid before after
	"$CTL" enable
	start_plain_redis
	pid=$(cli info server | tr -d '\r' | sed -n 's/^process_id://p')
	maps_shim "$pid" >/dev/null || { echo "redis-server ($pid) does not map $LIB"; return 1; }
	cli debug populate 10000 >/dev/null
	before=$(served)
	[ "$(cli bgsave)" = "Background saving started" ]
	wait_bgsave_done
	[ "$(persistence rdb_last_bgsave_status)" = ok ]
	after=$(served)
	echo "forks_served: $before -> $after"
	[ "$after" -ge $((before + 1)) ]
}

@test "fastforkctl stats reports the module's counters, as JSON too" {
	local sysfs
	"$CTL" enable
	start_plain_redis
	[ "$(cli bgsave)" = "Background saving started" ]
	wait_bgsave_done
	sysfs=$(served)
	[ "$sysfs" -ge 1 ]
	run "$CTL" stats --json
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	echo "$output"
	[[ $output == *'"source": "ioctl"'* ]]
	[[ $output == *"\"forks_served\": $sysfs,"* ]]
	run "$CTL" stats
	[ "$status" -eq 0 ]
	grep -Eq "^forks_served +$sysfs\$" <<<"$output"
	run "$CTL" stats --sysfs --json
	[[ $output == *'"source": "sysfs"'* ]]
}

@test "fastforkctl disable restores /etc/ld.so.preload and new programs no longer load the shim" {
	printf '# site preloads\n/usr/lib/x86_64-linux-gnu/libc.so.6\n' >"$PRELOAD"
	chmod 0644 "$PRELOAD"
	cp "$PRELOAD" "$BATS_TEST_TMPDIR/before"
	"$CTL" enable
	grep -qxF "$ENTRY" "$PRELOAD"
	run "$CTL" disable
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	cmp "$BATS_TEST_TMPDIR/before" "$PRELOAD"
	run new_program_maps_shim
	[ "$status" -eq 0 ]
	[ -z "$output" ] || { echo "maps: $output"; return 1; }
	run "$CTL" disable
	[ "$status" -eq 0 ]
	[[ $output == *"already disabled"* ]]
}

@test "fastforkctl disable removes the line when the listed library is missing" {
	"$CTL" enable
	rm -f "$LIB"
	run -0 env -u LD_PRELOAD bash -c 'true' # ld.so complains, runs anyway
	[[ $output == *"cannot be preloaded"* ]]
	run "$CTL" disable
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[[ $output == *"disabled: removed 1"* ]]
	[ ! -e "$PRELOAD" ]
	run -0 env -u LD_PRELOAD bash -c 'true'
	[ -z "$output" ]
}

@test "fastforkctl enable refuses a missing library and leaves /etc/ld.so.preload alone" {
	rm -f "$LIB"
	run "$CTL" enable
	[ "$status" -eq 1 ]
	[[ $output == *"not installed"* ]]
	[ ! -e "$PRELOAD" ]
}
