#!/bin/bash
# Page load in headless Chromium: one page referencing BENCH_PAGE_OBJECTS
# (60) small objects (images and scripts) spread over BENCH_PAGE_HOSTS (6)
# host names that all resolve to the destination, over the 15/35 ms bed
# of setup.sh (uplink 1 20 Mbit/s with 15 ms one way, where initial
# subflows go; uplink 2 40 Mbit/s with 35 ms). Load time is the page's
# loadEventEnd - navigationStart (Navigation Timing), which the page's
# own script writes into the DOM and --dump-dom prints; median of
# BENCH_PAGE_N (5) loads, each in a fresh browser profile (no cache, no
# connections kept).
#
# Paths: mpsocks (the default, warm pool; Chromium's SOCKS5 proxy, names
# resolved by the concentrator) on the first page after its start (the
# pool at pool_min) and after one unmeasured load of the page (the pool
# grown to what that burst asked for, up to pool_max), the grown pool
# with [uplink] sections (pooled tunnels start on each uplink in turn),
# mpsocks --no-pool,
# shadowsocks-libev (--mptcp at both ends) and direct: no proxy, the
# names in the client's hosts file, routed by the concentrator over
# uplink 1 alone, the faster one.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sslib.sh"

LOADS=${BENCH_PAGE_N:-5}
OBJECTS=${BENCH_PAGE_OBJECTS:-60}
HOSTS=${BENCH_PAGE_HOSTS:-6}
bed_require_base
bed_require_nginx
bed_require_daemons linkem
ss_require
CHROMIUM=$(command -v chromium 2>/dev/null) ||
    bed_skip "chromium not installed (make deps installs it)"
bed_setup "20mbit/15ms" "40mbit/35ms" >/dev/null

# --- the page ------------------------------------------------------------------
# host names h1..hN.<bed id>.test, all the destination; the concentrator
# (and ss-server) resolves them through its hosts file
NAMES=()
for ((h = 1; h <= HOSTS; h++)); do
	NAMES+=("h$h.$BED_ID.test")
	printf '%s\t%s\n' "$BED_DST_IP" "h$h.$BED_ID.test" \
	    >>"/etc/netns/$NS_SRV/hosts"
done
# every 5th object a script, the others PNG images of about 8 KB
"$PY" - "$BED_TMP/www" "$OBJECTS" "$BED_HTTP_PORT" "${NAMES[@]}" <<'EOF'
import os, struct, sys, zlib

root, n, port, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def png(path, w, h):
    # noise: about 3 * w * h bytes, as a photo's thumbnail would be
    raw = b"".join(b"\x00" + os.urandom(3 * w) for _ in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

body = []
for i in range(n):
    host = "http://%s:%s" % (names[i % len(names)], port)
    if i % 5 == 4:
        name = "s%d.js" % i
        with open(os.path.join(root, name), "w") as f:
            f.write("/* %s */\nwindow.scriptsRun = (window.scriptsRun || 0) + 1;\n"
                    % ("x" * 6000))
        body.append('<script src="%s/%s"></script>' % (host, name))
    else:
        name = "i%d.png" % i
        png(os.path.join(root, name), 48, 48)
        body.append('<img src="%s/%s" width="48" height="48">' % (host, name))
with open(os.path.join(root, "page.html"), "w") as f:
    f.write("""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mpsocks page load</title></head>
<body>
<p id="status">pending</p>
%s
<script>
window.addEventListener('load', function () {
	setTimeout(function () {
		var t = performance.timing, n = 0, i, im = document.images;
		var bad = '';
		for (i = 0; i < im.length; i++)
			if (im[i].complete && im[i].naturalWidth === 48)
				n++;
			else
				bad += ' ' + im[i].src;
		document.getElementById('status').textContent = 'done images=' +
		    n + ' scripts=' + (window.scriptsRun || 0) + ' load_ms=' +
		    (t.loadEventEnd - t.navigationStart) +
		    (bad ? ' missing' + bad : '');
	}, 0);
});
</script>
</body></html>
""" % "\n".join(body))
EOF
# shellcheck disable=SC2034	# read by bed_nginx_start
BED_NGINX_EXTRA="	types {
		text/html html;
		application/javascript js;
		image/png png;
	}"
bed_nginx_start
imgs=("$BED_TMP"/www/i*.png)
scripts=("$BED_TMP"/www/s*.js)
N_IMG=${#imgs[@]}
N_JS=${#scripts[@]}
URL=http://${NAMES[0]}:$BED_HTTP_PORT/page.html
# the concentrator says NXDOMAIN to the names Chromium asks for itself
# (update, accounts...), so those end at once, inside the bed
bed_spawn dns "$NS_SRV" "$BED_TMP/dns.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" dns-nxdomain 127.0.0.1 53 \
    "$BED_TMP/dns-queries.log"
bed_server_start -q
bed_addrs_settled
printf '[rule bed-bonded]\nany = yes\naction = bond\n[uplink dsl]\ninterface = up1\n[uplink lte]\ninterface = up2\n' \
    >"$BED_TMP/uplinks.conf"

# load NAME PROXYFLAG: one headless Chromium in the client, a fresh
# profile; appends the load time (ms) to $BED_TMP/l-NAME; fails unless
# every object loaded
load() {
	local name=$1 flag=$2 h=$BED_TMP/home i k res pid
	rm -rf "$h"
	mkdir -p "$h/profile" "$h/config" "$h/cache" "$h/data" "$h/run"
	chmod 700 "$h/run"
	k=0
	[ ! -f "$BED_TMP/l-$name" ] || k=$(wc -l <"$BED_TMP/l-$name")
	bed_ns "$NS_CLI" env HOME="$h" XDG_CONFIG_HOME="$h/config" \
	    XDG_CACHE_HOME="$h/cache" XDG_DATA_HOME="$h/data" \
	    XDG_RUNTIME_DIR="$h/run" DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
	    timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --disable-quic --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync \
	    --user-data-dir="$h/profile" "$flag" --dump-dom "$URL" \
	    >"$BED_TMP/dom-$name-$k.html" 2>"$BED_TMP/chromium-$name.log" ||
	    bed_fail "$name: chromium failed (exit $?)"
	# nothing of this browser may outlive it
	for ((i = 0; i < 50; i++)); do
		[ -z "$(chrome_pids)" ] && break
		sleep 0.1
	done
	for pid in $(chrome_pids); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	res=$(grep -o 'id="status">[^<]*' "$BED_TMP/dom-$name-$k.html" |
	    sed 's/.*>//') || true
	[[ $res == "done images=$N_IMG scripts=$N_JS load_ms="* ]] ||
	    bed_fail "$name: the page did not load whole: ${res:-no status}"
	echo "${res##*load_ms=}" >>"$BED_TMP/l-$name"
}
# chrome_pids: what runs in the client namespace besides the proxies
chrome_pids() {
	ip netns pids "$NS_CLI" | grep -vxF -e "$(bed_pid local)" \
	    -e "${SS_PID_LOCAL:-none}" || true
}
# cli_hosts on|off: the page's names in the client's own hosts file (the
# direct path only: through a proxy the concentrator resolves them)
cli_hosts() {
	local f=/etc/netns/$NS_CLI/hosts n
	printf '127.0.0.1\tlocalhost\n' >"$f"
	[ "$1" = on ] || return 0
	for n in "${NAMES[@]}"; do
		printf '%s\t%s\n' "$BED_DST_IP" "$n" >>"$f"
	done
}

# takes: "hits misses" of mpsocks-local's pool so far
takes() {
	echo "$(metric "$NS_CLI" "$LOCAL_CTL" \
	    'mpsocks_pool_takes_total{result="hit"}')" \
	    "$(metric "$NS_CLI" "$LOCAL_CTL" \
	    'mpsocks_pool_takes_total{result="miss"}')"
}
# mpsocks NAME first|grown ARGS...: one load through mpsocks-local started
# with ARGS; "grown": after a first, unmeasured load of the same page (the
# pool then holds what that burst asked for, up to pool_max). Appends the
# load's "hits misses" to $BED_TMP/t-NAME.
mpsocks() {
	local name=$1 when=$2 h0 m0 h1 m1
	shift 2
	bed_local_start -q "$@"
	if [ "$when" = grown ]; then
		pool_settle 10 || bed_fail "$name: the warm pool did not fill"
		load warmup "--proxy-server=socks5://127.0.0.1:$BED_LOCAL_PORT"
	fi
	if [ "$name" != nopool ]; then
		pool_settle 10 || bed_fail "$name: the warm pool did not fill"
		sleep 0.5	# the last tunnels' joins
	fi
	read -r h0 m0 <<<"$(takes)"
	load "$name" "--proxy-server=socks5://127.0.0.1:$BED_LOCAL_PORT"
	read -r h1 m1 <<<"$(takes)"
	# without a pool there is nothing to take
	[ "$name" = nopool ] ||
	    echo "$((h1 - h0)) $((m1 - m0))" >>"$BED_TMP/t-$name"
	bed_stop local
}

# interleaved rounds: a slow minute on this shared machine hits every
# path alike; each proxy starts fresh per load
for ((r = 0; r < LOADS; r++)); do
	cli_hosts on
	bed_forwarding on
	load direct --no-proxy-server
	bed_forwarding off
	cli_hosts off
	mpsocks first first
	mpsocks grown grown
	mpsocks uplinks grown -c "$BED_TMP/uplinks.conf"
	mpsocks nopool first --no-pool
	ss_start flag
	load ss "--proxy-server=socks5://127.0.0.1:$SS_LOCAL_PORT"
	ss_stop
done

row() {	# label name
	local t=
	[ -f "$BED_TMP/t-$2" ] && t=$(printf '%s of %s' \
	    "$(awk '{ print $1 }' "$BED_TMP/t-$2" | median)" \
	    "$(awk '{ print $1 + $2 }' "$BED_TMP/t-$2" | median)")
	printf '| %s | %.0f | %s | %s |\n' "$1" "$(median <"$BED_TMP/l-$2")" \
	    "$t" "$(sort -g "$BED_TMP/l-$2" |
	    awk '{ printf "%s%d", (NR > 1 ? " " : ""), $1 }')"
}

page_kb=$(du -cb "$BED_TMP"/www/page.html "$BED_TMP"/www/i*.png \
    "$BED_TMP"/www/s*.js | awk 'END { printf "%.0f", $1 / 1024 }')
echo "## Page load in headless Chromium ($OBJECTS objects, $HOSTS host names)"
echo
echo "One page with $N_IMG PNG images (48x48 noise, about 7 KB each) and"
echo "$N_JS scripts (6 KB), $page_kb KB in all, spread over $HOSTS host names"
echo "that all resolve to the destination's nginx (HTTP/1.1: up to 6"
echo "connections per name); uplink 1 20 Mbit/s with 15 ms one way (the"
echo "initial subflows'), uplink 2 40 Mbit/s with 35 ms. Load time = the"
echo "page's loadEventEnd - navigationStart, median of $LOADS loads, each"
echo "in a fresh profile (no cache) and with the proxy started fresh;"
echo "Chromium $("$CHROMIUM" --version 2>/dev/null | awk '{ print $2 }'),"
echo "headless, \`--proxy-server=socks5://...\` (names resolved by the"
echo "proxy's far end). Pool hits: mpsocks_pool_takes_total during the"
echo "measured load (Chromium's own requests for its services included)."
echo
echo "| path | load ms | pool hits of takes | each load, ms |"
echo "|---|---:|---:|---|"
row "direct over uplink 1 alone (no proxy; names from the client's hosts file)" direct
row "**mpsocks, warm pool**, first page (the pool at pool_min)" first
row "mpsocks, warm pool, after a first load of the page (the pool grown, up to pool_max)" grown
row "mpsocks, warm pool grown, [uplink] sections (pooled tunnels start on each uplink in turn)" uplinks
row "mpsocks, \`--no-pool\`" nopool
row "shadowsocks-libev, --mptcp at both ends" ss
echo
