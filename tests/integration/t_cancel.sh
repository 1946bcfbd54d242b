#!/bin/bash
# An app that gives up while its tunnel is still opening (browsers cancel
# connections all the time) must free everything at once: mpsocks-local's
# session and the concentrator's lookup. The concentrator is given a
# name that never resolves (no resolver answers in the bed) and a long
# connect timeout, so only the app's departure can end the sessions early.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
bed_setup 20mbit 40mbit
bed_nginx_start
bed_server_start --connect-timeout 30
bed_local_start
proxy=127.0.0.1:$BED_LOCAL_PORT

closes() { grep -c "event=close.*$1" "$2" || true; }

# wait_close PATTERN LOG N: more than N such close lines within 5 s
wait_close() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(closes "$1" "$2")" -gt "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

for proto in socks5 http; do
	name=hang-$proto-$BED_ID.test
	if [ $proto = socks5 ]; then
		args=(--socks5-hostname "$proxy")
	else
		args=(-x "http://$proxy")
	fi
	before=$(closes 'reason="client closed"' "$BED_TMP/local.log")
	rc=0
	bed_ns "$NS_CLI" curl -sS --max-time 1 -o /dev/null "${args[@]}" \
	    "http://$name/" 2>/dev/null || rc=$?
	say "measured: $proto: curl gave up with exit $rc"
	bed_expect "$proto: curl timed out (28)" [ "$rc" -eq 28 ]
	bed_expect "$proto: mpsocks-local closed the session within 5 s" \
	    wait_close 'reason="client closed"' "$BED_TMP/local.log" "$before"
	bed_expect "$proto: the concentrator dropped the lookup within 5 s" \
	    wait_close "target=$name" "$BED_TMP/server.log" 0
	grep "event=close.*$name\|reason=\"client closed\"" \
	    "$BED_TMP/local.log" "$BED_TMP/server.log" | sed 's/^/  /' || true
done
bed_finish
