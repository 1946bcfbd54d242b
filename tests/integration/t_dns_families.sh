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
#   - Happy Eyeballs (RFC 8305, common/dial.c): a name whose first address
#     is a blackhole (a neighbour entry to a MAC no one has: SYNs vanish,
#     no ICMP, no RST) and whose second works, bonded (IPv6 blackhole,
#     then IPv4, at the concentrator; and IPv4 then IPv4) and direct
#     (IPv4 then IPv4, at mpsocks-local): the second address is started
#     while the first is pending and wins, the first is closed at once
#     (no SYN-SENT socket left), and the whole is done well before
#     connect_timeout: the second did not wait for the first to time out,
#     as when each address had its share of the timeout in turn (15 s
#     here). A functional bound, not a speed goal.
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
he6=he6.$BED_ID.test		# IPv6 blackhole, then IPv4
he4=he4.$BED_ID.test		# IPv4 blackhole, then IPv4
dead4=10.$B.30.99		# on the destination's link, no one there
dead6=$p6::99
# blackholes on the destination's link: the concentrator (which also
# routes the direct client there) sends their frames to a MAC no one has,
# and the destination's interface drops them (not its address)
bh4=10.$B.30.98
bh6=$p6::98
ip -n "$NS_SRV" neigh replace "$bh4" dev to-dst lladdr 02:00:00:00:00:98 \
    nud permanent
ip -n "$NS_SRV" -6 neigh replace "$bh6" dev to-dst \
    lladdr 02:00:00:00:00:98 nud permanent
{
	printf '%s\t%s\n' "$BED_DST_IP6" "$v6only"
	printf '%s\t%s\n' "$dead4" "$two"
	printf '%s\t%s\n' "$BED_DST_IP" "$two"
	printf '%s\t%s\n' "$bh6" "$he6"
	printf '%s\t%s\n' "$BED_DST_IP" "$he6"
	printf '%s\t%s\n' "$bh4" "$he4"
	printf '%s\t%s\n' "$BED_DST_IP" "$he4"
} >>"/etc/netns/$NS_SRV/hosts"
{
	printf '%s\t%s\n' "$dead4" "$two"
	printf '%s\t%s\n' "$BED_DST_IP" "$two"
	printf '%s\t%s\n' "$dead6" "$mixed"
	printf '%s\t%s\n' "$BED_DST_IP" "$mixed"
	printf '%s\t%s\n' "$bh4" "$he4"
	printf '%s\t%s\n' "$BED_DST_IP" "$he4"
} >>"/etc/netns/$NS_CLI/hosts"
bed_expect "the concentrator has no IPv6 default route" \
    bash -c "! ip -n '$NS_SRV' -6 route show default | grep -q ."

# long, so that a dead first address holding its old share (half of it)
# would stand out against the bound below
CT=30
bed_server_start --allow "$BED_DST_NET6" --connect-timeout "$CT"
bed_local_start --connect-timeout "$CT"

# fetch NAME PORT HOST: byte-exact through 127.0.0.1:PORT by name; seconds
fetch() {
	local name=$1 res code size secs bound
	rm -f "$T/out/$name"
	res=$(bed_curl "$T/out/$name" --socks5-hostname "127.0.0.1:$2" \
	    "http://$3:$BED_HTTP_PORT/p.bin") || say "curl: $?"
	read -r code size _ secs <<<"${res:-0 0 0 0}"
	say "measured: $name: HTTP $code $size bytes in $secs s"
	bed_expect "$name: byte-exact" bed_same_file "$f" "$T/out/$name"
	bound="well within connect_timeout ($CT s): under $((CT / 3)) s"
	bed_expect "$name: $bound" calc_true "$secs < $((CT / 3))"
}

# won_second LOG BAD GOOD: the connection whose first attempt went to
# BAD (an address as the log prints it, port included) connected to GOOD
# with its second attempt, and its first was closed then, not failed
won_second() {
	local id
	id=$(grep -F "event=connect addr=$2 attempt=1/2 " "$1" | tail -n 1 |
	    grep -Eo '\b[sc]=[0-9a-f]{8} ' | head -n 1) || true
	say "  connection: ${id:-none}"
	[ -n "$id" ] &&
	    grep -qF "${id}event=connect addr=$3 attempt=2/2 pending=1" "$1" &&
	    grep -qF "${id}event=connect_won addr=$3 attempt=2/2 " "$1" &&
	    grep -qF "${id}event=connect_cancel addr=$2 attempt=1/2" "$1" &&
	    ! grep -qF "${id}event=connect_fail addr=$2 " "$1"
}

# no_syn_sent NS ADDR: no socket of NS is still opening a connection to
# ADDR (as ss takes it: 10.1.2.3, [fd00::1]): the losing attempt was
# closed, not left to time out
no_syn_sent() {
	local left
	left=$(bed_ns "$1" ss -Htn state syn-sent dst "$2") || return 1
	[ -z "$left" ] || say "  left: $left"
	[ -z "$left" ]
}

fetch bonded-v6only "$BED_LOCAL_PORT" "$v6only"
bed_expect "bonded, AAAA only: the concentrator connected over IPv6" \
    grep -q "event=connect addr=\[$BED_DST_IP6\]" "$T/server.log"
fetch bonded-dead-first "$BED_LOCAL_PORT" "$two"
bed_expect "bonded: the dead first address was tried, then the next" \
    bash -c "grep -q 'event=connect addr=$dead4:' '$T/server.log' &&
	grep -q 'event=connect addr=$BED_DST_IP:' '$T/server.log'"
hp=$BED_HTTP_PORT
fetch bonded-blackhole6-first "$BED_LOCAL_PORT" "$he6"
bed_expect "bonded: IPv6 blackhole first, the IPv4 second won" \
    won_second "$T/server.log" "[$bh6]:$hp" "$BED_DST_IP:$hp"
bed_expect "bonded: no attempt to the IPv6 blackhole left open" \
    no_syn_sent "$NS_SRV" "[$bh6]"
fetch bonded-blackhole4-first "$BED_LOCAL_PORT" "$he4"
bed_expect "bonded: IPv4 blackhole first, the second won" \
    won_second "$T/server.log" "$bh4:$hp" "$BED_DST_IP:$hp"
bed_expect "bonded: no attempt to the IPv4 blackhole left open" \
    no_syn_sent "$NS_SRV" "$bh4"

# direct: mpsocks-local resolves and connects itself (the concentrator
# routes the client to the destination, as a home's own internet path)
bed_forwarding on
cat >"$T/direct.conf" <<EOC
[rule names]
domain = $two
domain = $mixed
domain = $he4
action = direct
[rule rest]
any = yes
action = bond
EOC
P1=$((BED_LOCAL_PORT + 1))
bed_spawn direct "$NS_CLI" "$T/direct.log" "$BED_BUILD/mpsocks-local" \
    --listen "127.0.0.1:$P1" --server "$BED_PUB:$BED_SRV_PORT" \
    --key-file "$BED_KEY_CLI" --connect-timeout "$CT" -c "$T/direct.conf" -v
bed_wait_port "$NS_CLI" "$P1" 10 || bed_fail "direct mpsocks-local"
a0=$(grep -c 'event=accept ' "$T/server.log" || true)
fetch direct-dead-first "$P1" "$two"
bed_expect "direct: went direct" grep -q "event=direct_resolve name=$two" \
    "$T/direct.log"
bed_expect "direct: the dead first address was tried, the second won" \
    bash -c "grep -q 'event=connect addr=$dead4:$hp attempt=1/2' \
	'$T/direct.log' && grep -q \
	'event=connect_won addr=$BED_DST_IP:$hp attempt=2/2' '$T/direct.log'"
fetch direct-v6-first "$P1" "$mixed"
bed_expect "direct: IPv6 first (no route here) failed at once, then IPv4" \
    grep -Eq "event=connect_fail addr=\[$dead6\]:$hp attempt=1/2 why=" \
    "$T/direct.log"
fetch direct-blackhole4-first "$P1" "$he4"
bed_expect "direct: IPv4 blackhole first, the second won" \
    won_second "$T/direct.log" "$bh4:$hp" "$BED_DST_IP:$hp"
bed_expect "direct: no attempt to the blackhole left open" \
    no_syn_sent "$NS_CLI" "$bh4"
a1=$(grep -c 'event=accept ' "$T/server.log" || true)
bed_expect "direct: the concentrator saw no tunnel" [ "$a0" = "$a1" ]
bed_finish
