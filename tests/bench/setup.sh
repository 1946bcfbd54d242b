#!/bin/bash
# Setup latency: time from the app's connect to the first response byte of
# a small HTTP request (curl's time_starttransfer, median of
# BENCH_SETUP_N runs), through mpsocks over uplinks of known delay, as
# extra round trips over the same request made directly from the
# concentrator host.
#
# Known delay: until tests/integration/lib.sh wires the link emulator in,
# this script splices build/linkem into each bed uplink itself:
#
#   $id-cli up_k ======= a_k [$id-mid: linkem a_k b_k] b_k ==tbf== up_k $id-srv
#
# (the client end keeps its tbf, the server end gets a new veth with its
# address and tbf back). Uplink 1, where the initial subflow goes, has
# BENCH_SETUP_DELAY1 ms each way, uplink 2 BENCH_SETUP_DELAY2. The RTT
# unit is measured, not assumed: the median TCP connect time (curl's
# time_connect) from the client to the destination over uplink 1 alone,
# routed by the concentrator without a proxy.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sslib.sh"

N=${BENCH_SETUP_N:-21}
D1=${BENCH_SETUP_DELAY1:-15}
D2=${BENCH_SETUP_DELAY2:-35}
LINKEM=$BED_BUILD/linkem
bed_require_base
bed_require_nginx
bed_require_daemons
ss_require
[ -x "$LINKEM" ] || bed_skip "$LINKEM not built (make $LINKEM)"
bed_setup 20mbit 40mbit >/dev/null
NS_MID=$BED_ID-mid

# bed_cleanup removes the bed's three namespaces; the middle one is ours.
# linkem runs under bed_spawn, so bed_cleanup stops it by PID first.
setup_cleanup() {
	local rc=$? pid
	if ip netns pids "$NS_MID" >/dev/null 2>&1; then
		for pid in "${BED_PIDS[@]}"; do
			bed_stop_pid "$pid"
		done
		for pid in $(ip netns pids "$NS_MID" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$NS_MID" 2>/dev/null
	fi
	(exit "$rc")
	bed_cleanup
}
trap setup_cleanup EXIT

ip netns add "$NS_MID"
ip -n "$NS_MID" link set lo up
# no IPv6 chatter through linkem; set before any link exists
bed_ns "$NS_MID" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1

# splice K DELAY_MS: linkem with DELAY_MS each way into uplink K
splice() {
	local k=$1 d=$2 log i
	ip -n "$NS_SRV" link set "up$k" netns "$NS_MID"
	ip -n "$NS_MID" link set "up$k" name "a$k"
	ip -n "$NS_MID" link add "b$k" type veth peer name "up$k" \
	    netns "$NS_SRV"
	ip -n "$NS_SRV" addr add "10.$BED_B.$k.1/24" dev "up$k"
	ip -n "$NS_SRV" link set "up$k" up
	ip -n "$NS_MID" link set "a$k" up
	ip -n "$NS_MID" link set "b$k" up
	bed_shape "$NS_SRV" "up$k" "$(eval echo "\$BED_RATE_$k")"
	log=$BED_TMP/linkem-$k.log
	bed_spawn "linkem$k" "$NS_MID" "$log" "$LINKEM" "a$k" "b$k" \
	    --delay-ab "$d" --delay-ba "$d"
	for ((i = 0; i < 50; i++)); do
		grep -q '^linkem: ready' "$log" && return 0
		sleep 0.1
	done
	bed_fail "linkem on uplink $k did not start: $(cat "$log")"
}
splice 1 "$D1"
splice 2 "$D2"

bed_nginx_start			# serves a small index.html
SMALL=$(bed_url index.html)
SMALL_IP=$(bed_url_ip index.html)
FMT='%{http_code} %{time_connect} %{time_starttransfer}\n'

# timed NAME NS CURLARGS...: N requests, "connect first_byte" per line
# into $BED_TMP/t-NAME; fails on any status but 200
timed() {
	local name=$1 ns=$2 i res code
	shift 2
	for ((i = 0; i < N; i++)); do
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

timed direct "$NS_SRV" "$SMALL_IP"
bed_forwarding on
timed uplink1 "$NS_CLI" --interface "10.$BED_B.1.2" "$SMALL_IP"
bed_forwarding off
bed_server_start -q
bed_local_start -q
# TCP Fast Open on the tunnel: how many SYNs carried data and were
# taken (TFO counters of the client namespace around the mpsocks runs)
tfo() {
	bed_ns "$NS_CLI" nstat -asz TcpExtTCPFastOpenActive \
	    TcpExtTCPFastOpenActiveFail | awk '{ printf "%s ", $2 }'
}
read -r tfo_ok0 tfo_fail0 <<<"$(tfo)"
timed mpsocks "$NS_CLI" --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" \
    "$SMALL"
read -r tfo_ok1 tfo_fail1 <<<"$(tfo)"
# the same with protocol v1 (no TLS handshake) for comparison
bed_stop local
bed_local_start -q --encryption none
timed mpsocks-none "$NS_CLI" --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" \
    "$SMALL"
bed_stop local
ss_start flag
timed ss "$NS_CLI" --socks5-hostname "127.0.0.1:$SS_LOCAL_PORT" "$SMALL"
ss_stop

rtt=$(ms uplink1 1)
base=$(ms direct 2)
calc_true "$rtt > 0" || bed_fail "uplink 1 RTT measured as $rtt ms"
# row LABEL NAME: first byte, and extra round trips over the direct one
row() {
	local fb
	fb=$(ms "$2" 2)
	printf '| %s | %.1f | %.2f |\n' "$1" "$fb" "$(calc "($fb - $base) / $rtt")"
}

echo "## Setup latency (small HTTP request, uplinks of known delay)"
echo
echo "Uplink 1 (20 Mbit/s, where the initial subflow goes) has $D1 ms and"
echo "uplink 2 (40 Mbit/s) $D2 ms of one-way delay each way, from"
echo "build/linkem spliced into the bed's uplinks. Time from curl's connect"
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
row "**mpsocks, encryption = tls** (the default: a cold TLS 1.3 tunnel; curl via SOCKS5, name resolved by the concentrator)" \
    mpsocks
row "mpsocks, encryption = none (protocol v1)" mpsocks-none
row "shadowsocks-libev, --mptcp at both ends" ss
echo
echo "One round trip is the floor for any proxy: the request has to cross"
echo "the uplink and the answer come back. A plain TCP client needs two"
echo "(handshake, then request)."
echo
tfo_ok=$((tfo_ok1 - tfo_ok0))
echo "TCP Fast Open in the client namespace during the mpsocks requests:"
echo "$tfo_ok SYNs with data accepted, $((tfo_fail1 - tfo_fail0)) refused"
echo "(nstat TcpExtTCPFastOpenActive, ...ActiveFail), for $N tunnels."
if [ "$tfo_ok" -eq 0 ]; then
	echo "Without it a tunnel costs a handshake before its header, and the"
	echo "app's request waits for the tunnel's status reply: three round"
	echo "trips where shadowsocks (which answers SOCKS5 at once) needs two."
	echo "A cold TLS tunnel adds one more, the TLS handshake's; a warm"
	echo "pool of tunnels opened ahead of need is what takes that away."
fi
