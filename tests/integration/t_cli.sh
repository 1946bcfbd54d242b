#!/bin/bash
# The command lines of both daemons (no network, no namespaces):
#   - --help exits 0 and mentions every option (those of
#     docs/configuration.md and the general ones); every option it lists is
#     recognised
#   - --version exits 0; an unknown option or a stray argument exits
#     non-zero with a message
#   - mpsocks-server --genkey: 44 base64 characters that decode to 32
#     bytes; two runs differ
#   - -t with conf/server.conf and conf/local.conf (paths patched to temp
#     files): "configuration OK", exit 0
#   - -t with a file holding 3 different errors: exit 78 (EX_CONFIG), each
#     reported as file:line
#   - mpsocks-local listening beyond loopback without --user or
#     --allow-client: exit 78 with a message; with --allow-client or
#     --user it is accepted
#   - a key file readable by others is refused; a local key file with 2
#     keys is refused
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_daemons
SRV=$BED_BUILD/mpsocks-server
LOC=$BED_BUILD/mpsocks-local
command -v base64 >/dev/null || bed_skip "base64 (coreutils) not installed"

T=$(mktemp -d /tmp/mpsocks-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
say "cli: binaries in $BED_BUILD, temp dir $T"

# run OUT CMD...: run CMD (10 s at most), stdout+stderr to OUT; sets rc
run() {
	local out=$1
	shift
	rc=0
	timeout 10 "$@" >"$out" 2>&1 </dev/null || rc=$?
}
show() { sed 's/^/    /' "$1"; }
has() { grep -qF -- "$2" "$1"; }

# --- options in --help ---------------------------------------------------------
# doc_opts SECTION: the options in the table of "## SECTION" in
# docs/configuration.md
doc_opts() {
	awk -v s="## $1" '$0 == s { on = 1; next } /^## / { on = 0 } on' \
	    "$BED_REPO/docs/configuration.md" |
	    grep '^| `-' | cut -d'|' -f2 | grep -oE -- '--?[a-z][a-z-]*' |
	    sort -u
}
srv_opts="$(doc_opts mpsocks-server) --config -c --test -t --version --help -h"
loc_opts="$(doc_opts mpsocks-local) --config -c --test -t --version --help -h"
say "measured: documented server options:" $srv_opts
say "measured: documented local options:" $loc_opts
bed_expect "docs list at least 10 server options" \
    [ "$(echo $srv_opts | wc -w)" -ge 10 ]
bed_expect "docs list at least 10 local options" \
    [ "$(echo $loc_opts | wc -w)" -ge 10 ]

# help_check NAME BIN OPTS: --help exits 0 on stdout, names every option,
# and every option it names is recognised
help_check() {
	local name=$1 bin=$2 opts=$3 o missing='' unknown='' arg tried=0
	run "$T/help" "$bin" --help
	say "measured: $name --help: exit $rc, $(wc -l <"$T/help") lines"
	bed_expect "$name --help exits 0" [ "$rc" -eq 0 ]
	for o in $opts; do
		# "-l," "--listen " "--listen=" ... as a word of its own
		grep -qE -- "(^|[[:space:],])$o([[:space:],=]|$)" "$T/help" ||
		    missing="$missing $o"
	done
	bed_expect "$name --help mentions every option${missing:+ (missing:$missing)}" \
	    [ -z "$missing" ]
	# each long option the help text lists (lines "  -x, --opt ARG") is
	# one getopt knows
	for o in $(grep -E -- '^ +(-[a-zA-Z], )?--[a-z]' "$T/help" |
	    grep -oE -- '--[a-z][a-z-]+( [A-Z]+)?' | tr ' ' '=' | sort -u); do
		case $o in --help | --version | --genkey) continue ;; esac
		arg=
		case $o in *=*) arg=1 ;; esac
		tried=$((tried + 1))
		run "$T/opt" "$bin" "${o%%=*}" ${arg:+1} -t
		if has "$T/opt" "unrecognized option"; then
			unknown="$unknown ${o%%=*}"
		fi
	done
	say "measured: $name: $tried long options of --help tried on the command line"
	bed_expect "$name: every option in --help is recognised${unknown:+ (not:$unknown)}" \
	    eval "[ -z '$unknown' ] && [ $tried -ge 10 ]"
}
help_check mpsocks-server "$SRV" "$srv_opts"
help_check mpsocks-local "$LOC" "$loc_opts"

# --- --version, unknown options ---------------------------------------------------
for b in "$SRV" "$LOC"; do
	n=$(basename "$b")
	run "$T/out" "$b" --version
	say "measured: $n --version: exit $rc: $(head -n1 "$T/out")"
	bed_expect "$n --version exits 0" [ "$rc" -eq 0 ]
	bed_expect "$n --version prints \"$n VERSION\"" \
	    grep -qE "^$n [0-9]+\.[0-9]+" "$T/out"

	run "$T/out" "$b" --no-such-option
	say "measured: $n --no-such-option: exit $rc: $(head -n1 "$T/out")"
	bed_expect "$n --no-such-option exits non-zero" [ "$rc" -ne 0 ]
	bed_expect "$n --no-such-option says so" \
	    grep -qi "unrecognized option.*no-such-option" "$T/out"
	bed_expect "$n --no-such-option prints the usage" grep -q '^usage:' "$T/out"

	run "$T/out" "$b" stray-argument
	say "measured: $n stray-argument: exit $rc: $(head -n1 "$T/out")"
	bed_expect "$n with a stray argument exits non-zero" [ "$rc" -ne 0 ]
	bed_expect "$n with a stray argument names it" \
	    grep -q "stray-argument" "$T/out"
done

# --- --genkey ------------------------------------------------------------------------------
run "$T/k1" "$SRV" --genkey
rc1=$rc
run "$T/k2" "$SRV" --genkey
k1=$(cat "$T/k1")
k2=$(cat "$T/k2")
n1=$(printf '%s' "$k1" | base64 -d 2>/dev/null | wc -c)
say "measured: --genkey: exit $rc1, \"$k1\" (${#k1} chars, $n1 bytes decoded); second run \"$k2\""
bed_expect "--genkey exits 0" [ "$rc1" -eq 0 ]
bed_expect "--genkey prints one line" [ "$(wc -l <"$T/k1")" -eq 1 ]
bed_expect "--genkey: 44 base64 characters" \
    eval "printf '%s' \"\$k1\" | grep -qE '^[A-Za-z0-9+/]{43}=\$'"
bed_expect "--genkey: decodes to 32 bytes" [ "$n1" -eq 32 ]
bed_expect "--genkey: two runs differ" [ "$k1" != "$k2" ]

# --- -t with the sample configs ------------------------------------------------------------
printf 'home %s\n' "$k1" >"$T/server.keys"
printf '%s\n' "$k1" >"$T/local.key"
chmod 600 "$T/server.keys" "$T/local.key"
sed "s|^key_file = .*|key_file = $T/server.keys|" "$BED_REPO/conf/server.conf" \
    >"$T/server.conf"
sed "s|^key_file = .*|key_file = $T/local.key|" "$BED_REPO/conf/local.conf" \
    >"$T/local.conf"
bed_expect "the sample server.conf was patched" \
    grep -q "^key_file = $T/server.keys" "$T/server.conf"
bed_expect "the sample local.conf was patched" \
    grep -q "^key_file = $T/local.key" "$T/local.conf"

run "$T/out" "$SRV" -t -c "$T/server.conf"
say "measured: mpsocks-server -t -c server.conf: exit $rc:"
show "$T/out"
bed_expect "server -t with conf/server.conf: exit 0" [ "$rc" -eq 0 ]
bed_expect "server -t with conf/server.conf: configuration OK" \
    has "$T/out" "configuration OK"

run "$T/out" "$LOC" -t -c "$T/local.conf"
say "measured: mpsocks-local -t -c local.conf: exit $rc:"
show "$T/out"
bed_expect "local -t with conf/local.conf: exit 0" [ "$rc" -eq 0 ]
bed_expect "local -t with conf/local.conf: configuration OK" \
    has "$T/out" "configuration OK"

# --- 3 errors, each with file:line ----------------------------------------------------------
cat >"$T/bad-server.conf" <<EOF
[server]
listen = 0.0.0.0:8443
key_file = $T/server.keys
handshake_timeout = 0
lisen = 0.0.0.0:9443
this line is not a key and a value
EOF
run "$T/out" "$SRV" -t -c "$T/bad-server.conf"
say "measured: mpsocks-server -t with 3 errors (lines 4, 5, 6): exit $rc:"
show "$T/out"
bed_expect "server: 3 errors: exit 78" [ "$rc" -eq 78 ]
bed_expect "server: line 4 (out of range) reported" \
    grep -q "^$T/bad-server.conf:4: .*handshake_timeout" "$T/out"
bed_expect "server: line 5 (unknown key) reported" \
    grep -q "^$T/bad-server.conf:5: .*lisen" "$T/out"
bed_expect "server: line 6 (not key = value) reported" \
    grep -q "^$T/bad-server.conf:6: " "$T/out"
bed_expect "server: summary counts 3 errors" has "$T/out" "3 errors"

cat >"$T/bad-local.conf" <<EOF
; three different errors
[local]
server = vps.example.net:8443
key_file = $T/local.key
mptcp = maybe
user = nopassword
[nonsense]
key = value
EOF
run "$T/out" "$LOC" -t -c "$T/bad-local.conf"
say "measured: mpsocks-local -t with 3 errors (lines 5, 6, 8): exit $rc:"
show "$T/out"
bed_expect "local: 3 errors: exit 78" [ "$rc" -eq 78 ]
bed_expect "local: line 5 (bad boolean) reported" \
    grep -q "^$T/bad-local.conf:5: .*mptcp" "$T/out"
bed_expect "local: line 6 (user without password) reported" \
    grep -q "^$T/bad-local.conf:6: .*user" "$T/out"
bed_expect "local: line 8 (unknown section) reported" \
    grep -q "^$T/bad-local.conf:8: .*nonsense" "$T/out"
bed_expect "local: summary counts 3 errors" has "$T/out" "3 errors"

# --- an open proxy is refused -----------------------------------------------------------------
lbase=(--server 10.1.2.3:8443 --key-file "$T/local.key")
run "$T/out" "$LOC" -t "${lbase[@]}" --listen 0.0.0.0:1080
say "measured: mpsocks-local -t --listen 0.0.0.0:1080 (no --user, no --allow-client): exit $rc:"
show "$T/out"
bed_expect "open proxy: exit 78" [ "$rc" -eq 78 ]
bed_expect "open proxy: the message says why" \
    grep -qi "0.0.0.0:1080.*beyond loopback" "$T/out"
bed_expect "open proxy: not \"configuration OK\"" \
    eval "! grep -q 'configuration OK' '$T/out'"

run "$T/out" "$LOC" -t "${lbase[@]}" --listen 0.0.0.0:1080 \
    --allow-client 10.0.0.0/8
say "measured: ... --allow-client 10.0.0.0/8: exit $rc: $(cat "$T/out")"
bed_expect "with --allow-client: exit 0, configuration OK" \
    eval "[ $rc -eq 0 ] && grep -q 'configuration OK' '$T/out'"

run "$T/out" "$LOC" -t "${lbase[@]}" --listen 0.0.0.0:1080 --user bob:pw
say "measured: ... --user bob:pw: exit $rc: $(cat "$T/out")"
bed_expect "with --user: exit 0, configuration OK" \
    eval "[ $rc -eq 0 ] && grep -q 'configuration OK' '$T/out'"

run "$T/out" "$LOC" -t "${lbase[@]}"
say "measured: mpsocks-local -t with the default listen (loopback): exit $rc: $(cat "$T/out")"
bed_expect "loopback needs neither: exit 0" [ "$rc" -eq 0 ]

# --- key files ----------------------------------------------------------------------------------
cp "$T/server.keys" "$T/open.keys"
chmod 644 "$T/open.keys"
run "$T/out" "$SRV" -t --listen 127.0.0.1:8443 --key-file "$T/open.keys"
say "measured: mpsocks-server -t with a key file of mode 644: exit $rc:"
show "$T/out"
bed_expect "server: key file readable by others: exit 78" [ "$rc" -eq 78 ]
bed_expect "server: key file readable by others: says so" \
    grep -qi "$T/open.keys.*readable by others" "$T/out"

run "$T/out" "$LOC" -t --server 10.1.2.3:8443 --key-file "$T/open.keys"
say "measured: mpsocks-local -t with a key file of mode 644: exit $rc:"
show "$T/out"
bed_expect "local: key file readable by others: exit 78" [ "$rc" -eq 78 ]
bed_expect "local: key file readable by others: says so" \
    grep -qi "$T/open.keys.*readable by others" "$T/out"

printf 'home %s\nwork %s\n' "$k1" "$k2" >"$T/two.keys"
chmod 600 "$T/two.keys"
run "$T/out" "$LOC" -t --server 10.1.2.3:8443 --key-file "$T/two.keys"
say "measured: mpsocks-local -t with a key file of 2 keys: exit $rc:"
show "$T/out"
bed_expect "local: 2 keys: exit 78" [ "$rc" -eq 78 ]
bed_expect "local: 2 keys: says it needs exactly one" \
    grep -qi "2 keys.*exactly one" "$T/out"
# the server takes the same file
run "$T/out" "$SRV" -t --listen 127.0.0.1:8443 --key-file "$T/two.keys"
say "measured: mpsocks-server -t with the same 2 keys: exit $rc: $(cat "$T/out")"
bed_expect "server: 2 keys are fine (configuration OK (2 keys))" \
    eval "[ $rc -eq 0 ] && grep -q 'configuration OK (2 keys)' '$T/out'"

bed_finish
