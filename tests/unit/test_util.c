/*
 * util.c: the bounded cursor, host:port splitting, numeric sockaddrs,
 * CIDR parsing and matching, strict base64, printable copies.
 */

#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "proto/cidr.h"
#include "proto/util.h"

/* Cursor */

static void
test_cursor(void **state)
{
	static const uint8_t	buf[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
		0x0b,
	};
	struct cursor		c;
	uint8_t			u8;
	uint16_t		u16;
	uint64_t		u64;
	const uint8_t		*p;

	(void)state;
	cur_init(&c, buf, sizeof(buf));
	assert_int_equal(cur_left(&c), 11);
	assert_true(cur_u8(&c, &u8));
	assert_int_equal(u8, 0x01);
	assert_true(cur_u16be(&c, &u16));
	assert_int_equal(u16, 0x0203);
	assert_true(cur_u64be(&c, &u64));
	assert_true(u64 == 0x0405060708090a0bULL);
	assert_int_equal(cur_left(&c), 0);
	/* at the end, every reader fails and leaves the offset alone */
	assert_false(cur_u8(&c, &u8));
	assert_false(cur_u16be(&c, &u16));
	assert_false(cur_u64be(&c, &u64));
	assert_false(cur_bytes(&c, 1, &p));
	assert_true(cur_bytes(&c, 0, &p));
	assert_int_equal(c.off, 11);
	/* a short read does not move the cursor */
	cur_init(&c, buf, 7);
	assert_false(cur_u64be(&c, &u64));
	assert_int_equal(c.off, 0);
	assert_false(cur_bytes(&c, SIZE_MAX, &p));
	assert_int_equal(c.off, 0);
	cur_init(&c, buf, 1);
	assert_false(cur_u16be(&c, &u16));
	assert_int_equal(c.off, 0);
}

static void
test_put(void **state)
{
	uint8_t	b[10];

	(void)state;
	memset(b, 0xee, sizeof(b));
	put_u16be(b, 0xabcd);
	put_u64be(b + 2, 0x0102030405060708ULL);
	assert_memory_equal(b, "\xab\xcd\x01\x02\x03\x04\x05\x06\x07\x08", 10);
}

/* host:port */

struct hostport_row {
	const char	*name, *in;
	bool		 ok;
	const char	*host;
	uint16_t	 port;
};

static const struct hostport_row hostport_rows[] = {
	{ "ipv6 bracketed", "[::1]:80", true, "::1", 80 },
	{ "ipv6 full", "[2001:db8::1]:65535", true, "2001:db8::1", 65535 },
	{ "ipv4", "1.2.3.4:80", true, "1.2.3.4", 80 },
	{ "name", "example.com:443", true, "example.com", 443 },
	{ "one letter, port 1", "h:1", true, "h", 1 },
	{ "leading zeros", "h:0080", true, "h", 80 },
	{ "port 0", "1.2.3.4:0", false, NULL, 0 },
	{ "port 65536", "host:65536", false, NULL, 0 },
	{ "port huge", "host:99999999999999999999999", false, NULL, 0 },
	{ "bare ipv6", "::1:80", false, NULL, 0 },
	{ "no port", "h:", false, NULL, 0 },
	{ "no colon", "host", false, NULL, 0 },
	{ "no host", ":80", false, NULL, 0 },
	{ "empty brackets", "[]:80", false, NULL, 0 },
	{ "brackets, no port", "[::1]", false, NULL, 0 },
	{ "brackets, no colon", "[::1]80", false, NULL, 0 },
	{ "unclosed bracket", "[::1:80", false, NULL, 0 },
	{ "port with junk", "host:80x", false, NULL, 0 },
	{ "negative port", "host:-1", false, NULL, 0 },
	{ "plus port", "host:+80", false, NULL, 0 },
	{ "space before port", "host: 80", false, NULL, 0 },
	{ "empty", "", false, NULL, 0 },
};

static void
test_split_hostport(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(hostport_rows); i++) {
		const struct hostport_row	*r = &hostport_rows[i];
		char				 host[256] = "unchanged";
		uint16_t			 port = 4242;

		CHECK_EQ(r->name, util_split_hostport(r->in, host,
		    sizeof(host), &port), r->ok);
		if (r->ok) {
			CHECK_STR(r->name, host, r->host);
			CHECK_EQ(r->name, port, r->port);
		} else
			CHECK_EQ(r->name, port, 4242);
	}
}

static void
test_split_hostport_hostlen(void **state)
{
	char		host[8];
	uint16_t	port;

	(void)state;
	assert_false(util_split_hostport("abcd:1", host, 4, &port));
	assert_true(util_split_hostport("abcd:1", host, 5, &port));
	assert_string_equal(host, "abcd");
	assert_false(util_split_hostport("[::1]:1", host, 3, &port));
	assert_true(util_split_hostport("[::1]:1", host, 4, &port));
	assert_string_equal(host, "::1");
}

struct sockaddr_row {
	const char	*in;
	bool		 ok;
	int		 family;
	const char	*str;		/* util_sockaddr_str of the result */
};

static const struct sockaddr_row sockaddr_rows[] = {
	{ "127.0.0.1:1080", true, AF_INET, "127.0.0.1:1080" },
	{ "[::1]:443", true, AF_INET6, "[::1]:443" },
	{ "[2001:DB8::A]:1", true, AF_INET6, "[2001:db8::a]:1" },
	{ "0.0.0.0:8443", true, AF_INET, "0.0.0.0:8443" },
	{ "localhost:80", false, 0, NULL },
	{ "1.2.3:80", false, 0, NULL },
	{ "256.1.1.1:80", false, 0, NULL },
	{ "[::1]:0", false, 0, NULL },
	{ "[fe80::1%lo]:80", false, 0, NULL },
};

static void
test_parse_sockaddr(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(sockaddr_rows); i++) {
		const struct sockaddr_row	*r = &sockaddr_rows[i];
		struct sockaddr_storage		 ss;
		socklen_t			 sl = 0;
		char				 s[UTIL_ADDRSTRLEN];

		CHECK_EQ(r->in, util_parse_sockaddr(r->in, &ss, &sl), r->ok);
		if (!r->ok)
			continue;
		CHECK_EQ(r->in, ss.ss_family, r->family);
		CHECK_EQ(r->in, sl, r->family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		CHECK_STR(r->in, util_sockaddr_str((struct sockaddr *)&ss, s,
		    sizeof(s)), r->str);
	}
}

static const struct reach_row {
	const char		*t, *own;
	enum util_reach		 want;
} reach_rows[] = {
	{ "127.0.0.1:1080", "127.0.0.1:1080", UTIL_REACH_YES },
	{ "127.0.0.1:1081", "127.0.0.1:1080", UTIL_REACH_NO },
	{ "127.0.0.2:1080", "127.0.0.1:1080", UTIL_REACH_NO },
	{ "[::ffff:127.0.0.1]:1080", "127.0.0.1:1080", UTIL_REACH_YES },
	{ "127.0.0.1:1080", "[::ffff:127.0.0.1]:1080", UTIL_REACH_YES },
	{ "[::1]:1080", "[::1]:1080", UTIL_REACH_YES },
	{ "[::1]:1080", "127.0.0.1:1080", UTIL_REACH_NO },
	{ "192.0.2.9:1080", "0.0.0.0:1080", UTIL_REACH_IF_LOCAL },
	{ "192.0.2.9:1081", "0.0.0.0:1080", UTIL_REACH_NO },
	{ "[2001:db8::1]:1080", "0.0.0.0:1080", UTIL_REACH_NO },
	{ "[2001:db8::1]:1080", "[::]:1080", UTIL_REACH_IF_LOCAL },
	{ "192.0.2.9:1080", "[::]:1080", UTIL_REACH_IF_LOCAL },
	{ "0.0.0.0:1080", "0.0.0.0:1080", UTIL_REACH_YES },
};

static void
test_sockaddr_reaches(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(reach_rows); i++) {
		const struct reach_row	*r = &reach_rows[i];
		struct sockaddr_storage	 t, own;
		socklen_t		 sl;

		CHECK(r->t, util_parse_sockaddr(r->t, &t, &sl));
		CHECK(r->own, util_parse_sockaddr(r->own, &own, &sl));
		CHECK_EQ(r->t, util_sockaddr_reaches((struct sockaddr *)&t,
		    (struct sockaddr *)&own), r->want);
	}
}

static void
test_sockaddr_str_other_family(void **state)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	char			s[UTIL_ADDRSTRLEN];

	(void)state;
	assert_string_equal(util_sockaddr_str((struct sockaddr *)&sun, s,
	    sizeof(s)), "(family 1)");
}

/* CIDR */

struct cidr_row {
	const char	*in;
	bool		 ok;
	int		 family;
	const char	*addr;		/* inet_pton form */
	unsigned	 prefix;
};

static const struct cidr_row cidr_rows[] = {
	{ "10.0.0.0/8", true, AF_INET, "10.0.0.0", 8 },
	{ "192.168.1.1", true, AF_INET, "192.168.1.1", 32 },
	{ "192.168.1.1/32", true, AF_INET, "192.168.1.1", 32 },
	{ "0.0.0.0/0", true, AF_INET, "0.0.0.0", 0 },
	{ "100.64.0.0/10", true, AF_INET, "100.64.0.0", 10 },
	{ "::/0", true, AF_INET6, "::", 0 },
	{ "::1", true, AF_INET6, "::1", 128 },
	{ "fc00::/7", true, AF_INET6, "fc00::", 7 },
	{ "2001:db8::/32", true, AF_INET6, "2001:db8::", 32 },
	{ "::ffff:0:0/96", true, AF_INET6, "::ffff:0:0", 96 },
	{ "10.0.0.1/8", false, 0, NULL, 0 },
	{ "fd00::/7", false, 0, NULL, 0 },		/* host bit set */
	{ "2001:db8::1/64", false, 0, NULL, 0 },
	{ "10.0.0.0/33", false, 0, NULL, 0 },
	{ "::/129", false, 0, NULL, 0 },
	{ "10.0.0.0/", false, 0, NULL, 0 },
	{ "10.0.0.0/-1", false, 0, NULL, 0 },
	{ "10.0.0.0/+8", false, 0, NULL, 0 },
	{ "10.0.0.0/ 8", false, 0, NULL, 0 },
	{ "10.0.0.0/8x", false, 0, NULL, 0 },
	{ "10.0.0.0/8/8", false, 0, NULL, 0 },
	{ "10.0.0.0/99999999999999999999", false, 0, NULL, 0 },
	{ "/8", false, 0, NULL, 0 },
	{ "", false, 0, NULL, 0 },
	{ "garbage", false, 0, NULL, 0 },
	{ "10.0.0/8", false, 0, NULL, 0 },
	{ "10.0.0.0.0/8", false, 0, NULL, 0 },
	{ " 10.0.0.0/8", false, 0, NULL, 0 },
	{ "fe80::1%eth0/128", false, 0, NULL, 0 },
	{ "1234567890123456789012345678901234567890123456/8", false, 0, NULL,
	    0 },
};

static void
test_parse_cidr(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cidr_rows); i++) {
		const struct cidr_row	*r = &cidr_rows[i];
		struct cidr		 c;
		uint8_t			 want[16] = { 0 };

		CHECK_EQ(r->in, cidr_parse(r->in, &c), r->ok);
		if (!r->ok)
			continue;
		CHECK_EQ(r->in, c.family, r->family);
		CHECK_EQ(r->in, inet_pton(r->family, r->addr, want), 1);
		CHECK_MEM(r->in, c.addr, want, 16);
		CHECK_EQ(r->in, c.prefix, r->prefix);
	}
}

struct contains_row {
	const char	*cidr, *addr;
	bool		 want;
};

static const struct contains_row contains_rows[] = {
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "10.1.0.0/17", "10.1.127.255", true },
	{ "10.1.0.0/17", "10.1.128.0", false },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "192.168.1.1", "192.168.1.1", true },
	{ "192.168.1.1", "192.168.1.2", false },
	{ "127.0.0.0/8", "::ffff:127.0.0.1", true },	/* v4-mapped */
	{ "127.0.0.0/8", "::ffff:128.0.0.1", false },
	{ "127.0.0.0/8", "::127.0.0.1", false },	/* not mapped */
	{ "127.0.0.0/8", "::1", false },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "10.0.0.1", false },
	{ "::/0", "2001:db8::1", true },
	{ "fc00::/7", "fdff:ffff::1", true },
	{ "fc00::/7", "fe00::", false },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "::1", "::1", true },
	{ "::1", "::2", false },
	{ "::ffff:0:0/96", "::ffff:1.2.3.4", true },
};

static void
fill_sockaddr(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		fail_msg("bad address in test: %s", addr);
}

static void
test_cidr_contains(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(contains_rows); i++) {
		const struct contains_row	*r = &contains_rows[i];
		struct sockaddr_storage		 ss;
		struct cidr			 c;
		char				 label[96];

		snprintf(label, sizeof(label), "%s in %s", r->addr, r->cidr);
		CHECK(label, cidr_parse(r->cidr, &c));
		fill_sockaddr(r->addr, &ss);
		CHECK_EQ(label, cidr_contains(&c,
		    (struct sockaddr *)&ss), r->want);
	}
}

static void
test_cidr_contains_v4_net_v4_addr_only(void **state)
{
	struct cidr		c;
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	static const uint8_t	a4[4] = { 10, 0, 0, 1 };

	(void)state;
	assert_true(cidr_parse("::ffff:0:0/96", &c));
	/* a v6 network never matches a plain v4 address */
	assert_false(cidr_contains_raw(&c, AF_INET, a4));
	assert_false(cidr_contains(&c, (struct sockaddr *)&sun));
}

/* Base64 */

struct b64_row {
	const char	*raw, *enc;
};

static const struct b64_row b64_rows[] = {	/* RFC 4648 section 10 */
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
	{ "\xff\xfe\xfd", "//79" },
	{ "\xfb\xff", "+/8=" },
};

static void
test_base64_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(b64_rows); i++) {
		const struct b64_row	*r = &b64_rows[i];
		size_t			 rl = strlen(r->raw);
		char			 enc[64];
		uint8_t			 dec[64];

		CHECK_EQ(r->enc, util_base64_encode((const uint8_t *)r->raw,
		    rl, enc, sizeof(enc)), strlen(r->enc));
		CHECK_STR(r->enc, enc, r->enc);
		CHECK_EQ(r->enc, util_base64_decode(r->enc, dec, sizeof(dec)),
		    rl);
		CHECK_MEM(r->enc, dec, r->raw, rl);
		/* exact room is enough; one byte less is not */
		CHECK_EQ(r->enc, util_base64_decode(r->enc, dec, rl), rl);
		if (rl > 0)
			CHECK_EQ(r->enc, util_base64_decode(r->enc, dec,
			    rl - 1), -1);
		CHECK_EQ(r->enc, util_base64_encode((const uint8_t *)r->raw,
		    rl, enc, strlen(r->enc) + 1), strlen(r->enc));
		CHECK_EQ(r->enc, util_base64_encode((const uint8_t *)r->raw,
		    rl, enc, strlen(r->enc)), -1);	/* no room for NUL */
	}
}

static const char *const b64_bad[] = {
	"Zg=",			/* length not a multiple of 4 */
	"Zg",
	"Zm9vY",
	"Z===",			/* padding too early in the quad */
	"====",
	"Zg==Zg==",		/* padding before the end */
	"Zg=a",			/* data after padding */
	"Zh==",			/* non-canonical: stray bits */
	"Zm9=",
	"Zm-v",			/* base64url is not accepted */
	"Zm_v",
	"Zm 9",			/* whitespace */
	"Zm9v\n",
	"Zm9\x80",		/* high byte */
	"Zm9v====",
};

static void
test_base64_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(b64_bad); i++) {
		uint8_t	out[64];

		CHECK_EQ(b64_bad[i], util_base64_decode(b64_bad[i], out,
		    sizeof(out)), -1);
	}
}

static void
test_base64_key_round_trip(void **state)
{
	uint8_t	key[32], back[64];
	char	enc[64];

	(void)state;
	for (int round = 0; round < 64; round++) {
		for (int i = 0; i < 32; i++)
			key[i] = (uint8_t)(round * 37 + i * 11);
		assert_int_equal(util_base64_encode(key, 32, enc, sizeof(enc)),
		    44);
		assert_int_equal(enc[43], '=');
		assert_int_equal(util_base64_decode(enc, back, sizeof(back)),
		    32);
		assert_memory_equal(back, key, 32);
	}
}

/* Printable */

static void
test_printable(void **state)
{
	char	out[128];
	uint8_t	in[100];

	(void)state;
	assert_string_equal(util_printable((const uint8_t *)"GET /\r\n\"x\\",
	    10, out, sizeof(out)), "GET /...x.");
	assert_string_equal(util_printable((const uint8_t *)"\x00\x7f\xff",
	    3, out, sizeof(out)), "...");
	memset(in, 'a', sizeof(in));
	util_printable(in, sizeof(in), out, sizeof(out));
	assert_int_equal(strlen(out), 64);		/* cut to 64 */
	util_printable(in, sizeof(in), out, 5);
	assert_string_equal(out, "aaaa");
	out[0] = 'z';
	util_printable(in, sizeof(in), out, 0);		/* untouched */
	assert_int_equal(out[0], 'z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_split_hostport),
		cmocka_unit_test(test_split_hostport_hostlen),
		cmocka_unit_test(test_parse_sockaddr),
		cmocka_unit_test(test_sockaddr_str_other_family),
		cmocka_unit_test(test_sockaddr_reaches),
		cmocka_unit_test(test_parse_cidr),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_cidr_contains_v4_net_v4_addr_only),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_bad),
		cmocka_unit_test(test_base64_key_round_trip),
		cmocka_unit_test(test_printable),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
