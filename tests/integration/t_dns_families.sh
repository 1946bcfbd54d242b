#!/bin/bash
# Names and address families, at both ends.
#   - a name with only an AAAA record, reached through the concentrator,
#     whose IPv6 has no default route (only the destination's unique-local
#     /64). Bug: libevent's AI_ADDRCONFIG decided "no IPv6" there, so the
#     name did not resolve ("no address associated with nodename", 0x04).
#   - a name whose first address is dead and the second works: bonded (the
#     concentrator tries the next) and direct (mpsocks-local connected only
#     to the first address). Bug: direct failed.
#   - direct, a name with an IPv6 address this client cannot reach and an
#     IPv4 one: IPv6 is tried first and fails at once, then IPv4.
# All within connect_timeout: each address gets a share of it.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 20mbit
bed_ipv6
f=$(bed_make_file p.bin 1)
bed_nginx_start
B=$BED_B
T=$BED_TMP
p6=${BED_DST_NET6%::/64}
v6only=v6only.$BED_ID.test
two=two.$BED_ID.test
mixed=mixed.$BED_ID.test
dead4=10.$B.30.99		# on the destination's link, no one there
dead6=$p6::99
{
	printf '%s\t%s\n' "$BED_DST_IP6" "$v6only"
	printf '%s\t%s\n' "$dead4" "$two"
	printf '%s\t%s\n' "$BED_DST_IP" "$two"
} >>"/etc/netns/$NS_SRV/hosts"
{
	printf '%s\t%s\n' "$dead4" "$two"
	printf '%s\t%s\n' "$BED_DST_IP" "$two"
	printf '%s\t%s\n' "$dead6" "$mixed"
	printf '%s\t%s\n' "$BED_DST_IP" "$mixed"
} >>"/etc/netns/$NS_CLI/hosts"
bed_expect "the concentrator has no IPv6 default route" \
    bash -c "! ip -n '$NS_SRV' -6 route show default | grep -q ."

bed_server_start --allow "$BED_DST_NET6" --connect-timeout 6
bed_local_start --connect-timeout 6

# fetch NAME PORT HOST: byte-exact through 127.0.0.1:PORT by name; seconds
fetch() {
	local name=$1 res code size secs
	rm -f "$T/out/$name"
	res=$(bed_curl "$T/out/$name" --socks5-hostname "127.0.0.1:$2" \
	    "http://$3:$BED_HTTP_PORT/p.bin") || say "curl: $?"
	read -r code size _ secs <<<"${res:-0 0 0 0}"
	say "measured: $name: HTTP $code $size bytes in $secs s"
	bed_expect "$name: byte-exact" bed_same_file "$f" "$T/out/$name"
	bed_expect "$name: within connect_timeout (6 s) and the transfer" \
	    calc_true "$secs < 8"
}

fetch bonded-v6only "$BED_LOCAL_PORT" "$v6only"
bed_expect "bonded, AAAA only: the concentrator connected over IPv6" \
    grep -q "event=connect addr=\[$BED_DST_IP6\]" "$T/server.log"
fetch bonded-dead-first "$BED_LOCAL_PORT" "$two"
bed_expect "bonded: the dead first address was tried, then the next" \
    bash -c "grep -q 'event=connect addr=$dead4:' '$T/server.log' &&
	grep -q 'event=connect addr=$BED_DST_IP:' '$T/server.log'"

# direct: mpsocks-local resolves and connects itself (the concentrator
# routes the client to the destination, as a home's own internet path)
bed_forwarding on
cat >"$T/direct.conf" <<EOC
[rule names]
domain = $two
domain = $mixed
action = direct
[rule rest]
any = yes
action = bond
EOC
P1=$((BED_LOCAL_PORT + 1))
bed_spawn direct "$NS_CLI" "$T/direct.log" "$BED_BUILD/mpsocks-local" \
    --listen "127.0.0.1:$P1" --server "$BED_PUB:$BED_SRV_PORT" \
    --key-file "$BED_KEY_CLI" --connect-timeout 6 -c "$T/direct.conf" -v
bed_wait_port "$NS_CLI" "$P1" 10 || bed_fail "direct mpsocks-local"
a0=$(grep -c 'event=accept ' "$T/server.log" || true)
fetch direct-dead-first "$P1" "$two"
bed_expect "direct: went direct" grep -q "event=direct_resolve name=$two" \
    "$T/direct.log"
bed_expect "direct: the first address failed, the second was tried" \
    grep -Eq "event=direct_(fail|timeout) addr=1/2" "$T/direct.log"
fetch direct-v6-first "$P1" "$mixed"
bed_expect "direct: IPv6 first (no route here), then IPv4" \
    grep -q "event=direct_fail addr=1/2 why=" "$T/direct.log"
a1=$(grep -c 'event=accept ' "$T/server.log" || true)
bed_expect "direct: the concentrator saw no tunnel" [ "$a0" = "$a1" ]
bed_finish
