#!/bin/bash
# Pairing in one step, with no other configuration:
#   - on a fresh concentrator with no key file, `mpsocks-server --add-home
#     home1 --public ADDR:PORT` creates the key file (mode 0600) and prints
#     one token line; a second home1 is refused, the file unchanged
#   - at home, `mpsocks-local --pair TOKEN --config C --key-file K` writes
#     K (mode 0600, the concentrator's key) and C (server and key_file,
#     not writable by group or others), and says "configuration OK"
#   - both daemons started with only those files (plus the bed's listen
#     address and --allow for its private destination): a download
#     through the proxy is byte-exact, logged under home1
#   - --add-home home2 with the running concentrator's --pid-file: SIGHUP
#     sent, the key file reloaded (keys=2)
#   - a second --pair with home2's token: refused without --force, both
#     files unchanged; -t writes nothing; with --force the key is
#     replaced (still 0600), and a restarted mpsocks-local downloads as
#     home2 from the concentrator that was never restarted
#   - a damaged token (one character changed) and --pair - (the token on
#     stdin, alone or amid --add-home's comments) into other files
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
SRV=$BED_BUILD/mpsocks-server
LOC=$BED_BUILD/mpsocks-local
bed_setup 20mbit 40mbit
big=$(bed_make_file pair.bin 20)
bed_nginx_start

V=$BED_TMP/vps
H=$BED_TMP/home
mkdir -m 700 "$V" "$H"
pub=$BED_PUB:$BED_SRV_PORT

mode() { stat -c %a "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
show() { sed 's/^/    /' "$1"; }
# run NAME NS CMD...: CMD in NS, stdout to $BED_TMP/NAME.out, stderr to
# NAME.err; sets rc
run() {
	local name=$1 ns=$2
	shift 2
	rc=0
	timeout 20 ip netns exec "$ns" "$@" >"$BED_TMP/$name.out" \
	    2>"$BED_TMP/$name.err" </dev/null || rc=$?
	say "measured: $name: exit $rc"
	show "$BED_TMP/$name.err"
}
token_of() { grep -E '^mpsocks1:[A-Za-z0-9_-]+$' "$BED_TMP/$1.out"; }
wait_log() {	# FILE PATTERN
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# --- the concentrator's side ----------------------------------------------------
bed_expect "no key file on the fresh concentrator" [ ! -e "$V/keys" ]
run add1 "$NS_SRV" "$SRV" --add-home home1 --key-file "$V/keys" --public "$pub"
bed_expect "--add-home home1: exit 0" [ "$rc" -eq 0 ]
bed_expect "--add-home home1: the key file was created" [ -f "$V/keys" ]
say "measured: key file mode $(mode "$V/keys"), $(wc -l <"$V/keys") line(s)"
bed_expect "the new key file is mode 600" [ "$(mode "$V/keys")" = 600 ]
bed_expect "it holds one line, home1's" grep -qE '^home1 [A-Za-z0-9+/]{43}=$' "$V/keys"
bed_expect "stdout has exactly one token line" \
    [ "$(grep -c '^mpsocks1:' "$BED_TMP/add1.out")" -eq 1 ]
bed_expect "every other stdout line is a comment" \
    eval "! grep -vE '^(#|mpsocks1:)' '$BED_TMP/add1.out'"
bed_expect "without a pid file it says how to reload" \
    grep -q 'systemctl reload mpsocks-server' "$BED_TMP/add1.err"
tok1=$(token_of add1)
say "measured: token of ${#tok1} characters"
bed_expect "the server's -t takes the new key file" \
    ip netns exec "$NS_SRV" "$SRV" -t --listen "$pub" --key-file "$V/keys"

before=$(sha "$V/keys")
run add1again "$NS_SRV" "$SRV" --add-home home1 --key-file "$V/keys" --public "$pub"
bed_expect "a second home1: refused" [ "$rc" -ne 0 ]
bed_expect "a second home1: says the name is taken" \
    grep -q 'already has a key named home1' "$BED_TMP/add1again.err"
bed_expect "a second home1: the key file unchanged" [ "$(sha "$V/keys")" = "$before" ]

# --- the home's side --------------------------------------------------------------
run pair1 "$NS_CLI" "$LOC" --pair "$tok1" --config "$H/local.conf" \
    --key-file "$H/client.key"
show "$BED_TMP/pair1.out"
bed_expect "--pair: exit 0" [ "$rc" -eq 0 ]
bed_expect "--pair: the result checks (configuration OK)" \
    grep -q '^configuration OK' "$BED_TMP/pair1.out"
bed_expect "--pair: says how to start" \
    grep -q "mpsocks-local -c $H/local.conf" "$BED_TMP/pair1.out"
say "measured: client.key mode $(mode "$H/client.key"), local.conf mode $(mode "$H/local.conf")"
bed_expect "the key file is mode 600" [ "$(mode "$H/client.key")" = 600 ]
bed_expect "the config is not writable by group or others" \
    eval "[ \$(( 0$(mode "$H/local.conf") & 022 )) -eq 0 ]"
bed_expect "the home's key is the concentrator's home1 key" \
    [ "$(cat "$H/client.key")" = "$(grep '^home1 ' "$V/keys")" ]
say "measured: local.conf:"
show "$H/local.conf"
bed_expect "the config names the concentrator" \
    grep -qx "server = $pub" "$H/local.conf"
bed_expect "the config names the key file" \
    grep -qx "key_file = $H/client.key" "$H/local.conf"

# --- both daemons from those files ------------------------------------------------------
bed_spawn server "$NS_SRV" "$BED_TMP/server.log" "$SRV" --listen "$pub" \
    --key-file "$V/keys" --allow "$BED_DST_NET" --pid-file "$V/server.pid" -v
bed_wait_port "$NS_SRV" "$BED_SRV_PORT" 10 || bed_fail "mpsocks-server did not start"
bed_expect "the pid file holds the server's pid" \
    [ "$(cat "$V/server.pid" 2>/dev/null)" = "$BED_PID_server" ]
start_local() {
	bed_spawn local "$NS_CLI" "$BED_TMP/local$1.log" "$LOC" \
	    -c "$H/local.conf" --listen "127.0.0.1:$BED_LOCAL_PORT" -v
	bed_wait_port "$NS_CLI" "$BED_LOCAL_PORT" 10 ||
	    bed_fail "mpsocks-local did not start"
}
start_local 1
n=$(bed_fetch_exact 2 pair.bin 60)
say "measured: $n of 2 downloads byte-exact as home1"
bed_expect "downloads through the paired home: 2 of 2 byte-exact" [ "$n" -eq 2 ]
bed_expect "the concentrator served them as home1" \
    grep -q 'event=close .*client=home1 ' "$BED_TMP/server.log"

# --- a second home, with the concentrator running --------------------------------------------
run add2 "$NS_SRV" "$SRV" --add-home home2 --key-file "$V/keys" --public "$pub" \
    --pid-file "$V/server.pid"
bed_expect "--add-home home2: exit 0" [ "$rc" -eq 0 ]
bed_expect "--add-home home2: SIGHUP sent to the running server" \
    grep -q "sent SIGHUP to the concentrator (pid $BED_PID_server)" "$BED_TMP/add2.err"
bed_expect "the server reloaded: 2 keys" \
    wait_log "$BED_TMP/server.log" 'event=reload result=ok keys=2'
bed_expect "the key file kept mode 600" [ "$(mode "$V/keys")" = 600 ]
bed_expect "the key file kept home1's line" grep -q "^$(cat "$H/client.key")\$" "$V/keys"
tok2=$(token_of add2)

key_before=$(sha "$H/client.key")
conf_before=$(sha "$H/local.conf")
run pair2 "$NS_CLI" "$LOC" --pair "$tok2" --config "$H/local.conf" \
    --key-file "$H/client.key"
bed_expect "a second --pair (another key): refused without --force" [ "$rc" -ne 0 ]
bed_expect "... says the key file holds another key" \
    grep -q 'holds another key' "$BED_TMP/pair2.err"
bed_expect "... the key file unchanged" [ "$(sha "$H/client.key")" = "$key_before" ]
bed_expect "... the config unchanged" [ "$(sha "$H/local.conf")" = "$conf_before" ]

run pair2t "$NS_CLI" "$LOC" --pair "$tok2" --config "$H/local.conf" \
    --key-file "$H/client.key" --force -t
bed_expect "--pair --force -t: exit 0" [ "$rc" -eq 0 ]
bed_expect "--pair --force -t: says it would replace the key" \
    grep -q "would replace $H/client.key" "$BED_TMP/pair2t.out"
bed_expect "--pair --force -t: writes nothing" \
    [ "$(sha "$H/client.key")" = "$key_before" ]

run pair2f "$NS_CLI" "$LOC" --pair "$tok2" --config "$H/local.conf" \
    --key-file "$H/client.key" --force
show "$BED_TMP/pair2f.out"
bed_expect "--pair --force: exit 0" [ "$rc" -eq 0 ]
bed_expect "--pair --force: the key is home2's now" \
    [ "$(cat "$H/client.key")" = "$(grep '^home2 ' "$V/keys")" ]
bed_expect "--pair --force: the key file is still mode 600" [ "$(mode "$H/client.key")" = 600 ]

bed_stop local
start_local 2
n=$(bed_fetch_exact 1 pair.bin 60)
say "measured: $n of 1 download byte-exact as home2"
bed_expect "a download as home2, from the concentrator never restarted: byte-exact" \
    [ "$n" -eq 1 ]
bed_expect "the concentrator served it as home2" \
    grep -q 'event=close .*client=home2 ' "$BED_TMP/server.log"

# --- a damaged token, and one on stdin ----------------------------------------------
bad=${tok2:0:30}$([ "${tok2:30:1}" = A ] && echo B || echo A)${tok2:31}
run pairbad "$NS_CLI" "$LOC" --pair "$bad" --config "$BED_TMP/bad.conf" \
    --key-file "$BED_TMP/bad.key"
bed_expect "a damaged token: refused" [ "$rc" -ne 0 ]
bed_expect "a damaged token: says the token is not valid" \
    grep -q 'the token is not valid' "$BED_TMP/pairbad.err"
bed_expect "a damaged token: nothing written" \
    eval "[ ! -e '$BED_TMP/bad.conf' ] && [ ! -e '$BED_TMP/bad.key' ]"
rc=0
printf '  %s\n' "$tok1" | ip netns exec "$NS_CLI" "$LOC" --pair - \
    --config "$BED_TMP/stdin.conf" >"$BED_TMP/stdin.out" 2>&1 || rc=$?
say "measured: --pair - (token on stdin): exit $rc"
bed_expect "--pair -: exit 0" [ "$rc" -eq 0 ]
bed_expect "--pair -: the key file beside the config is home1's" \
    [ "$(cat "$BED_TMP/client.key" 2>/dev/null)" = "$(grep '^home1 ' "$V/keys")" ]

# the whole of --add-home's output piped in, as README shows (comments,
# then the token, then more comments)
rc=0
ip netns exec "$NS_CLI" "$LOC" --pair - --config "$BED_TMP/pipe/local.conf" \
    <"$BED_TMP/add1.out" >"$BED_TMP/pipe.out" 2>&1 || rc=$?
say "measured: --add-home's output piped into --pair -: exit $rc"
bed_expect "--add-home | --pair -: exit 0" [ "$rc" -eq 0 ]
bed_expect "--add-home | --pair -: the key is home1's" \
    [ "$(cat "$BED_TMP/pipe/client.key" 2>/dev/null)" = "$(grep '^home1 ' "$V/keys")" ]

bed_stop server
bed_expect "the server removed its pid file at exit" [ ! -e "$V/server.pid" ]
bed_finish
