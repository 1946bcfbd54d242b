#!/bin/bash
# Kernel facts behind fast failover (issue 16), measured with the kernel's
# own MPTCP and no mpsocks daemon: one long MPTCP download (python,
# tests/tools/kfacts.py) from the concentrator namespace to the client over
# two uplinks, and path-manager actions or linkem cuts during it. Every
# 20 ms the client logs its app bytes and, per subflow (MPTCP_TCPINFO +
# MPTCP_SUBFLOW_ADDRS), the local address and bytes_received; the analysis
# prints kB per 100 ms around each event, the longest read gap, the subflow
# set over time and when each address carries bytes again. nstat's
# MPTcpExt counters (client and concentrator) are diffed per experiment.
#
# Bed (lib.sh, linkem on both uplinks): up1 20 Mbit/s 15 ms one way, the
# client's main route, no endpoint (the initial subflows start there); up2
# 40 Mbit/s 35 ms, table 102, endpoint "subflow". Limits 8/8 both sides.
#
#   sudo tests/bench/kfacts_failover.sh [EXPERIMENT...]
#
# Experiments: del_other del_initial del_initial_ep backup cut_other
# cut_initial cut_other_ep cut_initial_ep blackhole (default: all, in that
# order; blackhole last, it may leave MPTCP disabled in the namespace).
# KFACTS_LOG=DIR keeps the raw logs. Needs build/linkem (make build/linkem).
set -eu
. "$(dirname "$0")/../integration/lib.sh"

KF=$BED_REPO/tests/tools/kfacts.py
bed_require_base
[ -x "$BED_REPO/build/linkem" ] || bed_skip "build/linkem not built"
BED_LINKEM=1 bed_setup "20mbit/15ms" "40mbit/35ms" >/dev/null
B=$BED_B
A1=10.$B.1.2
A2=10.$B.2.2
PORT=$((40000 + $(rand_u16) % 10000))
CLI() { ip -n "$NS_CLI" "$@"; }
bed_spawn kserve "$NS_SRV" "$BED_TMP/serve.log" "$PY" "$KF" serve \
    "$BED_PUB" "$PORT"
bed_wait_port "$NS_SRV" "$PORT" 10 || bed_fail "kfacts server did not start"
say "kernel $(uname -r); $(ip -V)"
say "client sysctls: $(bed_ns "$NS_CLI" sysctl -n \
    net.mptcp.blackhole_timeout) blackhole_timeout," \
    "$(bed_ns "$NS_CLI" sysctl -n \
    net.mptcp.syn_retrans_before_tcp_fallback)" \
    "syn_retrans_before_tcp_fallback, stale_loss_cnt" \
    "$(bed_ns "$NS_CLI" sysctl -n net.mptcp.stale_loss_cnt)"

EVENTS=
ev() { echo "$(date +%s.%N) $1" >>"$EVENTS"; say "  + $1"; }
ep_id() { CLI mptcp endpoint show | awk -v a="$1" '$1 == a { print $3 }'; }
# the commands each experiment uses, printed as run
run() { say "  \$ $*"; "$@"; }
nstat_snap() { bed_ns "$1" nstat -asz 'MPTcp*' | awk 'NR > 1 { print $1, $2 }'; }
nstat_diff() {
	awk 'NR == FNR { a[$1] = $2; next }
	    $2 - a[$1] != 0 { printf " %s=%d", substr($1, 9), $2 - a[$1] }' \
	    "$1" "$2"
}

# exp NAME SECONDS ACTIONS: a download of SECONDS, ACTIONS (a function)
# run beside it; then the analysis
exp() {
	local name=$1 secs=$2 fn=$3 log pid
	log=$BED_TMP/$name.jsonl
	EVENTS=$BED_TMP/$name.events
	: >"$EVENTS"
	say ""
	say "=== $name"
	nstat_snap "$NS_CLI" >"$BED_TMP/nc0"
	nstat_snap "$NS_SRV" >"$BED_TMP/ns0"
	! declare -F "p_$name" >/dev/null || "p_$name"
	bed_spawn "r_$name" "$NS_CLI" "$BED_TMP/$name.recv.log" "$PY" "$KF" \
	    recv "$BED_PUB" "$PORT" "$secs" "$log" up1 up2
	T0=$(date +%s.%N)
	"$fn"
	pid=$(bed_pid "r_$name")
	wait "$pid" || say "  receiver failed: $(cat "$BED_TMP/$name.recv.log")"
	bed_forget_pid "$pid"
	nstat_snap "$NS_CLI" >"$BED_TMP/nc1"
	nstat_snap "$NS_SRV" >"$BED_TMP/ns1"
	"$PY" "$KF" analyse "$log" "$EVENTS" "$A1" "$A2" | sed 's/^/  /'
	say "  nstat client:$(nstat_diff "$BED_TMP/nc0" "$BED_TMP/nc1")"
	say "  nstat server:$(nstat_diff "$BED_TMP/ns0" "$BED_TMP/ns1")"
	say "  endpoints after: $(CLI mptcp endpoint show | tr '\n' ';')"
	[ -z "${KFACTS_LOG-}" ] || { mkdir -p "$KFACTS_LOG"
	    cp "$log" "$EVENTS" "$KFACTS_LOG"/; }
}
at() {
	local d
	d=$(calc "$T0 + $1 - $(date +%s.%N)")
	calc_true "$d > 0" && sleep "$d"
	return 0
}
ss_snap() { bed_ns "$NS_CLI" ss -HtiM "dport = :$PORT" | sed 's/^/    /'; }

a_del_other() {
	at 5; run CLI mptcp endpoint delete id "$(ep_id "$A2")"; ev del_ep2
	at 5.5; ss_snap
	at 12; run CLI mptcp endpoint add "$A2" dev up2 subflow; ev add_ep2
}
a_del_initial() {
	at 5; run CLI mptcp endpoint delete id 0 "$A1"; ev del_id0_A1
	at 5.5; ss_snap
	at 12; run CLI mptcp endpoint add "$A1" dev up1 subflow; ev add_ep1
	at 19.5; CLI mptcp endpoint delete id "$(ep_id "$A1")"
}
# an endpoint on the initial subflow's address from the start
p_del_initial_ep() { run CLI mptcp endpoint add "$A1" dev up1 subflow; }
a_del_initial_ep() {
	at 5; run CLI mptcp endpoint delete id "$(ep_id "$A1")"; ev del_ep1
	at 5.5; ss_snap
	at 12; run CLI mptcp endpoint add "$A1" dev up1 subflow; ev add_ep1
	at 19.5; CLI mptcp endpoint delete id "$(ep_id "$A1")"
}
a_backup() {
	at 5; run CLI mptcp endpoint change id "$(ep_id "$A2")" backup
	ev backup_ep2
	at 12; run CLI mptcp endpoint change id "$(ep_id "$A2")" nobackup
	ev nobackup_ep2
}
a_cut_other() {
	at 5; bed_cut 2; ev cut_up2
	at 17; bed_restore 2; ev restore_up2
}
a_cut_initial() {
	at 5; bed_cut 1; ev cut_up1
	at 17; bed_restore 1; ev restore_up1
}
a_cut_other_ep() {
	at 5; bed_cut 2; run CLI mptcp endpoint delete id "$(ep_id "$A2")"
	ev cut_up2+del_ep2
	at 17; bed_restore 2; run CLI mptcp endpoint add "$A2" dev up2 subflow
	ev restore_up2+add_ep2
}
a_cut_initial_ep() {
	at 5; bed_cut 1; run CLI mptcp endpoint delete id 0 "$A1"
	ev cut_up1+del_id0_A1
	at 17; bed_restore 1; run CLI mptcp endpoint add "$A1" dev up1 subflow
	ev restore_up1+add_ep1
	at 31.5; CLI mptcp endpoint delete id "$(ep_id "$A1")"
}

# blackhole: the MP_CAPABLE SYNs are lost (up1 cut), the link returns
# before the first plain-TCP retry; then a second connection on a clean
# path. Once with the default blackhole_timeout, once with 0.
bh_try() {
	local what=$1 cut=$2 res
	nstat_snap "$NS_CLI" >"$BED_TMP/nc0"
	bed_cut 1
	bed_ns "$NS_CLI" "$PY" "$KF" connect "$BED_PUB" "$PORT" \
	    >"$BED_TMP/bh1" &
	local p=$!
	sleep "$cut"
	bed_restore 1
	wait "$p"
	res=$(bed_ns "$NS_CLI" "$PY" "$KF" connect "$BED_PUB" "$PORT")
	nstat_snap "$NS_CLI" >"$BED_TMP/nc1"
	say "  $what: SYNs lost for $cut s: $(cat "$BED_TMP/bh1");" \
	    "next connection on a clean path: $res"
	say "    nstat client:$(nstat_diff "$BED_TMP/nc0" "$BED_TMP/nc1")"
}
x_blackhole() {
	say ""
	say "=== blackhole"
	# SYNs go at 0, 1, 2, 3, 4, 5 s (tcp_syn_linear_timeouts); the first
	# three carry MP_CAPABLE. Cut 4.5 s: plain SYNs at 3 and 4 s are lost too;
	# cut 2.5 s: the MP_CAPABLE SYNs are lost, the first plain one passes
	bh_try "blackhole_timeout=3600" 4.5
	bh_try "blackhole_timeout=3600" 2.5
	run bed_ns "$NS_CLI" sysctl -qw net.mptcp.blackhole_timeout=0
	say "  right after setting 0: $(bed_ns "$NS_CLI" "$PY" "$KF" \
	    connect "$BED_PUB" "$PORT")"
	bh_try "blackhole_timeout=0" 2.5
	bh_try "blackhole_timeout=0" 2.5
}

all="del_other del_initial del_initial_ep backup cut_other cut_initial
cut_other_ep cut_initial_ep blackhole"
for e in ${@:-$all}; do
	case $e in
	del_* | backup) exp "$e" 20 "a_$e" ;;
	cut_*) exp "$e" 32 "a_$e" ;;
	blackhole) x_blackhole ;;
	*) bed_fail "unknown experiment $e" ;;
	esac
done
