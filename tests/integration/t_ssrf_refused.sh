#!/bin/bash
# The concentrator must not become a door into the VPS: targets on its own
# loopback, its own (private) public address, or a name resolving to
# loopback are refused with SOCKS5 reply 2 ("connection not allowed by
# ruleset"), and a listener on the VPS never sees a connection. The
# destination subnet, allowed with --allow, still works (control).
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit
bed_nginx_start
bed_server_start
# --strict-replies: the refusals are read from the SOCKS5 reply codes
bed_local_start --strict-replies
proxy=127.0.0.1:$BED_LOCAL_PORT

# a service on the VPS that must stay unreachable: every address, one port
vport=$((BED_SRV_PORT + 7))
vlog=$BED_TMP/victim-accepts.log
: >"$vlog"
bed_spawn victim "$NS_SRV" "$BED_TMP/victim.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" listen-log 0.0.0.0 "$vport" "$vlog"
bed_wait_port "$NS_SRV" "$vport"

# refused HOW URL: curl must fail with CURLE_PROXY (97) and name reply 2.
# curl 7.88 says "Can't complete SOCKS5 connection to H. (2)"; newer curl
# words it "connection not allowed by ruleset".
refused() {
	local out rc=0
	out=$(bed_ns "$NS_CLI" curl -sS --max-time 20 -o /dev/null \
	    "$1" "$proxy" "$2" 2>&1) || rc=$?
	say "measured: curl $1 $2: exit $rc: $out"
	[ "$rc" -eq 97 ] || return 1
	echo "$out" | grep -Eq '\(2\)|not allowed'
}

bed_expect "127.0.0.1 refused with reply 2" \
    refused --socks5 "http://127.0.0.1:$vport/"
bed_expect "the VPS's own address refused with reply 2" \
    refused --socks5 "http://$BED_PUB:$vport/"
bed_expect "an uplink address of the VPS refused with reply 2" \
    refused --socks5 "http://10.$BED_B.1.1:$vport/"
# the name is resolved by the concentrator; the check applies after
bed_expect "name resolving to loopback refused with reply 2" \
    refused --socks5-hostname "http://localhost:$vport/"

sleep 0.5
n=$(wc -l <"$vlog")
say "measured: the VPS listener accepted $n connections"
bed_expect "the VPS listener never got a connection" [ "$n" -eq 0 ]

# control: the allowed destination subnet works through the same proxy
res=$(bed_curl /dev/null --socks5 "$proxy" "$(bed_url_ip index.html)") ||
    say "curl failed"
say "measured: allowed destination: ${res:-none}"
bed_expect "allowed destination still served" eval "[ '${res%% *}' = 200 ]"

say "server log, refusals:"
grep -Ei 'denied|refus|not allowed|acl' "$BED_TMP/server.log" |
    sed 's/^/  /' || say "  (none logged)"
bed_finish
