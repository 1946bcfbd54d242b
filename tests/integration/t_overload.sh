#!/bin/bash
# Overload: both daemons started with 256 descriptors (prlimit), 1,000
# clients that connect and send nothing, to mpsocks-local and to the
# concentrator's tunnel port, held open. Both daemons must:
#   - stay up, and use under 5 % CPU over 5 s once the flood is held
#     (utime + stime from /proc/PID/stat);
#   - answer the control port (curl /metrics) during the flood: the
#     descriptors must not all go to the flood;
#   - serve a new client once the flood ends (a download through the
#     tunnel, byte-exact);
#   - return to their baseline descriptor count.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
command -v prlimit >/dev/null || bed_skip "no prlimit (util-linux)"
bed_setup 20mbit 40mbit
bed_make_file small.bin 1 >/dev/null
bed_nginx_start

NOFILE=256
FLOOD=1000
HOLD_S=25
CTL=$((40000 + $(rand_u16) % 10000))
SCTL=$((CTL + 1))
# the pre-auth budget would drop a flood from one source long before the
# descriptors run out: open it up, and keep what is accepted for 30 s
sconf=$BED_TMP/server-flood.conf
printf '[server]\npreauth_max = 4096\npreauth_per_source = 4096\npreauth_early_drop = 4096\n' \
    >"$sconf"
export BED_WRAP="prlimit --nofile=$NOFILE:$NOFILE"
bed_server_start --control "127.0.0.1:$SCTL" -c "$sconf" \
    --handshake-timeout 30
bed_local_start --control "127.0.0.1:$CTL" --handshake-timeout 30
unset BED_WRAP
spid=$(bed_pid server)
lpid=$(bed_pid local)
bed_wait_port "$NS_CLI" "$CTL" 5 || bed_fail "no local control port"
bed_wait_port "$NS_SRV" "$SCTL" 5 || bed_fail "no server control port"
say "measured: limits: local $(grep 'open files' "/proc/$lpid/limits" | awk '{print $4}'), server $(grep 'open files' "/proc/$spid/limits" | awk '{print $4}')"

tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
metrics_ok() {	# metrics_ok NS PORT
	bed_ns "$1" curl -sS --max-time 5 "http://127.0.0.1:$2/metrics" |
	    grep -q '^# TYPE mpsocks_connections_total counter'
}
fetch_ok() {
	local res
	res=$(bed_curl "$BED_TMP/out/small" --socks5 "127.0.0.1:$BED_LOCAL_PORT" \
	    "$(bed_url_ip small.bin)" 2>&1) || { say "  curl: $res"; return 1; }
	say "  curl: $res"
	[ "${res%% *}" = 200 ] &&
	    bed_same_file "$BED_TMP/www/small.bin" "$BED_TMP/out/small"
}

bed_expect "a client is served before the flood (control)" fetch_ok
sleep 1
base_l=$(fds "$lpid")
base_s=$(fds "$spid")
say "measured: baseline fds: local $base_l, server $base_s"

# --- the flood ------------------------------------------------------------------
bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" hold 127.0.0.1 \
    "$BED_LOCAL_PORT" "$FLOOD" "$HOLD_S" >"$BED_TMP/flood-local.out" 2>&1 &
fl=$!
bed_ns "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" hold "$BED_PUB" \
    "$BED_SRV_PORT" "$FLOOD" "$HOLD_S" >"$BED_TMP/flood-server.out" 2>&1 &
fs=$!
# held: both clients have opened all their connections
for _ in $(seq 60); do
	[ -s "$BED_TMP/flood-local.out" ] && [ -s "$BED_TMP/flood-server.out" ] &&
	    break
	sleep 0.5
done
say "measured: flood to mpsocks-local: $(head -1 "$BED_TMP/flood-local.out")"
say "measured: flood to the concentrator: $(head -1 "$BED_TMP/flood-server.out")"
say "measured: fds during the flood: local $(fds "$lpid"), server $(fds "$spid")"

# the control port first: a connection it cannot take must not make it
# spin either, so the CPU is measured after
bed_expect "flood held: mpsocks-local answers /metrics" metrics_ok "$NS_CLI" "$CTL"
bed_expect "flood held: mpsocks-server answers /metrics" metrics_ok "$NS_SRV" "$SCTL"
l0=$(cpu_ticks "$lpid") s0=$(cpu_ticks "$spid")
sleep 5
l1=$(cpu_ticks "$lpid") s1=$(cpu_ticks "$spid")
lcpu=$(calc "($l1 - $l0) / $tick / 5 * 100")
scpu=$(calc "($s1 - $s0) / $tick / 5 * 100")
say "measured: CPU over 5 s of held flood: local ${lcpu} %, server ${scpu} %"
bed_expect "flood held: mpsocks-local under 5 % CPU (${lcpu} %)" calc_true "$lcpu < 5"
bed_expect "flood held: mpsocks-server under 5 % CPU (${scpu} %)" calc_true "$scpu < 5"
bed_expect "flood held: mpsocks-local still running" bed_alive "$lpid"
bed_expect "flood held: mpsocks-server still running" bed_alive "$spid"

# --- after the flood ----------------------------------------------------------------
wait "$fl" || true
wait "$fs" || true
say "measured: flood clients at the end: local $(tail -1 "$BED_TMP/flood-local.out"), server $(tail -1 "$BED_TMP/flood-server.out")"
ok=0
for _ in 1 2 3 4 5; do
	if fetch_ok; then ok=1; break; fi
	sleep 1
done
bed_expect "after the flood: a new client is served" [ "$ok" -eq 1 ]
# the flood's clients have closed: what was accepted goes with them
# (at the latest at the 30 s handshake timeouts); wait for the counts
for _ in $(seq 40); do
	[ "$(fds "$lpid")" -le "$base_l" ] && [ "$(fds "$spid")" -le "$base_s" ] &&
	    break
	sleep 1
done
now_l=$(fds "$lpid") now_s=$(fds "$spid")
say "measured: fds after: local $now_l (baseline $base_l), server $now_s (baseline $base_s)"
bed_expect "after the flood: mpsocks-local back to its baseline fds" [ "$now_l" -le "$base_l" ]
bed_expect "after the flood: mpsocks-server back to its baseline fds" [ "$now_s" -le "$base_s" ]
bed_expect "mpsocks-local still running" bed_alive "$lpid"
bed_expect "mpsocks-server still running" bed_alive "$spid"
for d in local server; do
	say "mpsocks-$d log, accept and drop lines:"
	grep -E 'accept|drop|budget|no_fds' "$BED_TMP/$d.log" |
	    sed 's/ peer=[^ ]*//; s/^[^ ]* [^ ]* //' |
	    sort | uniq -c | sort -rn | head -10 | sed 's/^/  /'
done
bed_finish
