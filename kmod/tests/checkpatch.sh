#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the kernel's checkpatch.pl on every kmod source file; any ERROR or
# WARNING fails.  checkpatch comes from Debian's linux-source-6.12 (or
# 6.1) unpacked under /usr/src, or from $CHECKPATCH.  Usage: $0 file...
set -eu

cp=${CHECKPATCH:-}
if [ -z "$cp" ]; then
	for c in /usr/src/linux-source-6.12*/scripts/checkpatch.pl \
		 /usr/src/linux-source-6.1*/scripts/checkpatch.pl; do
		[ -x "$c" ] && { cp=$c; break; }
	done
fi
if [ -z "$cp" ] || [ ! -x "$cp" ]; then
	echo "FAIL: checkpatch.pl not found under /usr/src/linux-source-6.1*:" \
	     "apt-get install linux-source-6.12 and run scripts/checkpatch-setup," \
	     "or set CHECKPATCH=/path/to/checkpatch.pl" >&2
	exit 1
fi

status=0
for f in "$@"; do
	out=$("$cp" --no-tree --no-summary --terse -f "$f" 2>&1) || true
	if printf '%s\n' "$out" | grep -Eq 'ERROR|WARNING'; then
		printf '%s\n' "$out"
		status=1
	else
		echo "ok $f"
	fi
done
exit $status
