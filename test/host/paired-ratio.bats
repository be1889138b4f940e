#!/usr/bin/env bats
# scripts/paired-ratio.awk, which scripts/bench-fork uses to compare the
# parent's write_after_fork time and the fork latency of lazy and eager
# with stock's, round by round, with a 95 % interval.

bats_require_minimum_version 1.5.0

setup() {
	AWK_PROG=${FF_SRC:?FF_SRC must name the source tree; run the suite through ctest}/scripts/paired-ratio.awk
	CSV=$BATS_TEST_TMPDIR/writes.csv
	echo "kernel,accel,cpus,mem,page_kind,size_mib,round,config,write_us,host_cpu" >"$CSV"
}

# add_round ROUND STOCK_US LAZY_US: one round of 4k 1024 MiB samples
add_round() {
	printf '6.1,tcg,2,2724M,4k,1024,%s,%s,%s,cpu\n' \
		"$1" stock "$2" "$1" lazy "$3" >>"$CSV"
}

# lazy_line: the output line for lazy (fails when there is none)
lazy_line() {
	run -0 awk -F, -f "$AWK_PROG" "$CSV"
	[[ ${lines[0]} == page_kind,size_mib,config,rounds,ratio,ci95_low,ci95_high ]]
	grep '^4k,1024,lazy,' <<<"$output"
}

@test "a constant ratio under drift gives that ratio and a zero-width interval" {
	local r
	for r in 1 2 3 4 5 6 7 8; do
		add_round "$r" $((1000 * r)) $((1100 * r))
	done
	[[ $(lazy_line) == 4k,1024,lazy,8,1.1000,1.1000,1.1000 ]]
}

@test "15 rounds give Walsh averages 26 and 95 as the interval" {
	# log(lazy/stock) = 0.01 i in round i: the Walsh averages are
	# 0.005 (i + j), the 26th smallest is 0.055, the 95th 0.105, the
	# median 0.08.
	local i
	for i in $(seq 1 15); do
		add_round "$i" 1000000 "$(awk -v i="$i" 'BEGIN { printf "%.6f", 1000000 * exp(0.01 * i) }')"
	done
	[[ $(lazy_line) == 4k,1024,lazy,15,1.0833,1.0565,1.1107 ]]
}

@test "6 rounds give the extreme Walsh averages as the interval" {
	# With 6 rounds only T+ = 0 (probability 1/64) lies in the 2.5 % tail.
	local i
	for i in 1 2 3 4 5 6; do
		add_round "$i" 1000 $((1000 + 10 * i))
	done
	[[ $(lazy_line) == 4k,1024,lazy,6,1.0349,1.0100,1.0600 ]]
}

@test "fewer than 6 rounds give a ratio without an interval" {
	local i
	for i in 1 2 3 4 5; do
		add_round "$i" 1000 1200
	done
	[[ $(lazy_line) == 4k,1024,lazy,5,1.2000,, ]]
}

@test "a round without a stock sample is left out" {
	local i
	for i in 1 2 3 4 5 6; do
		add_round "$i" 1000 1500
	done
	echo "6.1,tcg,2,2724M,4k,1024,7,lazy,9000,cpu" >>"$CSV"
	[[ $(lazy_line) == 4k,1024,lazy,6,1.5000,1.5000,1.5000 ]]
}

@test "page kinds and sizes are compared separately" {
	add_round 1 1000 2000
	echo "6.1,tcg,2,2724M,thp,1024,1,stock,1000,cpu" >>"$CSV"
	echo "6.1,tcg,2,2724M,thp,1024,1,lazy,500,cpu" >>"$CSV"
	run -0 awk -F, -f "$AWK_PROG" "$CSV"
	[[ $output == *$'\n4k,1024,lazy,1,2.0000,,'* ]]
	[[ $output == *$'\nthp,1024,lazy,1,0.5000,,'* ]]
}

@test "a missing column is an error" {
	printf 'page_kind,size_mib,config,write_us\n4k,1024,stock,1000\n' >"$CSV"
	run -1 awk -F, -f "$AWK_PROG" "$CSV"
	[[ $output == "paired-ratio: no column round" ]]
}

@test "a time that is not positive is an error" {
	add_round 1 1000 0
	run -1 awk -F, -f "$AWK_PROG" "$CSV"
	[[ $output == "paired-ratio: line 3: write_us 0 is not a positive time" ]]
}

@test "value names the column compared instead of write_us" {
	local r
	echo "kernel,accel,cpus,mem,page_kind,size_mib,round,config,write_us,fork_us,host_cpu" >"$CSV"
	for r in 1 2 3 4 5 6; do
		# write_us says lazy is as fast as stock, fork_us that it is 20x faster.
		printf '6.1,tcg,2,2724M,4k,1024,%s,stock,1000,%s,cpu\n' "$r" $((40000 * r)) >>"$CSV"
		printf '6.1,tcg,2,2724M,4k,1024,%s,lazy,1000,%s,cpu\n' "$r" $((2000 * r)) >>"$CSV"
	done
	run -0 awk -F, -v value=fork_us -f "$AWK_PROG" "$CSV"
	[[ ${lines[1]} == 4k,1024,lazy,6,0.0500,0.0500,0.0500 ]]
}

@test "a value column the CSV lacks is an error" {
	add_round 1 1000 1100
	run -1 awk -F, -v value=fork_us -f "$AWK_PROG" "$CSV"
	[[ $output == "paired-ratio: no column fork_us" ]]
}
