/*
 * dns.c: dns_interleave(), the order in which a name's addresses are
 * tried (RFC 8305 section 4): IPv6 and IPv4 alternating, IPv6 first,
 * each family keeping the resolver's order.
 */

#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/dns.h"

/* "6:1" is IPv6 ::1, "4:9" is IPv4 0.0.0.9: family and a tag. */
static void
put(struct dns_result *r, const char *spec)
{
	struct sockaddr_storage	*ss = &r->addrs[r->n++];
	unsigned		 tag = (unsigned)atoi(spec + 2);

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '6') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr.s6_addr[15] = (uint8_t)tag;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(tag);
	}
}

static void
show(const struct dns_result *r, char *out, size_t len)
{
	size_t	o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n && o < len; i++) {
		const struct sockaddr_storage *ss = &r->addrs[i];
		unsigned tag = ss->ss_family == AF_INET6 ?
		    ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr[15] :
		    ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);

		o += (size_t)snprintf(out + o, len - o, "%s%c:%u",
		    i ? " " : "", ss->ss_family == AF_INET6 ? '6' : '4', tag);
	}
}

static void
test_interleave(void **state)
{
	static const struct {
		const char	*in[DNS_MAX_ADDRS], *want;
	} rows[] = {
		{ { NULL }, "" },
		{ { "4:1", NULL }, "4:1" },
		{ { "6:1", NULL }, "6:1" },
		{ { "4:1", "4:2", NULL }, "4:1 4:2" },
		{ { "4:1", "6:1", NULL }, "6:1 4:1" },
		{ { "4:1", "4:2", "6:1", "6:2", NULL }, "6:1 4:1 6:2 4:2" },
		{ { "6:1", "6:2", "6:3", "4:1", NULL }, "6:1 4:1 6:2 6:3" },
		{ { "4:1", "4:2", "4:3", "6:1", NULL }, "6:1 4:1 4:2 4:3" },
		{ { "4:1", "6:1", "4:2", "6:2", "4:3", "6:3", "4:4", "6:4" },
		    "6:1 4:1 6:2 4:2 6:3 4:3 6:4 4:4" },
	};
	char	got[256];

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		struct dns_result	r = { 0 };

		for (size_t k = 0; k < DNS_MAX_ADDRS && rows[i].in[k]; k++)
			put(&r, rows[i].in[k]);
		dns_interleave(&r);
		show(&r, got, sizeof(got));
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu: got \"%s\", want \"%s\"", i, got,
			    rows[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleave),
	};

	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
