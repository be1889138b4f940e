#!/bin/sh
# Check that every user-space C file (shim/, test/, scripts/, config/:
# everything outside kmod/, which follows the kernel's style and
# checkpatch.pl) is formatted as the repository's .clang-format says.
# Prints the offending lines and fails on any difference.
# Usage: $0 REPO
set -eu

repo=$1
if ! command -v clang-format >/dev/null; then
	echo "FAIL: clang-format not found (apt-get install clang-format)" >&2
	exit 1
fi
cd "$repo"
# Without it clang-format would silently check against its own defaults.
if [ ! -f .clang-format ]; then
	echo "FAIL: no .clang-format in $repo" >&2
	exit 1
fi
# The tracked files when this is a git checkout, or every file under
# the user-space directories (a release tarball).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h' | grep -v '^kmod/' || true)
else
	files=$(find shim test scripts config -name '*.[ch]' 2>/dev/null | sort)
fi
if [ -z "$files" ]; then
	echo "FAIL: no user-space C files found under $repo" >&2
	exit 1
fi
status=0
for f in $files; do
	if clang-format --dry-run --Werror "$f" 2>/dev/null; then
		echo "ok $f"
	else
		clang-format --dry-run "$f" 2>&1 | head -n 20
		status=1
	fi
done
exit $status
