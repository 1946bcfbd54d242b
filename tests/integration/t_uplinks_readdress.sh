#!/bin/bash
# An uplink's address changes mid-run (an LTE reconnect): within 2 s the
# new address has its endpoint and source rule, the old one has none
# left, and a new connection's join subflow leaves through the uplink
# from the new address. Then the gateway changes: the uplink's table
# follows.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
BED_BARE=1 bed_setup 20mbit 20mbit
big=$(bed_make_file big.bin 10)
bed_nginx_start
conf=$BED_TMP/uplinks.conf
up_conf "$conf" dsl:up1 lte:up2
B=$BED_B
bed_server_start
up_local_start "$conf"
bed_expect "two endpoints at the start" up_wait_endpoints "$NS_CLI" 2

# the "modem" hands out a new address; DHCP puts the default route back
ip -n "$NS_CLI" addr del "10.$B.2.2/24" dev up2
ip -n "$NS_CLI" addr add "10.$B.2.3/24" dev up2
ip -n "$NS_CLI" route replace default via "10.$B.2.1" dev up2 metric 200
sleep 2
eps=$(up_endpoints "$NS_CLI")
say "endpoints 2 s after the change: $(echo $eps)"
bed_expect "new address has an endpoint within 2 s" \
    grep -qx "10.$B.2.3 subflow" <<<"$eps"
bed_expect "no stale endpoint for the old address" \
    bash -c "! grep -q '^10.$B.2.2 ' <<<'$eps'"
bed_expect "exactly 2 endpoints" [ "$(grep -c . <<<"$eps")" -eq 2 ]
bed_expect "source rule for the new address" \
    bash -c "ip -n '$NS_CLI' rule show | grep -q 'from 10.$B.2.3 lookup'"
bed_expect "no rule left for the old address" \
    bash -c "! ip -n '$NS_CLI' rule show | grep -q 'from 10.$B.2.2 '"

before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/dl" --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url big.bin)") || say "curl: $?"
after=$(bed_uplink_rx)
shares=$(bed_shares "$before" "$after")
say "measured: download after the change: ${res:-failed}; shares % (up1 up2): $shares"
bed_expect "download is byte-exact" bed_same_file "$big" "$BED_TMP/out/dl"
read -r s1 s2 <<<"$shares"
# up2's only address is the new one: its bytes prove the join used it
bed_expect "up2 (new address) carried >= 20% of it" calc_true "$s2 >= 20"
# the gateway changes (another DHCP lease): the table follows, and back
ip -n "$NS_CLI" route replace default via "10.$B.2.9" dev up2 metric 200
sleep 1
bed_expect "a changed gateway replaces the table's default route" bash -c "
	ip -n '$NS_CLI' route show table 7101 | grep -q '^default via 10.$B.2.9 dev up2' &&
	[ \$(ip -n '$NS_CLI' route show table 7101 | grep -c '^default') -eq 1 ]"
ip -n "$NS_CLI" route replace default via "10.$B.2.1" dev up2 metric 200
sleep 1
bed_expect "and back" bash -c "ip -n '$NS_CLI' route show table 7101 |
	grep -q '^default via 10.$B.2.1 dev up2'"
bed_stop local
bed_expect "nothing of ours left after the stop" \
    bash -c "[ -z \"\$(ip -n '$NS_CLI' mptcp endpoint show)\" ] &&
	! ip -n '$NS_CLI' route show table all | grep -q 'proto 213' &&
	! ip -n '$NS_CLI' rule show | grep -q 'proto 213'"
bed_finish
