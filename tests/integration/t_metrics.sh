#!/bin/bash
# Metrics, status API and access rules of the control port (issue 7), over
# 20 + 40 Mbit/s uplinks:
#   - /metrics passes `promtool check metrics` (Debian's prometheus), on
#     mpsocks-local and on mpsocks-server, before and after traffic;
#   - during a bonded 60 MB download, /api/status lists the connection to
#     the destination with one subflow per uplink (up1 and up2), and
#     `mpsocks-local --status` prints its row;
#   - afterwards the per-uplink received-bytes counters add up to the
#     bytes curl received, within protocol overhead (>= 99%, <= 110%),
#     each uplink carrying part; the server counted the connection;
#   - access: the control port is not a proxy (SOCKS5, absolute-URI and
#     CONNECT requests fail), the proxy port does not serve /metrics,
#     other methods get 405, unknown paths 404, a non-loopback Host 403;
#     a non-loopback control address without a token is a config error;
#     with a token, requests without "Authorization: Bearer" get 401;
#   - with --no-mptcp, the plain TCP tunnel's bytes count for up1;
#   - the warm pool (issue 15): soon after start /api/status has a "pool"
#     object, enabled, with ready >= 1 and a tunnel listed per ready one
#     (up to 16), and /metrics has the mpsocks_pool_* families; the
#     server's /api/status and /metrics count idle tunnels; after the
#     download the pool counted a hit, and --status prints a pool line.
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
command -v promtool >/dev/null 2>&1 ||
    bed_skip "promtool not installed (make deps installs prometheus)"
bed_setup 20mbit 40mbit
bed_make_file big.bin 60 >/dev/null
bed_nginx_start

CTL=$((40000 + $(rand_u16) % 10000))
SCTL=$((CTL + 1))
bed_server_start --control "127.0.0.1:$SCTL"
bed_local_start --control "127.0.0.1:$CTL"
bed_wait_port "$NS_CLI" "$CTL" 5 || bed_fail "no control port"
proxy=127.0.0.1:$BED_LOCAL_PORT

code_of() {	# code_of NS PORT PATH [CURLARGS...]: the HTTP status only
	local ns=$1 port=$2 path=$3
	shift 3
	bed_ns "$ns" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
	    "$@" "http://127.0.0.1:$port$path" 2>/dev/null || true
}
promcheck() {	# promcheck FILE: promtool's verdict, logged
	say "  promtool check metrics $(basename "$1"): $(promtool check metrics \
	    <"$1" 2>&1 | tr '\n' ' ')"
	promtool check metrics <"$1" >/dev/null 2>&1
}
M=$BED_TMP/out

# --- before any traffic ---------------------------------------------------------
bed_ns "$NS_CLI" curl -sS --max-time 10 "http://127.0.0.1:$CTL/metrics" \
    >"$M/local-idle.prom" || true
bed_expect "local /metrics answers" grep -q '^# TYPE mpsocks_connections_total counter' "$M/local-idle.prom"
bed_expect "local /metrics (idle) passes promtool" promcheck "$M/local-idle.prom"
bed_ns "$NS_CLI" curl -sS --max-time 10 "http://127.0.0.1:$CTL/api/status" \
    >"$M/status-idle.json" || true
bed_expect "/api/status is JSON with no connection" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(d["connections"] != [] or d["role"] != "local" or
         len(d["concentrators"]) != 1)' "$M/status-idle.json"

# --- the warm pool, before any traffic ------------------------------------------
pool_ok=0
for ((i = 0; i < 40; i++)); do
	bed_ns "$NS_CLI" curl -sS --max-time 5 \
	    "http://127.0.0.1:$CTL/api/status" >"$M/status-pool.json" 2>/dev/null ||
	    true
	if "$PY" -c '
import json, sys
p = json.load(open(sys.argv[1])).get("pool", {})
sys.exit(not (p.get("enabled") is True and p.get("ready", 0) >= 1))' \
	    "$M/status-pool.json" 2>/dev/null; then
		pool_ok=1
		break
	fi
	sleep 0.25
done
say "measured: the pool after start (${i} polls): $("$PY" -c '
import json, sys
print(json.dumps(json.load(open(sys.argv[1])).get("pool")))' "$M/status-pool.json" 2>&1)"
bed_expect "/api/status: the pool is enabled with ready >= 1 after start" [ "$pool_ok" = 1 ]
bed_expect "/api/status: the pool object has every field, a tunnel per ready one, subflows their sum" "$PY" -c '
import json, sys
p = json.load(open(sys.argv[1]))["pool"]
keys = ("enabled", "ready", "opening", "target", "subflows", "hits",
        "misses", "opened", "failed", "retry_in_ms", "tunnels")
ok = all(k in p for k in keys)
ok = ok and all(isinstance(p[k], int) for k in keys[1:10])
ok = ok and len(p["tunnels"]) == min(p["ready"], 16) and p["opened"] >= p["ready"]
ok = ok and all(t["subflows"] >= 1 and t["idle_ms"] >= 0 for t in p["tunnels"])
# the total counted when a tunnel gets ready, not at the next tick (it
# read 0 in the first second once)
ok = ok and (p["ready"] > 16 or p["subflows"] == sum(t["subflows"] for t in p["tunnels"]))
sys.exit(not ok)' "$M/status-pool.json"
bed_ns "$NS_CLI" curl -sS --max-time 10 "http://127.0.0.1:$CTL/metrics" \
    >"$M/local-pool.prom" || true
say "measured: $(grep -E '^mpsocks_pool' "$M/local-pool.prom" | tr '\n' ' ')"
bed_expect "/metrics: mpsocks_pool_tunnels{state=\"ready\"} >= 1" \
    grep -qE '^mpsocks_pool_tunnels\{state="ready"\} [1-9]' "$M/local-pool.prom"
bed_expect "/metrics: mpsocks_pool_target, mpsocks_pool_subflows, mpsocks_pool_takes_total" \
    bash -c "grep -qE '^mpsocks_pool_target [1-9]' '$M/local-pool.prom' &&
	grep -qE '^mpsocks_pool_subflows [1-9]' '$M/local-pool.prom' &&
	grep -q '^# TYPE mpsocks_pool_takes_total counter' '$M/local-pool.prom'"
# a tunnel counts as idle at the concentrator after a second without its
# request (a cold one's may come a little after its handshake): poll
for _ in $(seq 30); do
	bed_ns "$NS_SRV" curl -sS --max-time 10 \
	    "http://127.0.0.1:$SCTL/api/status" >"$M/server-status.json" || true
	grep -qE '"idle_tunnels": *[1-9]' "$M/server-status.json" && break
	sleep 0.2
done
say "measured: server /api/status: $(head -c 300 "$M/server-status.json")"
bed_expect "server /api/status: idle_tunnels >= 1" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (d["role"] == "server" and d["idle_tunnels"] >= 1 and "pool" not in d))' \
    "$M/server-status.json"
bed_ns "$NS_SRV" curl -sS --max-time 10 "http://127.0.0.1:$SCTL/metrics" \
    >"$M/server-pool.prom" || true
bed_expect "server /metrics: mpsocks_idle_tunnels >= 1" \
    grep -qE '^mpsocks_idle_tunnels [1-9]' "$M/server-pool.prom"

# --- during a bonded download ------------------------------------------------
bed_ns "$NS_CLI" curl -sS --max-time 120 -o "$M/dl" \
    -w '%{http_code} %{size_download}\n' --socks5-hostname "$proxy" \
    "$(bed_url big.bin)" >"$M/curl.res" 2>"$M/curl.err" &
curl_pid=$!
BED_PIDS+=("$curl_pid")
BED_PID_NAMES+=(curl)
found=0
for ((i = 0; i < 40; i++)); do
	sleep 0.25
	bed_ns "$NS_CLI" curl -sS --max-time 5 \
	    "http://127.0.0.1:$CTL/api/status" >"$M/status.json" 2>/dev/null ||
	    continue
	if "$PY" - "$M/status.json" "$BED_DST_NAME" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["connections"]:
    ups = sorted(s["uplink"] for s in c["subflows"])
    if c["target"].startswith(sys.argv[2]) and ups == ["up1", "up2"]:
        sys.exit(0)
sys.exit(1)
PYEOF
	then
		found=1
		break
	fi
done
say "measured: /api/status during the download: $(head -c 1500 "$M/status.json")"
bed_expect "/api/status lists the download with one subflow on up1 and one on up2" [ "$found" = 1 ]
bed_ns "$NS_CLI" "$BED_BUILD/mpsocks-local" --status --control "127.0.0.1:$CTL" \
    >"$M/status.txt" 2>&1 || true
say "measured: mpsocks-local --status during the download:"
sed 's/^/  | /' "$M/status.txt"
bed_expect "--status prints the download's row" grep -q "$BED_DST_NAME" "$M/status.txt"
bed_expect "--status prints both uplinks" \
    bash -c "grep -q '^up1 ' '$M/status.txt' && grep -q '^up2 ' '$M/status.txt'"
bed_expect "--status prints the pool line" \
    grep -qE '^pool: [0-9]+ ready \([0-9]+ subflows?\), [0-9]+ opening, target [1-9][0-9]*, [0-9]+ hits / [0-9]+ misses' "$M/status.txt"
bed_ns "$NS_CLI" curl -sS --max-time 10 "http://127.0.0.1:$CTL/metrics" \
    >"$M/local-busy.prom" || true
bed_expect "local /metrics (busy) passes promtool" promcheck "$M/local-busy.prom"
wait "$curl_pid" || say "curl failed: $(cat "$M/curl.err")"
read -r code size <"$M/curl.res" || true
say "measured: download HTTP ${code:-?}, ${size:-0} bytes"
bed_expect "download: HTTP 200" [ "${code:-}" = 200 ]

# --- after: byte accounting ----------------------------------------------------------
sleep 1.5			# one tick past the close
bed_ns "$NS_CLI" curl -sS --max-time 10 "http://127.0.0.1:$CTL/metrics" \
    >"$M/local-after.prom" || true
rx() { awk -v u="$1" '$1 == "mpsocks_uplink_received_bytes_total{uplink=\"" u "\"}" { print $2 }' "$M/local-after.prom"; }
rx1=$(rx up1); rx2=$(rx up2)
say "measured: uplink received bytes: up1=${rx1:-0} up2=${rx2:-0} sum=$(( ${rx1:-0} + ${rx2:-0} )) curl=${size:-0} ratio=$(calc "${size:-0} > 0 ? (${rx1:-0} + ${rx2:-0}) / ${size:-1} : 0")"
bed_expect "per-uplink bytes add up to curl's bytes (99%..110%)" \
    calc_true "${size:-0} > 0 && ${rx1:-0} + ${rx2:-0} >= 0.99 * ${size:-0} && ${rx1:-0} + ${rx2:-0} <= 1.10 * ${size:-0}"
bed_expect "up1 carried >= 10% of it" calc_true "${rx1:-0} >= 0.1 * ${size:-1}"
bed_expect "up2 carried >= 10% of it" calc_true "${rx2:-0} >= 0.1 * ${size:-1}"
say "measured: $(grep -E '^mpsocks_(subflows|mptcp_fallbacks|connections_failed)' "$M/local-after.prom" | tr '\n' ' ')"
bed_expect "no subflow counted as failed in a clean download" \
    eval "! grep -qE '^mpsocks_subflows_failed_total.* [1-9]' '$M/local-after.prom'"
bed_expect "no MPTCP fallback counted" \
    grep -q '^mpsocks_mptcp_fallbacks_total 0$' "$M/local-after.prom"
bed_expect "local counted the connection" \
    grep -q '^mpsocks_connections_total [1-9]' "$M/local-after.prom"
bed_expect "the download's tunnel came from the pool: a hit counted" \
    grep -qE '^mpsocks_pool_takes_total\{result="hit"\} [1-9]' "$M/local-after.prom"
bed_expect "local /metrics (after) passes promtool" promcheck "$M/local-after.prom"
bed_ns "$NS_SRV" curl -sS --max-time 10 "http://127.0.0.1:$SCTL/metrics" \
    >"$M/server.prom" || true
bed_expect "server /metrics counts the connection" \
    grep -q '^mpsocks_connections_total [1-9]' "$M/server.prom"
bed_expect "server /metrics has auth failures and DNS latency" \
    bash -c "grep -q '^mpsocks_auth_failures_total 0' '$M/server.prom' && grep -q '^mpsocks_dns_seconds_count [1-9]' '$M/server.prom'"
bed_expect "server /metrics passes promtool" promcheck "$M/server.prom"
rm -f "$M/dl"

# --- access rules -----------------------------------------------------------------
c=$(bed_ns "$NS_CLI" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    --socks5-hostname "127.0.0.1:$CTL" "$(bed_url index.html)" 2>/dev/null) || true
say "measured: SOCKS5 through the control port: '${c:-}'"
bed_expect "the control port is not a SOCKS5 proxy" [ "${c:-000}" = 000 ]
c=$(bed_ns "$NS_CLI" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    -x "http://127.0.0.1:$CTL" "$(bed_url big.bin)" 2>/dev/null) || true
bed_expect "the control port answers an absolute-URI proxy request 404 (got ${c:-})" [ "${c:-}" = 404 ]
c=$(bed_ns "$NS_CLI" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    -p -x "http://127.0.0.1:$CTL" "$(bed_url big.bin)" 2>/dev/null) || true
bed_expect "the control port refuses CONNECT (got ${c:-})" [ "${c:-}" != 200 ]
bed_ns "$NS_CLI" curl -sS --max-time 5 "http://127.0.0.1:$BED_LOCAL_PORT/metrics" \
    >"$M/proxy-metrics" 2>/dev/null || true
bed_expect "the proxy port does not serve /metrics" \
    eval "! grep -q mpsocks_connections "$M/proxy-metrics""
bed_ns "$NS_CLI" curl -sS --max-time 5 "http://127.0.0.1:$BED_LOCAL_PORT/api/status" \
    >"$M/proxy-status" 2>/dev/null || true
bed_expect "the proxy port does not serve /api/status" \
    eval "! grep -q uptime_s "$M/proxy-status""
bed_expect "POST /metrics: 405" [ "$(code_of "$NS_CLI" "$CTL" /metrics -X POST)" = 405 ]
bed_expect "GET /nope: 404" [ "$(code_of "$NS_CLI" "$CTL" /nope)" = 404 ]
bed_expect "GET / (dashboard): 200" [ "$(code_of "$NS_CLI" "$CTL" /)" = 200 ]
bed_expect "Host: evil.example (DNS rebinding): 403" \
    [ "$(code_of "$NS_CLI" "$CTL" /api/status -H 'Host: evil.example')" = 403 ]

out=$(bed_ns "$NS_CLI" "$BED_BUILD/mpsocks-local" -t --server "$BED_PUB:$BED_SRV_PORT" \
    --key-file "$BED_KEY_CLI" --control "0.0.0.0:$CTL" 2>&1) && rc=0 || rc=$?
say "measured: -t with --control 0.0.0.0 and no token: exit $rc: $out"
bed_expect "control beyond loopback without a token: exit 78" [ "$rc" = 78 ]

TOKEN=t0k3n-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
TCTL=$((CTL + 2))
TPROXY=$((BED_LOCAL_PORT + 1))
cat >"$BED_TMP/tok.conf" <<CONF
[local]
listen = 127.0.0.1:$TPROXY
server = $BED_PUB:$BED_SRV_PORT
key_file = $BED_KEY_CLI
[control]
listen = 0.0.0.0:$TCTL
token = $TOKEN
CONF
bed_spawn local2 "$NS_CLI" "$BED_TMP/local2.log" "$BED_BUILD/mpsocks-local" \
    -c "$BED_TMP/tok.conf"
bed_wait_port "$NS_CLI" "$TCTL" 10 || bed_fail "token instance did not start"
bed_expect "token: no Authorization: 401" [ "$(code_of "$NS_CLI" "$TCTL" /metrics)" = 401 ]
bed_expect "token: wrong token: 401" \
    [ "$(code_of "$NS_CLI" "$TCTL" /metrics -H "Authorization: Bearer ${TOKEN}x")" = 401 ]
bed_expect "token: right token: 200" \
    [ "$(code_of "$NS_CLI" "$TCTL" /api/status -H "Authorization: Bearer $TOKEN")" = 200 ]
bed_expect "token: the dashboard page itself: 200" [ "$(code_of "$NS_CLI" "$TCTL" /)" = 200 ]
bed_expect "token: --status -c FILE uses it" \
    bed_ns "$NS_CLI" "$BED_BUILD/mpsocks-local" --status -c "$BED_TMP/tok.conf"
bed_stop local2

# --- a tunnel without MPTCP still counts for the uplink it used ---------------
NCTL=$((CTL + 3))
NPROXY=$((BED_LOCAL_PORT + 2))
bed_spawn local3 "$NS_CLI" "$BED_TMP/local3.log" "$BED_BUILD/mpsocks-local" \
    --listen "127.0.0.1:$NPROXY" --server "$BED_PUB:$BED_SRV_PORT" \
    --key-file "$BED_KEY_CLI" --control "127.0.0.1:$NCTL" --no-mptcp
bed_wait_port "$NS_CLI" "$NCTL" 10 || bed_fail "--no-mptcp instance did not start"
bed_make_file small.bin 10 >/dev/null
res=$(bed_curl "$M/small" --socks5-hostname "127.0.0.1:$NPROXY" \
    "$(bed_url small.bin)") || say "curl failed: $?"
read -r code size _ <<<"${res:-0 0 0}"
sleep 1.5
bed_ns "$NS_CLI" curl -sS --max-time 10 "http://127.0.0.1:$NCTL/metrics" \
    >"$M/local-tcp.prom" || true
tcp1=$(awk '$1 == "mpsocks_uplink_received_bytes_total{uplink=\"up1\"}" { print $2 }' "$M/local-tcp.prom")
say "measured: --no-mptcp: HTTP ${code:-?} ${size:-0} bytes; up1 counted ${tcp1:-0}"
bed_expect "--no-mptcp: the TCP tunnel's bytes count for up1 (99%..110%)" \
    calc_true "${size:-0} > 0 && ${tcp1:-0} >= 0.99 * ${size:-0} && ${tcp1:-0} <= 1.10 * ${size:-0}"
bed_stop local3
rm -f "$M/small"

out=$(bed_ns "$NS_CLI" "$BED_BUILD/mpsocks-local" --status --control 127.0.0.1:1 2>&1) && rc=0 || rc=$?
say "measured: --status with nothing listening: exit $rc: $out"
bed_expect "--status with no daemon: exit 1 and says so" \
    bash -c "[ $rc = 1 ] && grep -q 'cannot reach the control port' <<<'$out'"
bed_expect "mpsocks-local still runs" bed_alive "$(bed_pid local)"
bed_finish
