# Loaded by every host suite (load common).  ctest passes FF_SHIM (the built
# libfastfork.so) and FF_PROGS (the directory of test/progs binaries).

SHIM=${FF_SHIM:?FF_SHIM must name libfastfork.so; run the suite through ctest}
PROGS=${FF_PROGS:?FF_PROGS must name the test/progs build directory}

# Per test: a private overlay of /etc (see in_private_etc) and a scratch
# directory.  No FASTFORK_* setting leaks in from the caller.
common_setup() {
	local var
	for var in $(compgen -e | grep '^FASTFORK_' || true); do
		unset "$var"
	done
	ETC_UPPER=$BATS_TEST_TMPDIR/etc-upper
	ETC_WORK=$BATS_TEST_TMPDIR/etc-work
	mkdir -p "$ETC_UPPER" "$ETC_WORK"
}

# in_private_etc CMD...: runs CMD in a new private mount namespace whose
# /etc is the host's /etc with $ETC_UPPER layered over it, so a test can add
# /etc/fastfork.conf, /etc/fastfork.disable or /etc/ld.so.preload without
# ever touching the real /etc.  fastfork files the test did not add are
# hidden, so the host's own configuration cannot change the results.
in_private_etc() {
	unshare --mount --propagation private -- /bin/sh -c '
		upper=$1 work=$2
		shift 2
		mount -t overlay overlay \
			-o "lowerdir=/etc,upperdir=$upper,workdir=$work" /etc ||
			exit 125
		for f in fastfork.conf fastfork.disable ld.so.preload; do
			[ -e "$upper/$f" ] || rm -f "/etc/$f"
		done
		exec "$@"' sh "$ETC_UPPER" "$ETC_WORK" "$@"
}

# shim [VAR=value...] CMD...: runs CMD with the shim preloaded (and the
# variables set) under a private /etc; only CMD loads the shim.
shim() {
	in_private_etc env LD_PRELOAD="$SHIM" "$@"
}

# put_etc NAME CONTENT: creates /etc/NAME (root-owned, 0644) for in_private_etc.
# fork_with VAR=value...: one fork() through fork_call under the shim.
fork_with() {
	run --separate-stderr shim "$@" "$PROGS/fork_call" fork
}

put_etc() {
	printf '%s\n' "$2" >"$ETC_UPPER/$1"
	chmod 0644 "$ETC_UPPER/$1"
}

# field NAME: the value of the NAME=value line in $output.
field() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$1="* ]]; then
			printf '%s\n' "${line#*=}"
			return 0
		fi
	done <<<"$output"
	echo "field $1 not in output: $output" >&2
	return 1
}

# expect_field NAME VALUE: fails, showing the output, unless NAME=VALUE.
expect_field() {
	local value
	value=$(field "$1") || return 1
	if [[ $value != "$2" ]]; then
		echo "expected $1=$2, got $1=$value; output:" >&2
		echo "$output" >&2
		return 1
	fi
}

# expect_status N: fails, showing output and stderr, unless $status is N.
expect_status() {
	if ((status != $1)); then
		echo "expected exit status $1, got $status" >&2
		echo "stdout: $output" >&2
		echo "stderr: ${stderr-}" >&2
		return 1
	fi
}

# expect_lines TEXT N: fails unless TEXT has exactly N lines.
expect_lines() {
	local n=0
	[[ -z $1 ]] || n=$(printf '%s\n' "$1" | wc -l)
	if ((n != $2)); then
		echo "expected $2 line(s), got $n:" >&2
		printf '%s\n' "$1" >&2
		return 1
	fi
}

# expect_match TEXT GLOB: fails unless TEXT contains GLOB.
expect_match() {
	if [[ $1 != *$2* ]]; then
		echo "expected to find: $2" >&2
		echo "in: $1" >&2
		return 1
	fi
}
