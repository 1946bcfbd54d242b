#!/bin/bash
# The warm pool's cost while nothing uses it, over dsl=20mbit/15ms +
# lte=40mbit/35ms set up by [uplink] sections (so pooled tunnels start on
# both uplinks and join the other one, as a user's do):
#   - idle tunnels held at the default settings (mpsocks-local's
#     /metrics, and the concentrator's mpsocks_idle_tunnels);
#   - bytes per minute the pool sends and receives: the client's uplink
#     interface counters over RUNS windows of BENCH_POOL_WINDOW (60) s,
#     next to one window with --no-pool (what the bed sends anyway), and
#     the tunnels the pool renewed meanwhile (its debug log);
#   - memory per idle tunnel on each side: the RSS of both daemons with
#     pool_min = pool_max = BENCH_POOL_MEM (16) minus their RSS with
#     pool_min = 0, divided by that count; both daemons fresh each run.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

WIN=${BENCH_POOL_WINDOW:-60}
MEM_N=${BENCH_POOL_MEM:-16}
bed_require_base
bed_require_daemons linkem
BED_BARE=1 bed_setup "dsl=20mbit/15ms" "lte=40mbit/35ms" >/dev/null
SRV_CTL=127.0.0.1:$((9000 + $(rand_u16) % 1000))
uplinks='[uplink dsl]\ninterface = up1\n[uplink lte]\ninterface = up2\n'
printf '%b' "$uplinks" >"$BED_TMP/uplinks.conf"
printf '[local]\npool_min = 0\npool_max = %s\n%b' "$MEM_N" "$uplinks" \
    >"$BED_TMP/pool0.conf"
printf '[local]\npool_min = %s\npool_max = %s\n%b' "$MEM_N" "$MEM_N" \
    "$uplinks" >"$BED_TMP/poolN.conf"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# wire: bytes on both uplinks, both directions, of the client
wire() {
	local rx tx
	rx=$(bed_uplink_rx)
	tx=$(bed_uplink_tx)
	echo "$rx $tx" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i;
	    print s }'
}
srv_idle() { metric "$NS_SRV" "$SRV_CTL" mpsocks_idle_tunnels; }
# local_up CONF [ARGS...]: mpsocks-local with CONF, its endpoints in place
local_up() {
	local conf=$1 i
	shift
	bed_local_start -c "$conf" "$@"
	for ((i = 0; i < 50; i++)); do
		[ "$(ip -n "$NS_CLI" mptcp endpoint show | grep -c .)" -eq 2 ] &&
		    break
		sleep 0.1
	done
}
# idle_window NAME SECONDS: the client's uplink bytes over SECONDS,
# scaled to a minute, into $BED_TMP/w-NAME; the pool's renewals (tunnels
# that became ready) into $BED_TMP/n-NAME
idle_window() {
	local name=$1 s=$2 b0 b1 l0 l1
	b0=$(wire)
	l0=$(grep -c 'event=pool_ready' "$BED_TMP/local.log" || true)
	sleep "$s"
	b1=$(wire)
	l1=$(grep -c 'event=pool_ready' "$BED_TMP/local.log" || true)
	calc "($b1 - $b0) * 60 / $s" >>"$BED_TMP/w-$name"
	echo >>"$BED_TMP/w-$name"
	calc "($l1 - $l0) * 60 / $s" >>"$BED_TMP/n-$name"
	echo >>"$BED_TMP/n-$name"
}

# --- idle tunnels and their traffic, default settings -------------------------
bed_server_start -q --control "$SRV_CTL"
local_up "$BED_TMP/uplinks.conf"
pool_settle 10 || bed_fail "the warm pool did not fill"
sleep 2				# the last ones' joins
ready=$(metric "$NS_CLI" "$LOCAL_CTL" 'mpsocks_pool_tunnels{state="ready"}')
sf=$(metric "$NS_CLI" "$LOCAL_CTL" mpsocks_pool_subflows)
idle=$(srv_idle)
bounds=$(sed -n 's/.*warm pool: \(.*\)$/\1/p' "$BED_TMP/local.log" | head -n1)
for ((r = 0; r < RUNS; r++)); do
	idle_window pool "$WIN"
done
bed_stop local
cp "$BED_TMP/local.log" "$BED_TMP/local-idle.log"
local_up "$BED_TMP/uplinks.conf" --no-pool
sleep 2
idle_window nopool $(((WIN + 2) / 3))
bed_stop local
bed_stop server

# --- memory per idle tunnel ---------------------------------------------------
for ((r = 0; r < RUNS; r++)); do
	bed_server_start -q --control "$SRV_CTL"
	local_up "$BED_TMP/pool0.conf" -q
	sleep 2
	l0=$(rss_kib "$(bed_pid local)")
	s0=$(rss_kib "$(bed_pid server)")
	bed_stop local
	local_up "$BED_TMP/poolN.conf" -q
	pool_settle 20 || bed_fail "the pool did not reach $MEM_N tunnels"
	for ((i = 0; i < 50; i++)); do
		[ "$(srv_idle)" -ge "$MEM_N" ] && break
		sleep 0.1
	done
	[ "$(srv_idle)" -ge "$MEM_N" ] ||
	    bed_fail "the concentrator holds $(srv_idle) idle tunnels, not $MEM_N"
	sleep 2				# joins done, nothing in flight
	l1=$(rss_kib "$(bed_pid local)")
	s1=$(rss_kib "$(bed_pid server)")
	calc "($l1 - $l0) / $MEM_N" >>"$BED_TMP/mem-local"
	echo >>"$BED_TMP/mem-local"
	calc "($s1 - $s0) / $MEM_N" >>"$BED_TMP/mem-server"
	echo >>"$BED_TMP/mem-server"
	bed_stop local
	bed_stop server
done

echo "## The warm pool's cost (idle)"
echo
echo "dsl=20mbit/15ms + lte=40mbit/35ms, set up by mpsocks-local's [uplink]"
echo "sections; nothing uses the proxy meanwhile."
echo
echo "| | |"
echo "|---|---:|"
printf '| settings (defaults) | %s |\n' "$bounds"
printf '| idle tunnels held (mpsocks_pool_tunnels ready; concentrator mpsocks_idle_tunnels) | %s; %s |\n' \
    "$ready" "$idle"
printf '| their subflows (mpsocks_pool_subflows) | %s |\n' "$sf"
printf '| bytes per minute on the uplinks, both directions, pool idle | %.0f |\n' \
    "$(median <"$BED_TMP/w-pool")"
printf '| tunnels renewed per minute meanwhile | %.1f |\n' \
    "$(median <"$BED_TMP/n-pool")"
printf '| bytes per minute with `--no-pool` (the bed alone) | %.0f |\n' \
    "$(median <"$BED_TMP/w-nopool")"
printf '| memory per idle tunnel, mpsocks-local (RSS) | %.1f KiB |\n' \
    "$(median <"$BED_TMP/mem-local")"
printf '| memory per idle tunnel, mpsocks-server (RSS) | %.1f KiB |\n' \
    "$(median <"$BED_TMP/mem-server")"
echo
echo "Bytes: the client's interface counters (frames, headers included)"
echo "summed over both uplinks, sent and received, over $RUNS windows of $WIN s"
echo "(median; the --no-pool figure is one window of $(((WIN + 2) / 3)) s, scaled to"
echo "a minute). Memory: RSS with pool_min = pool_max = $MEM_N minus RSS with"
echo "pool_min = 0, divided by $MEM_N, both daemons fresh each run (median of"
echo "$RUNS); user space only, the kernel's socket memory is not in it."
echo
