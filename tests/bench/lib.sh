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
