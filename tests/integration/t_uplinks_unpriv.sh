#!/bin/bash
# Without CAP_NET_ADMIN (setpriv to nobody, no capabilities), and as root
# with manage_uplinks = no, mpsocks-local changes nothing and logs what
# bonding lacks per uplink; --uplinks prints the same gaps.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/uplinks_lib.sh"

bed_require_base
bed_require_daemons
command -v setpriv >/dev/null || bed_skip "setpriv not installed"
BED_BARE=1 bed_setup 20mbit 20mbit
B=$BED_B
bed_keys
# readable by nobody: the path and its own copies of key and config
chmod 711 "$BED_TMP"
conf=$BED_TMP/uplinks.conf
up_conf "$conf" dsl:up1 lte:up2:backup
cp "$BED_KEY_CLI" "$BED_TMP/nobody.key"
chown 65534:65534 "$BED_TMP/nobody.key" "$conf"
up_state "$NS_CLI" >"$BED_TMP/before.txt"

bed_spawn local "$NS_CLI" "$BED_TMP/local.log" \
    setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    --bounding-set=-all "$BED_BUILD/mpsocks-local" -c "$conf" \
    --listen "127.0.0.1:$BED_LOCAL_PORT" --server "$BED_PUB:$BED_SRV_PORT" \
    --key-file "$BED_TMP/nobody.key"
bed_wait_port "$NS_CLI" "$BED_LOCAL_PORT" 10 || bed_fail "no start"
sleep 0.5
bed_expect "unprivileged: report-only mode logged" \
    grep -q 'event=uplinks_report_only why=no_cap_net_admin' \
    "$BED_TMP/local.log"
for a in "dsl:10.$B.1.2" "lte:10.$B.2.2"; do
	bed_expect "unprivileged: reports no endpoint for ${a#*:}" grep -q \
	    "uplink ${a%%:*}: no MPTCP endpoint for ${a#*:} — bonding will not use it" \
	    "$BED_TMP/local.log"
	bed_expect "unprivileged: reports no source rule for ${a#*:}" \
	    grep -q "uplink ${a%%:*}: no source rule for ${a#*:}" \
	    "$BED_TMP/local.log"
done
# the default limit (2 subflows) is enough for 2 addresses: no false alarm
bed_expect "unprivileged: no complaint about limits that suffice" \
    bash -c "! grep -q 'MPTCP limits' '$BED_TMP/local.log'"
bed_stop local
up_state "$NS_CLI" >"$BED_TMP/after.txt"
bed_expect "unprivileged: nothing changed" \
    up_same_state "$BED_TMP/before.txt" "$BED_TMP/after.txt"

printf '[local]\nmanage_uplinks = no\n' >>"$conf"
# root refuses a config that nobody owns (and so could have written)
chown 0:0 "$conf"
mv "$BED_TMP/local.log" "$BED_TMP/local-nobody.log"
up_local_start "$conf"
sleep 0.5
bed_expect "manage_uplinks = no: report-only mode logged" \
    grep -q 'event=uplinks_report_only why=manage_uplinks_no' \
    "$BED_TMP/local.log"
bed_expect "manage_uplinks = no: reports no endpoint" grep -q \
    "uplink lte: no MPTCP endpoint for 10.$B.2.2" "$BED_TMP/local.log"
bed_stop local
up_state "$NS_CLI" >"$BED_TMP/after2.txt"
bed_expect "manage_uplinks = no: nothing changed" \
    up_same_state "$BED_TMP/before.txt" "$BED_TMP/after2.txt"

out=$(bed_ns "$NS_CLI" setpriv --reuid=65534 --regid=65534 --clear-groups \
    --inh-caps=-all --bounding-set=-all "$BED_BUILD/mpsocks-local" \
    --uplinks -c "$conf") || say "--uplinks exit $?"
say "--uplinks as nobody:"
say "$out" | sed 's/^/  /'
bed_expect "--uplinks: both uplinks, their addresses and gateways" bash -c "
	grep -q '^uplink dsl' <<<'$out' && grep -q '^uplink lte' <<<'$out' &&
	grep -q 'address    10.$B.2.2/24 endpoint none rule none' <<<'$out' &&
	grep -q 'gateway    10.$B.1.1 (learned)' <<<'$out' &&
	grep -q 'role       backup' <<<'$out'"
bed_expect "--uplinks: lists what is missing" \
    grep -q "missing: uplink dsl: no MPTCP endpoint for 10.$B.1.2" <<<"$out"
bed_finish
