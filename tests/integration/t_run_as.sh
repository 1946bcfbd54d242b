#!/bin/bash
# run_as: started as root with --run-as, each daemon becomes that user once
# its sockets are open. mpsocks-local keeps exactly CAP_NET_ADMIN (bit 12)
# and still sets up its [uplink] sections, follows a lost and regained
# uplink, and restores the prior state at its stop; mpsocks-server keeps no
# capability. Bug: started as root to manage uplinks it stayed root for
# life (there was no way to drop it); as root without run_as it now warns.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
user=nobody
uid=$(id -u "$user" 2>/dev/null) || bed_skip "no user $user"
[ "$uid" -ne 0 ] || bed_skip "$user is root here"
BED_BARE=1 bed_setup 20mbit 20mbit
small=$(bed_make_file small.bin 1)
bed_nginx_start
conf=$BED_TMP/uplinks.conf
up_conf "$conf" dsl:up1 lte:up2
up_state "$NS_CLI" >"$BED_TMP/before.txt"

# status_field PID FIELD: "Uid:" -> its first value, "CapEff:" -> the mask
status_field() { awk -v f="$2" '$1 == f { print $2 }' "/proc/$1/status"; }

bed_server_start --run-as "$user"
spid=$(bed_pid server)
sleep 0.3
say "server: Uid $(status_field "$spid" Uid:) CapEff $(status_field "$spid" CapEff:)"
bed_expect "server: runs as $user (uid $uid)" \
    [ "$(status_field "$spid" Uid:)" = "$uid" ]
bed_expect "server: no capability left" \
    [ "$(status_field "$spid" CapEff:)" = 0000000000000000 ]
bed_expect "server: none to get back either (permitted empty)" \
    [ "$(status_field "$spid" CapPrm:)" = 0000000000000000 ]
bed_expect "server: no_new_privs" [ "$(status_field "$spid" NoNewPrivs:)" = 1 ]

up_local_start "$conf" --run-as "$user"
lpid=$(bed_pid local)
bed_expect "local: made one endpoint per uplink before the switch" \
    up_wait_endpoints "$NS_CLI" 2
sleep 0.3
say "local: Uid $(status_field "$lpid" Uid:) CapEff $(status_field "$lpid" CapEff:) CapBnd $(status_field "$lpid" CapBnd:)"
bed_expect "local: runs as $user (uid $uid)" \
    [ "$(status_field "$lpid" Uid:)" = "$uid" ]
bed_expect "local: the real, saved and fs uids too" \
    [ "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "/proc/$lpid/status")" = \
    "$uid$uid$uid$uid" ]
bed_expect "local: CapEff is exactly CAP_NET_ADMIN" \
    [ "$(status_field "$lpid" CapEff:)" = 0000000000001000 ]
bed_expect "local: CapPrm and CapBnd too" bash -c "
	[ \"\$(awk '\$1 == \"CapPrm:\" { print \$2 }' /proc/$lpid/status)\" = \
	    0000000000001000 ] &&
	[ \"\$(awk '\$1 == \"CapBnd:\" { print \$2 }' /proc/$lpid/status)\" = \
	    0000000000001000 ]"
bed_expect "local: no supplementary group of root's" bash -c \
    "! awk '\$1 == \"Groups:\"' /proc/$lpid/status | grep -qw 0"
bed_expect "local: the switch is logged" grep -q \
    "event=privileges run_as=$user uid=$uid" "$BED_TMP/local.log"
bed_expect "local: management on, not report-only" \
    bash -c "! grep -q uplinks_report_only '$BED_TMP/local.log'"
bed_expect "local: a source rule per address, proto 213" \
    [ "$(ip -n "$NS_CLI" rule show | grep -c 'proto 213')" -eq 2 ]
got=$(bed_fetch_exact 1 small.bin 30)
bed_expect "local: a bonded download works as $user" [ "$got" -eq 1 ]

# after the switch, CAP_NET_ADMIN still does its work: an uplink's
# endpoint goes with its carrier and comes back with it
ip -n "$NS_SRV" link set up2 down
sleep 1
bed_expect "local as $user: up2 down removes its endpoint" grep -q \
    "event=uplink_endpoint_del uplink=lte addr=10.$BED_B.2.2 " \
    "$BED_TMP/local.log"
ip -n "$NS_SRV" link set up2 up
bed_expect "local as $user: up2 back, its endpoint too" \
    up_wait_endpoints "$NS_CLI" 2 10
bed_stop local
up_state "$NS_CLI" >"$BED_TMP/after.txt"
bed_expect "local as $user: its stop restores the exact prior state" \
    up_same_state "$BED_TMP/before.txt" "$BED_TMP/after.txt"

# as root without run_as: a warning that root stays
mv "$BED_TMP/local.log" "$BED_TMP/local-runas.log"
up_local_start "$conf"
sleep 0.3
bed_expect "local as root without run_as: warns that root stays" grep -q \
    "event=privileges user=root" "$BED_TMP/local.log"
bed_stop local
bed_expect "a run_as user that does not exist: refused by -t" bash -c "
	! '$BED_BUILD/mpsocks-local' -t -c '$conf' --run-as no-such-user-$$ \
	    --server 127.0.0.1:1 --key-file '$BED_KEY_CLI' 2>'$BED_TMP/t.err' &&
	grep -q 'run_as: no user \"no-such-user-$$\"' '$BED_TMP/t.err'"
bed_finish
