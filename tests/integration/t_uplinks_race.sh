#!/bin/bash
# New connections while the uplink of the default route is dead without
# the kernel knowing (linkem drops everything; the modem's link stays up):
# mpsocks-local's first MPTCP SYN goes out there and gets no answer, so
# after a second it starts another attempt from the next [uplink]'s
# address, and the first answer wins (src/local/tunnel_client.c), for
# tunnels opened cold (--no-pool here). Checks: with
# both uplinks alive nothing races; with up1 cut, every new download
# completes byte-exact through a raced attempt; after the restore, again
# no race.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons linkem
BED_BARE=1 BED_LINKEM=1 bed_setup 20mbit 20mbit
bed_make_file small.bin 1 >/dev/null
bed_nginx_start
conf=$BED_TMP/uplinks.conf
up_conf "$conf" dsl:up1 lte:up2
bed_server_start
# --no-pool: racing is how a cold open gets past a dead uplink; a pooled
# tunnel has its subflows on both already (t_pool)
up_local_start "$conf" --no-pool
bed_expect "two endpoints at the start" up_wait_endpoints "$NS_CLI" 2

races() { grep -c 'event=race ' "$BED_TMP/local.log" || true; }
wins() { grep -c 'event=race_won' "$BED_TMP/local.log" || true; }

ok=$(bed_fetch_exact 3 small.bin 8)
bed_expect "both alive: 3 of 3 downloads ($ok)" [ "$ok" -eq 3 ]
bed_expect "both alive: no attempt raced ($(races))" [ "$(races)" -eq 0 ]

bed_cut 1
t0=$(date +%s.%N)
ok=$(bed_fetch_exact 4 small.bin 8)
secs=$(calc "$(date +%s.%N) - $t0")
say "measured: up1 cut: $ok of 4 downloads in $secs s; races $(races)," \
    "won by a raced attempt $(wins)"
bed_expect "up1 cut: 4 of 4 downloads byte-exact ($ok)" [ "$ok" -eq 4 ]
bed_expect "up1 cut: each won by a raced attempt ($(wins))" \
    [ "$(wins)" -ge 4 ]
bed_restore 1

w=$(wins)
r=$(races)
ok=$(bed_fetch_exact 3 small.bin 8)
bed_expect "restored: 3 of 3 downloads ($ok)" [ "$ok" -eq 3 ]
bed_expect "restored: no new race ($(races) vs $r)" [ "$(races)" -eq "$r" ]
bed_expect "restored: no new raced win ($(wins) vs $w)" [ "$(wins)" -eq "$w" ]
bed_finish
