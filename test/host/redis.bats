#!/usr/bin/env bats
# Debian's redis-server under LD_PRELOAD: BGSAVE forks a child that writes
# the dataset as of the fork while the parent keeps serving writes.

bats_require_minimum_version 1.5.0
load common

KEYS=2000

setup() {
	common_setup
	REDIS_PIDS=()
	LOG=$BATS_TEST_TMPDIR/ff.log
}

teardown() {
	local pid
	for pid in "${REDIS_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${REDIS_PIDS[@]}"; do
		timeout 10 tail --pid="$pid" -f /dev/null || kill -KILL "$pid"
	done
}

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_redis DIR [LAUNCHER...]: starts redis-server on a free 127.0.0.1
# port with its files in DIR, through LAUNCHER if given; sets PORT and
# records the server's pid for teardown (also when the test fails).
start_redis() {
	local dir=$1
	shift
	mkdir -p "$dir"
	PORT=$(free_port)
	"$@" /usr/bin/redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" \
		--dbfilename dump.rdb --save '' --appendonly no \
		--daemonize no --logfile "$dir/redis.log" \
		</dev/null >"$dir/stdout" 2>"$dir/stderr" 3>&- &
	# $! may be a subshell running the launcher: ask the server its pid.
	local i
	for ((i = 0; i < 100; i++)); do
		if [[ $(redis-cli -p "$PORT" PING 2>/dev/null) == PONG ]]; then
			REDIS_PIDS+=("$(redis-cli -p "$PORT" INFO server |
				tr -d '\r' | sed -n 's/^process_id://p')")
			return 0
		fi
		sleep 0.1
	done
	echo "redis-server on port $PORT did not start:" >&2
	cat "$dir/redis.log" "$dir/stderr" >&2
	return 1
}

# persistence FIELD: the value of FIELD in INFO persistence on $PORT.
persistence() {
	redis-cli -p "$PORT" INFO persistence | tr -d '\r' |
		sed -n "s/^$1://p"
}

wait_bgsave_done() {
	local i
	for ((i = 0; i < 600; i++)); do
		[[ $(persistence rdb_bgsave_in_progress) == 0 ]] && return 0
		sleep 0.1
	done
	echo "BGSAVE did not finish" >&2
	return 1
}

# Loads k:1..k:$KEYS = v:1..v:$KEYS, starts a slow BGSAVE, then changes,
# deletes and adds keys while the child is still saving.
bgsave_while_writing() {
	local i
	for ((i = 1; i <= KEYS; i++)); do
		echo "SET k:$i v:$i"
	done | redis-cli -p "$PORT" >/dev/null
	[[ $(redis-cli -p "$PORT" DBSIZE) == "$KEYS" ]]
	# 1 ms per key: the child saves for about two seconds.
	[[ $(redis-cli -p "$PORT" CONFIG SET rdb-key-save-delay 1000) == OK ]]
	run redis-cli -p "$PORT" BGSAVE
	expect_match "$output" "Background saving started"
	{
		for ((i = 1; i <= 100; i++)); do
			echo "SET k:$i changed"
		done
		for ((i = 101; i <= 200; i++)); do
			echo "DEL k:$i"
		done
		for ((i = 1; i <= 100; i++)); do
			echo "SET new:$i added"
		done
	} | redis-cli -p "$PORT" >/dev/null
	# The writes above must have happened while the child was saving.
	[[ $(persistence rdb_bgsave_in_progress) == 1 ]] || {
		echo "BGSAVE finished before the writes: test is vacuous" >&2
		return 1
	}
	wait_bgsave_done
	[[ $(persistence rdb_last_bgsave_status) == ok ]]
	[[ $(redis-cli -p "$PORT" GET k:1) == changed ]]
}

@test "redis-server BGSAVE succeeds under the shim, which sees its fork" {
	start_redis "$BATS_TEST_TMPDIR/live" \
		shim FASTFORK_MODE=dryrun FASTFORK_LOG="$LOG"
	bgsave_while_writing
	run cat "$LOG"
	expect_match "$output" "redis-server["
	expect_match "$output" "]: fork: dryrun: ordinary fork; would fall back (no_device"
}

@test "the RDB written by BGSAVE holds exactly the dataset at fork time" {
	start_redis "$BATS_TEST_TMPDIR/live" shim FASTFORK_LOG="$LOG" FASTFORK_DEBUG=1
	bgsave_while_writing
	run grep -c "redis-server\[[0-9]*\]: fork: ordinary fork" "$LOG"
	[[ $output == 1 ]] || { echo "decision lines: $output"; false; }

	mkdir -p "$BATS_TEST_TMPDIR/copy"
	cp "$BATS_TEST_TMPDIR/live/dump.rdb" "$BATS_TEST_TMPDIR/copy/"
	start_redis "$BATS_TEST_TMPDIR/copy"
	[[ $(redis-cli -p "$PORT" DBSIZE) == "$KEYS" ]]

	local i expected_keys expected_values
	expected_keys=$(for ((i = 1; i <= KEYS; i++)); do echo "k:$i"; done | sort)
	expected_values=$(for ((i = 1; i <= KEYS; i++)); do echo "v:$i"; done)
	run bash -c "redis-cli -p $PORT --scan | sort"
	[[ $output == "$expected_keys" ]] || {
		diff <(echo "$expected_keys") <(echo "$output") | head
		false
	}
	run redis-cli -p "$PORT" MGET $(for ((i = 1; i <= KEYS; i++)); do echo "k:$i"; done)
	[[ $output == "$expected_values" ]] || {
		diff <(echo "$expected_values") <(echo "$output") | head
		false
	}
}
