# shellcheck shell=bash
# Helpers for the benchmarks; sourced after tests/integration/lib.sh.

RUNS=${RUNS:-3}

# median: of the numbers on stdin, one per line
median() {
	sort -g | awk '{ a[NR] = $1 }
	    END { if (NR == 0) print 0;
		  else if (NR % 2) print a[(NR + 1) / 2];
		  else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# cpu_ticks PID: user + system clock ticks the process has used
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# mptcp_fetch_rate MB: kernel MPTCP, no proxy: a sender on the
# concentrator's public address, a receiver in the client. Prints bytes/s.
mptcp_fetch_rate() {
	local mb=$1 port pid out
	port=$((40000 + $(rand_u16) % 10000))
	bed_ns "$NS_SRV" "$PY" "$BED_LIB_DIR/nettool.py" serve-bytes --mptcp \
	    "$BED_PUB" "$port" $((mb * 1048576)) >/dev/null 2>&1 &
	pid=$!
	BED_PIDS+=("$pid")
	BED_PID_NAMES+=(mptcp-sender)
	bed_wait_port "$NS_SRV" "$port" 10 || return 1
	out=$(bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" fetch --mptcp \
	    "$BED_PUB" "$port") || return 1
	wait "$pid" 2>/dev/null || true
	sed -n 's/.*rate_bps=\([0-9.]*\).*/\1/p' <<<"$out"
}

# metric NS ADDR:PORT SERIES: one series of a daemon's /metrics (its
# control port ADDR:PORT in namespace NS), named with its labels as
# printed, e.g. 'mpsocks_pool_tunnels{state="ready"}'; 0 if absent (a
# counter appears with its first event)
metric() {
	bed_ns "$1" curl -sS --max-time 5 "http://$2/metrics" |
	    awk -v s="$3" '$1 == s { v = $2 } END { print v + 0 }'
}

# LOCAL_CTL: mpsocks-local's control port (its default), in $NS_CLI
LOCAL_CTL=127.0.0.1:1081

# pool_settle [SECONDS]: until mpsocks-local's warm pool is full (ready
# tunnels at its target, none opening) and at least one is ready; false
# after SECONDS (default 10)
pool_settle() {
	local limit=${1:-10} i m r=0 o=0 t=0
	for ((i = 0; i < limit * 10; i++)); do
		m=$(bed_ns "$NS_CLI" curl -sS --max-time 5 \
		    "http://$LOCAL_CTL/metrics" 2>/dev/null | awk '
		    $1 == "mpsocks_pool_tunnels{state=\"ready\"}" { r = $2 }
		    $1 == "mpsocks_pool_tunnels{state=\"opening\"}" { o = $2 }
		    $1 == "mpsocks_pool_target" { t = $2 }
		    END { print r + 0, o + 0, t + 0 }')
		read -r r o t <<<"$m"
		[ "$r" -ge 1 ] && [ "$r" -ge "$t" ] && [ "$o" -eq 0 ] &&
		    return 0
		sleep 0.1
	done
	say "warm pool not full after ${limit}s: ready=$r opening=$o target=$t" >&2
	return 1
}
