#!/bin/bash
# The test bed with uplinks of unequal rate, delay and loss, built the way
# tests and benchmarks build it (bed_setup SPEC..., linkem in $id-mid):
#
#   dsl=20mbit/15ms/0%            symmetric, 15 ms each way
#   lte=10mbit:40mbit/35ms/0%     10 up, 40 down, 35 ms each way
#   sat=30mbit/5ms:10ms/2%        5 ms up, 10 ms down, 2% loss each way
#
# Checks per uplink: ping RTT = baseline + both one-way delays (+-1 ms);
# iperf3 TCP rate each way close to the tbf rate set for that direction;
# the lossy uplink loses about what was asked; bed_cut stops an uplink and
# bed_restore brings it back. t_linkem tests the emulator alone.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_daemons linkem
command -v iperf3 >/dev/null 2>&1 || bed_skip "iperf3 not installed"
# a fixed seed: the lossy uplink drops the same draws each run
BED_LINKEM_SEED=${BED_LINKEM_SEED:-7}
bed_setup "dsl=20mbit/15ms/0%" "lte=10mbit:40mbit/35ms/0%" \
    "sat=30mbit/5ms:10ms/2%"

bed_expect "uplink names from the spec" \
    [ "$BED_NAME_1 $BED_NAME_2 $BED_NAME_3" = "dsl lte sat" ]
bed_expect "asymmetric rate parsed (lte up 10mbit, down 40mbit)" \
    [ "$BED_RATE_UP_2 $BED_RATE_2" = "10mbit 40mbit" ]
bed_expect "three linkem processes run in $NS_MID" \
    [ "$(ip netns pids "$NS_MID" | wc -l)" -eq 3 ]

# ping K COUNT INTERVAL: probes to the concentrator's end of uplink K
ping_uplink() {
	timeout 60 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
	    ping "10.$BED_B.$1.1" "$2" "$3" >"$BED_TMP/ping$1.out"
	tail -n 1 "$BED_TMP/ping$1.out"
}
median_ms() { sed -n 's/.*median_ms=//p' <<<"$1"; }
received() { sed -n 's/.*received=\([0-9]*\).*/\1/p' <<<"$1"; }

# --- delay -------------------------------------------------------------------

# the veth + linkem path without delay costs well under 1 ms; this bed's
# RTT must be the configured one-way delays added, to within 1 ms
for k in 1 2 3; do
	res=$(ping_uplink "$k" 20 0.05)
	want=$(calc "$(bed_var DELAY_UP "$k") + $(bed_var DELAY "$k")")
	m=$(median_ms "$res")
	say "measured: $(bed_var NAME "$k") ping: $res; want $want ms"
	bed_expect "$(bed_var NAME "$k"): median RTT $m ms = $want +- 1 ms" \
	    calc_true "$m >= $want && $m <= $want + 1"
done

# --- rate --------------------------------------------------------------------

port=$((5200 + $(rand_u16) % 1000))
bed_spawn iperf3 "$NS_SRV" "$BED_TMP/iperf3.log" iperf3 -s -p "$port"
bed_wait_port "$NS_SRV" "$port" 10 || bed_fail "iperf3 -s did not start"

# iperf_rate K [-R]: TCP Mbit/s over uplink K (upload; -R download)
iperf_rate() {
	local k=$1
	shift
	timeout 60 ip netns exec "$NS_CLI" iperf3 -c "10.$BED_B.$k.1" \
	    -B "10.$BED_B.$k.2" -p "$port" -t 5 -O 2 --json "$@" \
	    >"$BED_TMP/iperf.json" 2>&1 || true
	"$PY" -c '
import json, sys
try:
    e = json.load(open(sys.argv[1]))["end"]
    print("%.2f" % (e["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("0")' "$BED_TMP/iperf.json"
}

# 1448 payload bytes per 1514-byte frame: 95.6% of the tbf rate at best
for k in 1 2; do
	n=$(bed_var NAME "$k")
	up=$(iperf_rate "$k")
	down=$(iperf_rate "$k" -R)
	rup=$(($(tc_rate_bits "$(bed_var RATE_UP "$k")") / 1000000))
	rdown=$(($(tc_rate_bits "$(bed_var RATE "$k")") / 1000000))
	say "measured: $n TCP up $up Mbit/s (tbf $rup), down $down (tbf $rdown)"
	bed_expect "$n up: $up Mbit/s within 85..102% of $rup" \
	    calc_true "$up >= 0.85 * $rup && $up <= 1.02 * $rup"
	bed_expect "$n down: $down Mbit/s within 85..102% of $rdown" \
	    calc_true "$down >= 0.85 * $rdown && $down <= 1.02 * $rdown"
done

# --- loss --------------------------------------------------------------------

# 2% each way: an echo survives both ways with 0.98^2, so ~4% of the
# probes are lost; 400 probes give a wide but meaningful window
res=$(ping_uplink 3 400 0.005)
lost=$((400 - $(received "$res")))
say "measured: sat ping with 2% loss each way: $res"
kill -USR1 "$(bed_pid linkem3)"
sleep 0.3
grep '^linkem: dir=' "$BED_TMP/linkem3.log" | tail -n 2 | sed 's/^/  /'
bed_expect "sat: $lost of 400 probes lost, in 4..40 (expect ~16)" \
    calc_true "$lost >= 4 && $lost <= 40"

# --- cut and restore ---------------------------------------------------------

bed_cut 2
res=$(ping_uplink 2 10 0.05)
say "measured: lte cut: $res"
bed_expect "lte cut: no probe passes" [ "$(received "$res")" -eq 0 ]
res=$(ping_uplink 1 10 0.05)
bed_expect "dsl still passes while lte is cut" [ "$(received "$res")" -eq 10 ]
bed_restore 2
res=$(ping_uplink 2 10 0.05)
say "measured: lte restored: $res"
bed_expect "lte restored: all probes pass" [ "$(received "$res")" -eq 10 ]

bed_finish
