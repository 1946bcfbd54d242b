#!/bin/bash
# Short flows: BENCH_SHORT_N (100) objects of BENCH_SHORT_KB (50) KB, one
# after another, each on a fresh connection (one curl, "Connection:
# close": a new TCP connection, and through the proxy a new SOCKS5
# session, per object), over dsl=20mbit/15ms + lte=40mbit/35ms set up by
# mpsocks-local's [uplink] sections (as failover.sh). Reported: the time
# of all fetches together (the sum of curl's time_total) and the share of
# the bytes the client received over each uplink (interface counters), for
# mpsocks with the warm pool (the default) and without it (--no-pool),
# next to the same fetches over each uplink alone with plain TCP, routed
# by the concentrator (no proxy).
#
# Environment: RUNS, BENCH_SHORT_N, BENCH_SHORT_KB.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

N=${BENCH_SHORT_N:-100}
KB=${BENCH_SHORT_KB:-50}
bed_require_base
bed_require_nginx
bed_require_daemons linkem
# as a user runs it: the client has only addresses and default routes
# (up1 preferred), mpsocks-local's [uplink] sections set up the rest
BED_BARE=1 bed_setup "dsl=20mbit/15ms" "lte=40mbit/35ms" \
    >/dev/null
head -c $((KB * 1024)) /dev/urandom >"$BED_TMP/www/obj.bin"
bed_nginx_start
bed_server_start -q
printf '[uplink dsl]\ninterface = up1\n[uplink lte]\ninterface = up2\n' \
    >"$BED_TMP/uplinks.conf"

# fetch NAME CURLARGS...: the N objects in one curl; appends "seconds
# up2_share_pct" to $BED_TMP/r-NAME; fails unless every object came back
# whole with HTTP 200
fetch() {
	local name=$1 i rx0 rx1 bad secs
	local -a urls=()
	shift
	for ((i = 0; i < N; i++)); do
		urls+=(-o /dev/null "$URL_BASE/obj.bin?n=$i")
	done
	rx0=$(bed_uplink_rx)
	bed_ns "$NS_CLI" curl -sS --max-time 300 -H 'Connection: close' \
	    -w '%{http_code} %{size_download} %{time_total} %{num_connects}\n' \
	    "$@" "${urls[@]}" >"$BED_TMP/curl-$name.out" ||
	    bed_fail "$name: curl failed"
	rx1=$(bed_uplink_rx)
	bad=$(awk -v want=$((KB * 1024)) '$1 != 200 || $2 != want ||
	    $4 != 1' "$BED_TMP/curl-$name.out" | wc -l)
	if [ "$(wc -l <"$BED_TMP/curl-$name.out")" -ne "$N" ] ||
	    [ "$bad" -ne 0 ]; then
		bed_fail "$name: $bad of $N objects short, not 200 or not on a new connection"
	fi
	secs=$(awk '{ s += $3 } END { printf "%.3f", s }' "$BED_TMP/curl-$name.out")
	read -r _ up2 <<<"$(bed_shares "$rx0" "$rx1")"
	echo "$secs $up2" >>"$BED_TMP/r-$name"
}

# single K: plain TCP over uplink K alone (bound to its interface, whose
# default route it then takes), forwarded by the concentrator
single() {
	URL_BASE=http://$BED_DST_IP:$BED_HTTP_PORT
	bed_forwarding on
	fetch "up$1" --interface "up$1"
	bed_forwarding off
}

# proxied NAME ARGS...: the fetches through mpsocks-local started with
# ARGS (and the [uplink] sections); appends "hits misses" to
# $BED_TMP/p-NAME
proxied() {
	local name=$1 i
	shift
	bed_local_start -q -c "$BED_TMP/uplinks.conf" "$@"
	for ((i = 0; i < 50; i++)); do
		[ "$(ip -n "$NS_CLI" mptcp endpoint show | grep -c .)" -eq 2 ] &&
		    break
		sleep 0.1
	done
	[ "$name" = pool ] && { pool_settle 10 ||
	    bed_fail "the warm pool did not fill"; }
	URL_BASE=http://$BED_DST_NAME:$BED_HTTP_PORT
	fetch "$name" --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT"
	echo "$(metric "$NS_CLI" "$LOCAL_CTL" \
	    'mpsocks_pool_takes_total{result="hit"}')" \
	    "$(metric "$NS_CLI" "$LOCAL_CTL" \
	    'mpsocks_pool_takes_total{result="miss"}')" >>"$BED_TMP/p-$name"
	bed_stop local
}

# interleaved rounds: a slow minute on this shared machine hits every
# path alike; mpsocks-local is restarted per round (its pool and counters
# from zero; the single uplinks run while it, and its routes, are gone)
for ((r = 0; r < RUNS; r++)); do
	single 1
	single 2
	proxied pool
	proxied nopool --no-pool
done

col() { awk -v c="$2" '{ print $c }' "$BED_TMP/$1" | median; }
row() {	# label name
	printf '| %s | %.2f | %.1f | %.1f %% |\n' "$1" "$(col "r-$2" 1)" \
	    "$(calc "1000 * $(col "r-$2" 1) / $N")" "$(col "r-$2" 2)"
}

echo "## Short flows (${N} objects of ${KB} KB, each on a new connection)"
echo
echo "$N objects of $KB KiB from nginx at the destination, one after"
echo "another, each on a new connection (one curl, \`Connection: close\`:"
echo "a new TCP connection and, through a proxy, a new SOCKS5 session per"
echo "object), over dsl=20mbit/15ms + lte=40mbit/35ms (one-way delays),"
echo "set up by mpsocks-local's [uplink] sections. Total = the sum of"
echo "curl's time_total over the $N objects; lte's share = of the bytes"
echo "the client received on both uplinks (interface counters, pool"
echo "traffic included). Medians of $RUNS rounds; mpsocks-local restarted"
echo "each round."
echo
echo "| path | total s | per object ms | lte's share of bytes down |"
echo "|---|---:|---:|---:|"
row "dsl alone (20 Mbit/s, 15 ms), plain TCP, routed (no proxy)" up1
row "lte alone (40 Mbit/s, 35 ms), plain TCP, routed (no proxy)" up2
row "**mpsocks, warm pool** (the default)" pool
row "mpsocks, \`--no-pool\` (a cold TLS tunnel per object)" nopool
echo
printf 'Pool takes per round (mpsocks_pool_takes_total): median %s hits and\n' \
    "$(col p-pool 1)"
printf '%s misses of %s. Goal (issue 15): lte carries at least 30 %% with\n' \
    "$(col p-pool 2)" "$N"
echo "the pool; the total next to the faster single uplink's (dsl for"
echo "objects this small: the round trip decides, not the rate)."
echo
