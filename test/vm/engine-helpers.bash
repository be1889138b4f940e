# Helpers for engine-semantics.bats: run ff-cow and check the module's
# statistics around it (stat_of: stats-helpers.bash).

# The engine named in ff-cow arguments (ff-cow's default is lazy).
cow_engine_of() {
	local engine=lazy
	while [ $# -gt 0 ]; do
		[ "$1" = --engine ] && engine=$2
		shift
	done
	echo "$engine"
}

# cow ARGS...: run ff-cow with ARGS; it must exit 0.  For an armed run
# (engine lazy or eager) forks_served must grow by exactly the number of
# forks ff-cow armed ("# armed forks: N"), and N must not be 0.
cow() {
	local before after armed engine
	engine=$(cow_engine_of "$@")
	before=$(stat_of forks_served)
	run "$FF_PROGS/ff-cow" "$@"
	echo "\$ ff-cow $*"
	echo "$output"
	if [ "$status" -ne 0 ]; then
		echo "ff-cow $* exited with status $status"
		return 1
	fi
	[ "$engine" = stock ] && return 0
	after=$(stat_of forks_served)
	armed=$(echo "$output" | sed -n 's/^# armed forks: //p')
	if [ -z "$armed" ] || [ "$armed" -eq 0 ]; then
		echo "ff-cow $* armed no fork"
		return 1
	fi
	if [ $((after - before)) -ne "$armed" ]; then
		echo "forks_served grew by $((after - before)) ($before -> $after), ff-cow armed $armed forks"
		return 1
	fi
}

# matrix SCENARIO [CHECK]: the small runs every scenario gets, both
# engines, at a few pages and at 8 MiB (THP on and mixed, unaligned starts,
# threads); CHECK, a function, runs after each (on its $output).
matrix() {
	local s=$1 check=${2:-true}
	cow --scenario "$s" --engine lazy --size 64K --offset 12K
	$check
	cow --scenario "$s" --engine eager --size 64K
	$check
	cow --scenario "$s" --engine lazy --size 8M --thp mixed --offset 1036K --threads 2
	$check
	cow --scenario "$s" --engine eager --size 8M --thp on --offset 4K --threads 3
	$check
}

# swapped_at_fork: after cow --scenario swap, every variant had pages in
# swap at the fork (ff-cow: "# CTX: N of M pages in swap at the fork").
swapped_at_fork() {
	local lines zero
	lines=$(echo "$output" | grep 'pages in swap at the fork' || true)
	zero=$(echo "$lines" | grep -E ': 0 of [0-9]+ pages in swap' || true)
	if [ -z "$lines" ] || [ -n "$zero" ]; then
		echo "MADV_PAGEOUT before the fork put no page in swap$([ -n "$zero" ] && printf ':\n%s' "$zero")"
		echo "swap: $(grep -E '^Swap(Total|Free):' /proc/meminfo | tr -s ' \n' ' ')"
		return 1
	fi
}

# swapped_after_pageout: after cow --scenario madv-pageout, MADV_PAGEOUT
# put pages in swap (ff-cow: "# CTX WHO: MADV_PAGEOUT: N of M pages in swap
# after it"; summed over the variants: a page still mapped by both
# processes is not paged out, so some variants may see none).
swapped_after_pageout() {
	local n
	n=$(echo "$output" | sed -n 's/.*: MADV_PAGEOUT: \([0-9]*\) of [0-9]* pages in swap after it$/\1/p' |
		awk '{ n += $1 } END { print n + 0 }')
	if [ "$n" -eq 0 ]; then
		echo "MADV_PAGEOUT after the fork put no page in swap in any variant"
		echo "swap: $(grep -E '^Swap(Total|Free):' /proc/meminfo | tr -s ' \n' ' ')"
		return 1
	fi
	echo "MADV_PAGEOUT: $n pages in swap after it, over the variants"
}

# engine_stats_present: fail unless the module exports the statistics of
# the detached page-table engine.
engine_stats_present() {
	if [ ! -e "$STATS/tables_detached" ]; then
		echo "engine statistics missing: $STATS/tables_detached does not exist (a module without the detached page-table engine)"
		return 1
	fi
}

# cow_engine ARGS...: cow for a run of 4 KiB pages (--thp off) of at least
# 64 MiB, armed: the engine must have detached tables (tables_detached
# grew), met no resolve conflict (resolve_conflicts stays 0), and, once
# every process of the run exited, left no detached table behind
# (tables_live back to its value before the run; 5 s grace).
cow_engine() {
	local args="$*" size thp=default det0 det1 conf live0 live1 i
	engine_stats_present || return 1
	size=$(echo "$args" | sed -n 's/.*--size \([0-9]*\)\([KMG]\).*/\1 \2/p')
	thp=$(echo "$args" | sed -n 's/.*--thp \([a-z]*\).*/\1/p')
	case "$size" in
	*G) ;;
	*M) [ "${size% M}" -ge 64 ] || size= ;;
	*) size= ;;
	esac
	if [ -z "$size" ] || [ "$thp" != off ] || [ "$(cow_engine_of "$@")" = stock ]; then
		echo "cow_engine needs an armed run with --thp off and --size of at least 64M (got: $args)"
		return 1
	fi
	det0=$(stat_of tables_detached)
	live0=$(stat_of tables_live)
	cow "$@" || return 1
	det1=$(stat_of tables_detached)
	conf=$(stat_of resolve_conflicts)
	for i in $(seq 50); do
		live1=$(stat_of tables_live)
		[ "$live1" = "$live0" ] && break
		sleep 0.1
	done
	echo "tables_detached $det0 -> $det1, resolve_conflicts $conf, tables_live $live0 -> $live1"
	if [ "$det1" -le "$det0" ]; then
		echo "tables_detached did not grow: the engine detached nothing"
		return 1
	fi
	if [ "$conf" -ne 0 ]; then
		echo "resolve_conflicts is $conf: a resolve found its PMD taken"
		return 1
	fi
	if [ "$live1" != "$live0" ]; then
		echo "tables_live is $live1 after every process exited, $live0 before the run"
		return 1
	fi
}
