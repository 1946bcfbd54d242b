#!/bin/bash
# A backup uplink (role = backup, MPTCP backup flag) carries almost
# nothing while the active uplink works, and takes over a running
# download when the active uplink is cut.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
BED_BARE=1 bed_setup 20mbit 20mbit
small=$(bed_make_file small.bin 10)
big=$(bed_make_file big.bin 20)
bed_nginx_start
conf=$BED_TMP/uplinks.conf
up_conf "$conf" dsl:up1:active lte:up2:backup
B=$BED_B
bed_server_start
up_local_start "$conf"
bed_expect "two endpoints at the start" up_wait_endpoints "$NS_CLI" 2
bed_expect "up2's endpoint is subflow,backup" \
    grep -qx "10.$B.2.2 subflow,backup" <<<"$(up_endpoints "$NS_CLI")"

before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/small" --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url small.bin)") || say "curl: $?"
after=$(bed_uplink_rx)
shares=$(bed_shares "$before" "$after")
say "measured: with both up: ${res:-failed}; shares % (up1 up2): $shares"
read -r s1 s2 <<<"$shares"
bed_expect "download byte-exact" bed_same_file "$small" "$BED_TMP/out/small"
bed_expect "backup up2 carried < 5% while up1 works" calc_true "$s2 < 5"

bed_ns "$NS_CLI" curl -sS --max-time 120 -o "$BED_TMP/out/big" \
    -w '%{http_code} %{size_download} %{time_total}\n' \
    --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url big.bin)" \
    >"$BED_TMP/curl.out" 2>&1 &
curl_pid=$!
sleep 2
rx1=$(bed_uplink_rx)
ip -n "$NS_SRV" link set up1 down
wait "$curl_pid" || say "curl exit status $?"
rx2=$(bed_uplink_rx)
read -r a1 a2 <<<"$rx1"
read -r b1 b2 <<<"$rx2"
say "measured: cut up1 after 2 s: curl $(cat "$BED_TMP/curl.out"); after the cut up1 $((b1 - a1)) B, up2 $((b2 - a2)) B"
bed_expect "download byte-exact across the cut" \
    bed_same_file "$big" "$BED_TMP/out/big"
bed_expect "backup up2 took over (> 4 MB after the cut)" \
    calc_true "$((b2 - a2)) > 4 * 1048576"
bed_stop local
bed_finish
