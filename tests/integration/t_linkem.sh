#!/bin/bash
# linkem (tests/tools/linkem.c), the bed's link emulator, does what later
# tests will rely on. Its own topology, one uplink with a middle namespace:
#
#   $id-cli                   $id-mid                     $id-srv
#   up1 10.B.1.2 ------ a0 [linkem a0 b0] b0 ------ up1 10.B.1.1
#   ref 10.B.2.2 ------------------------------------ ref 10.B.2.1
#
# The middle namespace has no address and no IPv6; it only moves frames.
# "ref" is a plain veth pair: the "tbf alone" reference. Checks:
#   1. delay 15/15 ms: median ping RTT (20 probes) = baseline + 30 ms +-1
#   2. delay 10/25 ms: median RTT = baseline + 35 ms +-1
#   3. unshaped, no delay and 20 ms each way: TCP through linkem
#      >= LINKEM_MIN_MBIT (500) Mbit/s each direction; UDP at 500 Mbit/s
#      with 20 ms: linkem drops nothing and iperf3 sees nothing reordered
#   4. tbf 40mbit on the outer ends, 20 ms each way: TCP rate within 10%
#      of tbf alone (the ref pair), both directions
#   5. loss 10% a>b: 3..20% of 200 pings lost, as linkem counted
#   6. cut from second 2 to 4: pings sent inside are lost, around it pass;
#      SIGUSR2 cuts at once and a second SIGUSR2 restores
#   and linkem exits 0 on SIGTERM with its counters.
# No ping(8) here: probes are ICMP echo from a raw socket (nettool.py
# ping), which also logs each probe's send time (for the cut window).
set -eu
. "$(dirname "$0")/lib.sh"

LINKEM=$BED_BUILD/linkem
LINKEM_MIN_MBIT=${LINKEM_MIN_MBIT:-500}
[ "$(id -u)" -eq 0 ] || bed_skip "not root (namespaces need CAP_NET_ADMIN)"
for t in ip tc iperf3 awk od timeout; do
	command -v "$t" >/dev/null 2>&1 || bed_skip "$t not installed"
done
[ -x "$PY" ] || bed_skip "$PY not installed"
[ -x "$LINKEM" ] || bed_skip "$LINKEM not built (make $LINKEM)"

# --- the bed -----------------------------------------------------------------

LK_PIDS=()			# running processes we started

lk_cleanup() {
	local rc=$? pid ns
	set +e
	trap - EXIT
	for pid in "${LK_PIDS[@]}"; do
		bed_stop_pid "$pid"
	done
	for ns in "$NS_CLI" "$NS_MID" "$NS_SRV"; do
		# anything left in our namespaces is ours (iperf3, probes)
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${T-}" ] && [ -d "$T" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			for f in "$T"/*.log; do
				[ -s "$f" ] || continue
				say "----- tail of $(basename "$f") -----"
				tail -n 15 "$f"
			done
		fi
		[ -z "${BED_LOGDIR-}" ] ||
		    { mkdir -p "$BED_LOGDIR" && cp "$T"/*.log "$BED_LOGDIR"/; }
		rm -rf "$T"
	fi
	exit "$rc"
}

# per-run names: "mpl", pid in hex, 8 random bits
BED_ID=$(printf 'mpl%x%02x' $$ $(($(rand_u16) % 256)))
NS_CLI=$BED_ID-cli
NS_MID=$BED_ID-mid
NS_SRV=$BED_ID-srv
B=$((16 + $(rand_u16) % 235))
CLI_IP=10.$B.1.2
SRV_IP=10.$B.1.1
REF_SRV_IP=10.$B.2.1
PORT=$((5200 + $(rand_u16) % 1000))
T=
trap lk_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
T=$(mktemp -d "/tmp/mpsocks-$BED_ID.XXXXXX")

for ns in "$NS_CLI" "$NS_MID" "$NS_SRV"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	# no IPv6 chatter (router and neighbour solicitations) on the wire:
	# every frame linkem sees is one of ours. Before any link exists.
	bed_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	    net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NS_CLI" link add up1 type veth peer name a0 netns "$NS_MID"
ip -n "$NS_SRV" link add up1 type veth peer name b0 netns "$NS_MID"
ip -n "$NS_CLI" link add ref type veth peer name ref netns "$NS_SRV"
ip -n "$NS_CLI" addr add "$CLI_IP/24" dev up1
ip -n "$NS_SRV" addr add "$SRV_IP/24" dev up1
ip -n "$NS_CLI" addr add "10.$B.2.2/24" dev ref
ip -n "$NS_SRV" addr add "$REF_SRV_IP/24" dev ref
for l in "$NS_CLI up1" "$NS_CLI ref" "$NS_SRV up1" "$NS_SRV ref" \
    "$NS_MID a0" "$NS_MID b0"; do
	read -r ns dev <<<"$l"
	ip -n "$ns" link set "$dev" up
done
# Fixed neighbours: no ARP through linkem, so its loss draws and its cut
# fall on our probes only, and a cut cannot expire an entry.
ip -n "$NS_CLI" neigh replace "$SRV_IP" dev up1 nud permanent lladdr \
    "$(bed_ns "$NS_SRV" cat /sys/class/net/up1/address)"
ip -n "$NS_SRV" neigh replace "$CLI_IP" dev up1 nud permanent lladdr \
    "$(bed_ns "$NS_CLI" cat /sys/class/net/up1/address)"
# at 20 ms each way, 500 Mbit/s needs a 2.5 MB window: allow 32 MB
for ns in "$NS_CLI" "$NS_SRV"; do
	bed_ns "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 33554432" \
	    net.ipv4.tcp_wmem="4096 16384 33554432"
done
say "bed: id=$BED_ID cli=$CLI_IP srv=$SRV_IP ref=$REF_SRV_IP tmp=$T"

# --- helpers -----------------------------------------------------------------

# lk_spawn NS LOG CMD...: start CMD in NS, its PID in $spawned
lk_spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	spawned=$!
	LK_PIDS+=("$spawned")
}

# lk_forget PID: no longer ours to stop (it has exited and been reaped)
lk_forget() {
	local -a keep=()
	local p
	for p in "${LK_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	LK_PIDS=("${keep[@]}")
}

LK_RUN=0
LK_CPU=$(($(nproc) - 1))
# lk_start ARGS...: linkem a0 b0 ARGS in the middle; sets LK_PID, LK_LOG
# and LK_START (its start, wall clock seconds)
lk_start() {
	local i
	LK_RUN=$((LK_RUN + 1))
	LK_LOG=$T/linkem-$LK_RUN.log
	# real-time priority, as lib.sh runs it: the delay must hold while
	# the rest of the machine is busy. On the last CPU, away from the
	# UDP sender pinned to CPU 0 below: a real-time linkem sharing its
	# CPU would starve it (270 instead of 500 Mbit/s sent).
	lk_spawn "$NS_MID" "$LK_LOG" chrt -f 10 taskset -c "$LK_CPU" \
	    "$LINKEM" a0 b0 "$@"
	LK_PID=$spawned
	for ((i = 0; i < 50; i++)); do
		grep -q '^linkem: ready' "$LK_LOG" && break
		bed_alive "$LK_PID" || break
		sleep 0.1
	done
	grep -q '^linkem: ready' "$LK_LOG" ||
	    bed_fail "linkem $* did not start: $(cat "$LK_LOG")"
	LK_START=$(sed -n 's/^linkem: ready .*start_realtime=//p' "$LK_LOG")
	say "linkem $*: $(grep '^linkem: ready' "$LK_LOG" | cut -d' ' -f3-)"
}

# lk_stop: SIGTERM; linkem must exit 0 after printing both directions
lk_stop() {
	local rc=0 i
	kill -TERM "$LK_PID"
	for ((i = 0; i < 50; i++)); do
		bed_alive "$LK_PID" || break
		sleep 0.1
	done
	bed_alive "$LK_PID" && kill -KILL "$LK_PID"
	wait "$LK_PID" || rc=$?
	lk_forget "$LK_PID"
	grep '^linkem: dir=' "$LK_LOG" | tail -n 2 | sed 's/^/  /'
	bed_expect "linkem run $LK_RUN exits 0 on SIGTERM (exit $rc)" \
	    [ "$rc" -eq 0 ]
	bed_expect "linkem run $LK_RUN printed its counters" \
	    [ "$(grep -c '^linkem: dir=' "$LK_LOG")" -ge 2 ]
}

# lk_counter DIR KEY: KEY from linkem's last counters line for DIR (a>b)
lk_counter() {
	grep "^linkem: dir=$1 " "$LK_LOG" | tail -n 1 |
	    tr ' ' '\n' | sed -n "s/^$2=//p"
}

# lk_cpu_ticks: linkem's user + system CPU so far, in clock ticks
lk_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$LK_PID/stat"; }

# lk_cpu_mark; ...; lk_cpu_since: linkem's CPU use in between, in percent
# of one core
lk_cpu_mark() {
	cpu_t0=$(lk_cpu_ticks)
	cpu_s0=$(date +%s.%N)
}
lk_cpu_since() {
	awk -v t="$(($(lk_cpu_ticks) - cpu_t0))" -v hz="$(getconf CLK_TCK)" \
	    -v s="$(calc "$(date +%s.%N) - $cpu_s0")" \
	    'BEGIN { printf "%.1f", 100 * t / hz / s }'
}


# probe COUNT INTERVAL [DST]: probe lines into $T/probe.out, prints the
# summary line
probe() {
	timeout 60 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
	    ping "${3:-$SRV_IP}" "$1" "$2" >"$T/probe.out"
	tail -n 1 "$T/probe.out"
}
median_of() { sed -n 's/.*median_ms=//p' <<<"$1"; }

# iperf ARGS...: iperf3 client through to the server's PORT; prints the
# receiver's Mbit/s (UDP: "Mbit/s lost packets out_of_order")
iperf() {
	timeout 60 ip netns exec "$NS_CLI" iperf3 -c "$@" -p "$PORT" --json \
	    >"$T/iperf.json" 2>&1 || true
	"$PY" - "$T/iperf.json" <<'EOF'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    e = j["end"]
    if j["start"]["test_start"]["protocol"] == "UDP":
        u = e["streams"][0]["udp"]
        print("%.1f %d %d %d" % (e["sum"]["bits_per_second"] / 1e6,
              u["lost_packets"], u["packets"], u["out_of_order"]))
    else:
        print("%.1f" % (e["sum_received"]["bits_per_second"] / 1e6))
except Exception as x:
    print("0 error: %s" % x)
EOF
}

lk_spawn "$NS_SRV" "$T/iperf3-server.log" iperf3 -s -p "$PORT"
for ((i = 0; i < 50; i++)); do
	bed_ns "$NS_SRV" ss -Hltn "sport = :$PORT" | grep -q . && break
	sleep 0.1
done

# --- 1, 2: delay -------------------------------------------------------------

lk_start
res=$(probe 20 0.05)
base=$(median_of "$res")
say "measured: no delay: $res"
kill -USR1 "$LK_PID"
sleep 0.2
bed_expect "SIGUSR1 prints the counters" grep -q '^linkem: dir=a>b' "$LK_LOG"
bed_expect "baseline RTT through linkem < 1 ms (it is $base)" \
    calc_true "$base > 0 && $base < 1"

# 3a (here, linkem is running): TCP without delay, each way
lk_cpu_mark
up0=$(iperf "$SRV_IP" -t 4 -O 1)
down0=$(iperf "$SRV_IP" -t 4 -O 1 -R)
cpu0=$(lk_cpu_since)
say "measured: TCP through linkem, no delay: up $up0 down $down0 Mbit/s;" \
    "linkem CPU $cpu0% of a core"
lk_stop

for d in "15 15" "10 25"; do
	read -r dab dba <<<"$d"
	lk_start --delay-ab "$dab" --delay-ba "$dba"
	res=$(probe 20 0.05)
	m=$(median_of "$res")
	want=$(calc "$base + $dab + $dba")
	say "measured: delay $dab/$dba: $res; want $want"
	bed_expect "delay $dab/$dba ms: median RTT $m = $want +- 1 ms" \
	    calc_true "$m >= $want - 1 && $m <= $want + 1"
	lost=$(grep -c ' lost$' "$T/probe.out" || true)
	bed_expect "delay $dab/$dba ms: no probe lost ($lost)" [ "$lost" -eq 0 ]
	lk_stop
done

# --- 3, 4: rate --------------------------------------------------------------

lk_start --delay-ab 20 --delay-ba 20
lk_cpu_mark
up20=$(iperf "$SRV_IP" -t 6 -O 2)
down20=$(iperf "$SRV_IP" -t 6 -O 2 -R)
cpu20=$(lk_cpu_since)
say "measured: TCP through linkem, 20 ms each way: up $up20" \
    "down $down20 Mbit/s; linkem CPU $cpu20% of a core"
for r in "no delay, up:$up0" "no delay, down:$down0" "20 ms, up:$up20" \
    "20 ms, down:$down20"; do
	bed_expect "TCP via linkem, ${r%%:*} ${r##*:} >= $LINKEM_MIN_MBIT" \
	    calc_true "${r##*:} >= $LINKEM_MIN_MBIT"
done

# MTU-sized frames (what a tbf-shaped uplink hands on), from a sender
# pinned to one CPU so that the kernel itself cannot reorder them
kill -USR1 "$LK_PID"
sleep 0.2
f0=$(lk_counter 'a>b' frames)
lk_cpu_mark
read -r urate ulost upkts uooo <<<"$(iperf "$SRV_IP" -u -b 500M -l 1400 \
    -t 4 -A 0)"
cpuu=$(lk_cpu_since)
kill -USR1 "$LK_PID"
sleep 0.2
fwd=$(($(lk_counter 'a>b' frames) - f0))
drops=0
for k in queue_full kernel_drops tx_err too_big; do
	drops=$((drops + $(lk_counter 'a>b' $k)))
done
say "measured: UDP 500 Mbit/s of 1400-byte datagrams, 20 ms: receiver" \
    "$urate Mbit/s, $ulost/$upkts lost (its socket too), $uooo out of" \
    "order; linkem forwarded $fwd frames, dropped $drops;" \
    "CPU $cpuu% of a core"
bed_expect "UDP 500 Mbit/s: linkem forwarded all ($fwd >= $upkts)" \
    [ "$fwd" -ge "$upkts" ]
bed_expect "UDP 500 Mbit/s: linkem dropped none ($drops)" [ "$drops" -eq 0 ]
bed_expect "UDP 500 Mbit/s: none out of order ($uooo)" [ "$uooo" -eq 0 ]
bed_expect "UDP 500 Mbit/s: receiver got >= 450 Mbit/s ($urate)" \
    calc_true "$urate >= 450"

lk_stop

# 4. tbf on the outer ends (as lib.sh shapes), the same on the ref pair
for ns in "$NS_CLI" "$NS_SRV"; do
	bed_shape "$ns" up1 40mbit
	bed_shape "$ns" ref 40mbit
done
ref_up=$(iperf "$REF_SRV_IP" -t 6 -O 2)
ref_down=$(iperf "$REF_SRV_IP" -t 6 -O 2 -R)
lk_start --delay-ab 20 --delay-ba 20
lk_cpu_mark
lk_up=$(iperf "$SRV_IP" -t 6 -O 2)
lk_down=$(iperf "$SRV_IP" -t 6 -O 2 -R)
cpus=$(lk_cpu_since)
kill -USR1 "$LK_PID"
sleep 0.2
late=$(lk_counter 'a>b' late_avg_us)
say "measured: tbf 40mbit alone: up $ref_up down $ref_down; + linkem 20 ms" \
    "each way: up $lk_up down $lk_down Mbit/s; linkem CPU $cpus% of a" \
    "core; a>b sent $late us late on average," \
    "$(lk_counter 'a>b' late_gt_1ms) over 1 ms late"
# the issue's bound is 1 ms; typically 50-200 us, more when the machine's
# other work delays linkem's wake-ups
bed_expect "tbf 40mbit + 20 ms: frames leave < 1 ms late on average ($late us)" \
    calc_true "$late < 1000"
bed_expect "tbf 40mbit + 20 ms, up: $lk_up within 10% of $ref_up" \
    calc_true "$lk_up >= 0.9 * $ref_up && $lk_up <= 1.1 * $ref_up"
bed_expect "tbf 40mbit + 20 ms, down: $lk_down within 10% of $ref_down" \
    calc_true "$lk_down >= 0.9 * $ref_down && $lk_down <= 1.1 * $ref_down"
lk_stop
for ns in "$NS_CLI" "$NS_SRV"; do
	tc -n "$ns" qdisc del dev up1 root
	tc -n "$ns" qdisc del dev ref root
done

# --- 5: loss -----------------------------------------------------------------

# a fixed seed: with no other frame on the wire, the same probes are lost
# each run (LINKEM_SEED to try others)
lk_start --loss-ab 10 --seed "${LINKEM_SEED:-1}"
res=$(probe 200 0.01)
lost=$(grep -c ' lost$' "$T/probe.out" || true)
pct=$(calc "100 * $lost / 200")
say "measured: loss 10% a>b: $res; $pct% lost"
lk_stop
lk_lost=$(lk_counter 'a>b' lost)
lk_lost_back=$(lk_counter 'b>a' lost)
bed_expect "loss 10%: $pct% of 200 probes lost, in 3..20" \
    calc_true "$pct >= 3 && $pct <= 20"
bed_expect "loss 10%: linkem counted the same $lost ($lk_lost)" \
    [ "$lk_lost" -eq "$lost" ]
bed_expect "loss 10%: none lost b>a ($lk_lost_back)" \
    [ "$lk_lost_back" -eq 0 ]

# --- 6: cut ------------------------------------------------------------------

lk_start --cut-at 2 --restore-at 4
probe 120 0.05 >/dev/null
lk_stop
# each probe by its send time since linkem's start: 0.2 s margins around
# the edges, for the start-up of the probe and the clocks' read-out
read -r before during after <<<"$(awk -v s="$LK_START" '
	/^seq=/ {
		split($2, a, "="); t = a[2] - s; ok = $3 != "lost"
		if (t < 1.8) { nb++; pb += ok }
		else if (t > 2.2 && t < 3.8) { nd++; pd += ok }
		else if (t > 4.2) { na++; pa += ok }
	}
	END { printf "%d/%d %d/%d %d/%d\n", pb, nb, pd, nd, pa, na }' \
    "$T/probe.out")"
say "measured: cut 2..4 s: passed before $before, during $during," \
    "after $after"
grep '^linkem: event=' "$LK_LOG" | sed 's/^/  /'
# all_passed / none_passed "PASSED/SENT": at least 20 probes, and all or
# none of them answered
all_passed() { [ "${1#*/}" -ge 20 ] && [ "${1%/*}" -eq "${1#*/}" ]; }
none_passed() { [ "${1#*/}" -ge 20 ] && [ "${1%/*}" -eq 0 ]; }
bed_expect "cut: probes before second 2 pass ($before)" all_passed "$before"
bed_expect "cut: probes in seconds 2-4 are lost ($during)" \
    none_passed "$during"
bed_expect "cut: probes after second 4 pass ($after)" all_passed "$after"
bed_expect "cut: linkem logged the cut and the restore" \
    [ "$(grep -c '^linkem: event=' "$LK_LOG")" -eq 2 ]

# on demand: SIGUSR2 cuts, the next SIGUSR2 restores
lk_start
res_on=$(probe 10 0.05)
kill -USR2 "$LK_PID"
sleep 0.2
res_cut=$(probe 10 0.05)
kill -USR2 "$LK_PID"
sleep 0.2
res_back=$(probe 10 0.05)
lk_stop
say "measured: SIGUSR2 cut: before: $res_on; cut: $res_cut; after: $res_back"
bed_expect "SIGUSR2: all 10 probes pass before" grep -q 'received=10 ' <<<"$res_on"
bed_expect "SIGUSR2: all 10 probes lost while cut" grep -q 'received=0 ' <<<"$res_cut"
bed_expect "SIGUSR2 again: all 10 probes pass" grep -q 'received=10 ' <<<"$res_back"
bed_expect "SIGUSR2: linkem logged a cut and a restore" \
    [ "$(grep -c '^linkem: event=' "$LK_LOG")" -eq 2 ]

bed_finish
