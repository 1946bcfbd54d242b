#!/bin/bash
# Two USB dongles that hand out the same subnet and the same gateway
# address (10.B.1.1 on both): the client has 10.B.1.2 on up1 and
# 10.B.1.3 on up2, each with a default route via 10.B.1.1. Tables and
# rules are per interface, so both dongles carry a bonded download.
#
# The far side plays both dongles: its up1 and up2 both hold 10.B.1.1,
# with a host route back to each client address through its own link.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
BED_BARE=1 bed_setup 20mbit 20mbit
big=$(bed_make_file big.bin 20)
bed_nginx_start
B=$BED_B
ip -n "$NS_CLI" addr del "10.$B.2.2/24" dev up2
ip -n "$NS_SRV" addr del "10.$B.2.1/24" dev up2
ip -n "$NS_SRV" addr add "10.$B.1.1/24" dev up2
ip -n "$NS_CLI" addr add "10.$B.1.3/24" dev up2
ip -n "$NS_CLI" route replace default via "10.$B.1.1" dev up2 metric 200
ip -n "$NS_SRV" route add "10.$B.1.2/32" dev up1
ip -n "$NS_SRV" route add "10.$B.1.3/32" dev up2
say "client default routes: $(ip -n "$NS_CLI" route show default | tr '\n' ';')"

conf=$BED_TMP/uplinks.conf
up_conf "$conf" dongle1:up1 dongle2:up2
bed_server_start
up_local_start "$conf"
bed_expect "an endpoint per dongle" up_wait_endpoints "$NS_CLI" 2
bed_expect "one table per interface, same gateway in each" bash -c "
	ip -n '$NS_CLI' route show table 7100 | grep -q 'default via 10.$B.1.1 dev up1' &&
	ip -n '$NS_CLI' route show table 7101 | grep -q 'default via 10.$B.1.1 dev up2'"

before=$(bed_uplink_rx)
res=$(bed_curl "$BED_TMP/out/dl" --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url big.bin)") || say "curl: $?"
after=$(bed_uplink_rx)
shares=$(bed_shares "$before" "$after")
say "measured: ${res:-failed}; shares % (up1 up2): $shares"
read -r s1 s2 <<<"$shares"
bed_expect "download byte-exact" bed_same_file "$big" "$BED_TMP/out/dl"
bed_expect "dongle 1 (up1) carried >= 20%" calc_true "$s1 >= 20"
bed_expect "dongle 2 (up2) carried >= 20%" calc_true "$s2 >= 20"
bed_stop local
bed_finish
