#!/usr/bin/env bats
# Guest suite (scripts/vm-run): redis-server under LD_PRELOAD=$FF_SHIM
# with the module loaded.  Oracle: the RDB that BGSAVE writes equals the
# dataset at fork time, although the parent keeps writing while the child
# is still saving.

bats_require_minimum_version 1.5.0
load redis-helpers

PORT=6390     # the server under test (shim preloaded)
CHECK_PORT=6391 # a plain server that loads the RDB back
KEYS=20000

preloaded() { env LD_PRELOAD="$FF_SHIM" "$@"; }

check_cli() { redis-cli -p "$CHECK_PORT" "$@"; }




start_redis() { # port dir [extra args]
	local port=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	"$@" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
		--save '' --appendonly no --daemonize yes --logfile "$dir/redis.log" \
		--enable-debug-command local
	wait_ping "$port"
}

setup_file() {
	grep -q '^fastfork ' /proc/modules || insmod "$FF_KO"
	[ -f "$FF_SHIM" ] || { echo "FF_SHIM ($FF_SHIM) missing" >&2; return 1; }
	export RDIR=/tmp/redis-shim CDIR=/tmp/redis-check
	start_redis "$PORT" "$RDIR" preloaded FASTFORK_MODE=auto
}

teardown_file() {
	redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
	redis-cli -p "$CHECK_PORT" shutdown nosave >/dev/null 2>&1 || true
}

setup() {
	wait_bgsave_done
	cli flushall >/dev/null
	cli config set rdb-key-save-delay 0 >/dev/null
}

@test "the server runs with the shim loaded into it" {
	local pid
	pid=$(cli info server | tr -d '\r' | sed -n 's/^process_id://p')
	grep -q libfastfork.so "/proc/$pid/maps"
}

@test "BGSAVE under the shim succeeds and the module serves its fork" {
	local before
	cli debug populate 1000 >/dev/null
	before=$(served)
	[ "$(cli bgsave)" = "Background saving started" ]
	wait_bgsave_done
	[ "$(persistence rdb_last_bgsave_status)" = ok ]
	[ "$(served)" -ge $((before + 1)) ]
	echo "latest_fork_usec=$(cli info stats | tr -d '\r' | sed -n 's/^latest_fork_usec://p')"
}

@test "the RDB holds the dataset as it was at fork time while the parent keeps writing" {
	local digest i
	cli debug populate "$KEYS" >/dev/null # key:N -> value:N
	[ "$(cli dbsize)" -eq "$KEYS" ]
	digest=$(cli debug digest)
	# 200 us per key: the child needs ~4 s to write the RDB
	cli config set rdb-key-save-delay 200 >/dev/null
	[ "$(cli bgsave)" = "Background saving started" ]
	[ "$(persistence rdb_bgsave_in_progress)" = 1 ]
	# While the child writes: overwrite, delete and add keys in the parent.
	for ((i = 0; i < 500; i++)); do
		echo "SET key:$i changed:$i"
		echo "DEL key:$((i + 10000))"
		echo "SET new:$i fresh"
	done | cli >/dev/null
	cli debug populate 2000 other >/dev/null
	# The writes above must have landed while the child was still saving.
	[ "$(persistence rdb_bgsave_in_progress)" = 1 ] || { echo "BGSAVE finished before the writes: test is void"; return 1; }
	[ "$(cli get key:7)" = changed:7 ]
	wait_bgsave_done
	[ "$(persistence rdb_last_bgsave_status)" = ok ]

	cp "$RDIR/dump.rdb" "$BATS_TEST_TMPDIR/snapshot.rdb"
	mkdir -p "$CDIR"
	cp "$RDIR/dump.rdb" "$CDIR/dump.rdb"
	start_redis "$CHECK_PORT" "$CDIR"
	[ "$(check_cli dbsize)" -eq "$KEYS" ]
	[ "$(check_cli debug digest)" = "$digest" ]
	[ "$(check_cli get key:7)" = value:7 ]
	[ "$(check_cli get key:10007)" = value:10007 ]
	[ "$(check_cli exists new:7)" = 0 ]
	[ "$(check_cli exists other:7)" = 0 ]
	check_cli shutdown nosave >/dev/null 2>&1 || true
}

@test "redis-check-rdb accepts the RDB written through the fast fork" {
	cli debug populate 5000 >/dev/null
	[ "$(cli bgsave)" = "Background saving started" ]
	wait_bgsave_done
	run redis-check-rdb "$RDIR/dump.rdb"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[[ $output == *"RDB looks OK"* ]]
}
