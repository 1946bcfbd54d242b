/*
 * netlink_next() over hostile datagrams: the first byte picks the socket
 * (bit 0: generic netlink, else rtnetlink), the rest is the datagram,
 * copied to an aligned buffer of exactly its size as recv() would fill
 * it. Every message must move the offset forward and stay inside the
 * datagram, and whatever is parsed must be within its bounds.
 */

#include <net/if.h>
#include <string.h>

#include "fuzz.h"
#include "local/netlink.h"

#define FUZZ_MPTCP_ID	0x1c	/* what the seed corpus was captured with */

static void
check(const struct netlink_msg *m)
{
	switch (m->kind) {
	case NL_LINK:
		FUZZ_CHECK(strnlen(m->u.link.name, IFNAMSIZ) < IFNAMSIZ);
		FUZZ_CHECK(m->u.link.ifindex > 0);
		break;
	case NL_ADDR:
		FUZZ_CHECK(m->u.addr.prefixlen <=
		    netlink_ip_len(m->u.addr.ip.family) * 8);
		FUZZ_CHECK(netlink_ip_len(m->u.addr.ip.family) != 0);
		break;
	case NL_ROUTE:
		FUZZ_CHECK(m->u.route.dst_len <=
		    netlink_ip_len(m->u.route.family) * 8);
		FUZZ_CHECK(m->u.route.oif >= 0);
		break;
	case NL_RULE:
		FUZZ_CHECK(m->u.rule.src_len <=
		    netlink_ip_len(m->u.rule.family) * 8);
		break;
	case NL_ENDPOINT:
		FUZZ_CHECK(netlink_ip_len(m->u.ep.ip.family) != 0);
		FUZZ_CHECK(m->u.ep.ifindex >= 0);
		break;
	case NL_ERROR:
		FUZZ_CHECK(m->error <= 0 && m->error >= -4095);
		break;
	case NL_FAMILY:
		FUZZ_CHECK(m->u.family_id != 0);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netlink_msg	 m;
	enum netlink_proto	 proto;
	uint8_t			*buf;
	size_t			 off = 0, prev, n;
	int			 r;

	if (size < 1 || size > 65536)
		return 0;
	proto = (data[0] & 1) ? NETLINK_PROTO_GENL : NETLINK_PROTO_ROUTE;
	n = size - 1;
	if ((buf = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, n);
	for (;;) {
		prev = off;
		r = netlink_next(buf, n, &off, proto, FUZZ_MPTCP_ID, &m);
		FUZZ_CHECK(r >= -1 && r <= 1);
		if (r != 1)
			break;
		FUZZ_CHECK(off > prev && off <= n);
		check(&m);
	}
	free(buf);
	return 0;
}
