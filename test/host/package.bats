#!/usr/bin/env bats
# The Debian package (CPack DEB, config/packaging.cmake) of a fresh build
# with the default settings: its files, conffiles and maintainer scripts.

bats_require_minimum_version 1.5.0

load common

SRC=${FF_SRC:?FF_SRC must name the source tree; run through ctest}
CMAKE=${FF_CMAKE:-cmake}

setup_file() {
	local b=$BATS_FILE_TMPDIR/build
	export D=$BATS_FILE_TMPDIR/dest DEB
	{
		"$CMAKE" -S "$SRC" -B "$b" -DFASTFORK_KDIRS= &&
			"$CMAKE" --build "$b" -j2 --target fastfork fastforkctl &&
			DESTDIR=$D "$CMAKE" --install "$b" &&
			(cd "$b" && "${CMAKE%/*}/cpack" -G DEB)
	} >"$BATS_FILE_TMPDIR/package.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/package.log" >&2
		return 1
	}
	DEB=$b/fastfork_${FF_VERSION}_amd64.deb
}

setup() {
	common_setup
}

@test "cpack builds fastfork_VERSION_amd64.deb with the package's control fields" {
	[ -f "$DEB" ]
	[ "$(dpkg-deb -f "$DEB" Package)" = fastfork ]
	[ "$(dpkg-deb -f "$DEB" Version)" = "$FF_VERSION" ]
	[ "$(dpkg-deb -f "$DEB" Architecture)" = amd64 ]
	[[ $(dpkg-deb -f "$DEB" Depends) == *dkms* ]]
}

@test "the package holds exactly the files cmake --install installs" {
	diff <(dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort) \
		<(cd "$D" && find . -type f | sed 's|^\./|/|' | sort)
}

@test "/etc/fastfork.conf is the package's conffile" {
	run -0 bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xOf - ./conffiles"
	[ "$output" = /etc/fastfork.conf ]
}

@test "postinst and prerm are executable shell scripts that parse" {
	local x=$BATS_TEST_TMPDIR/ctrl s
	mkdir "$x"
	dpkg-deb -e "$DEB" "$x"
	for s in postinst prerm; do
		[ -x "$x/$s" ] || { echo "$s not executable"; return 1; }
		sh -n "$x/$s"
	done
}

@test "prerm switches the system-wide preload off before the library goes away" {
	local x=$BATS_TEST_TMPDIR/ctrl
	mkdir "$x"
	dpkg-deb -e "$DEB" "$x"
	grep -q '/usr/sbin/fastforkctl disable' "$x/prerm"
	grep -q "dkms remove -m fastfork -v $FF_VERSION" "$x/prerm"
}

@test "postinst builds the module with DKMS and never enables the preload" {
	local x=$BATS_TEST_TMPDIR/ctrl
	mkdir "$x"
	dpkg-deb -e "$DEB" "$x"
	grep -q "dkms install -m fastfork -v $FF_VERSION" "$x/postinst"
	run -1 grep -q 'fastforkctl enable$' "$x/postinst"
	run -1 grep -q '^[^#]*ld\.so\.preload' "$x/postinst"
}
