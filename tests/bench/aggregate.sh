#!/bin/bash
# Aggregation: bulk download and upload goodput through mpsocks over 2 and
# 3 uplinks of unequal rate and delay, as a fraction of the sum of the
# single-uplink TCP goodputs measured in the same bed, next to kernel
# MPTCP with iperf3 (mptcpize, no proxy) between the same hosts.
#
# One bed per scenario (delay from linkem, see tests/integration/lib.sh).
# Environment: RUNS, BENCH_MB (per transfer), BENCH_AGG_SCENARIOS (names
# from the list below, space-separated).
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

MB=${BENCH_MB:-32}
bed_require_base
bed_require_nginx
bed_require_daemons linkem
command -v iperf3 >/dev/null 2>&1 || bed_fail "iperf3 not installed (make deps)"
command -v mptcpize >/dev/null 2>&1 ||
    bed_fail "mptcpize not installed (make deps)"

declare -A SCEN=(
	[equal]="dsl=20mbit/15ms lte=40mbit/15ms"
	[unequal]="dsl=20mbit/15ms lte=40mbit/35ms"
	[three]="dsl=20mbit/15ms lte=40mbit/35ms wan=30mbit/25ms"
)
declare -A TITLE=(
	[equal]="2 uplinks, 20 + 40 Mbit/s, 15 ms each"
	[unequal]="2 uplinks, 20 Mbit/s 15 ms + 40 Mbit/s 35 ms"
	[three]="3 uplinks, 20/15 ms + 40/35 ms + 30/25 ms (Mbit/s, one-way)"
)
ORDER=${BENCH_AGG_SCENARIOS:-equal unequal three}

# Rates are goodput over the transfer itself, as iperf3 reports it: bytes
# over the time from the first response byte (downloads) or from the start
# of the request (uploads, sent at once: no "Expect: 100-continue") to the
# end. Connection set-up is its own benchmark (setup latency).

# xfer down|up CURLARGS...: one curl in the client; prints bytes/s
xfer() {
	local dir=$1 res code size t0 t1
	shift
	if [ "$dir" = down ]; then
		res=$(bed_ns "$NS_CLI" curl -sS --max-time 120 -o /dev/null \
		    -w '%{http_code} %{size_download} %{time_starttransfer} %{time_total}\n' \
		    "$@") || return 1
	else
		res=$(bed_ns "$NS_CLI" curl -sS --max-time 120 -o /dev/null \
		    -H 'Expect:' \
		    -w '%{http_code} %{size_upload} %{time_pretransfer} %{time_total}\n' \
		    "$@") || return 1
	fi
	read -r code size t0 t1 <<<"$res"
	case $code in 20?) ;; *) return 1 ;; esac
	# calc prints no newline: one figure per line for median
	echo "$(calc "$size / ($t1 - $t0)")"
}

# single down|up K: plain TCP over uplink K alone, forwarded by the
# concentrator (no proxy, forwarding on); the source address picks the
# uplink
single() {
	local rc=0 url
	if [ "$1" = down ]; then
		url=$(bed_url_ip bench.bin)
		xfer down --interface "10.$BED_B.$2.2" "$url" || rc=1
	else
		url=$(bed_url_ip "upload/u$2.bin")
		xfer up --interface "10.$BED_B.$2.2" \
		    -T "$BED_TMP/www/bench.bin" "$url" || rc=1
	fi
	return $rc
}

# proxied down|up: one transfer through mpsocks-local
proxied() {
	if [ "$1" = down ]; then
		xfer down --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" \
		    "$(bed_url bench.bin)"
	else
		xfer up --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" \
		    -T "$BED_TMP/www/bench.bin" "$(bed_url upload/proxied.bin)"
	fi
}

# kernel_mptcp down|up: iperf3 under mptcpize between the client and the
# concentrator's public address, MB bytes. Prints bytes/s (receiver side).
kernel_mptcp() {
	local rev=
	[ "$1" = down ] && rev=-R
	timeout 120 ip netns exec "$NS_CLI" mptcpize run iperf3 \
	    -c "$BED_PUB" -p "$IPERF_PORT" -n "${MB}M" $rev --json \
	    >"$BED_TMP/iperf.json" 2>/dev/null || return 1
	"$PY" -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("%.0f" % (e["sum_received"]["bits_per_second"] / 8))' \
	    "$BED_TMP/iperf.json"
}

# scenario NAME: one bed, RUNS rounds of every path each way; prints the
# section. Runs in a subshell: the bed's EXIT trap removes it.
scenario() {
	local name=$1 k i d
	# shellcheck disable=SC2086
	bed_setup ${SCEN[$name]} >/dev/null
	bed_make_file bench.bin "$MB" >/dev/null
	bed_nginx_start
	IPERF_PORT=$((5200 + $(rand_u16) % 1000))
	bed_spawn iperf3 "$NS_SRV" "$BED_TMP/iperf3.log" mptcpize run \
	    iperf3 -s -p "$IPERF_PORT"
	bed_wait_port "$NS_SRV" "$IPERF_PORT" 10 ||
	    bed_fail "iperf3 -s did not start"
	bed_server_start -q
	bed_local_start -q
	# interleaved rounds: a slow minute on this shared machine hits
	# every path alike
	for ((i = 0; i < RUNS; i++)); do
		# the single uplinks share no bottleneck: measured side by
		# side (forwarding stays on meanwhile), one direction at a time
		bed_forwarding on
		for d in down up; do
			local -a pids=()
			for ((k = 1; k <= BED_UPLINKS; k++)); do
				single "$d" "$k" >"$BED_TMP/one-$d$k" &
				pids+=($!)
			done
			# not a bare wait: the bed's daemons are children too
			wait "${pids[@]}" || true
			for ((k = 1; k <= BED_UPLINKS; k++)); do
				[ -s "$BED_TMP/one-$d$k" ] ||
				    bed_fail "$d over uplink $k failed"
				cat "$BED_TMP/one-$d$k" >>"$BED_TMP/$d$k"
			done
		done
		bed_forwarding off
		for d in down up; do
			kernel_mptcp "$d" >>"$BED_TMP/kmptcp-$d" ||
			    bed_fail "kernel MPTCP iperf3 $d failed"
			proxied "$d" >>"$BED_TMP/mpsocks-$d" ||
			    bed_fail "mpsocks $d failed"
		done
	done

	local -A sum=([down]=0 [up]=0)
	echo "### ${TITLE[$name]}"
	echo
	echo "| path | down Mbit/s | fraction | up Mbit/s | fraction |"
	echo "|---|---:|---:|---:|---:|"
	for ((k = 1; k <= BED_UPLINKS; k++)); do
		local dn upr
		dn=$(median <"$BED_TMP/down$k")
		upr=$(median <"$BED_TMP/up$k")
		sum[down]=$(calc "${sum[down]} + $dn")
		sum[up]=$(calc "${sum[up]} + $upr")
		printf '| %s alone, plain TCP | %s | | %s | |\n' \
		    "$(bed_var NAME "$k")" "$(mbit "$dn")" "$(mbit "$upr")"
	done
	printf '| sum of single uplinks | %s | 1 | %s | 1 |\n' \
	    "$(mbit "${sum[down]}")" "$(mbit "${sum[up]}")"
	row() {	# label file-prefix
		local dn upr
		dn=$(median <"$BED_TMP/$2-down")
		upr=$(median <"$BED_TMP/$2-up")
		printf '| %s | %s | %.3f | %s | %.3f |\n' "$1" "$(mbit "$dn")" \
		    "$(calc "$dn / ${sum[down]}")" "$(mbit "$upr")" \
		    "$(calc "$upr / ${sum[up]}")"
	}
	row "kernel MPTCP, iperf3 (mptcpize), no proxy" kmptcp
	row "**mpsocks** (curl via SOCKS5, nginx)" mpsocks
	echo
	echo "Bed: \`${SCEN[$name]}\` (tests/integration/lib.sh spec)."
	echo
}

echo "## Aggregation (bulk goodput, 2 and 3 uplinks)"
echo
echo "$MB MB per transfer, goodput from the first byte to the last (set-up"
echo "is measured apart; the single uplinks run side by side, as they share"
echo "no bottleneck); tbf shapes each uplink on both ends, linkem adds"
echo "the one-way delay. Fractions are of the sum of the single-uplink TCP"
echo "goodputs measured in the same bed; an MPTCP segment carries 1420 bytes"
echo "of payload against 1448 for TCP, so about 0.98 is the ceiling. Goal:"
echo "at least 0.97 with equal delays and 0.93 with 15 vs 35 ms, both ways,"
echo "and never below kernel MPTCP."
echo
status=0
for s in $ORDER; do
	[ -n "${SCEN[$s]-}" ] || bed_fail "unknown scenario $s"
	( scenario "$s" ) || { echo "scenario $s FAILED" >&2; status=1; }
done
exit $status
