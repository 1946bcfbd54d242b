#!/bin/bash
# Setup latency: time from the app's connect to the first response byte of
# a small HTTP request (curl's time_starttransfer, median of
# BENCH_SETUP_N runs), through mpsocks over uplinks of known delay, as
# extra round trips over the same request made directly from the
# concentrator host.
#
# Known delay: bed_setup runs build/linkem in each uplink (see
# tests/integration/lib.sh). Uplink 1, where the initial subflow goes (the
# client's main route), has BENCH_SETUP_DELAY1 ms each way, uplink 2
# BENCH_SETUP_DELAY2. The RTT unit is measured, not assumed: the median
# TCP connect time (curl's time_connect) from the client to the
# destination over uplink 1 alone, routed by the concentrator without a
# proxy.
#
# mpsocks paths: the warm pool (the default) with every request a hit:
# before each one the script waits until the pool is full again (its
# /metrics), and the hit counter says how many took a pooled tunnel; the
# same with [uplink] sections, where pooled tunnels start on the uplinks
# in turn; --no-pool (a miss: a cold TLS tunnel, optimistic reply);
# --strict-replies --no-pool (the reply after the concentrator's, as
# before the pool); encryption = none (protocol v1, which has no pool).
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sslib.sh"

N=${BENCH_SETUP_N:-21}
D1=${BENCH_SETUP_DELAY1:-15}
D2=${BENCH_SETUP_DELAY2:-35}
bed_require_base
bed_require_nginx
bed_require_daemons linkem
ss_require
bed_setup "20mbit/${D1}ms" "40mbit/${D2}ms" >/dev/null

bed_nginx_start			# serves a small index.html
SMALL=$(bed_url index.html)
SMALL_IP=$(bed_url_ip index.html)
FMT='%{http_code} %{time_connect} %{time_starttransfer}\n'
SOCKS=(--socks5-hostname "127.0.0.1:$BED_LOCAL_PORT")

# timed NAME NS CURLARGS...: N requests, "connect first_byte" per line
# into $BED_TMP/t-NAME; fails on any status but 200. $BEFORE, if set, is
# run before each request.
timed() {
	local name=$1 ns=$2 i res code
	shift 2
	for ((i = 0; i < N; i++)); do
		[ -z "${BEFORE-}" ] || $BEFORE
		res=$(bed_ns "$ns" curl -sS --max-time 10 -o /dev/null -w "$FMT" \
		    "$@") || bed_fail "$name: curl failed: $res"
		read -r code tc ts <<<"$res"
		[ "$code" = 200 ] || bed_fail "$name: HTTP $code"
		echo "$tc $ts" >>"$BED_TMP/t-$name"
	done
}
# ms NAME COLUMN: median of a column of t-NAME, in ms
ms() {
	awk -v c="$2" '{ print $c * 1000 }' "$BED_TMP/t-$1" | median
}
# refilled: the last take's tunnel replaced, so the next request is a
# hit too (and the oldest ready tunnel, which it takes, has its join)
refilled() {
	sleep 0.3
	pool_settle 10 || bed_fail "the warm pool did not refill"
}
hits() { metric "$NS_CLI" "$LOCAL_CTL" 'mpsocks_pool_takes_total{result="hit"}'; }

# pooled NAME ARGS...: N pool hits through mpsocks-local started with
# ARGS; sets HITS[NAME] to the hits its counter saw and SF2[NAME] to the
# takes whose tunnel had 2 subflows joined (its debug log)
declare -A HITS SF2
pooled() {
	local name=$1 h0 h1 l0
	shift
	bed_local_start "$@"
	pool_settle 10 || bed_fail "$name: the warm pool did not fill"
	h0=$(hits)
	l0=$(wc -l <"$BED_TMP/local.log")
	BEFORE=refilled timed "$name" "$NS_CLI" "${SOCKS[@]}" "$SMALL"
	h1=$(hits)
	HITS[$name]=$((h1 - h0))
	SF2[$name]=$(tail -n +$((l0 + 1)) "$BED_TMP/local.log" |
	    grep -c 'event=pool_take .*subflows=2 ' || true)
	bed_stop local
	cp "$BED_TMP/local.log" "$BED_TMP/local-$name.log"
}

timed direct "$NS_SRV" "$SMALL_IP"
bed_forwarding on
timed uplink1 "$NS_CLI" --interface "10.$BED_B.1.2" "$SMALL_IP"
bed_forwarding off
bed_server_start -q

pooled pool
# the same bed with [uplink] sections, as a user configures it (the
# bed's own routes, rules and endpoint stay; mpsocks-local adds its own)
printf '[rule bed-bonded]\nany = yes\naction = bond\n[uplink dsl]\ninterface = up1\n[uplink lte]\ninterface = up2\n' \
    >"$BED_TMP/uplinks.conf"
pooled pool-uplinks -c "$BED_TMP/uplinks.conf"

# TCP Fast Open on the tunnel: how many SYNs carried data and were
# taken (TFO counters of the client namespace around the cold runs)
tfo() {
	bed_ns "$NS_CLI" nstat -asz TcpExtTCPFastOpenActive \
	    TcpExtTCPFastOpenActiveFail | awk '{ printf "%s ", $2 }'
}
read -r tfo_ok0 tfo_fail0 <<<"$(tfo)"
bed_local_start -q --no-pool
timed miss "$NS_CLI" "${SOCKS[@]}" "$SMALL"
bed_stop local
bed_local_start -q --no-pool --strict-replies
timed strict "$NS_CLI" "${SOCKS[@]}" "$SMALL"
bed_stop local
read -r tfo_ok1 tfo_fail1 <<<"$(tfo)"
# the same with protocol v1 (no TLS handshake, no pool) for comparison
bed_local_start -q --encryption none
timed mpsocks-none "$NS_CLI" "${SOCKS[@]}" "$SMALL"
bed_stop local
ss_start flag
timed ss "$NS_CLI" --socks5-hostname "127.0.0.1:$SS_LOCAL_PORT" "$SMALL"
ss_stop

rtt=$(ms uplink1 1)
base=$(ms direct 2)
calc_true "$rtt > 0" || bed_fail "uplink 1 RTT measured as $rtt ms"
# rt NAME: extra round trips over the direct request
rt() { calc "($(ms "$1" 2) - $base) / $rtt"; }
# row LABEL NAME: first byte, and extra round trips over the direct one
row() {
	printf '| %s | %.1f | %.2f |\n' "$1" "$(ms "$2" 2)" "$(rt "$2")"
}

echo "## Setup latency (small HTTP request, uplinks of known delay)"
echo
echo "Uplink 1 (20 Mbit/s, where the initial subflow goes) has $D1 ms and"
echo "uplink 2 (40 Mbit/s) $D2 ms of one-way delay each way, from"
echo "build/linkem in the bed's uplinks. Time from curl's connect"
echo "to the first response byte (time_starttransfer) of a small page from"
echo "nginx at the destination; median of $N requests, one after another."
echo "The round trip is measured: uplink 1's TCP connect time,"
printf '%.1f ms. ' "$rtt"
echo "Extra round trips = (first byte - first byte direct) / that RTT."
echo
echo "| path | first byte, ms | extra round trips over direct |"
echo "|---|---:|---:|"
row "direct from the concentrator host (no uplink)" direct
row "client over uplink 1 alone, plain TCP, routed (no proxy)" uplink1
row "**mpsocks, pool hit** (the default: a warm TLS 1.3 tunnel, optimistic reply; curl via SOCKS5, name resolved by the concentrator)" \
    pool
row "mpsocks, pool hit, [uplink] sections (pooled tunnels start on each uplink in turn)" \
    pool-uplinks
row "mpsocks, pool miss (\`--no-pool\`: a cold TLS tunnel, optimistic reply)" \
    miss
row "mpsocks, strict (\`--strict-replies --no-pool\`: the reply after the concentrator's, as before the pool)" \
    strict
row "mpsocks, encryption = none (protocol v1: no pool, optimistic reply)" \
    mpsocks-none
row "shadowsocks-libev, --mptcp at both ends" ss
echo
echo "Pool hits: before each request the bench waits until the pool is"
echo "full again (0.3 s, then its /metrics: ready tunnels at the target,"
echo "none opening). mpsocks_pool_takes_total{result=\"hit\"} counted"
echo "${HITS[pool]} hits of $N requests (${SF2[pool]} with both subflows joined) and"
echo "${HITS[pool-uplinks]} of $N (${SF2[pool-uplinks]} with both) with [uplink] sections."
echo
echo "One round trip is the floor for any proxy: the request has to cross"
echo "the uplink and the answer come back. A plain TCP client needs two"
echo "(handshake, then request). Goal (issue 15): a pool hit at most 1.1;"
printf 'measured %.2f.\n' "$(rt pool)"
echo
echo "TCP Fast Open (off by default) in the client namespace during the"
echo "pool-miss and strict requests: $((tfo_ok1 - tfo_ok0)) SYNs with data"
echo "accepted, $((tfo_fail1 - tfo_fail0)) refused (nstat"
echo "TcpExtTCPFastOpenActive, ...ActiveFail), for $((2 * N)) tunnels."
