#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Fail if a built fastfork.ko contains an indirect call or jump, direct or
# through a retpoline/ITS thunk.  Debian's 6.12 kernel seals (un-ENDBRs)
# functions never called indirectly, so an indirect branch from the module
# could land on one and #CP on IBT hardware.  Usage: $0 fastfork.ko...
set -eu

# Explicit allow-list: extended grep patterns matched against
# "<function>: <instruction or relocation>" lines.  Every entry needs a
# comment saying why the branch is safe.  Empty on purpose.
ALLOW='^$'

[ $# -gt 0 ] || { echo "usage: $0 fastfork.ko..." >&2; exit 2; }
status=0
for ko in "$@"; do
	if [ ! -f "$ko" ]; then
		echo "FAIL $ko: not built (cmake --build <dir> --target kmod)"
		status=1
		continue
	fi
	# -r shows the relocation of each call: thunks are only visible there.
	hits=$(objdump -dr --no-show-raw-insn "$ko" | awk '
		/^[0-9a-f]+ <.*>:$/ { fn = $2; sub(/:$/, "", fn) }
		/(call|jmp)[a-z]*[ \t]+\*/ { print fn ": " $0; next }
		/R_X86_64_[A-Z0-9_]+[ \t]+__x86_indirect_/ { print fn ": " $0 }
	' | grep -Ev "$ALLOW" || true)
	if [ -n "$hits" ]; then
		echo "FAIL $ko: indirect branches:"
		echo "$hits"
		status=1
	else
		echo "ok $ko: no indirect call or jump"
	fi
done
exit $status
