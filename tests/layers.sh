#!/bin/bash
# The layer check (`make layers`, and one step of `make check`).
#
# The folders are the layers: src/proto (pure codecs), src/common (I/O both
# daemons use), src/local and src/server (one daemon each). Nothing points
# upward and the daemons never include each other, so a parser can be unit
# tested and fuzzed alone, and each binary links only its own folder plus
# common and proto. The compiler does not see folders, so this script
# enforces what STYLE.md "Layout" promises:
#
#  a. proto sources and headers include only "proto/..." headers, and no
#     socket or event-loop system header (event2/, sys/socket.h, poll.h,
#     netdb.h, libmnl/, netlink, unistd.h, ...). Address *types* come from
#     <netinet/in.h> and <arpa/inet.h>, which are allowed.
#  b. proto objects do no I/O and hold no globals: `nm -u` on
#     build/obj/proto/*.o names no socket, descriptor or libevent call, and
#     `nm` shows no writable data (d, D, b, B, C). A const table of pointers
#     lands in .data.rel.ro (writable only until relocation, read-only
#     after) and nm calls it 'd' too: it is allowed. Reading the objects
#     catches what the include rules miss (a declaration written by hand,
#     a call hidden in a macro).
#  c. common includes nothing from "local/" or "server/": it serves both.
#  d. local never includes "server/..." and server never "local/...".
#  e. every quoted include under src/ and include/ names its layer
#     ("proto/util.h"), unless it is a private header beside the including
#     file ("policy_int.h" in src/local/).
#
# a, c, d and e read the sources; b reads the objects, so build them first
# (`make layers` does). Prints one line per violation, file:line and why;
# exits 1 if there were any, 0 if none.
set -u

cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
LAYERS="proto common local server"
n=0

bad() {	# where why...
	local where=$1

	shift
	echo "$where: $*"
	n=$((n + 1))
}

# Angle includes a proto file may not use: what sockets, descriptors and the
# event loop need. sys/poll.h is poll.h under another name.
proto_banned='^(event2/.*|event\.h|sys/socket\.h|sys/epoll\.h|poll\.h'
proto_banned+='|sys/poll\.h|sys/select\.h|netdb\.h|libmnl/.*|linux/netlink\.h'
proto_banned+='|linux/rtnetlink\.h|ifaddrs\.h|unistd\.h)$'

# Calls a proto object may not make. Fortified and 64-bit variants
# (__read_chk, __open_2, open64) are the same calls.
io_calls='socket|connect|bind|listen|accept|accept4|send|sendto|sendmsg'
io_calls+='|recv|recvfrom|recvmsg|read|write|readv|writev|close|open|openat'
io_calls+='|fopen|getsockopt|setsockopt|getsockname|getpeername|poll|select'
io_banned="^(__)?(${io_calls})(64)?(_chk|_2)?\$"
io_banned+='|^epoll_|^event_|^bufferevent_|^evbuffer_'

# file:line:kind:name for every #include; kind is q ("...") or a (<...>).
includes() {
	awk 'match($0, /^[ \t]*#[ \t]*include[ \t]*[<"][^>"]*[>"]/) {
		s = substr($0, RSTART, RLENGTH)
		sub(/^[^<"]*/, "", s)
		k = substr(s, 1, 1) == "<" ? "a" : "q"
		print FILENAME ":" FNR ":" k ":" substr(s, 2, length(s) - 2)
	}' "$@"
}

layer_of() {	# path -> proto, common, local or server
	local p=${1#src/}

	p=${p#include/}
	echo "${p%%/*}"
}

mapfile -t files < <(find src include -name '*.[ch]' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "layers: no sources under src/"; exit 2; }

while IFS=: read -r file line kind name; do
	where="$file:$line"
	from=$(layer_of "$file")
	if [ "$kind" = a ]; then
		if [ "$from" = proto ] && [[ $name =~ $proto_banned ]]; then
			bad "$where" "proto includes <$name>: a socket or" \
			    "event-loop header; proto does no I/O" \
			    "(address types: <netinet/in.h>)"
		fi
		continue
	fi
	to=${name%%/*}
	[ "$to" != "$name" ] || to=""
	# a. proto names only proto/ headers, even beside it
	if [ "$from" = proto ] && [ "$to" != proto ]; then
		bad "$where" "proto includes \"$name\": proto may include" \
		    "only \"proto/...\" headers"
		continue
	fi
	# c. common serves both daemons
	if [ "$from" = common ] && { [ "$to" = local ] || [ "$to" = server ]; }
	then
		bad "$where" "common includes \"$name\": common serves both" \
		    "daemons and may not include $to/"
		continue
	fi
	# d. the two daemons never include each other
	if { [ "$from" = local ] && [ "$to" = server ]; } ||
	    { [ "$from" = server ] && [ "$to" = local ]; }; then
		bad "$where" "$from includes \"$name\": the daemons never" \
		    "include each other (shared code goes in common/ or proto/)"
		continue
	fi
	# e. every include names its layer, or is a private header beside it
	if [ -z "$to" ]; then
		[ -e "$(dirname "$file")/$name" ] ||
		    bad "$where" "bare include \"$name\" is not a private" \
		    "header beside $file: name its layer (\"proto/$name\"?)"
	elif [[ " $LAYERS " != *" $to "* ]]; then
		bad "$where" "include \"$name\" names no layer ($LAYERS)"
	fi
done < <(includes "${files[@]}")

# b. the objects of src/proto/*.c: no I/O calls, no writable data.
for src in src/proto/*.c; do
	obj="$B/obj/proto/$(basename "${src%.c}").o"
	if [ ! -f "$obj" ]; then
		bad "$obj" "not built, so not checked (run \`make layers\`)"
		continue
	fi
	if [ "$obj" -ot "$src" ]; then
		bad "$obj" "older than $src, so not checked" \
		    "(run \`make layers\`)"
		continue
	fi
	while read -r sym; do
		[[ $sym =~ $io_banned ]] || continue
		base=${sym#__}
		base=${base%_chk}
		base=${base%_2}
		base=${base%64}
		at=$(grep -nE "\\b${base}[[:space:]]*\\(" "$src" | head -1 |
		    cut -d: -f1)
		bad "$src${at:+:$at}" "$obj calls $sym(): proto does" \
		    "no socket or descriptor I/O" \
		    "(do it in common/ and pass the bytes in)"
	done < <(nm -u "$obj" | awk '{ print $NF }')
	# sysv format: name|value|class|type|size|line|section
	while IFS='|' read -r sym _ class _ _ _ sect; do
		sym=${sym//[[:space:]]/}
		class=${class//[[:space:]]/}
		sect=${sect//[[:space:]]/}
		case "$class" in
		d | D | b | B | C) ;;
		*) continue ;;
		esac
		case "$sect" in
		.data.rel.ro*) continue ;;	# const once relocated
		esac
		base=${sym%%.*}
		at=$(grep -nwE "$base" "$src" | grep -m1 -E 'static|^[a-z]' |
		    cut -d: -f1)
		bad "$src${at:+:$at}" "$obj has writable data '$sym'" \
		    "($class in ${sect:-?}): proto holds no globals" \
		    "(make it const, or pass state in)"
	done < <(nm -f sysv --defined-only "$obj" | grep '|')
done

if [ "$n" -gt 0 ]; then
	echo "layers: $n violation(s)"
	exit 1
fi
echo "layers: ${#files[@]} sources, $(find src/proto -name '*.c' | wc -l)" \
    "proto objects: no violations"
