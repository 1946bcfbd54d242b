#!/bin/bash
# t_package: the Debian packages as a new user meets them (issue 18).
# Builds them (dpkg-buildpackage -b, in a copy of the tree: the checkout
# stays clean), runs lintian (no error, no warning), installs them with
# dpkg, checks files, modes, owners, the conffiles, the mpsocks user and
# the units (systemd-analyze verify, and the exposure scores recorded in
# docs/deployment.md), pairs a home by hand as README says, starts both
# installed daemons from /usr/bin with the installed configs and keys, as
# the units would (user mpsocks, the same capabilities; not through
# systemctl: CI may not run systemd), fetches through them byte-exact,
# then purges the packages and checks that nothing is left but the
# mpsocks user, which Debian keeps. Also `make install` and `make
# uninstall` with another PREFIX and SYSCONFDIR.
#
# A machine where these packages are already installed (not by this
# test) is left alone: SKIP.
set -eu
. "$(dirname "$0")/lib.sh"

PKGS=(mpsocks-local mpsocks-server mpsocks-common)
# set while this test's packages are on the machine: a run killed before
# its trap could purge them leaves it, and the next run purges them
MARK=/tmp/mpsocks-t_package.installed

bed_require_base
bed_require_nginx
for t in dpkg-buildpackage dh lintian systemd-analyze setpriv tar; do
	command -v "$t" >/dev/null 2>&1 ||
	    bed_skip "$t not installed (make deps installs it)"
done

# pkg_state PKG: installed, config-files, not-installed...
pkg_state() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null ||
	    echo not-installed
}

for p in "${PKGS[@]}"; do
	[ "$(pkg_state "$p")" = not-installed ] && continue
	[ -e "$MARK" ] ||
	    bed_skip "$p is on this machine ($(pkg_state "$p")), not installed by this test: left alone"
	say "purging $p, left behind by a killed run of this test"
	dpkg --purge "${PKGS[@]}" >/dev/null 2>&1 || true
	break
done
rm -f "$MARK"
# the purge takes /etc/mpsocks: never someone's own (a `make install`)
for f in /etc/mpsocks /usr/bin/mpsocks-server /usr/bin/mpsocks-local; do
	[ ! -e "$f" ] || bed_skip "$f exists on this machine: left alone"
done

WORK=$(mktemp -d /tmp/mpsocks-pkg.XXXXXX)
SRC=$WORK/src/mpsocks
INSTALLED=0

# Runs first in the EXIT trap (before the bed's own cleanup): the
# daemons started from the packages stop before the packages go.
pkg_cleanup() {
	set +e
	bed_stop local
	bed_stop server
	if [ "$INSTALLED" = 1 ]; then
		dpkg --purge "${PKGS[@]}" >"$WORK/purge-trap.log" 2>&1 ||
		    cat "$WORK/purge-trap.log"
		rm -f /etc/mpsocks/client.key
		rmdir /etc/mpsocks 2>/dev/null
		rm -f "$MARK"
	fi
	if [ -n "${BED_LOGDIR-}" ]; then
		mkdir -p "$BED_LOGDIR"
		cp "$WORK"/*.log "$BED_LOGDIR"/ 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap 'pkg_cleanup' EXIT

# --- build -------------------------------------------------------------------

before_status=$(git -C "$BED_REPO" status --porcelain 2>/dev/null || true)
mkdir -p "$SRC"
if git -C "$BED_REPO" rev-parse --git-dir >/dev/null 2>&1; then
	# what is checked in or new, as it is now; never build/ or .git
	(cd "$BED_REPO" && git ls-files -z -co --exclude-standard) |
	    tar -C "$BED_REPO" --null --ignore-failed-read -T - -cf - 2>/dev/null |
	    tar -C "$SRC" -xf -
else
	tar -C "$BED_REPO" --exclude=./build --exclude=./.git -cf - . |
	    tar -C "$SRC" -xf -
fi

start=$(date +%s)
# the unit tests run in `make check` already (nocheck); namespaces
# never run in a package build
if ! (cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b -Pnocheck) >"$WORK/build.log" 2>&1; then
	tail -n 40 "$WORK/build.log"
	bed_fail "dpkg-buildpackage failed"
fi
say "dpkg-buildpackage: $(($(date +%s) - start)) s"
version=$(cd "$SRC" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
deb_common=$WORK/src/mpsocks-common_${version}_all.deb
deb_server=$WORK/src/mpsocks-server_${version}_$arch.deb
deb_local=$WORK/src/mpsocks-local_${version}_$arch.deb
for d in "$deb_common" "$deb_server" "$deb_local"; do
	[ -f "$d" ] || bed_fail "dpkg-buildpackage made no $(basename "$d")"
done
bed_expect "the checkout is as it was (the build ran in a copy)" \
    [ "$(git -C "$BED_REPO" status --porcelain 2>/dev/null || true)" = \
    "$before_status" ]

start=$(date +%s)
# --show-overrides makes lintian exit 2 for an overridden warning too:
# the verdict is read from the tags (E: error, W: warning, O: overridden)
lrc=0
lintian -I --show-overrides "$WORK/src/mpsocks_${version}_$arch.changes" \
    >"$WORK/lintian.log" 2>&1 || lrc=$?
grep -v '^running with root privileges' "$WORK/lintian.log" |
    sed 's/^/  lintian: /'
say "lintian: $(($(date +%s) - start)) s, exit $lrc"
bed_expect "lintian ran (exit 0, or 2 for an override)" bash -c "[ $lrc -eq 0 ] || [ $lrc -eq 2 ]"
bed_expect "lintian: no error and no warning" \
    bash -c "! grep -Eq '^[EW]: ' '$WORK/lintian.log'"
# shellcheck disable=SC2016 # the script's own $0 and $d
bed_expect "lintian: every override says why" bash -c '
	for d in "$0"/debian/*/usr/share/lintian/overrides/*; do
		[ -e "$d" ] || continue
		awk "/^#/ { c = 1; next } /^[^#]/ && !c { exit 1 } { c = 0 }" \
		    "$d" || { echo "  no reason before a tag in $d"; exit 1; }
	done' "$SRC"

# --- make install / make uninstall, in the built copy --------------------------

inst=$WORK/inst
(cd "$SRC" && make install DESTDIR="$inst" PREFIX=/opt/mps \
    SYSCONFDIR=/opt/mps/etc) >"$WORK/make-install.log" 2>&1 ||
    { tail -20 "$WORK/make-install.log"; bed_fail "make install failed"; }
mapfile -t man_expect < <(cd "$SRC" && for f in man/*.[58]; do
	[ -e "$f" ] && echo "opt/mps/share/man/man${f##*.}/${f#man/}"; done)
expect_files=$(printf '%s\n' opt/mps/bin/mpsocks-server \
    opt/mps/bin/mpsocks-local \
    opt/mps/lib/systemd/system/mpsocks-server.service \
    opt/mps/lib/systemd/system/mpsocks-local.service \
    opt/mps/lib/sysusers.d/mpsocks.conf \
    opt/mps/share/doc/mpsocks/examples/policy-example.conf \
    opt/mps/etc/mpsocks/server.conf opt/mps/etc/mpsocks/local.conf \
    "${man_expect[@]}" | sort)
got_files=$(cd "$inst" && find . -type f | sed 's|^\./||' | sort)
bed_expect "make install: binaries, units, sysusers, samples, example, man pages" \
    [ "$got_files" = "$expect_files" ]
[ "$got_files" = "$expect_files" ] ||
    diff <(echo "$expect_files") <(echo "$got_files") | sed 's/^/  /'
bed_expect "make install: the units name the installed paths" \
    grep -qx 'ExecStart=/opt/mps/bin/mpsocks-server -c /opt/mps/etc/mpsocks/server.conf' \
    "$inst/opt/mps/lib/systemd/system/mpsocks-server.service"
bed_expect "make install: no @PLACEHOLDER@ left in a unit" bash -c \
    "! grep -q '@[A-Z]*@' '$inst'/opt/mps/lib/systemd/system/*.service"
bed_expect "make install: the samples name SYSCONFDIR" \
    grep -qx 'key_file = /opt/mps/etc/mpsocks/keys' \
    "$inst/opt/mps/etc/mpsocks/server.conf"
echo '; edited' >>"$inst/opt/mps/etc/mpsocks/local.conf"
(cd "$SRC" && make install DESTDIR="$inst" PREFIX=/opt/mps \
    SYSCONFDIR=/opt/mps/etc) >>"$WORK/make-install.log" 2>&1
bed_expect "make install again: an existing config is kept" \
    grep -qx '; edited' "$inst/opt/mps/etc/mpsocks/local.conf"
(cd "$SRC" && make uninstall DESTDIR="$inst" PREFIX=/opt/mps \
    SYSCONFDIR=/opt/mps/etc) >"$WORK/make-uninstall.log" 2>&1 ||
    bed_fail "make uninstall failed"
bed_expect "make uninstall: only the edited config is left" \
    [ "$(cd "$inst" && find . -type f)" = ./opt/mps/etc/mpsocks/local.conf ]
bed_expect "make uninstall: no mpsocks directory of its own left" bash -c \
    "! find '$inst' -name 'mpsocks*' -type d | grep -v '/etc/mpsocks$'"

# --- install -------------------------------------------------------------------

BED_UPLINKS_SPEC="20mbit 20mbit"
# shellcheck disable=SC2086
bed_setup $BED_UPLINKS_SPEC
trap 'rc=$?; pkg_cleanup; (exit $rc); bed_cleanup' EXIT
big=$(bed_make_file big.bin 4)
bed_nginx_start

# what the system holds, by path, before and after: the purge must take
# everything back (the bed's /etc/netns entries exist in both)
snapshot() {
	find /etc /lib/systemd /usr /var/lib/systemd -xdev 2>/dev/null |
	    grep -Ev '^/etc/(passwd|group|shadow|gshadow)-$|^/etc/\.pwd\.lock$' |
	    sort
}
snapshot >"$WORK/before.txt"
user_before=$(getent passwd mpsocks || true)

touch "$MARK"
INSTALLED=1
if ! dpkg -i "$deb_common" "$deb_server" "$deb_local" \
    >"$WORK/dpkg-install.log" 2>&1; then
	cat "$WORK/dpkg-install.log"
	bed_fail "dpkg -i failed"
fi
sed 's/^/  dpkg: /' "$WORK/dpkg-install.log"
for p in "${PKGS[@]}"; do
	bed_expect "$p $version installed" \
	    [ "$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p")" = \
	    "installed $version" ]
done

# mode_of PATH: "octal-mode owner:group" as the checks compare it
mode_of() { stat -c '%a %U:%G' "$1" 2>/dev/null || echo missing; }
check_mode() {	# PATH "MODE OWNER:GROUP"
	local got
	got=$(mode_of "$1")
	[ "$got" = "$2" ] || { say "  $1: $got, not $2"; return 1; }
}

bed_expect "/usr/bin/mpsocks-server 755 root:root" \
    check_mode /usr/bin/mpsocks-server "755 root:root"
bed_expect "/usr/bin/mpsocks-local 755 root:root" \
    check_mode /usr/bin/mpsocks-local "755 root:root"
for u in mpsocks-server mpsocks-local; do
	bed_expect "/lib/systemd/system/$u.service 644 root:root" \
	    check_mode "/lib/systemd/system/$u.service" "644 root:root"
done
bed_expect "/usr/lib/sysusers.d/mpsocks.conf 644 root:root" \
    check_mode /usr/lib/sysusers.d/mpsocks.conf "644 root:root"
bed_expect "the binaries say the packaged version" bash -c "
	[ \"\$(/usr/bin/mpsocks-server --version)\" = 'mpsocks-server $version' ] &&
	[ \"\$(/usr/bin/mpsocks-local --version)\" = 'mpsocks-local $version' ]"
bed_expect "/etc/mpsocks/server.conf: conffile of mpsocks-server, the sample" \
    bash -c "dpkg-query -W -f='\${Conffiles}' mpsocks-server |
	grep -q '^ /etc/mpsocks/server.conf ' &&
	cmp -s /etc/mpsocks/server.conf '$SRC/conf/server.conf'"
bed_expect "/etc/mpsocks/local.conf: conffile of mpsocks-local, the sample" \
    bash -c "dpkg-query -W -f='\${Conffiles}' mpsocks-local |
	grep -q '^ /etc/mpsocks/local.conf ' &&
	cmp -s /etc/mpsocks/local.conf '$SRC/conf/local.conf'"
bed_expect "the policy example in mpsocks-local's examples, not in /etc" bash -c \
    "[ -f /usr/share/doc/mpsocks-local/examples/policy-example.conf ] &&
	[ ! -e /etc/mpsocks/policy-example.conf ]"
for m in "$SRC"/man/*.[58]; do
	[ -e "$m" ] || continue
	n=$(basename "$m")
	bed_expect "man page $n installed" \
	    [ -f "/usr/share/man/man${n##*.}/$n.gz" ]
done

uid=$(id -u mpsocks 2>/dev/null || echo none)
bed_expect "user mpsocks exists, a system user (uid $uid)" \
    bash -c "[ '$uid' != none ] && [ '$uid' -gt 0 ] && [ '$uid' -lt 1000 ]"
bed_expect "user mpsocks: group mpsocks, no login shell" bash -c "
	[ \"\$(id -gn mpsocks)\" = mpsocks ] &&
	[ \"\$(getent passwd mpsocks | cut -d: -f7)\" = /usr/sbin/nologin ]"

bed_expect "/etc/mpsocks/keys made at installation: 640 root:mpsocks" \
    check_mode /etc/mpsocks/keys "640 root:mpsocks"
bed_expect "/etc/mpsocks/keys: in no package (never shipped)" \
    bash -c "! dpkg -S /etc/mpsocks/keys >/dev/null 2>&1"
bed_expect "/etc/mpsocks/keys: one key, \"home\"" bash -c "
	[ \"\$(grep -v '^#' /etc/mpsocks/keys | grep -c .)\" = 1 ] &&
	grep -Eq '^home [A-Za-z0-9+/]{43}=\$' /etc/mpsocks/keys"
bed_expect "no client key shipped: the home unit waits for pairing" \
    [ ! -e /etc/mpsocks/client.key ]
bed_expect "server config as the mpsocks user: -t passes" bash -c "
	setpriv --reuid=mpsocks --regid=mpsocks --init-groups \
	    /usr/bin/mpsocks-server -t -c /etc/mpsocks/server.conf |
	grep -qx 'configuration OK (1 key)'"

# --- the units -----------------------------------------------------------------

units="/lib/systemd/system/mpsocks-server.service /lib/systemd/system/mpsocks-local.service"
man=no
[ -f /usr/share/man/man8/mpsocks-server.8.gz ] &&
    [ -f /usr/share/man/man8/mpsocks-local.8.gz ] &&
    [ -f /usr/share/man/man5/mpsocks.conf.5.gz ] && man=yes
# shellcheck disable=SC2086
if systemd-analyze verify --man=$man $units >"$WORK/verify.log" 2>&1; then
	vok=1
else
	vok=0
fi
sed 's/^/  verify: /' "$WORK/verify.log"
bed_expect "systemd-analyze verify (man pages checked: $man)" [ "$vok" = 1 ]
bed_expect "verify has nothing to say" [ ! -s "$WORK/verify.log" ]
for u in server local; do
	f=/lib/systemd/system/mpsocks-$u.service
	bed_expect "mpsocks-$u.service: Type=exec, User=mpsocks, reload is SIGHUP" \
	    bash -c "grep -qx 'Type=exec' $f && grep -qx 'User=mpsocks' $f &&
		grep -qx 'ExecReload=/bin/kill -HUP \$MAINPID' $f"
	bed_expect "mpsocks-$u.service: starts /usr/bin/mpsocks-$u -c /etc/mpsocks/$u.conf" \
	    grep -qx "ExecStart=/usr/bin/mpsocks-$u -c /etc/mpsocks/$u.conf" "$f"
	score=$(cd /lib/systemd/system &&
	    systemd-analyze security --offline=yes "mpsocks-$u.service" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	say "  mpsocks-$u.service: exposure ${score:-?}"
	bed_expect "mpsocks-$u.service: exposure ${score:-?} under 2.0" \
	    calc_true "${score:-99} < 2.0"
done
bed_expect "mpsocks-server.service: no capability" \
    grep -qx 'CapabilityBoundingSet=' /lib/systemd/system/mpsocks-server.service
f=/lib/systemd/system/mpsocks-local.service
bed_expect "mpsocks-local.service: CAP_NET_ADMIN alone, ambient" bash -c "
	grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN' $f &&
	grep -qx 'AmbientCapabilities=CAP_NET_ADMIN' $f"
bed_expect "both units enabled (multi-user.target.wants)" bash -c "
	[ -L /etc/systemd/system/multi-user.target.wants/mpsocks-server.service ] &&
	[ -L /etc/systemd/system/multi-user.target.wants/mpsocks-local.service ]"

# --- pair by hand (README, step 2), run both as the units would -------------

awk '$1 == "home"' /etc/mpsocks/keys |
    install -m 640 -o root -g mpsocks /dev/stdin /etc/mpsocks/client.key
bed_expect "client key: 640 root:mpsocks" \
    check_mode /etc/mpsocks/client.key "640 root:mpsocks"

# the units' User= and capabilities, through setpriv
as_server="setpriv --reuid=mpsocks --regid=mpsocks --init-groups \
    --bounding-set=-all --no-new-privs"
as_local="setpriv --reuid=mpsocks --regid=mpsocks --init-groups \
    --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
    --bounding-set=-all,+net_admin --no-new-privs"
# shellcheck disable=SC2086
bed_spawn server "$NS_SRV" "$BED_TMP/server.log" $as_server \
    /usr/bin/mpsocks-server -c /etc/mpsocks/server.conf \
    --listen "$BED_PUB:$BED_SRV_PORT" --allow "$BED_DST_NET" -v
bed_wait_port "$NS_SRV" "$BED_SRV_PORT" 10 ||
    bed_fail "the installed mpsocks-server did not start"
# shellcheck disable=SC2086
bed_spawn local "$NS_CLI" "$BED_TMP/local.log" $as_local \
    /usr/bin/mpsocks-local -c /etc/mpsocks/local.conf \
    --server "$BED_PUB:$BED_SRV_PORT" --listen "127.0.0.1:$BED_LOCAL_PORT" -v
bed_wait_port "$NS_CLI" "$BED_LOCAL_PORT" 10 ||
    bed_fail "the installed mpsocks-local did not start"

status_field() { awk -v f="$2" '$1 == f { print $2 }' "/proc/$1/status"; }
spid=$(bed_pid server)
lpid=$(bed_pid local)
bed_expect "server runs /usr/bin/mpsocks-server as mpsocks, no capability" \
    bash -c "[ \"\$(readlink /proc/$spid/exe)\" = /usr/bin/mpsocks-server ] &&
	[ '$(status_field "$spid" Uid:)' = '$uid' ] &&
	[ '$(status_field "$spid" CapEff:)' = 0000000000000000 ]"
bed_expect "local runs /usr/bin/mpsocks-local as mpsocks, CAP_NET_ADMIN alone" \
    bash -c "[ \"\$(readlink /proc/$lpid/exe)\" = /usr/bin/mpsocks-local ] &&
	[ '$(status_field "$lpid" Uid:)' = '$uid' ] &&
	[ '$(status_field "$lpid" CapEff:)' = 0000000000001000 ]"

got=$(bed_fetch_exact 3 big.bin 60)
bed_expect "3 fetches of $(basename "$big") through the installed daemons, byte-exact" \
    [ "$got" -eq 3 ]
bed_expect "the concentrator authenticated the home by its name" \
    grep -q 'event=request client=home ' "$BED_TMP/server.log"

bed_stop local
bed_stop server

# --- purge ---------------------------------------------------------------------

if ! dpkg --purge "${PKGS[@]}" >"$WORK/dpkg-purge.log" 2>&1; then
	cat "$WORK/dpkg-purge.log"
	bed_fail "dpkg --purge failed"
fi
INSTALLED=0
rm -f "$MARK"
for p in "${PKGS[@]}"; do
	bed_expect "$p purged" [ "$(pkg_state "$p")" = not-installed ]
done
bed_expect "/etc/mpsocks is gone (keys and the paired key too)" \
    [ ! -e /etc/mpsocks ]
snapshot >"$WORK/after.txt"
left=$(diff "$WORK/before.txt" "$WORK/after.txt" || true)
[ -z "$left" ] || printf '%s\n' "$left" | head -20 | sed 's/^/  /'
bed_expect "nothing else left, nothing else gone" [ -z "$left" ]
bed_expect "the mpsocks user stays, as Debian keeps system users" \
    getent passwd mpsocks
say "user before: ${user_before:-none}; after: $(getent passwd mpsocks)"

bed_finish
