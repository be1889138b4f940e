# scripts/vm/bench/redis-server.bash — sourced by the guest-side Redis
# benchmarks (redis-bench.sh, redis-fork-profile.sh): one redis-server on
# 127.0.0.1:$PORT under a chosen fork configuration, the client calls
# they make, and the module's counters.
# Expects: PORT, shim (the libfastfork.so path) and served_file
# (/sys/class/misc/fastfork/stats/forks_served); optionally server_sched,
# a command that start_server runs redis-server under (chrt ...); sets
# server_pid.
# shellcheck shell=bash disable=SC2154,SC2034 # those globals

served() { cat "$served_file"; }
counters() { # NAME=VALUE for every counter of the module
	local f
	for f in "${served_file%/*}"/*; do echo "${f##*/}=$(cat "$f")"; done
}
counter_moves() { # BEFORE AFTER (counters snapshots): what each one moved by
	printf '%s\n--\n%s\n' "$1" "$2" | awk -F= '
		$0 == "--" { after = 1; next }
		!after { before[$1] = $2; next }
		$2 != before[$1] { printf " %s %+d", $1, $2 - before[$1] }'
}
[[ -v server_sched ]] || server_sched=()
cli() { redis-cli -p "$PORT" "$@" | tr -d '\r'; }
field() { # SECTION FIELD
	cli info "$1" | sed -n "s/^$2://p"
}
wait_up() { # PORT SECONDS: until PING answers PONG (not LOADING)
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ $(redis-cli -p "$1" ping 2>/dev/null) == PONG ]] && return 0
		sleep 0.1
	done
	return 1
}
wait_saved() { # until no BGSAVE is running (up to 30 minutes)
	local i
	for ((i = 0; i < 18000; i++)); do
		[[ $(field persistence rdb_bgsave_in_progress) == 0 ]] && return 0
		sleep 0.1
	done
	return 1
}

# start_server CONFIG DIR: starts redis-server in the background
# (server_pid) in a fresh DIR, with no RDB saves of its own and
# latency-monitor-threshold 1 ms, and waits until it answers; fails,
# printing its log, when it does not within 60 s.  CONFIG:
#   stock          no preload
#   lazy, eager    LD_PRELOAD=$shim FASTFORK_MODE=force FASTFORK_ENGINE=CONFIG
start_server() {
	local config=$1 dir=$2 args
	rm -rf "$dir"
	mkdir -p "$dir"
	args=(--port "$PORT" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb --save ''
		--appendonly no --daemonize no --logfile "$dir/redis.log"
		--enable-debug-command yes --latency-monitor-threshold 1)
	case $config in
	stock) "${server_sched[@]}" env -u LD_PRELOAD redis-server "${args[@]}" & ;;
	*) "${server_sched[@]}" env LD_PRELOAD="$shim" FASTFORK_MODE=force \
		FASTFORK_ENGINE="$config" redis-server "${args[@]}" & ;;
	esac
	server_pid=$!
	wait_up "$PORT" 60 && return 0
	cat "$dir/redis.log" >&2
	return 1
}

# keys_for SIZE_MIB VALUE_SIZE: how many keys DEBUG POPULATE needs for about
# SIZE_MIB MiB of used_memory.  Bytes per key: the value's allocation (sds
# header + value + NUL, rounded up by jemalloc) plus key, robj and dict
# entry (measured: about 1090 per key for 1000-byte values on Redis 7.0).
keys_for() {
	echo $(($1 * 1024 * 1024 / ($2 + 90)))
}
