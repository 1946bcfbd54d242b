/*
 * acl.c: CIDR lists, the concentrator's default-deny ranges (no SSRF into
 * the VPS, docs/protocol.md step 5) and the allow list that overrides
 * them.
 */

#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "server/acl.h"
#include "proto/util.h"

static void
fill_sockaddr(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(80);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(80);
	} else
		fail_msg("bad address in test: %s", addr);
}

static const uint8_t *
raw_of(const struct sockaddr_storage *ss, int *family)
{
	*family = ss->ss_family;
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)
		    &((const struct sockaddr_in *)ss)->sin_addr;
	return ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
}

struct deny_row {
	const char	*addr;
	const char	*want;		/* NULL: allowed */
};

static const struct deny_row deny_rows[] = {
	{ "127.0.0.1", "loopback" },
	{ "127.255.255.254", "loopback" },
	{ "10.1.2.3", "private" },
	{ "172.16.0.1", "private" },
	{ "172.31.255.255", "private" },
	{ "172.32.0.1", NULL },
	{ "192.168.0.1", "private" },
	{ "100.64.0.1", "shared-cgnat" },
	{ "100.100.100.200", "shared-cgnat" },		/* Alibaba metadata */
	{ "100.128.0.1", NULL },
	{ "169.254.169.254", "link-local-or-metadata" },
	{ "192.0.0.1", "ietf-protocol" },
	{ "198.18.0.1", "benchmarking" },
	{ "224.0.0.1", "multicast" },
	{ "239.255.255.255", "multicast" },
	{ "240.0.0.1", "reserved-or-broadcast" },
	{ "255.255.255.255", "reserved-or-broadcast" },
	{ "0.0.0.0", "unspecified" },
	{ "0.1.2.3", "unspecified" },
	{ "8.8.8.8", NULL },
	{ "1.1.1.1", NULL },
	{ "::", "unspecified" },
	{ "::1", "loopback" },
	{ "fe80::1", "link-local" },
	{ "febf::1", "link-local" },
	{ "fec0::1", "site-local" },
	{ "fd00::1", "unique-local-or-metadata" },
	{ "fd00:ec2::254", "unique-local-or-metadata" },	/* AWS */
	{ "fc00::1", "unique-local-or-metadata" },
	{ "ff02::1", "multicast" },
	{ "100::1", "discard" },
	{ "::ffff:127.0.0.1", "loopback" },
	{ "::ffff:10.0.0.1", "private" },
	{ "::ffff:169.254.169.254", "link-local-or-metadata" },
	{ "::ffff:8.8.8.8", NULL },
	{ "64:ff9b::7f00:1", "loopback" },		/* NAT64 127.0.0.1 */
	{ "64:ff9b::a9fe:a9fe", "link-local-or-metadata" },
	{ "64:ff9b::808:808", NULL },
	{ "2002:7f00:1::1", "loopback" },		/* 6to4 of 127.0.0.1 */
	{ "2002:a00:1::1", "private" },			/* 6to4 of 10.0.0.1 */
	{ "2002:808:808::1", NULL },			/* 6to4 of 8.8.8.8 */
	{ "2001:0:4136:e378::1", "teredo" },
	{ "::7f00:1", "ipv4-compatible" },
	{ "64:ff9b:1::a00:1", "local-nat64" },
	{ "2001:4860::1", NULL },
	{ "2001:4860:4860::8888", NULL },
	{ "2a00:1450:4001::1", NULL },
};

static void
test_default_deny(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(deny_rows); i++) {
		const struct deny_row	*r = &deny_rows[i];
		struct sockaddr_storage	 ss;
		const uint8_t		*a;
		const char		*got;
		int			 family;

		fill_sockaddr(r->addr, &ss);
		a = raw_of(&ss, &family);
		got = acl_default_deny(family, a);
		if (r->want == NULL)
			CHECK(r->addr, got == NULL);
		else {
			CHECK(r->addr, got != NULL);
			CHECK_STR(r->addr, got, r->want);
		}
		/* with no allow list, acl_check says the same */
		got = acl_check(NULL, (struct sockaddr *)&ss);
		if (r->want == NULL)
			CHECK(r->addr, got == NULL);
		else {
			CHECK(r->addr, got != NULL);
			CHECK_STR(r->addr, got, r->want);
		}
	}
	assert_string_equal(acl_default_deny(AF_UNIX, (const uint8_t *)"x"),
	    "unknown-family");
}

struct check_row {
	const char	*name;
	const char	*allow[3];
	const char	*addr;
	const char	*want;		/* NULL: allowed */
};

static const struct check_row check_rows[] = {
	{ "no allow list", { NULL }, "127.0.0.1", "loopback" },
	{ "loopback allowed", { "127.0.0.0/8" }, "127.0.0.1", NULL },
	{ "one host allowed", { "127.0.0.1/32" }, "127.0.0.2", "loopback" },
	{ "v4 allow covers the mapped form", { "127.0.0.1/32" },
	    "::ffff:127.0.0.1", NULL },
	{ "v4 allow does not cover NAT64", { "127.0.0.0/8" },
	    "64:ff9b::7f00:1", "loopback" },
	{ "private subnet allowed", { "10.1.0.0/16" }, "10.1.2.3", NULL },
	{ "other private subnet", { "10.1.0.0/16" }, "10.2.0.1", "private" },
	{ "second entry", { "192.168.0.0/16", "10.0.0.0/8" }, "10.9.9.9",
	    NULL },
	{ "ula allowed", { "fd00::/8" }, "fd00::1", NULL },
	{ "ula allowed, link-local not", { "fd00::/8" }, "fe80::1",
	    "link-local" },
	{ "public stays allowed", { "10.0.0.0/8" }, "8.8.8.8", NULL },
	{ "v6 public stays allowed", { "10.0.0.0/8" }, "2001:4860::1", NULL },
	{ "allow all v4", { "0.0.0.0/0" }, "169.254.169.254", NULL },
	{ "allow all v4, not v6", { "0.0.0.0/0" }, "::1", "loopback" },
};

static void
test_acl_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(check_rows); i++) {
		const struct check_row	*r = &check_rows[i];
		struct cidr_list	 allow = { .n = 0 };
		struct sockaddr_storage	 ss;
		const char		*got;

		for (size_t k = 0; k < NELEM(r->allow) && r->allow[k]; k++)
			CHECK(r->name, cidr_list_add(&allow, r->allow[k]));
		fill_sockaddr(r->addr, &ss);
		got = acl_check(&allow, (struct sockaddr *)&ss);
		if (r->want == NULL)
			CHECK(r->name, got == NULL);
		else {
			CHECK(r->name, got != NULL);
			CHECK_STR(r->name, got, r->want);
		}
	}
}

struct lists_row {
	const char	*name;
	const char	*allow[2], *deny[2], *self[2];
	const char	*addr;
	const char	*want;		/* NULL: allowed */
};

static const struct lists_row lists_rows[] = {
	{ "public, no lists", { NULL }, { NULL }, { NULL }, "8.8.8.8", NULL },
	{ "public, denied", { NULL }, { "8.8.8.0/24" }, { NULL }, "8.8.8.8",
	    "deny" },
	{ "deny wins over allow", { "10.0.0.0/8" }, { "10.1.0.0/16" },
	    { NULL }, "10.1.2.3", "deny" },
	{ "allow beside a deny", { "10.0.0.0/8" }, { "10.1.0.0/16" },
	    { NULL }, "10.2.0.1", NULL },
	{ "v4 deny covers the mapped form", { NULL }, { "8.8.8.8/32" },
	    { NULL }, "::ffff:8.8.8.8", "deny" },
	{ "v6 deny", { NULL }, { "2001:db8::/32" }, { NULL }, "2001:db8::5",
	    "deny" },
	{ "own public address", { NULL }, { NULL }, { "203.0.113.7/32" },
	    "203.0.113.7", "self" },
	{ "own address, mapped", { NULL }, { NULL }, { "203.0.113.7/32" },
	    "::ffff:203.0.113.7", "self" },
	{ "own address beats allow", { "10.0.0.0/8" }, { NULL },
	    { "10.9.0.1/32" }, "10.9.0.1", "self" },
	{ "neighbour of own address", { NULL }, { NULL },
	    { "203.0.113.7/32" }, "203.0.113.8", NULL },
	{ "deny named before self", { NULL }, { "203.0.113.0/24" },
	    { "203.0.113.7/32" }, "203.0.113.7", "deny" },
	{ "default deny still applies", { NULL }, { "8.8.8.0/24" },
	    { "203.0.113.7/32" }, "127.0.0.1", "loopback" },
};

static void
test_acl_check_lists(void **state)
{
	static struct cidr_list	allow, deny, self;	/* off the stack */

	(void)state;
	for (size_t i = 0; i < NELEM(lists_rows); i++) {
		const struct lists_row	*r = &lists_rows[i];
		struct acl_lists	 l = { &allow, &deny, &self };
		struct sockaddr_storage	 ss;
		const char		*got;

		allow.n = deny.n = self.n = 0;
		for (size_t k = 0; k < 2 && r->allow[k]; k++)
			CHECK(r->name, cidr_list_add(&allow, r->allow[k]));
		for (size_t k = 0; k < 2 && r->deny[k]; k++)
			CHECK(r->name, cidr_list_add(&deny, r->deny[k]));
		for (size_t k = 0; k < 2 && r->self[k]; k++)
			CHECK(r->name, cidr_list_add(&self, r->self[k]));
		fill_sockaddr(r->addr, &ss);
		got = acl_check_lists(&l, (struct sockaddr *)&ss);
		if (r->want == NULL)
			CHECK(r->name, got == NULL);
		else {
			CHECK(r->name, got != NULL);
			CHECK_STR(r->name, got, r->want);
		}
	}
}

static void
test_acl_check_other_family(void **state)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	struct cidr_list	allow = { .n = 0 };

	(void)state;
	assert_true(cidr_list_add(&allow, "0.0.0.0/0"));
	assert_string_equal(acl_check(&allow, (struct sockaddr *)&sun),
	    "unknown-family");
	assert_false(cidr_list_contains(&allow, (struct sockaddr *)&sun));
}

static void
test_cidr_list(void **state)
{
	static struct cidr_list	l;	/* 256 entries: keep off the stack */
	struct sockaddr_storage	ss;
	char			s[32];

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_false(cidr_list_add(&l, "10.0.0.1/8"));
	assert_false(cidr_list_add(&l, "garbage"));
	assert_int_equal(l.n, 0);
	assert_true(cidr_list_add(&l, "10.0.0.0/8"));
	assert_true(cidr_list_add(&l, "2001:db8::/32"));
	assert_int_equal(l.n, 2);
	fill_sockaddr("10.200.0.1", &ss);
	assert_true(cidr_list_contains(&l, (struct sockaddr *)&ss));
	fill_sockaddr("::ffff:10.200.0.1", &ss);
	assert_true(cidr_list_contains(&l, (struct sockaddr *)&ss));
	fill_sockaddr("2001:db8:1::1", &ss);
	assert_true(cidr_list_contains(&l, (struct sockaddr *)&ss));
	fill_sockaddr("2001:db9::1", &ss);
	assert_false(cidr_list_contains(&l, (struct sockaddr *)&ss));
	/* fill it up: CIDR_LIST_MAX entries, then refused */
	while (l.n < CIDR_LIST_MAX) {
		snprintf(s, sizeof(s), "192.0.2.%zu/32", l.n);
		assert_true(cidr_list_add(&l, s));
	}
	assert_false(cidr_list_add(&l, "198.51.100.0/24"));
	assert_int_equal(l.n, CIDR_LIST_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_acl_check),
		cmocka_unit_test(test_acl_check_other_family),
		cmocka_unit_test(test_acl_check_lists),
		cmocka_unit_test(test_cidr_list),
	};

	return cmocka_run_group_tests_name("acl", tests, NULL, NULL);
}
