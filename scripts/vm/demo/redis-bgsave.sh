#!/bin/bash
# Guest side of scripts/demo: the same Redis dataset snapshotted by BGSAVE
# twice in one boot, once by a plain redis-server and once by one running
# under libfastfork.so, with the module's counters before and after.
#   redis-bgsave.sh KEYS
set -euo pipefail

keys=${1:-1000000}
stats=/sys/class/misc/fastfork/stats

# bgsave PORT: start a BGSAVE and wait until it has finished.
bgsave() {
	redis-cli -p "$1" bgsave >/dev/null
	while redis-cli -p "$1" info persistence | grep -q '^rdb_bgsave_in_progress:1'; do
		sleep 0.2
	done
	redis-cli -p "$1" info persistence | grep -q '^rdb_last_bgsave_status:ok'
}

field() { redis-cli -p "$1" info "$2" | tr -d '\r' | sed -n "s/^$3://p"; }

# run_case LABEL PORT [ENV...]: one server, populate, BGSAVE, report.
run_case() {
	local label=$1 port=$2 dir
	shift 2
	dir=$(mktemp -d)
	env "$@" redis-server --port "$port" --dir "$dir" --save '' \
		--enable-debug-command yes --daemonize yes \
		--logfile "$dir/redis.log" >/dev/null
	until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
	redis-cli -p "$port" debug populate "$keys" >/dev/null
	local before served rss
	before=$(cat "$stats/forks_served")
	bgsave "$port"
	served=$(($(cat "$stats/forks_served") - before))
	rss=$(field "$port" memory used_memory_rss_human)
	printf '%-22s rss %-8s latest_fork_usec %-8s module forks_served +%s\n' \
		"$label" "$rss" "$(field "$port" stats latest_fork_usec)" "$served"
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

echo "kernel $(uname -r), $(nproc) CPUs, $keys keys"
run_case "stock fork" 6401
run_case "fastfork (LD_PRELOAD)" 6402 LD_PRELOAD="$FF_SHIM" FASTFORK_MODE=force
echo "module statistics:"
grep . "$stats"/* | sed "s|^$stats/|  |"
