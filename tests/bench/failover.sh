#!/bin/bash
# Failover: one uplink dies (linkem drops everything, the client's link
# stays up: a line dead beyond the modem) during a bulk download through
# mpsocks, and comes back later. Reported per case: bytes lost (sha256 of
# the whole file), the longest stall of the download, and how many new
# connections opened during the outage succeed. Cut "initial" is the
# uplink of the tunnels' initial subflows (up1, the client's default
# route); "other" is the second uplink.
#
# Environment: RUNS, BENCH_FAILOVER_MB, BENCH_CUT_AT, BENCH_RESTORE_AT (s).
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

MB=${BENCH_FAILOVER_MB:-150}
CUT_AT=${BENCH_CUT_AT:-8}
RESTORE_AT=${BENCH_RESTORE_AT:-20}
NEW_CONNS=4
bed_require_base
bed_require_nginx
bed_require_daemons linkem
# as a user runs it: the client has only addresses and default routes,
# mpsocks-local's [uplink] sections set up the rest (and race new
# connections past a dead uplink)
BED_BARE=1 BED_LINKEM=1 bed_setup "dsl=20mbit/15ms" "lte=40mbit/35ms" \
    >/dev/null
f=$(bed_make_file fail.bin "$MB")
bed_make_file small.bin 1 >/dev/null
want=$(sha_of "$f")
bed_nginx_start
bed_server_start -q
printf '[uplink dsl]\ninterface = up1\n[uplink lte]\ninterface = up2\n' \
    >"$BED_TMP/uplinks.conf"
bed_local_start -q -c "$BED_TMP/uplinks.conf"
for ((i = 0; i < 50; i++)); do
	[ "$(ip -n "$NS_CLI" mptcp endpoint show | grep -c .)" -eq 2 ] && break
	sleep 0.1
done

# one_run K: prints "lost_bytes stall_ms new_ok seconds"
one_run() {
	local k=$1 out=$BED_TMP/out/fail.bin stop=$BED_TMP/stop curl_pid
	local mon_pid t0 i ok=0 lost res
	rm -f "$out" "$stop" "$BED_TMP"/new*.res
	bed_ns "$NS_CLI" curl -sS --max-time 300 -o "$out" --socks5-hostname \
	    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url fail.bin)" \
	    >"$BED_TMP/curl.log" 2>&1 &
	curl_pid=$!
	BED_PIDS+=("$curl_pid")
	BED_PID_NAMES+=(curl)
	"$PY" "$BED_LIB_DIR/nettool.py" progress "$out" "$stop" 400 \
	    >"$BED_TMP/progress.out" &
	mon_pid=$!
	BED_PIDS+=("$mon_pid")
	BED_PID_NAMES+=(progress)
	t0=$(date +%s.%N)
	sleep "$CUT_AT"
	bed_cut "$k"
	sleep 2
	# new connections while the uplink is dead, each given 10 s
	for ((i = 0; i < NEW_CONNS; i++)); do
		bed_ns "$NS_CLI" curl -sS --max-time 10 -o /dev/null \
		    -w '%{http_code}\n' --socks5-hostname \
		    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url small.bin)" \
		    >"$BED_TMP/new$i.res" 2>/dev/null &
	done
	wait_until "$t0" "$RESTORE_AT"
	bed_restore "$k"
	wait "$curl_pid" || true
	local secs
	secs=$(calc "$(date +%s.%N) - $t0")
	touch "$stop"
	wait "$mon_pid" || true
	for ((i = 0; i < NEW_CONNS; i++)); do
		grep -q '^200$' "$BED_TMP/new$i.res" 2>/dev/null &&
		    ok=$((ok + 1))
	done
	if [ -f "$out" ] && [ "$(sha_of "$out")" = "$want" ]; then
		lost=0
	else
		# what did not arrive intact: missing bytes, or all of it
		lost=$(($(stat -c %s "$f") - $(stat -c %s "$out" 2>/dev/null ||
		    echo 0)))
		[ "$lost" -gt 0 ] || lost=$(stat -c %s "$f")
	fi
	res=$(sed -n 's/.*longest_stall_ms=\([0-9]*\).*/\1/p' \
	    "$BED_TMP/progress.out")
	echo "$lost ${res:-0} $ok $secs"
}

# wait_until T0 S: sleep until S seconds after T0 (date +%s.%N)
wait_until() {
	local left
	left=$(calc "$1 + $2 - $(date +%s.%N)")
	calc_true "$left > 0" && sleep "$left"
	return 0
}

for ((r = 0; r < RUNS; r++)); do
	for c in "initial 1" "other 2"; do
		read -r name k <<<"$c"
		one_run "$k" >>"$BED_TMP/$name"
	done
done

echo "## Failover (one uplink cut during a download)"
echo
echo "$MB MB download through mpsocks over dsl=20mbit/15ms +"
echo "lte=40mbit/35ms, set up by mpsocks-local's [uplink] sections (up1"
echo "holds the client's preferred default route); the uplink dies at second $CUT_AT (linkem drops"
echo "every frame, the client's link stays up) and comes back at second"
echo "$RESTORE_AT. $NEW_CONNS new connections (1 MB each, 10 s allowed) start"
echo "2 s into the outage. Medians of $RUNS runs; bytes lost is the worst run."
echo
echo "| uplink cut | bytes lost (worst) | longest stall, ms | new connections OK | download s |"
echo "|---|---:|---:|---:|---:|"
for name in initial other; do
	lost=$(awk '{ if ($1 > m) m = $1 } END { print m + 0 }' "$BED_TMP/$name")
	stall=$(awk '{ print $2 }' "$BED_TMP/$name" | median)
	ok=$(awk '{ print $3 }' "$BED_TMP/$name" | median)
	secs=$(awk '{ print $4 }' "$BED_TMP/$name" | median)
	label="up1 (initial subflow)"
	[ "$name" = other ] && label="up2 (join subflow)"
	printf '| %s | %s | %.0f | %s of %s | %.1f |\n' "$label" "$lost" \
	    "$stall" "$ok" "$NEW_CONNS" "$secs"
done
echo
