#!/bin/bash
# The man pages against the code, so that they cannot drift (no network,
# no namespaces, no root):
#   - every option, long and short, in the first column of
#     `mpsocks-server --help` and `mpsocks-local --help` is the tag of an
#     entry in the OPTIONS of man/mpsocks-server.8 and man/mpsocks-local.8
#   - every key of the config key table (the keys[] of
#     src/common/config.c, with its section) and of the section handlers
#     ([uplink NAME]: config_uplink_set() in src/local/config_uplink.c;
#     [rule NAME] and [geoip]: rule_key() and geoip_key() in
#     src/local/policy_load.c) is the tag of an entry under its section
#     (.SS "[server]", ...) in man/mpsocks.conf.5
#   - each page renders with groff -ww (and passes mandoc -Tlint, when
#     mandoc is installed) without a warning
# Each option or key missing from a page is named in the check that fails.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_daemons
command -v groff >/dev/null || bed_skip "groff not installed (make deps: groff-base)"
MAN=$BED_REPO/man
SRC=$BED_REPO/src

T=$(mktemp -d /tmp/mpsocks-man.XXXXXX)
trap 'rm -rf "$T"' EXIT

# render PAGE: plain ASCII, no line wrapped (tags stay on one line)
render() {
	groff -man -Tascii -P-cbou -rLL=400n -rIN=7n "$1" 2>/dev/null
}

# --- the pages render cleanly ------------------------------------------------------
for p in mpsocks-server.8 mpsocks-local.8 mpsocks.conf.5; do
	bed_expect "$p exists" [ -f "$MAN/$p" ]
	[ -f "$MAN/$p" ] || continue
	groff -man -Tutf8 -ww -z "$MAN/$p" >"$T/groff" 2>&1 || true
	say "measured: groff -ww $p: $(wc -l <"$T/groff") lines of warnings"
	sed 's/^/    /' "$T/groff"
	bed_expect "$p: groff -man -ww renders it without a warning" \
	    [ ! -s "$T/groff" ]
	if command -v mandoc >/dev/null; then
		mandoc -Tlint "$MAN/$p" >"$T/lint" 2>&1 || true
		say "measured: mandoc -Tlint $p: $(wc -l <"$T/lint") lines"
		sed 's/^/    /' "$T/lint"
		bed_expect "$p: mandoc -Tlint is silent" [ ! -s "$T/lint" ]
	else
		say "mandoc not installed: lint by groff alone"
	fi
done

# --- options ----------------------------------------------------------------------
# help_opts BIN: the options of --help's first column (29 characters:
# "  -l, --listen ADDR:PORT" or "      --no-mptcp"), one per line
help_opts() {
	"$1" --help | grep -E -- '^  (-[a-zA-Z], |    )--[a-z]' | cut -c1-29 |
	    grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z-]*' | tr -d ' ,' | sort -u
}

# man_tags PAGE: the tag lines of its OPTIONS section
man_tags() {
	render "$1" | awk '/^[A-Z]/ { on = ($0 == "OPTIONS"); next }
	    on && /^       -/'
}

# opt_check NAME BIN PAGE
opt_check() {
	local name=$1 bin=$2 page=$3 o missing='' n
	help_opts "$bin" >"$T/opts"
	man_tags "$page" >"$T/tags"
	n=$(wc -l <"$T/opts")
	say "measured: $name --help lists $n options:" $(cat "$T/opts")
	say "measured: $(basename "$page") has $(wc -l <"$T/tags") option tags"
	bed_expect "$name: --help lists at least 15 options (the extraction works)" \
	    [ "$n" -ge 15 ]
	while read -r o; do
		grep -qE -- "(^|[ ,])$o([ ,=]|\$)" "$T/tags" || missing="$missing $o"
	done <"$T/opts"
	bed_expect "$(basename "$page") has an entry for every option of $name --help${missing:+ (missing:$missing)}" \
	    [ -z "$missing" ]
}
opt_check mpsocks-server "$BED_BUILD/mpsocks-server" "$MAN/mpsocks-server.8"
opt_check mpsocks-local "$BED_BUILD/mpsocks-local" "$MAN/mpsocks-local.8"

# --- config keys --------------------------------------------------------------------
# "[section] key" for every key the daemons take
{
	sed -n '/^static const struct config_key keys\[\] = {/,/^};/p' \
	    "$SRC/common/config.c" |
	    grep -oE '\{ *(S|L|S \| L), *"[a-z]+", *"[a-z_]+"' |
	    sed -E 's/.*"([a-z]+)", *"([a-z_]+)"/[\1] \2/'
	awk '/^config_uplink_set\(/ { f = 1 } f && /^}/ { f = 0 } f' \
	    "$SRC/local/config_uplink.c" |
	    grep -oE 'strcmp\(key, "[a-z_]+"\)' |
	    sed -E 's/.*"([a-z_]+)".*/[uplink NAME] \1/'
	for fn in rule:"rule NAME" geoip:geoip; do
		awk -v fn="^${fn%%:*}_key\\\\(" '$0 ~ fn { f = 1 } f && /^}/ { f = 0 } f' \
		    "$SRC/local/policy_load.c" |
		    grep -oE 'keyeq\("[a-z_]+"' |
		    sed -E "s/.*\"([a-z_]+)\"/[${fn#*:}] \\1/"
	done
} | sort -u >"$T/keys"

# the same pairs from the page: a tag line under an .SS "[section]"
render "$MAN/mpsocks.conf.5" | awk '
	/^[A-Z]/ { sec = ""; next }
	/^   \[/ { sec = substr($0, 4); next }
	sec != "" && /^       [a-z]/ {
		k = substr($0, 8); sub(/[ =].*/, "", k); print sec " " k
	}' | sort -u >"$T/mankeys"

for s in '[server]' '[dns]' '[control]' '[local]' '[uplink NAME]' \
    '[rule NAME]' '[geoip]'; do
	say "measured: $s: $(grep -cF "$s " "$T/keys") keys in the code," \
	    "$(grep -cF "$s " "$T/mankeys") in mpsocks.conf.5"
done
bed_expect "the code has at least 45 table keys (the extraction works)" \
    [ "$(grep -cvE '^\[(uplink|rule|geoip)' "$T/keys")" -ge 45 ]
bed_expect "the handlers have 3 [uplink NAME] keys, at least 12 [rule NAME], 2 [geoip]" \
    eval "[ $(grep -c '^\[uplink NAME\]' "$T/keys") -eq 3 ] &&
    [ $(grep -c '^\[rule NAME\]' "$T/keys") -ge 12 ] &&
    [ $(grep -c '^\[geoip\]' "$T/keys") -eq 2 ]"
missing=$(comm -23 "$T/keys" "$T/mankeys" | tr '\n' ';' | sed 's/;$//')
bed_expect "mpsocks.conf.5 has an entry for every config key, under its section${missing:+ (missing: $missing)}" \
    [ -z "$missing" ]
# the other way: an entry for a key the code does not take is stale
stale=$(comm -13 "$T/keys" "$T/mankeys" | tr '\n' ';' | sed 's/;$//')
bed_expect "mpsocks.conf.5 documents no key the code lacks${stale:+ (stale: $stale)}" \
    [ -z "$stale" ]

bed_finish
