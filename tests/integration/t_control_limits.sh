#!/bin/bash
# The control port under descriptor exhaustion and hostile clients:
#   - with 64 descriptors (prlimit), 80 held proxy connections and 3
#     connects to the control port, mpsocks-local used to spin: 2.9 s of
#     CPU in 3 s and 1.28 million "Error from accept()" lines in 5 s. The
#     proxy now holds at most (64 - 16) / 2 connections (event=fd_budget),
#     so 80 held control connections are what runs the descriptors out
#     here; the control listener pauses (event=accept_pause
#     port=control): under 5 % CPU over 3 s, a handful of log lines;
#     once they go, /metrics answers again;
#   - at most 64 control connections (on mpsocks-server, whose descriptors
#     do not run out first): of 70 held, 6 are closed at once, and
#     /metrics answers once they are released;
#   - a request dripped one byte every 0.5 s (evhttp's timeout restarts on
#     each byte) is cut at the 10 s deadline from accept.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_daemons
command -v prlimit >/dev/null || bed_skip "no prlimit (util-linux)"
bed_setup 20mbit 40mbit

CTL=$((40000 + $(rand_u16) % 10000))
SCTL=$((CTL + 1))
bed_server_start --control "127.0.0.1:$SCTL"
BED_WRAP="prlimit --nofile=64:64" bed_local_start --control "127.0.0.1:$CTL"
bed_wait_port "$NS_CLI" "$CTL" 5 || bed_fail "no control port"
lpid=$(bed_pid local)
say "measured: mpsocks-local's limit: $(grep 'open files' "/proc/$lpid/limits")"

tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
fds() { ls "/proc/$1/fd" | wc -l; }
errlines() { grep -c 'Error from accept\|event=accept_' "$BED_TMP/local.log" || true; }
hold() {	# hold OUTFILE PORT N SECONDS [HEX]: in the background
	local out=$1
	shift
	bed_ns "${HOLD_NS:-$NS_CLI}" "$PY" "$BED_LIB_DIR/nettool.py" hold \
	    127.0.0.1 "$@" >"$out" 2>&1 &
}
metrics_ok() {	# metrics_ok [NS PORT]
	bed_ns "${1:-$NS_CLI}" curl -sS --max-time 5 \
	    "http://127.0.0.1:${2:-$CTL}/metrics" |
	    grep -q '^# TYPE mpsocks_connections_total counter'
}

sleep 0.5
base_fd=$(fds "$lpid")
say "measured: baseline fds $base_fd"
bed_expect "control port answers (control)" metrics_ok

# --- out of descriptors ---------------------------------------------------------
hold "$BED_TMP/hold-proxy.out" "$BED_LOCAL_PORT" 80 12
hold_pid=$!
sleep 2.5
hold "$BED_TMP/hold-ctl.out" "$CTL" 80 8
sleep 2.5
l0=$(errlines)
c0=$(cpu_ticks "$lpid")
sleep 3
c1=$(cpu_ticks "$lpid")
l1=$(errlines)
cpu=$(calc "($c1 - $c0) / $tick")
say "measured: fds $(fds "$lpid"), CPU ${cpu}s in 3 s, $((l1 - l0)) accept log lines in 3 s"
say "measured: proxy clients: $(head -1 "$BED_TMP/hold-proxy.out")"
say "measured: control clients: $(head -1 "$BED_TMP/hold-ctl.out")"
bed_expect "out of fds: under 5 % CPU (${cpu}s of 3 s)" calc_true "$cpu < 0.15"
bed_expect "out of fds: accept errors are not logged at line rate ($((l1 - l0)) lines)" \
    [ $((l1 - l0)) -lt 100 ]
bed_expect "out of fds: the control listener says it pauses" \
    grep -q 'event=accept_pause why=no_fds port=control' "$BED_TMP/local.log"
bed_expect "out of fds: the proxy kept to its budget" \
    grep -q 'event=fd_budget nofile=64' "$BED_TMP/local.log"
bed_expect "mpsocks-local still running" bed_alive "$lpid"
wait "$hold_pid" || true
sleep 3
bed_expect "descriptors back: /metrics answers" metrics_ok

# --- the connection cap ------------------------------------------------------------
bed_wait_port "$NS_SRV" "$SCTL" 5 || bed_fail "no server control port"
HOLD_NS=$NS_SRV hold "$BED_TMP/hold-cap.out" "$SCTL" 70 2
cap_pid=$!
wait "$cap_pid" || true
say "measured: 70 control connections: $(tr '\n' ' ' <"$BED_TMP/hold-cap.out")"
early=$(sed -n 's/.*closed_early=\([0-9]*\).*/\1/p' "$BED_TMP/hold-cap.out")
bed_expect "cap: 6 of 70 closed at once (got ${early:-none})" [ "${early:-0}" -eq 6 ]
bed_expect "cap: logged" grep -q 'event=control_refused why=max_connections' \
    "$BED_TMP/server.log"
sleep 1
bed_expect "cap: /metrics answers once they are gone" metrics_ok "$NS_SRV" "$SCTL"


# --- the absolute deadline -------------------------------------------------------
out=$(bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" drip 127.0.0.1 "$CTL" 20) ||
    true
say "measured: dripped request: $out"
secs=$(echo "$out" | sed -n 's/^closed after=\([0-9.]*\)/\1/p')
bed_expect "deadline: a dripping request is cut (${secs:-never})" [ -n "$secs" ]
bed_expect "deadline: at about 10 s (${secs:-never})" \
    calc_true "${secs:-99} >= 9 && ${secs:-99} < 13"
bed_expect "deadline: logged" grep -q 'event=control_timeout why=deadline' \
    "$BED_TMP/local.log"

sleep 1
now_fd=$(fds "$lpid")
say "measured: fds at the end $now_fd (baseline $base_fd)"
bed_expect "fds back to the baseline" [ "$now_fd" -le "$base_fd" ]
bed_expect "mpsocks-local still running" bed_alive "$lpid"
for d in local server; do
	say "mpsocks-$d log, control and accept lines:"
	grep -E 'control|accept' "$BED_TMP/$d.log" | sort | uniq -c |
	    sort -rn | head -20 | sed 's/^/  /'
done
bed_finish
