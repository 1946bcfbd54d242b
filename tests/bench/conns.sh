#!/bin/bash
# Many connections: N concurrent SOCKS5 connections (BENCH_CONNS, default
# "1000 10000") through mpsocks-local and mpsocks-server, held open while a
# trickle server at the destination sends each one byte per second
# (tests/bench/trickle.py). Per N: memory per connection of each daemon
# (VmRSS growth / N, daemons restarted for each run), connections per
# second accepted (SOCKS5 success replies), and that nothing was dropped:
# every one of the N still open and still receiving at the end.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

COUNTS=${BENCH_CONNS:-1000 10000}
HOLD=${BENCH_CONNS_HOLD:-15}		# seconds each set is held open
TRICKLE=$(cd "$(dirname "$0")" && pwd)/trickle.py
bed_require_base
bed_require_daemons
# per connection: the client's socket, two in mpsocks-local (app side and
# tunnel), two in mpsocks-server, one at the trickle server. The daemons
# raise their soft limit to the hard one (src/common/daemon.c); raise the hard
# one too where we may (CAP_SYS_RESOURCE). Where we may not, N is cut to
# what one daemon's two sockets per connection fit in, and the table says
# so.
max=0
for n in $COUNTS; do [ "$n" -le "$max" ] || max=$n; done
# the daemons keep 96 descriptors for themselves beyond their connections
# (DAEMON_FD_RESERVE, src/common/daemon.c), and some more are theirs
want=$((2 * max + 128))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
	if ulimit -Hn "$want" 2>/dev/null; then
		hard=$want
	fi
fi
ulimit -Sn "$(ulimit -Hn)"
# fit N: the N actually opened, for N asked
fit() {
	if [ "$hard" = unlimited ] || [ $((2 * $1 + 128)) -le "$hard" ]; then
		echo "$1"
	else
		echo $(((hard - 128) / 2))
	fi
}
bed_setup 1gbit 1gbit >/dev/null
PORT=$((9000 + $(rand_u16) % 1000))

bed_spawn trickle "$NS_DST" "$BED_TMP/trickle.log" "$PY" "$TRICKLE" \
    serve "$BED_DST_IP" "$PORT"
bed_wait_port "$NS_DST" "$PORT" 10 || bed_fail "trickle server did not start"

# tcp_left: "inuse/tw" TCP sockets in the client, concentrator and
# destination namespaces (what earlier runs left behind)
tcp_left() {
	local ns out=
	for ns in "$NS_CLI" "$NS_SRV" "$NS_DST"; do
		out="$out $(bed_ns "$ns" awk '$1 == "TCP:" { print $3 "/" $7 }' \
		    /proc/net/sockstat)"
	done
	echo "${out# }"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# slab_kib: kernel slab memory of socket objects, machine-wide (other
# work on the machine adds noise; at 10,000 connections it is small)
slab_kib() {
	awk '$1 ~ /^(TCP|TCPv6|MPTCP|MPTCPv6|request_sock_.*|sock_inode_cache|filp|eventpoll_epi|eventpoll_pwq|skbuff_head_cache)$/ {
	    kib += $2 * $4 / 1024 } END { printf "%d\n", kib }' /proc/slabinfo
}

# one_run N I: start both daemons fresh, open N, measure, close
one_run() {
	local n=$1 i=$2 log=$BED_TMP/client-$1-$2.log l0 s0 k0 l1 s1 k1 j
	local lf sf left
	left=$(tcp_left)
	# fresh ports: the last run's tens of thousands of sockets may still
	# linger (TIME_WAIT) on the old ones
	BED_SRV_PORT=$((20000 + $(rand_u16) % 10000))
	BED_LOCAL_PORT=$((30000 + $(rand_u16) % 10000))
	# the daemons' default handshake timeout (the bed's 2 s is for
	# tests): 10,000 tunnels opened in a burst on two shared cores
	bed_server_start -q --handshake-timeout 10
	bed_local_start -q
	sleep 0.5
	l0=$(rss_kib "$BED_PID_local")
	s0=$(rss_kib "$BED_PID_server")
	k0=$(slab_kib)
	bed_spawn client "$NS_CLI" "$log" "$PY" "$TRICKLE" client \
	    "$BED_LOCAL_PORT" "$BED_DST_NAME" "$PORT" "$n" "$HOLD"
	for ((j = 0; j < 1500; j++)); do
		grep -q '^established' "$log" 2>/dev/null && break
		bed_alive "$BED_PID_client" || break
		sleep 0.1
	done
	grep -q '^established' "$log" ||
	    bed_fail "$n connections: the client did not report: $(cat "$log")"
	# let the join subflows come up and the first bytes flow
	sleep 3
	l1=$(rss_kib "$BED_PID_local")
	s1=$(rss_kib "$BED_PID_server")
	k1=$(slab_kib)
	lf=$(nfds "$BED_PID_local")
	sf=$(nfds "$BED_PID_server")
	wait "$BED_PID_client" || true
	grep -q '^held' "$log" ||
	    bed_fail "$n connections: the client did not finish: $(cat "$log")"
	say "run $i n=$n: $(tr '\n' ' ' <"$log") local ${l0}->${l1} KiB" \
	    "fds $lf, server ${s0}->${s1} KiB fds $sf, slab ${k0}->${k1} KiB," \
	    "TCP inuse/tw before (cli srv dst) $left" \
	    >>"$BED_TMP/conns-detail"
	printf '%s\n' "$(calc "($l1 - $l0) / $n")" >>"$BED_TMP/local-$n"
	printf '%s\n' "$(calc "($s1 - $s0) / $n")" >>"$BED_TMP/server-$n"
	printf '%s\n' "$(calc "($k1 - $k0) / $n")" >>"$BED_TMP/slab-$n"
	printf '%s\n' "$(calc "$lf / $n")" >>"$BED_TMP/lfd-$n"
	printf '%s\n' "$(calc "$sf / $n")" >>"$BED_TMP/sfd-$n"
	sed -n 's/^established.* per_s=\([0-9.]*\).*/\1/p' "$log" \
	    >>"$BED_TMP/rate-$n"
	sed -n 's/^held alive=\([0-9]*\) receiving=\([0-9]*\).*/\1 \2/p' "$log" \
	    >>"$BED_TMP/held-$n"
	bed_stop local
	bed_stop server
	mv "$BED_TMP/local.log" "$BED_TMP/local-$n-$i.log"
	mv "$BED_TMP/server.log" "$BED_TMP/server-$n-$i.log"
}

for asked in $COUNTS; do
	n=$(fit "$asked")
	for ((i = 0; i < RUNS; i++)); do
		one_run "$n" "$i"
	done
done

echo "## Many connections (SOCKS5, held open, 1 byte/s each)"
echo
echo "N SOCKS5 connections opened through mpsocks-local (at most 200"
echo "handshakes in flight) to a trickle server at the destination that"
echo "sends each connection one byte per second; held ${HOLD} s. Both daemons"
echo "are restarted for each run; memory is VmRSS growth from idle to all N"
echo "open, divided by N. Receiving: at least one byte in the last 5 s of"
echo "the hold (window_bytes in the lines below: the trickle server may fall"
echo "behind its 1 byte/s on a loaded machine; a stuck connection gets none)."
echo "Medians of $RUNS runs. Accepted per second is a"
echo "floor: the client is one Python process on the same two cores as both"
echo "daemons and the trickle server. The client resets its connections"
echo "at the end (SO_LINGER 0), so that the next run does not start among"
echo "thousands of TIME_WAIT sockets (each run's line below shows what it"
echo "found: TCP inuse/tw per namespace)."
echo
echo "| connections | accepted per s | mpsocks-local KiB/conn | mpsocks-server KiB/conn | kernel slab KiB/conn (whole bed) | fds/conn local, server | alive and receiving at the end |"
echo "|---:|---:|---:|---:|---:|---:|---|"
fail=0
notes=
for asked in $COUNTS; do
	n=$(fit "$asked")
	label=$n
	if [ "$n" != "$asked" ]; then
		label="$n (not $asked)"
		notes="${notes:+$notes, }$asked"
	fi
	# every run must have kept all N: the worst run is reported
	worst=$(awk -v n="$n" 'BEGIN { m = n } { v = $1 < $2 ? $1 : $2;
	    if (v < m) m = v } END { print m }' "$BED_TMP/held-$n")
	[ "$worst" -eq "$n" ] || fail=1
	printf '| %s | %.0f | %.1f | %.1f | %.1f | %.2f, %.2f | %s |\n' \
	    "$label" "$(median <"$BED_TMP/rate-$n")" \
	    "$(median <"$BED_TMP/local-$n")" \
	    "$(median <"$BED_TMP/server-$n")" \
	    "$(median <"$BED_TMP/slab-$n")" \
	    "$(median <"$BED_TMP/lfd-$n")" "$(median <"$BED_TMP/sfd-$n")" \
	    "$([ "$worst" -eq "$n" ] && echo "all $n" || echo "**$worst of $n**")"
done
echo
if [ -n "$notes" ]; then
	echo "**Fewer connections than asked** ($notes): mpsocks-local holds two"
	echo "descriptors per connection, and this machine's hard RLIMIT_NOFILE is"
	echo "$hard, which this run could not raise (no CAP_SYS_RESOURCE)."
	echo
fi
echo "Goal: at most 16 KiB per idle connection per daemon (user space, RSS)."
echo "The kernel's share is machine-wide slab growth of socket objects"
echo "(TCP, MPTCP, inodes, files, epoll) for every socket of a connection"
echo "in all namespaces: the app's, both daemons' (with one MPTCP join"
echo "subflow per tunnel) and the destination's; other work on the machine"
echo "adds noise to it. mpsocks' max_connections is 65536 on both ends"
echo "(the default)."
echo
echo '```'
cat "$BED_TMP/conns-detail"
echo '```'
[ "$fail" -eq 0 ] || bed_fail "connections were dropped (see the table)"
