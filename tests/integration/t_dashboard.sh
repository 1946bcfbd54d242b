#!/bin/bash
# The dashboard (GET / on the control port) in Debian's headless chromium,
# in the client namespace, during a bonded download over 20 + 40 Mbit/s:
#   - the chart has two series (up1, up2), each with non-zero points (the
#     page writes "up1=N up2=M" into the canvas's data-nonzero attribute
#     and keeps the data in window.mpsocksChart);
#   - the connection table has the download's row (data-target) and a
#     subflow row per uplink;
#   - the warm pool's card (issue 15) is shown, enabled, with ready >= 1
#     (data-ready on #pool) and a chip per ready tunnel with its subflows;
#   - mpsocks-server's page shows the idle tunnels the pool holds there
#     (data-idle on #pool);
#   - at phone width (390 px) the page does not scroll sideways (the page
#     writes data-fits on <body>);
#   - screenshots (desktop and phone) are kept in the test's log dir.
# The chart's points come from the daemon's per-second rate history (in
# /api/status), so one poll fills it; --virtual-time-budget lets the
# page's one-second polling run a few times before the DOM is dumped.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
CHROMIUM=$(command -v chromium 2>/dev/null) ||
    bed_skip "chromium not installed (make deps installs it)"
bed_setup 20mbit 40mbit
keep=${BED_LOGDIR:-${LOGDIR:-$BED_REPO/build/test-logs}/t_dashboard}
mkdir -p "$keep"
rm -f "$keep"/dashboard-*.png
bed_make_file big.bin 150 >/dev/null
bed_nginx_start
CTL=$((40000 + $(rand_u16) % 10000))
SCTL=$((CTL + 1))
bed_server_start --control "127.0.0.1:$SCTL"
bed_local_start --control "127.0.0.1:$CTL"
bed_wait_port "$NS_CLI" "$CTL" 5 || bed_fail "no control port"
URL=http://127.0.0.1:$CTL/

# chrome NAME FLAGS...: headless chromium on the dashboard ($URL, in
# namespace ${CHROME_NS:-$NS_CLI}), fresh profile; stdout to
# $BED_TMP/NAME.out. Sets chrome_rc.
chrome() {
	local name=$1 h=$BED_TMP/home-$1
	shift
	mkdir -p "$h/profile" "$h/run"
	chmod 700 "$h/run"
	chrome_rc=0
	bed_ns "${CHROME_NS:-$NS_CLI}" env HOME="$h" XDG_CONFIG_HOME="$h" XDG_CACHE_HOME="$h" \
	    XDG_RUNTIME_DIR="$h/run" DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
	    timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync --no-proxy-server \
	    --force-color-profile=srgb --user-data-dir="$h/profile" \
	    --virtual-time-budget=6000 "$@" "$URL" \
	    >"$BED_TMP/$name.out" 2>"$BED_TMP/chromium-$name.log" ||
	    chrome_rc=$?
}

bed_ns "$NS_CLI" curl -sS --max-time 120 -o /dev/null \
    -w '%{http_code} %{size_download}\n' --socks5-hostname \
    "127.0.0.1:$BED_LOCAL_PORT" "$(bed_url big.bin)" >"$BED_TMP/curl.res" \
    2>"$BED_TMP/curl.err" &
curl_pid=$!
BED_PIDS+=("$curl_pid")
BED_PID_NAMES+=(curl)
# wait until both uplinks carry the download, as the API says
busy=0
for ((i = 0; i < 40; i++)); do
	sleep 0.25
	if bed_ns "$NS_CLI" curl -sS --max-time 5 "${URL}api/status" 2>/dev/null |
	    "$PY" -c '
import json, sys
d = json.load(sys.stdin)
r = {u["name"]: u["rate_down"] for u in d["uplinks"]}
sys.exit(not (r.get("up1", 0) > 0 and r.get("up2", 0) > 0))'; then
		busy=1
		break
	fi
done
bed_expect "the API shows both uplinks busy before the browser starts" [ "$busy" = 1 ]

chrome dom --dump-dom --window-size=1000,900
dom=$BED_TMP/dom.out
nz=$(grep -o 'data-nonzero="[^"]*"' "$dom" | head -1 || true)
say "measured: --dump-dom exit $chrome_rc, $(stat -c %s "$dom") bytes; chart $nz"
bed_expect "chromium --dump-dom exit 0" [ "$chrome_rc" -eq 0 ]
n1=$(sed -n 's/.*data-nonzero="[^"]*up1=\([0-9]*\).*/\1/p' "$dom" | head -1)
n2=$(sed -n 's/.*data-nonzero="[^"]*up2=\([0-9]*\).*/\1/p' "$dom" | head -1)
bed_expect "chart: up1 series has non-zero points (${n1:-none})" [ "${n1:-0}" -gt 0 ]
bed_expect "chart: up2 series has non-zero points (${n2:-none})" [ "${n2:-0}" -gt 0 ]
bed_expect "table: the download's row" grep -q "class=\"conn\" data-target=\"$BED_DST_NAME:" "$dom"
bed_expect "table: a subflow row on up1" grep -q 'class="sf" data-uplink="up1"' "$dom"
bed_expect "table: a subflow row on up2" grep -q 'class="sf" data-uplink="up2"' "$dom"
bed_expect "uplink cards say up1 and up2 are up" \
    bash -c "grep -q 'data-uplink=\"up1\"[^>]*><b>up1</b><span class=\"state up\"' '$dom' && grep -q 'data-uplink=\"up2\"[^>]*><b>up2</b><span class=\"state up\"' '$dom'"
pool=$(grep -o '<section [^>]*id="pool"[^>]*>' "$dom" | head -1 || true)
say "measured: pool card: ${pool:-none}"
pready=$(sed -n 's/.*data-ready="\([0-9]*\)".*/\1/p' <<<"$pool")
bed_expect "pool card: shown and enabled" \
    bash -c "grep -q 'data-enabled=\"yes\"' <<<'$pool' && ! grep -q hidden <<<'$pool'"
bed_expect "pool card: ready >= 1 (${pready:-none})" [ "${pready:-0}" -ge 1 ]
bed_expect "pool card: a ready tunnel with its subflows" \
    grep -qE 'class="tun num"[^>]*data-subflows="[1-9]' "$dom"

# the concentrator's page: the pool card counts the idle tunnels
URL=http://127.0.0.1:$SCTL/ CHROME_NS=$NS_SRV chrome srvdom --dump-dom \
    --window-size=1000,900
spool=$(grep -o '<section [^>]*id="pool"[^>]*>' "$BED_TMP/srvdom.out" | head -1 || true)
say "measured: server page: exit $chrome_rc, pool card: ${spool:-none}"
sidle=$(sed -n 's/.*data-idle="\([0-9]*\)".*/\1/p' <<<"$spool")
bed_expect "server page: the card shows idle tunnels >= 1 (${sidle:-none})" \
    bash -c "[ '${sidle:-0}' -ge 1 ] && ! grep -q hidden <<<'$spool'"

chrome phone --dump-dom --window-size=390,844
bed_expect "phone width: no sideways scrolling" \
    grep -q 'data-fits="yes"' "$BED_TMP/phone.out"
chrome phoneshot --screenshot="$keep/dashboard-phone.png" --window-size=390,844
bed_expect "phone screenshot saved" [ -s "$keep/dashboard-phone.png" ]
# the desktop screenshot last, when the chart has the most history
chrome shot --screenshot="$keep/dashboard-desktop.png" --window-size=1000,900
say "measured: desktop screenshot exit $chrome_rc, $(stat -c %s "$keep/dashboard-desktop.png" 2>/dev/null || echo 0) bytes"
bed_expect "desktop screenshot saved" [ -s "$keep/dashboard-desktop.png" ]

wait "$curl_pid" || say "curl failed: $(cat "$BED_TMP/curl.err")"
read -r code size <"$BED_TMP/curl.res" || true
say "measured: download HTTP ${code:-?}, ${size:-0} bytes"
bed_expect "download: HTTP 200" [ "${code:-}" = 200 ]
bed_finish
