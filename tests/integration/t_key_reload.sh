#!/bin/bash
# Revoking one home without a restart: the key file holds alice and bob;
# after bob's line is deleted and the server gets SIGHUP, bob's requests
# get no byte while alice's still work, and a connection opened before
# the reload keeps running. A broken key file on SIGHUP keeps the old keys.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons tunnel-probe
bed_setup 20mbit 40mbit
big=$(bed_make_file reload.bin 30)
bed_nginx_start
bed_keys
alice=$BED_KEY_CLI
bob=$BED_TMP/bob.key
bobkey=$("$BED_BUILD/mpsocks-server" --genkey)
printf 'bob %s\n' "$bobkey" >"$bob"
printf 'bob %s\n' "$bobkey" >>"$BED_KEY_SRV"
chmod 600 "$bob"
bed_server_start
bed_local_start
target=$BED_DST_IP:$BED_HTTP_PORT

probe() {	# MODE KEYFILE
	timeout 30 ip netns exec "$NS_CLI" "$BED_BUILD/tunnel-probe" \
	    "$1" "$BED_PUB:$BED_SRV_PORT" "$2" "$target"
}

bed_expect "alice accepted" probe valid "$alice"
bed_expect "bob accepted" probe valid "$bob"

# a long download by alice, running across the reload
bed_ns "$NS_CLI" curl -sS --max-time 60 --limit-rate 4M -o "$BED_TMP/out/dl" \
    --socks5-hostname "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url reload.bin)" &
dl=$!
sleep 1

grep -v '^bob ' "$BED_KEY_SRV" >"$BED_TMP/keys.new"
cat "$BED_TMP/keys.new" >"$BED_KEY_SRV"
kill -HUP "$BED_PID_server"
sleep 0.5
bed_expect "server logged the reload" \
    grep -q 'event=reload result=ok keys=1' "$BED_TMP/server.log"
bed_expect "bob refused after the reload" eval "! probe valid '$bob'"
bed_expect "alice still accepted" probe valid "$alice"

# a broken file: the old keys stay
printf 'alice not-base64\n' >"$BED_KEY_SRV"
kill -HUP "$BED_PID_server"
sleep 0.5
bed_expect "broken key file: reload refused" \
    grep -q 'event=reload result=failed' "$BED_TMP/server.log"
bed_expect "alice still accepted with the old keys" probe valid "$alice"

rc=0
wait "$dl" || rc=$?
say "measured: download across the reloads: curl exit $rc"
bed_expect "the download across the reloads completed byte-exact" \
    eval "[ $rc -eq 0 ] && bed_same_file '$big' '$BED_TMP/out/dl'"
bed_expect "server still alive" bed_alive "$BED_PID_server"
bed_finish
