#!/bin/bash
# The HTTP/1.x proxy on mpsocks-local's port, with real clients through
# "-x http://127.0.0.1:PORT" in the client namespace:
#   - plain forwarding: a GET byte-exact with "Via: 1.1 mpsocks"; POST
#     with Content-Length and chunked to an echo origin (it reports the
#     sha256 of the body it got, and the field names: Via in, hop-by-hop
#     fields out), then a GET on the same connection; PUT
#     with Content-Length and chunked into nginx (dav), stored byte-exact
#   - keep-alive across hosts: one curl, the destination by name and by
#     IP, one proxy connection ("Re-using existing connection", and the
#     session's close line says requests=2)
#   - CONNECT: https with a per-run self-signed certificate checked by
#     curl (--cacert), curl -p for plain http, and bytes the client sends
#     right behind the CONNECT head (in the same segment) are not lost
#   - a forwarded GET with the client's FIN right behind it, before the
#     tunnel is up, is still answered (200, byte-exact)
#   - wget through the http_proxy environment variable
#   - status codes: closed port 502, unknown name 502, the concentrator's
#     own loopback 403 (forwarding; CONNECT with --strict-replies; by
#     default CONNECT gets 200 at once, then a reset), Content-Length plus
#     Transfer-Encoding 400, a head over 64 KiB 431; with --user: no
#     credentials 407 with "Proxy-Authenticate: Basic", the right ones
#     work (and Proxy-Authorization never reaches the origin), a wrong
#     password 407 and nothing reaches the origin
#   - 500 wrong HTTP credentials and 500 wrong SOCKS5 passwords as fast as
#     a client can: each refused (407, status 1), the auth_fail warnings
#     rate-limited (a bounded count, every failure logged or counted),
#     and the right credentials work afterwards on both
#   - GET /proxy.pac names this very proxy, SOCKS5 and HTTP
set -eu
. "$(dirname "$0")/lib.sh"

bed_require_base
bed_require_nginx
bed_require_daemons
for t in wget openssl; do
	command -v "$t" >/dev/null 2>&1 ||
	    bed_skip "$t not installed (make deps installs it)"
done
# what the clients read from the environment must not redirect them
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy \
    no_proxy NO_PROXY
bed_setup 20mbit 40mbit

big=$(bed_make_file big.bin 4)
small=$(bed_make_file small.bin 1)
upf=$BED_TMP/up.bin
head -c $((3 * 1048576 + 12345)) /dev/urandom >"$upf"
TLS_PORT=$((BED_HTTP_PORT + 1))
ECHO_PORT=$((BED_HTTP_PORT + 2))
CLOSED_PORT=$((BED_HTTP_PORT + 3))	# nothing listens there

# a certificate for the destination's name, made for this run only
mkdir -p "$BED_TMP/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
    -keyout "$BED_TMP/tls/key.pem" -out "$BED_TMP/tls/cert.pem" \
    -subj "/CN=$BED_DST_NAME" -addext "subjectAltName=DNS:$BED_DST_NAME" \
    >"$BED_TMP/openssl.log" 2>&1 || bed_fail "openssl req failed"
BED_NGINX_EXTRA="	server {
		listen $BED_DST_IP:$TLS_PORT ssl;
		server_name $BED_DST_NAME;
		ssl_certificate $BED_TMP/tls/cert.pem;
		ssl_certificate_key $BED_TMP/tls/key.pem;
		root $BED_TMP/www;
	}"
bed_nginx_start
bed_wait_port "$NS_DST" "$TLS_PORT" 10 || bed_fail "nginx TLS did not start"

echolog=$BED_TMP/echo-requests.log
: >"$echolog"
bed_spawn echo "$NS_DST" "$BED_TMP/echo.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" http-echo "$BED_DST_IP" "$ECHO_PORT" \
    "$echolog"
bed_wait_port "$NS_DST" "$ECHO_PORT" 10 || bed_fail "echo origin did not start"
# the concentrator's resolver: NXDOMAIN for every name (its hosts file
# knows the destination's name)
bed_spawn dns "$NS_SRV" "$BED_TMP/dns.log" \
    "$PY" "$BED_LIB_DIR/nettool.py" dns-nxdomain 127.0.0.1 53 \
    "$BED_TMP/dns-queries.log"

bed_server_start
bed_local_start
P=http://127.0.0.1:$BED_LOCAL_PORT
out=$BED_TMP/out
echo_url() { echo "http://$BED_DST_NAME:$ECHO_PORT/$1"; }
sha_up=$(sha_of "$upf")
size_up=$(stat -c %s "$upf")

# pc ARGS...: curl in the client namespace; sets res to "http_code
# http_connect size_download" and pc_rc to curl's status; never fails
pc() {
	pc_rc=0
	res=$(bed_ns "$NS_CLI" curl -sS --max-time 60 \
	    -w '%{http_code} %{http_connect} %{size_download}\n' "$@") ||
	    pc_rc=$?
}

# wait_log FILE PATTERN: up to 5 s for an extended regex to appear
wait_log() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -Eq "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# raw NAME [--shut]: sends $BED_TMP/NAME.req to the proxy in one send
# (and a FIN right behind it), the reply lands in $out/NAME.resp
raw() {
	local r
	r=$(timeout 30 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
	    http-raw ${2-} 127.0.0.1 "$BED_LOCAL_PORT" "$BED_TMP/$1.req" \
	    "$out/$1.resp" 10 2>&1) || true
	say "measured: raw $1: $r; first line: $(head -n1 "$out/$1.resp" 2>/dev/null | tr -d '\r')"
}
status_line() { head -n1 "$out/$1.resp" 2>/dev/null | tr -d '\r'; }

# --- 1. GET byte-exact, Via ---------------------------------------------------
pc -o "$out/get" -D "$out/get.hdr" -x "$P" "$(bed_url big.bin)"
say "measured: GET by name through $P: $res (curl exit $pc_rc)"
bed_expect "GET: HTTP 200" eval "[ '${res%% *}' = 200 ]"
bed_expect "GET: byte-exact" bed_same_file "$big" "$out/get"
say "  response head: $(tr -d '\r' <"$out/get.hdr" | tr '\n' '|')"
bed_expect "GET: response carries 'Via: 1.1 mpsocks'" \
    grep -qi '^Via: 1\.1 mpsocks' "$out/get.hdr"
rm -f "$out/get"

# --- 2. request bodies ----------------------------------------------------------
pc -o "$out/post-cl" -x "$P" --data-binary "@$upf" \
    -H 'Proxy-Connection: keep-alive' -H 'Connection: keep-alive, X-Hop' \
    -H 'X-Hop: 1' -H 'Keep-Alive: timeout=5' "$(echo_url post-cl)"
say "measured: POST (Content-Length) $size_up bytes: $res; origin said: $(cat "$out/post-cl" 2>/dev/null)"
bed_expect "POST Content-Length: HTTP 200" eval "[ '${res%% *}' = 200 ]"
bed_expect "POST Content-Length: the origin got the body byte-exact" \
    grep -q "^len=$size_up sha256=$sha_up\$" "$out/post-cl"

# a chunked POST, then a GET on the same connection: the body's framing
# must end exactly where the chunked coding does
err=$(bed_ns "$NS_CLI" curl -sS -v --max-time 60 -x "$P" \
    -H 'Transfer-Encoding: chunked' --data-binary "@$upf" \
    -o "$out/post-chunked" "$(echo_url post-chunked)" --next \
    -x "$P" -o "$out/after-chunked" "$(echo_url after-chunked)" 2>&1) ||
    say "curl failed: $?"
say "measured: chunked POST + GET: origin said: $(cat "$out/post-chunked" 2>/dev/null) / $(cat "$out/after-chunked" 2>/dev/null)"
say "  origin log:"
sed 's/^/    /' "$echolog"
bed_expect "POST chunked: the origin got it chunked" \
    grep -q "^POST /post-chunked framing=chunked len=$size_up sha256=$sha_up " \
    "$echolog"
bed_expect "POST chunked: the origin's answer came back" \
    grep -q "^len=$size_up sha256=$sha_up\$" "$out/post-chunked"
bed_expect "GET after the chunked POST answered on the same connection" \
    eval "grep -q '^len=0 ' '$out/after-chunked' &&
        printf '%s\n' \"\$err\" | grep -q 'Re-using existing connection'"
bed_expect "the origin saw Via and none of the hop-by-hop fields" \
    eval "grep '^POST /post-cl ' '$echolog' | grep -q 'fields=.*via' &&
        ! grep '^POST /post-cl ' '$echolog' |
            grep -Eq 'fields=.*(connection|x-hop|keep-alive)'"

pc -o /dev/null -x "$P" -T "$upf" "$(bed_url upload/put-cl.bin)"
say "measured: PUT (Content-Length) into nginx: $res"
bed_expect "PUT Content-Length: HTTP 201" eval "[ '${res%% *}' = 201 ]"
bed_expect "PUT Content-Length: stored byte-exact" \
    bed_same_file "$upf" "$BED_TMP/www/upload/put-cl.bin"

pc -o /dev/null -x "$P" -H 'Transfer-Encoding: chunked' -T "$upf" \
    "$(bed_url upload/put-chunked.bin)"
say "measured: PUT (chunked) into nginx: $res"
bed_expect "PUT chunked: HTTP 201" eval "[ '${res%% *}' = 201 ]"
bed_expect "PUT chunked: stored byte-exact" \
    bed_same_file "$upf" "$BED_TMP/www/upload/put-chunked.bin"

# --- 3. keep-alive across hosts --------------------------------------------------
lines=$(wc -l <"$BED_TMP/local.log")
err=$(bed_ns "$NS_CLI" curl -sS -v --max-time 60 -x "$P" \
    "$(bed_url big.bin)" -o "$out/ka-name" \
    "$(bed_url_ip small.bin)" -o "$out/ka-ip" 2>&1) || say "curl failed: $?"
say "measured: one curl, by name then by IP:"
printf '%s\n' "$err" | grep -E '^\* (Re-using|Connected|Connection #|Closing)' |
    sed 's/^/    /' || true
bed_expect "keep-alive: curl re-used the proxy connection" \
    eval "printf '%s\n' \"\$err\" | grep -q 'Re-using existing connection'"
bed_expect "keep-alive: first body (by name) byte-exact" \
    bed_same_file "$big" "$out/ka-name"
bed_expect "keep-alive: second body (by IP) byte-exact" \
    bed_same_file "$small" "$out/ka-ip"
wait_log "$BED_TMP/local.log" 'event=close .*proto=http requests=2 ' || true
new=$(tail -n +"$((lines + 1))" "$BED_TMP/local.log" |
    grep 'event=close .*proto=http' || true)
say "  mpsocks-local close lines: ${new:-none}"
bed_expect "keep-alive: one session, closed with requests=2" \
    eval "[ \"\$(printf '%s\n' \"\$new\" | grep -c .)\" -eq 1 ] &&
        printf '%s\n' \"\$new\" | grep -q ' requests=2 '"
rm -f "$out/ka-name"

# --- 4. CONNECT ----------------------------------------------------------------
tls_url=https://$BED_DST_NAME:$TLS_PORT/big.bin
pc -o "$out/https" -x "$P" --cacert "$BED_TMP/tls/cert.pem" "$tls_url"
say "measured: https through CONNECT, $tls_url: $res (curl exit $pc_rc)"
bed_expect "https: CONNECT answered 200" eval "[ \"\$(echo $res | cut -d' ' -f2)\" = 200 ]"
bed_expect "https: HTTP 200, certificate verified (curl exit $pc_rc)" \
    eval "[ '${res%% *}' = 200 ] && [ $pc_rc -eq 0 ]"
bed_expect "https: byte-exact" bed_same_file "$big" "$out/https"
rm -f "$out/https"

pc -o "$out/tunnel" -p -x "$P" "$(bed_url big.bin)"
say "measured: curl -p (CONNECT) for plain http: $res (curl exit $pc_rc)"
bed_expect "curl -p: CONNECT 200 and HTTP 200" eval "[ '$res' = '200 200 $(stat -c %s "$big")' ]"
bed_expect "curl -p: byte-exact" bed_same_file "$big" "$out/tunnel"
rm -f "$out/tunnel"

# bytes right behind the CONNECT head, in the same send
printf 'CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\nGET /small.bin HTTP/1.0\r\nHost: %s\r\n\r\n' \
    "$BED_DST_NAME" "$BED_HTTP_PORT" "$BED_DST_NAME" "$BED_HTTP_PORT" \
    "$BED_DST_NAME" >"$BED_TMP/pipelined.req"
raw pipelined
# split: the proxy's head, the origin's head, the origin's body
"$PY" "$BED_LIB_DIR/nettool.py" split-connect "$out/pipelined.resp" "$out/pipelined" || true
say "  proxy said: $(tr -d '\r' <"$out/pipelined.proxy" | tr '\n' '|'); origin said: $(head -n1 "$out/pipelined.origin" | tr -d '\r')"
bed_expect "pipelined after CONNECT: HTTP/1.1 200 from the proxy" \
    grep -q '^HTTP/1.1 200' "$out/pipelined.proxy"
bed_expect "pipelined after CONNECT: the origin answered the GET" \
    grep -q '^HTTP/1.1 200' "$out/pipelined.origin"
bed_expect "pipelined after CONNECT: body byte-exact" \
    bed_same_file "$small" "$out/pipelined.body"

# a forwarded request with the app's FIN right behind it, before the
# tunnel is up (printf | nc -N): answered, then closed (it was dropped)
printf 'GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n' "$(bed_url small.bin)" \
    "$BED_DST_NAME" "$BED_HTTP_PORT" >"$BED_TMP/halfclose.req"
raw halfclose --shut
"$PY" - "$out/halfclose.resp" "$out/halfclose.body" <<'EOF' || true
import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d.partition(b"\r\n\r\n")[2])
EOF
bed_expect "a request then FIN at once: HTTP/1.1 200 (got $(status_line halfclose))" \
    eval "status_line halfclose | grep -q '^HTTP/1.1 200 '"
bed_expect "a request then FIN at once: body byte-exact" \
    bed_same_file "$small" "$out/halfclose.body"

# --- 5. wget with http_proxy ----------------------------------------------------
rc=0
werr=$(bed_ns "$NS_CLI" env "http_proxy=http://127.0.0.1:$BED_LOCAL_PORT/" \
    wget -q -t 1 -T 60 -O "$out/wget" "$(bed_url big.bin)" 2>&1) || rc=$?
say "measured: wget with http_proxy: exit $rc ${werr}"
bed_expect "wget: exit 0" [ "$rc" -eq 0 ]
bed_expect "wget: byte-exact" bed_same_file "$big" "$out/wget"
rm -f "$out/wget"

# --- 6. status codes ------------------------------------------------------------
# expect_status DESC WANT URL [CURLARGS...]: forwarding, the proxy's status
expect_status() {
	local desc=$1 want=$2 url=$3
	shift 3
	pc -o "$out/status.body" "$@" -x "$P" "$url"
	say "measured: $desc ($url): $res, body: $(head -c 80 "$out/status.body" 2>/dev/null | tr '\n' ' ')"
	bed_expect "$desc: HTTP $want (got ${res%% *})" eval "[ '${res%% *}' = '$want' ]"
}
# A second mpsocks-local with --strict-replies: CONNECT is answered only
# once the concentrator has reached the destination, with its status.
# The default (optimistic) answers 200 at once and resets on failure.
strict_port=$((BED_LOCAL_PORT + 2))
bed_spawn localstrict "$NS_CLI" "$BED_TMP/local-strict.log" \
    "$BED_BUILD/mpsocks-local" --listen "127.0.0.1:$strict_port" \
    --server "$BED_PUB:$BED_SRV_PORT" --key-file "$BED_KEY_CLI" \
    --strict-replies --control off -c "$BED_LOCAL_CONF" -v
bed_wait_port "$NS_CLI" "$strict_port" 10 ||
    bed_fail "mpsocks-local --strict-replies did not start"
# expect_connect DESC WANT URL: CONNECT (curl -p), the proxy's status
expect_connect() {
	pc -o /dev/null -p -x "$P" "$3"
	say "measured: $1 ($3) through CONNECT: $res (curl exit $pc_rc)"
	bed_expect "$1, CONNECT: $2 (got $(echo "$res" | cut -d' ' -f2))" \
	    eval "[ '$(echo "$res" | cut -d' ' -f2)' = '$2' ]"
}
# connect_fails DESC WANT URL: a CONNECT the concentrator cannot carry
# out: with --strict-replies the proxy's status WANT; by default 200,
# then a reset, no HTTP answer
connect_fails() {
	pc -o /dev/null -p -x "http://127.0.0.1:$strict_port" "$3"
	say "measured: $1 ($3) through CONNECT, strict: $res (curl exit $pc_rc)"
	bed_expect "$1, CONNECT, strict: $2 (got $(echo "$res" | cut -d' ' -f2))" \
	    eval "[ '$(echo "$res" | cut -d' ' -f2)' = '$2' ]"
	pc -o /dev/null -p -x "$P" "$3"
	say "measured: $1 ($3) through CONNECT, optimistic: $res (curl exit $pc_rc)"
	bed_expect "$1, CONNECT, optimistic: 200 then no answer (got $res, exit $pc_rc)" \
	    eval "[ '$(echo "$res" | cut -d' ' -f1,2)' = '000 200' ] && [ $pc_rc -ne 0 ]"
}
closed=http://$BED_DST_IP:$CLOSED_PORT/
nxname=http://nx-$BED_ID.test:$BED_HTTP_PORT/
loop=http://127.0.0.1:$BED_SRV_PORT/
expect_status "closed port" 502 "$closed"
connect_fails "closed port" 502 "$closed"
expect_status "unknown name" 502 "$nxname"
connect_fails "unknown name" 502 "$nxname"
expect_status "the concentrator's loopback" 403 "$loop"
connect_fails "the concentrator's loopback" 403 "$loop"
say "  server refusals:"
grep 'event=refuse' "$BED_TMP/server.log" | sed 's/^/    /' || true

printf 'POST http://%s:%s/smuggle HTTP/1.1\r\nHost: %s:%s\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n' \
    "$BED_DST_NAME" "$ECHO_PORT" "$BED_DST_NAME" "$ECHO_PORT" \
    >"$BED_TMP/smuggle.req"
raw smuggle
bed_expect "Content-Length and Transfer-Encoding: 400" \
    eval "[ \"\$(status_line smuggle)\" = 'HTTP/1.1 400 Bad Request' ]"

"$PY" - "$BED_TMP/big-head.req" "$BED_DST_NAME" "$ECHO_PORT" <<'EOF'
import sys
path, host, port = sys.argv[1], sys.argv[2], sys.argv[3]
head = "GET http://%s:%s/big-head HTTP/1.1\r\nHost: %s:%s\r\n" % (
    host, port, host, port)
for i in range(70):			# 70 x 1 KiB: over 64 KiB
    head += "X-Pad-%03d: %s\r\n" % (i, "a" * 1009)
open(path, "w").write(head + "\r\n")
EOF
raw big-head
bed_expect "a head of $(stat -c %s "$BED_TMP/big-head.req") bytes: 431" \
    eval "status_line big-head | grep -q '^HTTP/1.1 431 '"
bed_expect "the origin saw neither the smuggling request nor the big head" \
    eval "! grep -Eq '/(smuggle|smuggled|big-head) ' '$echolog'"

# --- 7. the PAC file -------------------------------------------------------------
pc -o "$out/proxy.pac" -D "$out/pac.hdr" \
    "http://127.0.0.1:$BED_LOCAL_PORT/proxy.pac"
say "measured: GET /proxy.pac directly: $res"
sed 's/^/    /' "$out/proxy.pac"
bed_expect "PAC: HTTP 200" eval "[ '${res%% *}' = 200 ]"
bed_expect "PAC: Content-Type application/x-ns-proxy-autoconfig" \
    grep -qi '^Content-Type: application/x-ns-proxy-autoconfig' "$out/pac.hdr"
bed_expect "PAC: FindProxyForURL returns SOCKS5 127.0.0.1:$BED_LOCAL_PORT" \
    grep -q "SOCKS5 127\.0\.0\.1:$BED_LOCAL_PORT" "$out/proxy.pac"
bed_expect "PAC: and PROXY 127.0.0.1:$BED_LOCAL_PORT" \
    grep -q "PROXY 127\.0\.0\.1:$BED_LOCAL_PORT" "$out/proxy.pac"

# --- 8. proxy authentication -----------------------------------------------------
bed_stop local || true
bed_local_start --user alice:secret

pc -o /dev/null -D "$out/407.hdr" -x "$P" "$(bed_url "small.bin?nocreds")"
say "measured: --user, no credentials: $res; head: $(tr -d '\r' <"$out/407.hdr" | tr '\n' '|')"
bed_expect "no credentials: 407" eval "[ '${res%% *}' = 407 ]"
bed_expect "no credentials: Proxy-Authenticate: Basic" \
    grep -qi '^Proxy-Authenticate: Basic' "$out/407.hdr"
expect_connect "no credentials" 407 "$(bed_url "small.bin?nocreds-connect")"

pc -o "$out/auth-ok" -x "$P" -U alice:secret \
    "$(bed_url "small.bin?goodpw")"
say "measured: --user, -U alice:secret: $res"
bed_expect "right credentials: HTTP 200" eval "[ '${res%% *}' = 200 ]"
bed_expect "right credentials: byte-exact" bed_same_file "$small" "$out/auth-ok"
pc -o "$out/auth-https" -x "$P" -U alice:secret \
    --cacert "$BED_TMP/tls/cert.pem" "https://$BED_DST_NAME:$TLS_PORT/small.bin?goodpw-connect"
say "measured: --user, https with -U alice:secret: $res (curl exit $pc_rc)"
bed_expect "right credentials, CONNECT: byte-exact" \
    bed_same_file "$small" "$out/auth-https"
pc -o /dev/null -x "$P" -U alice:secret "$(echo_url goodpw-fields)"
bed_expect "right credentials: Proxy-Authorization did not reach the origin" \
    eval "grep -q '^GET /goodpw-fields ' '$echolog' &&
        ! grep '^GET /goodpw-fields ' '$echolog' | grep -q proxy-authorization"

pc -o /dev/null -D "$out/407w.hdr" -x "$P" -U alice:wrong \
    "$(bed_url "small.bin?wrongpw")"
say "measured: --user, -U alice:wrong: $res"
bed_expect "wrong password: 407" eval "[ '${res%% *}' = 407 ]"
bed_expect "wrong password: Proxy-Authenticate: Basic" \
    grep -qi '^Proxy-Authenticate: Basic' "$out/407w.hdr"

sleep 0.5	# nginx logs at the end of a request
access_has() { grep -c "GET /small.bin?$1 " "$BED_TMP/access.log" || true; }
say "nginx access log, the authentication part:"
grep 'pw\|nocreds' "$BED_TMP/access.log" | sed 's/^/  /' || true
bed_expect "nginx saw the requests with the right password" \
    eval "[ $(access_has goodpw) -eq 1 ] && [ $(access_has goodpw-connect) -eq 1 ]"
bed_expect "nginx saw no request for the wrong password" \
    [ "$(access_has wrongpw)" -eq 0 ]
bed_expect "nginx saw no request without credentials" \
    eval "[ $(access_has nocreds) -eq 0 ] && [ $(access_has nocreds-connect) -eq 0 ]"

say "mpsocks-local http lines:"
grep -E 'event=(http|close .*proto=http|auth_fail)' "$BED_TMP/local.log" |
    sed 's/^/  /' | tail -n 30 || true

# --- 9. wrong credentials at line rate ----------------------------------------
# auth_flood PROTO: AUTH_N wrong tries as fast as one client makes them,
# a second's pause, then one more (a new window of the limiter: it first
# writes how many lines it dropped). Every try is refused; the warnings
# logged stay within the limit (10 a second, plus one count a window),
# far fewer than the tries, and every failure is either logged or counted.
AUTH_N=500
flood() {	# flood PROTO N: prints nettool's summary line
	timeout 120 ip netns exec "$NS_CLI" "$PY" "$BED_LIB_DIR/nettool.py" \
	    auth-flood "$1" 127.0.0.1 "$BED_LOCAL_PORT" "$2" alice:wrong \
	    "$BED_DST_NAME:$BED_HTTP_PORT" 2>&1 || true
}
auth_flood() {
	local proto=$1 mark res one new secs logged dropped warns bound
	mark=$(wc -l <"$BED_TMP/local.log")
	res=$(flood "$proto" "$AUTH_N")
	sleep 1.2
	one=$(flood "$proto" 1)
	new=$(tail -n +"$((mark + 1))" "$BED_TMP/local.log")
	logged=$(printf '%s\n' "$new" | grep -c 'event=auth_fail' || true)
	dropped=$(printf '%s\n' "$new" |
	    sed -n 's/.*event=log_suppressed count=\([0-9]*\).*/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }')
	warns=$(printf '%s\n' "$new" | grep -c '^mpsocks-local: warn: ' || true)
	secs=$(printf '%s\n' "$res" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')
	# windows the flood touched: at most ceil(secs) + 1; then the last try
	bound=$(awk -v s="${secs:-0}" 'BEGIN { w = int(s) + 2;
	    print 11 * w + 2 }')
	say "measured: $proto: $AUTH_N wrong tries: $res; then: $one"
	say "  mpsocks-local logged $warns warnings: $logged auth_fail lines, $dropped dropped and counted (bound $bound)"
	printf '%s\n' "$new" | grep -E 'auth_fail|log_suppressed' | head -n 3 |
	    sed 's/^/    /'
	bed_expect "$proto: $AUTH_N wrong tries all refused" \
	    eval "printf '%s\n' \"\$res\" | grep -q '^tries=$AUTH_N refused=$AUTH_N other=0 '"
	bed_expect "$proto: $warns warnings logged for $AUTH_N failures, within the limit ($bound)" \
	    eval "[ $warns -gt 0 ] && [ $warns -le $bound ] &&
	        [ $((warns * 5)) -lt $AUTH_N ]"
	bed_expect "$proto: every failure logged or counted ($logged + $dropped = $((AUTH_N + 1)))" \
	    [ $((logged + dropped)) -eq $((AUTH_N + 1)) ]
}
auth_flood http
auth_flood socks5
pc -o "$out/auth-after" -x "$P" -U alice:secret \
    "$(bed_url "small.bin?after-flood")"
say "measured: after the floods, -U alice:secret: $res"
bed_expect "after the floods, HTTP with the right credentials: 200, byte-exact" \
    eval "[ '${res%% *}' = 200 ] && bed_same_file '$small' '$out/auth-after'"
pc -o "$out/auth-after-socks" \
    -x "socks5h://alice:secret@127.0.0.1:$BED_LOCAL_PORT" \
    "$(bed_url "small.bin?after-flood-socks")"
say "measured: after the floods, SOCKS5 with alice:secret: $res"
bed_expect "after the floods, SOCKS5 with the right credentials: 200, byte-exact" \
    eval "[ '${res%% *}' = 200 ] && bed_same_file '$small' '$out/auth-after-socks'"
sleep 0.5
bed_expect "nginx saw none of the flood's requests" \
    eval "! grep -q '/auth-flood' '$BED_TMP/access.log'"
bed_expect "server still running" bed_alive "$(bed_pid server)"
bed_expect "mpsocks-local still running" bed_alive "$(bed_pid local)"
bed_finish
