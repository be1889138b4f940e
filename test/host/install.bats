#!/usr/bin/env bats
# `cmake --install` with DESTDIR: a fresh build of this source tree with the
# default settings is installed into a temporary root and the tree is
# checked file by file (the Debian layout: prefix /usr, multiarch libdir).

bats_require_minimum_version 1.5.0

load common

SRC=${FF_SRC:?FF_SRC must name the source tree; run through ctest}
CMAKE=${FF_CMAKE:-cmake}
ENTRY='/usr/$LIB/libfastfork.so'

setup_file() {
	local b=$BATS_FILE_TMPDIR/build
	export D=$BATS_FILE_TMPDIR/dest
	export MULTIARCH
	MULTIARCH=$(gcc -print-multiarch)
	# Configure with the defaults (no prefix given), build what gets
	# installed, install into $D.
	{
		"$CMAKE" -S "$SRC" -B "$b" -DFASTFORK_KDIRS= &&
			"$CMAKE" --build "$b" -j2 --target fastfork fastforkctl &&
			DESTDIR=$D "$CMAKE" --install "$b"
	} >"$BATS_FILE_TMPDIR/install.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/install.log" >&2
		return 1
	}
	export DKMS=$D/usr/src/fastfork-$FF_VERSION
}

setup() {
	common_setup
}

# expect_file PATH MODE: $D/PATH is a regular file with that mode, root's.
expect_file() {
	[ -f "$D$1" ] || { echo "missing: $1"; find "$D" -type f | sed "s|^$D||" | sort; return 1; }
	[ "$(stat -c '%a %u %g' "$D$1")" = "$2 0 0" ] || {
		echo "$1: $(stat -c '%a %u %g' "$D$1"), expected $2 0 0"
		return 1
	}
}

@test "the default prefix is /usr and the shim goes to the multiarch libdir" {
	[ "$MULTIARCH" = x86_64-linux-gnu ]
	expect_file "/usr/lib/$MULTIARCH/libfastfork.so" 644
	[ ! -e "$D/usr/local" ]
	[ ! -e "$D/usr/lib/libfastfork.so" ]
}

@test "fastforkctl is installed in /usr/sbin, mode 0755" {
	expect_file /usr/sbin/fastforkctl 755
	run -0 "$D/usr/sbin/fastforkctl" --version
	[ "$output" = "fastforkctl $FF_VERSION" ]
}

@test "the installed fastforkctl names the installed library and the \$LIB entry" {
	run -0 "$D/usr/sbin/fastforkctl" --help
	expect_match "$output" "default /usr/lib/$MULTIARCH/libfastfork.so"
	expect_match "$output" "add $ENTRY to /etc/ld.so.preload"
}

@test "ld.so expands the \$LIB of the entry to the directory the library is installed in" {
	# ld.so expands $LIB in LD_PRELOAD as in /etc/ld.so.preload.
	run -0 env LD_PRELOAD="$D$ENTRY" FASTFORK_MODE=off bash -c \
		'while read -r l; do [[ $l == *libfastfork.so* ]] && echo "$l"; done </proc/$$/maps; :'
	expect_match "$output" " $D/usr/lib/$MULTIARCH/libfastfork.so"
}

@test "the DKMS tree holds dkms.conf naming the module, its version and autoinstall" {
	expect_file "/usr/src/fastfork-$FF_VERSION/dkms.conf" 644
	local conf=$DKMS/dkms.conf
	grep -qx "PACKAGE_NAME=\"fastfork\"" "$conf"
	grep -qx "PACKAGE_VERSION=\"$FF_VERSION\"" "$conf"
	grep -qx 'BUILT_MODULE_NAME\[0\]="fastfork"' "$conf"
	grep -qx 'DEST_MODULE_LOCATION\[0\]="/updates/dkms"' "$conf"
	grep -qx 'AUTOINSTALL="yes"' "$conf"
	grep -qx 'MAKE\[0\]="make KDIR=${kernel_source_dir} modules"' "$conf"
}

@test "the DKMS version is the module's own version string" {
	grep -q "#define FF_MODULE_VERSION[[:space:]]*\"$FF_VERSION\"" "$DKMS/fastfork.h"
}

@test "the DKMS tree holds Kbuild, Makefile, the UAPI header and every source kbuild and the sources name" {
	local o f objs
	for f in Kbuild Makefile fastfork_uapi.h; do expect_file "/usr/src/fastfork-$FF_VERSION/$f" 644; done
	# Every object of fastfork-y (continuation lines included) needs its
	# C or assembly source.
	objs=$(sed -e ':a' -e '/\\$/{N;s/\\\n//;ba}' "$DKMS/Kbuild" | sed -n 's/^fastfork-y *:= *//p')
	[ -n "$objs" ]
	for o in $objs; do
		[ -f "$DKMS/${o%.o}.c" ] || [ -f "$DKMS/${o%.o}.S" ] ||
			{ echo "missing ${o%.o}.c or .S"; return 1; }
	done
	for f in $(grep -ho '#include "[^"]*"' "$DKMS"/*.c "$DKMS"/*.h | cut -d'"' -f2 | sort -u); do
		[ -f "$DKMS/$f" ] || { echo "missing $f"; return 1; }
	done
}

@test "the DKMS sources build fastfork.ko with dkms.conf's MAKE command" {
	[ -n "$FF_KDIR" ] || skip "no kernel build directory configured (FASTFORK_KDIRS is empty)"
	local build=$BATS_TEST_TMPDIR/dkms-build make kernel_source_dir=$FF_KDIR
	cp -r "$DKMS" "$build"
	make=$(sed -n 's/^MAKE\[0\]="\(.*\)"$/\1/p' "$build/dkms.conf")
	(cd "$build" && eval "$make -j2") >"$BATS_TEST_TMPDIR/make.log" 2>&1 || {
		tail -30 "$BATS_TEST_TMPDIR/make.log"
		return 1
	}
	[ -f "$build/fastfork.ko" ]
	[ "$(modinfo -F version "$build/fastfork.ko")" = "$FF_VERSION" ]
}

@test "the udev rule, modprobe options and modules-load entry come from config/" {
	expect_file /usr/lib/udev/rules.d/60-fastfork.rules 644
	expect_file /usr/lib/modprobe.d/fastfork.conf 644
	expect_file /usr/lib/modules-load.d/fastfork.conf 644
	cmp "$SRC/config/60-fastfork.rules" "$D/usr/lib/udev/rules.d/60-fastfork.rules"
	cmp "$SRC/config/fastfork-modprobe.conf" "$D/usr/lib/modprobe.d/fastfork.conf"
	cmp "$SRC/config/fastfork-modules-load.conf" "$D/usr/lib/modules-load.d/fastfork.conf"
}

@test "/etc/fastfork.conf is installed and documents every key the shim reads" {
	local key
	expect_file /etc/fastfork.conf 644
	cmp "$SRC/config/fastfork.conf" "$D/etc/fastfork.conf"
	for key in $(grep -ho '"FASTFORK_[A-Z][A-Z_]*[A-Z]"' "$SRC/shim/policy.c" | tr -d '"' | sort -u); do
		grep -q "^#$key=" "$D/etc/fastfork.conf" || { echo "$key undocumented"; return 1; }
		grep -q "$key" "$D/usr/share/man/man5/fastfork.conf.5" || { echo "$key not in fastfork.conf(5)"; return 1; }
	done
}

@test "the man pages fastforkctl(8), fastfork(7) and fastfork.conf(5) are installed and render without warnings" {
	local page
	for page in man8/fastforkctl.8 man7/fastfork.7 man5/fastfork.conf.5; do
		expect_file "/usr/share/man/$page" 644
		run -0 --separate-stderr groff -man -Tutf8 -ww -z "$D/usr/share/man/$page"
		[ -z "$stderr" ] || { echo "$page: $stderr"; return 1; }
	done
}

@test "the examples are installed under share/doc/fastfork/examples" {
	local ex=/usr/share/doc/fastfork/examples
	expect_file "$ex/redis-server.service.d/fastfork.conf" 644
	expect_file "$ex/ld.so.preload.snippet" 644
	expect_file "$ex/fastfork.conf.system-wide-example" 644
}

@test "the redis-server drop-in preloads the installed library in auto mode" {
	local f=$D/usr/share/doc/fastfork/examples/redis-server.service.d/fastfork.conf
	grep -qx '\[Service\]' "$f"
	grep -qx "Environment=LD_PRELOAD=/usr/lib/$MULTIARCH/libfastfork.so" "$f"
	grep -qx 'Environment=FASTFORK_MODE=auto' "$f"
}

@test "the ld.so.preload snippet's only entry is /usr/\$LIB/libfastfork.so" {
	run -0 grep -v '^#' "$D/usr/share/doc/fastfork/examples/ld.so.preload.snippet"
	[ "$output" = "$ENTRY" ]
}

@test "the system-wide example policy names programs and is accepted by the shim" {
	local f=$D/usr/share/doc/fastfork/examples/fastfork.conf.system-wide-example
	grep -q '^FASTFORK_ONLY_CMDS=redis-server' "$f"
	grep -q '^FASTFORK_MIN_RSS=' "$f"
	cp "$f" "$ETC_UPPER/fastfork.conf"
	chmod 0644 "$ETC_UPPER/fastfork.conf"
	# No warning from the shim: every line of it is valid.
	run -0 --separate-stderr in_private_etc env LD_PRELOAD="$SHIM" FASTFORK_LOG=stderr "$PROGS/fork_call" fork
	[ -z "$stderr" ] || { echo "shim warned: $stderr"; return 1; }
	expect_field fallback_cmd_filtered 1
}

@test "no installed file is writable by group or others" {
	run -0 find "$D" -perm /022 -type f
	[ -z "$output" ]
}
