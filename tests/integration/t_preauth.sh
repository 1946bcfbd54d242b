#!/bin/bash
# A flood of silent connections does not lock homes out: a client tries
# to hold 5,000 TCP connections from one source address open to the
# concentrator (sending nothing; any the server closes is reopened at
# once, so it also opens thousands a second), while mpsocks-local on
# another source address makes 20 proxied fetches. The concentrator must
# hold no more of the flood's connections than its per-source pre-auth
# cap (preauth_per_source, 256 by default), all 20 fetches must come back
# byte-exact, each within 1 s (a bound for "not locked out", far above
# the bed's few ms, not a speed goal), and the concentrator, at its
# default log level and handshake timeout, must log fewer than 20 lines
# in every second of the run (pre-auth events are rate limited).
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
nflood=5000
nfetch=20
[ "$(ulimit -Hn)" -ge $((nflood + 1000)) ] ||
    bed_skip "hard open-file limit $(ulimit -Hn) < $((nflood + 1000))"
ulimit -n "$(ulimit -Hn)"
bed_setup 20mbit 40mbit
bed_nginx_start
bed_keys

# the concentrator as bed_server_start starts it, but at the default log
# level and handshake timeout
bed_spawn server "$NS_SRV" "$BED_TMP/server.log" \
    "$BED_BUILD/mpsocks-server" --listen "$BED_PUB:$BED_SRV_PORT" \
    --key-file "$BED_KEY_SRV" --allow "$BED_DST_NET"
bed_wait_port "$NS_SRV" "$BED_SRV_PORT" 10 ||
    bed_fail "mpsocks-server did not start"
bed_local_start
# an entry can vanish between readdir and stat: ls then fails
srvfds() { ls "/proc/$(bed_pid server)/fd" 2>/dev/null | wc -l || true; }
fds0=$(srvfds)

# the flood's own source address, on up1 beside the client's 10.B.1.2
flood_src=10.$BED_B.1.3
ip -n "$NS_CLI" addr add "$flood_src/24" dev up1

# one line per second: "epoch lines-so-far" of the server's log
samples=$BED_TMP/log-samples.txt
(
	while :; do
		echo "$(date +%s.%N) $(wc -l <"$BED_TMP/server.log")"
		sleep 1
	done
) >"$samples" 2>/dev/null &
BED_PIDS+=($!)
BED_PID_NAMES+=(sampler)
sampler=$!

bed_spawn flood "$NS_CLI" "$BED_TMP/flood.log" \
    "$PY" "$BED_LIB_DIR/tunnel_wire.py" flood "$flood_src" "$BED_PUB" \
    "$BED_SRV_PORT" "$nflood" 120
sleep 3		# the flood at full tilt: reopening what the server resets
bed_alive "$(bed_pid flood)" ||
    bed_fail "the flood stopped: $(cat "$BED_TMP/flood.log")"
# The kernel completes handshakes into the accept queue before the
# daemon resets them, so ss counts those too: what the daemon holds is
# its descriptors. Besides the flood's, at most a fetch in flight (app,
# tunnel, destination: a few).
held=$(($(srvfds) - fds0))
est=$(bed_ns "$NS_SRV" ss -Htn state established "src $BED_PUB" "dst $flood_src" | wc -l)
say "measured: the concentrator holds $held more descriptors than before the flood; $est flood connections established in its kernel (accept queue included)"
bed_expect "the concentrator holds at most 256 of the flood's connections (preauth_per_source)" \
    [ "$held" -le $((256 + 8)) ]
ok=0 slow=0 worst=0
for ((i = 1; i <= nfetch; i++)); do
	rm -f "$BED_TMP/out/f"
	res=$(bed_ns "$NS_CLI" curl -sS --max-time 10 -o "$BED_TMP/out/f" \
	    -w '%{http_code} %{time_total}' --socks5-hostname \
	    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url index.html)" 2>&1) ||
	    res="curl-failed $res"
	read -r code secs _ <<<"$res"
	say "measured: fetch $i during the flood: $res"
	if [ "$code" = 200 ] &&
	    bed_same_file "$BED_TMP/www/index.html" "$BED_TMP/out/f" >/dev/null
	then
		ok=$((ok + 1))
		calc_true "$secs < 1" || slow=$((slow + 1))
		calc_true "$secs > $worst" && worst=$secs
	fi
	sleep 0.5
done
say "measured: $ok/$nfetch fetches byte-exact, $slow of them >= 1 s, slowest ${worst}s"
bed_expect "all $nfetch fetches during the flood byte-exact" [ "$ok" -eq "$nfetch" ]
bed_expect "every fetch within 1 s" [ "$ok" -eq "$nfetch" ] && [ "$slow" -eq 0 ]
held=$(($(srvfds) - fds0))
say "measured: $held more descriptors than before the flood at the end of the fetches"
bed_expect "still at most 256 of them" [ "$held" -le $((256 + 8)) ]

bed_stop flood
sleep 1
bed_stop_pid "$sampler" || true	# a killed subshell: wait says 143
say "flood: $(tail -n 1 "$BED_TMP/flood.log")"

# lines per second between consecutive samples
persec=$(awk 'NR > 1 && $1 > t { printf "%.1f\n", ($2 - n) / ($1 - t) }
    { t = $1; n = $2 }' "$samples")
max=$(sort -n <<<"$persec" | tail -n 1)
total=$(wc -l <"$BED_TMP/server.log")
say "measured: server log: $total lines; per second over $(wc -l <<<"$persec") s: max ${max:-?}; all: $(tr '\n' ' ' <<<"$persec")"
say "server log lines by event:"
sed -n 's/.*event=\([a-z_]*\).*/\1/p' "$BED_TMP/server.log" | sort | uniq -c |
    sed 's/^/  /'
bed_expect "the server logged fewer than 20 lines in every second" \
    calc_true "${max:-99999} < 20"
bed_expect "server still running" bed_alive "$(bed_pid server)"
bed_finish
