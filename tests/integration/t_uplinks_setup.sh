#!/bin/bash
# Uplinks that set themselves up: on a client with only addresses and a
# default route per uplink (BED_BARE), mpsocks-local's two [uplink]
# sections make a bonded download use both uplinks; stopping it restores
# the exact prior state (endpoints, limits, rules, routes of every table).
# A crash (SIGKILL) followed by a restart adopts the leftovers instead of
# adding twice, and its stop still restores the prior state.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
BED_BARE=1 bed_setup 20mbit 20mbit
big=$(bed_make_file big.bin 20)
bed_nginx_start
conf=$BED_TMP/uplinks.conf
up_conf "$conf" dsl:up1 lte:up2
up_state "$NS_CLI" >"$BED_TMP/before.txt"
bed_expect "bare client: no MPTCP endpoint before the start" \
    [ "$(ip -n "$NS_CLI" mptcp endpoint show | grep -c .)" -eq 0 ]

bed_server_start
up_local_start "$conf"
t0=$SECONDS
bed_expect "mpsocks-local made one endpoint per uplink" \
    up_wait_endpoints "$NS_CLI" 2
say "state while running:"
up_state "$NS_CLI" | grep -E 'id |proto 213|^add_addr' | sed 's/^/  /'
bed_expect "endpoints: up1 subflow, up2 subflow" [ "$(up_endpoints \
    "$NS_CLI")" = "10.$BED_B.1.2 subflow
10.$BED_B.2.2 subflow" ]
bed_expect "a source rule per address, proto 213" \
    [ "$(ip -n "$NS_CLI" rule show | grep -c 'proto 213')" -eq 2 ]
bed_expect "limits raised to 2 subflows" \
    bash -c "ip -n '$NS_CLI' mptcp limits show | grep -q 'subflows 2'"
# it used to be written only when the gap text changed, and "no gaps"
# equals the empty text it started with: never at start
bed_expect "event=uplinks_ready at start, once set-up is complete" \
    grep -q 'event=uplinks_ready uplinks=2' "$BED_TMP/local.log"

before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/dl" --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url big.bin)") || say "curl: $?"
after=$(bed_uplink_rx)
read -r code size rate secs <<<"${res:-0 0 0 0}"
shares=$(bed_shares "$before" "$after")
say "measured: download HTTP $code $size bytes in $secs s = $(mbit "$rate") Mbit/s, shares % (up1 up2): $shares"
bed_expect "download is byte-exact" bed_same_file "$big" "$BED_TMP/out/dl"
read -r s1 s2 <<<"$shares"
bed_expect "up1 carried >= 20% of the download" calc_true "$s1 >= 20"
bed_expect "up2 carried >= 20% of the download" calc_true "$s2 >= 20"

# a gap and its end: up2 loses its carrier (far side down), comes back.
# Removal lines named uplink=- instead of the endpoint's uplink.
ready() { grep -c 'event=uplinks_ready' "$BED_TMP/local.log" || true; }
while ((SECONDS - t0 < 11)); do sleep 1; done	# past the first recheck
bed_expect "one event=uplinks_ready so far, not one per 10 s recheck" \
    [ "$(ready)" -eq 1 ]
ip -n "$NS_SRV" link set up2 down
sleep 1
bed_expect "up2 down: its endpoint's removal names the uplink" grep -q \
    "event=uplink_endpoint_del uplink=lte addr=10.$BED_B.2.2 " \
    "$BED_TMP/local.log"
ip -n "$NS_SRV" link set up2 up
up_wait_endpoints "$NS_CLI" 2 || true
sleep 0.5
bed_expect "up2 back: event=uplinks_ready again" [ "$(ready)" -eq 2 ]

bed_stop local
up_state "$NS_CLI" >"$BED_TMP/after.txt"
bed_expect "after a stop: exactly the prior state" \
    up_same_state "$BED_TMP/before.txt" "$BED_TMP/after.txt"
bed_expect "the stop was logged" grep -q 'event=uplinks_stop' \
    "$BED_TMP/local.log"

# crash, restart: adopt, do not duplicate
up_local_start "$conf"
up_wait_endpoints "$NS_CLI" 2 || true
pid=$(bed_pid local)
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
BED_PID_local=		# reaped here: bed_stop must not wait again
bed_expect "a crash leaves its entries behind (2 endpoints)" \
    [ "$(ip -n "$NS_CLI" mptcp endpoint show | grep -c .)" -eq 2 ]
mv "$BED_TMP/local.log" "$BED_TMP/local-crashed.log"
up_local_start "$conf"
sleep 1
bed_expect "restart after a crash: still 2 endpoints" \
    [ "$(ip -n "$NS_CLI" mptcp endpoint show | grep -c .)" -eq 2 ]
bed_expect "restart after a crash: still 2 rules" \
    [ "$(ip -n "$NS_CLI" rule show | grep -c 'proto 213')" -eq 2 ]
bed_expect "restart after a crash: 4 own routes (2 per table)" \
    [ "$(ip -n "$NS_CLI" route show table all | grep -c 'proto 213')" -eq 4 ]
bed_stop local
up_state "$NS_CLI" >"$BED_TMP/after2.txt"
bed_expect "crash + restart + stop: limits are the restart's, rest as before" \
    up_same_state <(grep -v subflows "$BED_TMP/before.txt") \
    <(grep -v subflows "$BED_TMP/after2.txt")
bed_finish
