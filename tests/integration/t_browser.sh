#!/bin/bash
# A real browser through mpsocks-local: Debian's chromium, headless, in the
# client namespace, loads a page from the destination BY NAME (the client
# namespace cannot resolve it: Chromium hands the name to the SOCKS5 proxy
# and the concentrator resolves it). The page pulls a stylesheet, a script
# and two PNG images; the script writes "loaded-N css-ok|css-missing" into
# the DOM once the window has loaded, N counting the images that decoded.
# Two proxy set-ups, each run twice (--dump-dom, then --screenshot):
#   - --proxy-server=socks5://127.0.0.1:PORT
#   - --proxy-pac-url=http://127.0.0.1:PORT/proxy.pac (the PAC file
#     mpsocks-local serves; Chromium takes its SOCKS5 entry)
# Checks per set-up: the DOM says "loaded-2 css-ok"; mpsocks-local relayed
# sessions to the destination's name (and, with the PAC, served
# /proxy.pac); the concentrator logged event=close for tunnels to the
# destination carrying at least the page's bytes; nginx logged every
# resource, each from the concentrator's address and none from the
# client; the screenshot is an 800x600 PNG in which both images show.
# The screenshots are kept with the test's logs.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
CHROMIUM=$(command -v chromium 2>/dev/null) ||
    bed_skip "chromium not installed (make deps installs it)"
bed_setup 20mbit 40mbit

# where the screenshots stay: run.sh's per-test log dir, else the default
keep=${BED_LOGDIR:-${LOGDIR:-$BED_REPO/build/test-logs}/t_browser}
mkdir -p "$keep"
rm -f "$keep"/screenshot-*.png

# --- the page ----------------------------------------------------------------------
W=$BED_TMP/www
# two solid 96x96 PNGs, written by hand (signature, IHDR, IDAT, IEND)
"$PY" - "$W" <<'EOF'
import struct, sys, zlib

def png(path, w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

png(sys.argv[1] + "/red.png", 96, 96, (200, 30, 40))
png(sys.argv[1] + "/blue.png", 96, 96, (20, 60, 210))
EOF
cat >"$W/page.html" <<'EOF'
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>mpsocks browser test</title>
<link rel="stylesheet" href="style.css">
<script src="app.js"></script>
</head>
<body>
<h1>mpsocks browser test</h1>
<p id="status">pending</p>
<img id="red" src="red.png" width="96" height="96" alt="red">
<img id="blue" src="blue.png" width="96" height="96" alt="blue">
</body>
</html>
EOF
cat >"$W/style.css" <<'EOF'
body { background: #f4f1e8; font-family: sans-serif; }
#status { color: rgb(0, 128, 0); font-size: 28px; }
img { margin: 12px; }
EOF
cat >"$W/app.js" <<'EOF'
window.addEventListener('load', function () {
	var n = 0, i, imgs = document.images;
	var st = document.getElementById('status');
	for (i = 0; i < imgs.length; i++)
		if (imgs[i].complete && imgs[i].naturalWidth === 96)
			n++;
	var css = getComputedStyle(st).color === 'rgb(0, 128, 0)';
	st.textContent = 'loaded-' + n + (css ? ' css-ok' : ' css-missing');
});
EOF
page_bytes=0
for f in page.html style.css app.js red.png blue.png; do
	page_bytes=$((page_bytes + $(stat -c %s "$W/$f")))
done

# the bed's nginx says application/octet-stream for everything; a browser
# in standards mode ignores a stylesheet sent so
BED_NGINX_EXTRA="	types {
		text/html html;
		text/css css;
		application/javascript js;
		image/png png;
	}"
bed_nginx_start
# Chromium also asks for its own services (update, accounts...) through the
# proxy; the concentrator's resolver says NXDOMAIN to every name (its hosts
# file knows the destination), so those end at once, inside the bed
dnslog=$BED_TMP/dns-queries.log
: >"$dnslog"
bed_spawn dns "$NS_SRV" "$BED_TMP/dns.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" dns-nxdomain 127.0.0.1 53 "$dnslog"
bed_server_start
bed_local_start
PORT=$BED_LOCAL_PORT
URL=$(bed_url page.html)
CLI_NET=10.$BED_B.		# the client's uplinks are 10.B.1-20.2
CONC_IP=10.$BED_B.30.1		# the concentrator, as the destination sees it

bed_addrs_settled

# chrome NAME PROXYFLAG MODEFLAGS...: one headless chromium in the client
# namespace, with a fresh profile and home; stdout to $BED_TMP/NAME.out,
# stderr to $BED_TMP/chromium-NAME.log. Sets chrome_rc.
chrome() {
	local name=$1 proxyflag=$2 h=$BED_TMP/home-$1 pid i
	shift 2
	mkdir -p "$h/profile" "$h/config" "$h/cache" "$h/data" "$h/run"
	chmod 700 "$h/run"
	chrome_rc=0
	bed_ns "$NS_CLI" env HOME="$h" XDG_CONFIG_HOME="$h/config" \
	    XDG_CACHE_HOME="$h/cache" XDG_DATA_HOME="$h/data" \
	    XDG_RUNTIME_DIR="$h/run" DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
	    timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --disable-quic --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync \
	    --force-color-profile=srgb --user-data-dir="$h/profile" \
	    "$proxyflag" "$@" "$URL" \
	    >"$BED_TMP/$name.out" 2>"$BED_TMP/chromium-$name.log" ||
	    chrome_rc=$?
	# nothing of this browser may outlive it: anything left in the client
	# namespace other than mpsocks-local is one of its processes (give
	# the helpers a moment to finish exiting)
	for ((i = 0; i < 50; i++)); do
		[ -z "$(chrome_pids)" ] && break
		sleep 0.1
	done
	for pid in $(chrome_pids); do
		say "  left behind by chromium: $pid $(tr '\0' ' ' \
		    </proc/"$pid"/cmdline 2>/dev/null | head -c 100)"
		chrome_left=1
		kill -KILL "$pid" 2>/dev/null || true
	done
}
chrome_pids() {
	ip netns pids "$NS_CLI" | grep -vx "$(bed_pid local)" || true
}
chrome_left=0

# png_check FILE RGB...: prints "WxH color=count ..." for the screenshot
png_check() {
	"$PY" - "$@" <<'EOF'
import struct, sys, zlib

def decode(path):
    d = open(path, "rb").read()
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("not a PNG")
    pos, idat = 8, b""
    while pos < len(d):
        n, kind = struct.unpack(">I4s", d[pos:pos + 8])
        body = d[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if depth != 8 or ctype not in (2, 6):
        raise SystemExit("PNG type %d depth %d not handled" % (ctype, depth))
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], None
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        up = prev or bytearray(stride)
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = up[x]
            c = up[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows

w, h, bpp, rows = decode(sys.argv[1])
out = ["%dx%d" % (w, h)]
for spec in sys.argv[2:]:
    want = [int(v) for v in spec.split(",")]
    n = 0
    for line in rows:
        for x in range(0, len(line), bpp):
            if all(abs(line[x + k] - want[k]) <= 6 for k in range(3)):
                n += 1
    out.append("%s=%d" % (spec, n))
print(" ".join(out))
EOF
}

# server_down_since LINE: bytes the concentrator relayed down in tunnels
# to the destination, in close lines after line LINE of server.log
server_down_since() {
	tail -n +"$(($1 + 1))" "$BED_TMP/server.log" |
	    grep "event=close .*target=$BED_DST_NAME:$BED_HTTP_PORT " |
	    sed -n 's/.* down=\([0-9]*\) .*/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }'
}

# browse MODE PROXYFLAG: the two runs and every check for one set-up
browse() {
	local mode=$1 flag=$2 s0 l0 a0 dom marker down n lines f shot res
	say "--- $mode: chromium $flag"
	s0=$(wc -l <"$BED_TMP/server.log")
	l0=$(wc -l <"$BED_TMP/local.log")
	a0=$(wc -l <"$BED_TMP/access.log")

	chrome "$mode-dom" "$flag" --dump-dom
	dom=$BED_TMP/$mode-dom.out
	marker=$(grep -o 'id="status">[^<]*' "$dom" | sed 's/.*>//' || true)
	say "measured: $mode --dump-dom: exit $chrome_rc, $(stat -c %s "$dom") bytes of DOM, status: ${marker:-none}"
	bed_expect "$mode: chromium --dump-dom exit 0" [ "$chrome_rc" -eq 0 ]
	bed_expect "$mode: the page's script ran with both images and the CSS (loaded-2 css-ok)" \
	    [ "$marker" = "loaded-2 css-ok" ]

	shot=$BED_TMP/$mode-screenshot.png
	chrome "$mode-shot" "$flag" --screenshot="$shot" --window-size=800,600
	res=$(png_check "$shot" 200,30,40 20,60,210 2>&1) || true
	say "measured: $mode --screenshot: exit $chrome_rc, $(stat -c %s "$shot" 2>/dev/null || echo 0) bytes, $res"
	[ -f "$shot" ] && cp "$shot" "$keep/screenshot-$mode.png"
	bed_expect "$mode: screenshot is a PNG over 2 KB" \
	    eval "[ -f '$shot' ] && [ \$(stat -c %s '$shot') -gt 2048 ]"
	bed_expect "$mode: screenshot is 800x600" \
	    eval "printf '%s\n' '$res' | grep -q '^800x600 '"
	# each image is 96x96 = 9216 pixels; allow for scaling at the edges
	bed_expect "$mode: both images show in the screenshot" \
	    eval "printf '%s\n' '$res' | awk '{ split(\$2, r, \"=\");
	        split(\$3, b, \"=\"); exit !(r[2] >= 8000 && b[2] >= 8000) }'"

	# the browser is gone, its connections closed: wait for the logs
	for ((n = 0; n < 50; n++)); do
		down=$(server_down_since "$s0")
		[ "$down" -ge $((2 * page_bytes)) ] && break
		sleep 0.1
	done
	lines=$(tail -n +"$((s0 + 1))" "$BED_TMP/server.log" |
	    grep -c "event=close .*target=$BED_DST_NAME:$BED_HTTP_PORT " || true)
	say "measured: $mode: concentrator closed $lines tunnels to $BED_DST_NAME:$BED_HTTP_PORT, $down bytes down (the page is $page_bytes bytes, loaded twice)"
	bed_expect "$mode: the concentrator logged event=close for tunnels to the destination's name" \
	    [ "$lines" -ge 2 ]
	bed_expect "$mode: those tunnels carried at least the page's bytes, twice" \
	    [ "$down" -ge $((2 * page_bytes)) ]
	bed_expect "$mode: mpsocks-local relayed sessions to the destination's name (remote DNS)" \
	    eval "tail -n +$((l0 + 1)) '$BED_TMP/local.log' |
	        grep -q 'event=close .*target=$BED_DST_NAME:$BED_HTTP_PORT rep=0'"

	sleep 0.3	# nginx logs at the end of a request
	say "  nginx access log:"
	tail -n +"$((a0 + 1))" "$BED_TMP/access.log" | sed 's/^/    /'
	for f in page.html style.css app.js red.png blue.png; do
		bed_expect "$mode: nginx served /$f (twice), each from the concentrator $CONC_IP" \
		    eval "[ \$(tail -n +$((a0 + 1)) '$BED_TMP/access.log' |
		        grep -c '^$CONC_IP - .*\"GET /$f HTTP/1.1\" 200 ') -eq 2 ]"
	done
	bed_expect "$mode: nginx saw nothing from the client's addresses" \
	    eval "! tail -n +$((a0 + 1)) '$BED_TMP/access.log' |
	        grep -v '^$CONC_IP ' | grep -q '^$CLI_NET'"
	bed_expect "$mode: nothing of chromium left running" [ "$chrome_left" -eq 0 ]
}

browse socks5 "--proxy-server=socks5://127.0.0.1:$PORT"
l0=$(wc -l <"$BED_TMP/local.log")
browse pac "--proxy-pac-url=http://127.0.0.1:$PORT/proxy.pac"
bed_expect "pac: mpsocks-local served /proxy.pac to chromium" \
    eval "tail -n +$((l0 + 1)) '$BED_TMP/local.log' |
        grep -q 'event=http status=200 target=/proxy.pac'"
bed_expect "pac: the page itself still went through SOCKS5 sessions, not HTTP" \
    eval "! tail -n +$((l0 + 1)) '$BED_TMP/local.log' |
        grep -q 'event=http .*target=$BED_DST_NAME'"

say "names Chromium asked for besides the page (NXDOMAIN at the concentrator):"
awk '{ print tolower($2) }' "$dnslog" | sort | uniq -c |
    awk '{ printf "  %s (%d)\n", $2, $1 }'
say "screenshots kept in $keep:" "$keep"/screenshot-*.png
bed_expect "server still running" bed_alive "$(bed_pid server)"
bed_expect "mpsocks-local still running" bed_alive "$(bed_pid local)"
bed_finish
