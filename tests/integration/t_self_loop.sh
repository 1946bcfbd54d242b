#!/bin/bash
# Self-loops: a proxy asked to connect to itself. One connection carrying
# 300 nested "CONNECT 127.0.0.1:<mpsocks-local's own port>" held 612
# descriptors; a tunnel to the concentrator's own address comes back
# into the concentrator. Now:
#   - mpsocks-local refuses a target that is one of its own listen
#     addresses or its control port: SOCKS5 reply 0x02, HTTP CONNECT 403;
#     also a name that resolves to it when the policy sends the name
#     direct (checked after resolving, before connecting); loopback
#     targets that are not mpsocks-local still work (control);
#   - mpsocks-server, even with --allow covering its own addresses,
#     refuses them (its public address and its tunnel port, an uplink
#     address): reply 0x02, logged as "self";
#   - an address added to the concentrator while it runs is refused once
#     it gets SIGHUP, at once, not at its next 10 s check: just before
#     the SIGHUP (right after a periodic check) the same request reaches
#     the kernel (0x05, nothing listens), right after it gets 0x02;
#   - [server] deny (--deny) refuses a network that allow permits, by
#     address and by name; without it the same destination is served.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit
bed_nginx_start
B=$BED_B

conf=$BED_TMP/local-self.conf
cat >"$conf" <<CONF
[rule self-name]
domain = localhost
action = direct

[rule loopback]
cidr = 127.0.0.0/8
action = direct

[rule rest]
any = yes
action = bond
CONF
BED_LOCAL_CONF=$conf
# the loopback rule makes mpsocks-local resolve names; the bed has no
# resolver at home, so it finds the destination's name in hosts
printf '%s\t%s\n' "$BED_DST_IP" "$BED_DST_NAME" >>"/etc/netns/$NS_CLI/hosts"
CTL=$((40000 + $(rand_u16) % 10000))
bed_server_start --allow "10.$B.0.0/16"
# --strict-replies: the refusals are read from the SOCKS5 reply codes
bed_local_start --strict-replies --control "127.0.0.1:$CTL"
lpid=$(bed_pid local)
P=$BED_LOCAL_PORT

# a loopback service that is not mpsocks-local, for the control case
vport=$((P + 7))
bed_spawn victim "$NS_CLI" "$BED_TMP/victim.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" listen-log 127.0.0.1 "$vport" \
    "$BED_TMP/victim-accepts.log"
bed_wait_port "$NS_CLI" "$vport"

fds() { ls "/proc/$1/fd" | wc -l; }
sleep 0.5
base_fd=$(fds "$lpid")

rep_of() {	# rep_of ATYP ADDR PORT: the SOCKS5 reply byte, or "none"
	local out
	out=$(timeout 40 ip netns exec "$NS_CLI" "$PY" \
	    "$BED_LIB_DIR/nettool.py" socks-request 127.0.0.1 "$P" 1 "$@" \
	    2>&1) || true
	say "measured: SOCKS5 CONNECT $2:$3: ${out//$'\n'/ }" >&2
	rep=$(printf '%s\n' "$out" | sed -n 's/^rep=\(0x[0-9a-f]*\).*/\1/p')
	echo "${rep:-none}"
}
expect_rep() {	# expect_rep DESC WANT ATYP ADDR PORT
	local desc=$1 want=$2 got
	shift 2
	got=$(rep_of "$@")
	bed_expect "$desc: reply $want (got $got)" [ "$got" = "$want" ]
}

# --- mpsocks-local ---------------------------------------------------------------
expect_rep "loopback service, not us (control)" 0x00 1 127.0.0.1 "$vport"
expect_rep "our own proxy port" 0x02 1 127.0.0.1 "$P"
expect_rep "our own proxy port, IPv4-mapped" 0x02 4 "::ffff:127.0.0.1" "$P"
expect_rep "our control port" 0x02 1 127.0.0.1 "$CTL"
expect_rep "a name resolving to our port, sent direct" 0x02 3 localhost "$P"
code=$(bed_ns "$NS_CLI" curl -s --max-time 10 -o /dev/null -p \
    -x "http://127.0.0.1:$P" -w '%{http_connect}' \
    "http://127.0.0.1:$P/" 2>/dev/null) || true
say "measured: HTTP CONNECT 127.0.0.1:$P: ${code:-none}"
bed_expect "HTTP CONNECT to our own port: 403 (got ${code:-none})" \
    [ "${code:-none}" = 403 ]
bed_expect "mpsocks-local logged the refusals" \
    grep -q 'event=refuse why=self' "$BED_TMP/local.log"
sleep 1
now_fd=$(fds "$lpid")
say "measured: mpsocks-local fds $now_fd (baseline $base_fd)"
bed_expect "mpsocks-local holds no descriptor for the loops" \
    [ "$now_fd" -le "$base_fd" ]

# --- mpsocks-server: its own addresses, allowed or not -----------------------------
expect_rep "the concentrator's tunnel port (allowed network)" 0x02 \
    1 "$BED_PUB" "$BED_SRV_PORT"
expect_rep "the concentrator's public address, another port" 0x02 \
    1 "$BED_PUB" "$((BED_SRV_PORT + 3))"
expect_rep "an uplink address of the concentrator" 0x02 \
    1 "10.$B.1.1" "$BED_SRV_PORT"
bed_expect "the server logged why: self" grep -q 'why="self"' "$BED_TMP/server.log"
expect_rep "the destination, allowed (control)" 0x00 \
    1 "$BED_DST_IP" "$BED_HTTP_PORT"

# --- mpsocks-server: an address added while it runs, then SIGHUP -------------------
# The periodic check logs own_addresses when the count changes: a first
# extra address tells when one has run, so the next is ~10 s away and the
# "before" request below cannot be refused by it.
spid=$(bed_pid server)
own_lines() { grep -c 'event=own_addresses' "$BED_TMP/server.log" || true; }
n0=$(own_lines)
ip -n "$NS_SRV" addr add "10.$B.78.1/32" dev lo
for ((i = 0; i < 120 && $(own_lines) == n0; i++)); do
	sleep 0.1
done
say "measured: a periodic check after $((i / 10)).$((i % 10)) s"
new_ip=10.$B.77.1
new_port=$((BED_SRV_PORT + 5))		# nothing listens there
ip -n "$NS_SRV" addr add "$new_ip/32" dev lo
expect_rep "an address just added, before SIGHUP: not yet known (control)" \
    0x05 1 "$new_ip" "$new_port"
kill -HUP "$spid"
for ((i = 0; i < 30; i++)); do
	grep -q 'event=reload own_addresses=' "$BED_TMP/server.log" && break
	sleep 0.1
done
say "measured: $(grep 'event=reload' "$BED_TMP/server.log" | tr '\n' ' ')"
expect_rep "the address just added, right after SIGHUP" 0x02 \
    1 "$new_ip" "$new_port"
bed_expect "the server logged the refusal as self" \
    grep -q "event=refuse .*target=$new_ip:$new_port why=\"self\"" \
    "$BED_TMP/server.log"

# --- [server] deny wins over allow -------------------------------------------------
bed_stop server || true
bed_server_start --allow "10.$B.0.0/16" --deny "$BED_DST_IP/32"
expect_rep "denied destination by address" 0x02 1 "$BED_DST_IP" "$BED_HTTP_PORT"
expect_rep "denied destination by name" 0x02 3 "$BED_DST_NAME" "$BED_HTTP_PORT"
bed_expect "the server logged why: deny" grep -q 'why="deny"' "$BED_TMP/server.log"

bed_expect "mpsocks-local still running" bed_alive "$lpid"
bed_expect "mpsocks-server still running" bed_alive "$(bed_pid server)"
say "refusals logged:"
grep -hE 'why=self|refuse|deny|not allowed' "$BED_TMP/local.log" \
    "$BED_TMP/server.log" | head -20 | sed 's/^/  /'
bed_finish
