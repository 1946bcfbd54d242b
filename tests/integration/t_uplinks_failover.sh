#!/bin/bash
# Cut the active uplink (link down on the far side, as a dead DSL modem)
# during a ~30 s download through mpsocks-local with daemon-made uplinks:
# the download completes byte-exact over the other uplink, and the daemon
# withdraws the dead uplink's endpoint.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
BED_BARE=1 bed_setup 10mbit 10mbit
big=$(bed_make_file big.bin 40)		# ~16 s bonded, ~30 s with the cut
bed_nginx_start
conf=$BED_TMP/uplinks.conf
up_conf "$conf" dsl:up1 lte:up2
B=$BED_B
bed_server_start
up_local_start "$conf"
bed_expect "two endpoints at the start" up_wait_endpoints "$NS_CLI" 2

rx0=$(bed_uplink_rx)
bed_ns "$NS_CLI" curl -sS --max-time 120 -o "$BED_TMP/out/dl" \
    -w '%{http_code} %{size_download} %{time_total}\n' \
    --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url big.bin)" \
    >"$BED_TMP/curl.out" 2>&1 &
curl_pid=$!
sleep 4
rx1=$(bed_uplink_rx)
say "cutting up1 (far side down) after 4 s; rx so far (up1 up2): $rx1"
ip -n "$NS_SRV" link set up1 down
cut_at=$(date +%s)
wait "$curl_pid" || say "curl exit status $?"
rx2=$(bed_uplink_rx)
say "measured: curl: $(cat "$BED_TMP/curl.out"), $(($(date +%s) - cut_at)) s after the cut"
read -r a1 a2 <<<"$rx1"
read -r b1 b2 <<<"$rx2"
say "measured: after the cut up1 received $((b1 - a1)) B, up2 $((b2 - a2)) B"
bed_expect "both uplinks carried data before the cut" \
    calc_true "$(bed_shares "$rx0" "$rx1" | awk '{print ($1 > 10 && $2 > 10)}')"
bed_expect "download is byte-exact" bed_same_file "$big" "$BED_TMP/out/dl"
bed_expect "up2 carried the rest after the cut" \
    calc_true "$((b2 - a2)) > 10 * $((b1 - a1 + 1))"
bed_expect "the daemon withdrew up1's endpoint" \
    bash -c "! ip -n '$NS_CLI' mptcp endpoint show | grep -q '10.$B.1.2 '"
bed_stop local
bed_finish
