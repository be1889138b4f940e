#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Fail if a built fastfork.ko contains an indirect call or jump, direct or
# through a retpoline/ITS thunk, other than a paravirt site (see below).  Debian's 6.12 kernel seals (un-ENDBRs)
# functions never called indirectly, so an indirect branch from the module
# could land on one and #CP on IBT hardware.  Usage: $0 fastfork.ko...
set -eu

# Paravirt sites are the one exception: with CONFIG_PARAVIRT_XXL the
# inline page-table accessors (set_pmd, pte_val, pmd_populate, ...) and
# the irq flag helpers compile to "call *pv_ops+N(%rip)", and the module
# loader patches every such site, before any of it runs, into a direct
# call or inline native code (6.1: apply_paravirt() on .parainstructions;
# 6.12: ALTERNATIVE ALT_CALL_ALWAYS).  Verified in a guest on both kernels
# (kmod/ENGINE.md, section 2).  A site is accepted only when its
# relocation, on the next line, names pv_ops.
#
# Explicit allow-list beyond that: extended grep patterns matched against
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
		pending != "" {
			if ($0 !~ /R_X86_64_[A-Z0-9_]+[ \t]+pv_ops(\+|-|$)/)
				print pending
			pending = ""
		}
		/(call|jmp)[a-z]*[ \t]+\*/ { pending = fn ": " $0; next }
		/R_X86_64_[A-Z0-9_]+[ \t]+__x86_indirect_/ { print fn ": " $0 }
		END { if (pending != "") print pending }
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
