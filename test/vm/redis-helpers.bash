# Helpers shared by the guest suites that drive redis-server; the suite
# sets PORT (the server under test) before using cli and persistence.

served() { cat /sys/class/misc/fastfork/stats/forks_served; }
cli() { redis-cli -p "$PORT" "$@"; }

# persistence FIELD: one field of INFO persistence of the server under test.
persistence() { cli info persistence | tr -d '\r' | grep "^$1:" | cut -d: -f2; }

# wait_ping PORT: wait up to 10 s for the server on PORT to answer.
wait_ping() {
	local port=$1 i
	for ((i = 0; i < 100; i++)); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	echo "redis on port $port did not come up" >&2
	return 1
}

wait_bgsave_done() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(persistence rdb_bgsave_in_progress)" = 0 ] && return 0
		sleep 0.1
	done
	echo "BGSAVE still running after 60 s" >&2
	return 1
}
