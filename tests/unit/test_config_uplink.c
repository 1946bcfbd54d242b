/*
 * [uplink NAME] sections through config_load_string(): the good shapes,
 * and hostile values (bad names, oversized, twice, too many uplinks),
 * each reported with file:line while the rest of the file still loads.
 */

#include "testutil.h"

#include <arpa/inet.h>

#include "common/config.h"
#include "local/config_uplink.h"

static struct config_uplinks	ups;

/* mpsocks-local's way: [uplink] sections through their handler. */
static void
local_defaults(struct config *c)
{
	config_defaults(c, CONFIG_LOCAL);
	memset(&ups, 0, sizeof(ups));
	assert_true(config_add_section_handler(c, config_uplinks_section_cb,
	    config_uplinks_done_cb, &ups));
}

struct errs {
	size_t	n;
	char	s[8][640];
};

static void
collect_cb(void *arg, const char *file, unsigned line, const char *msg)
{
	struct errs	*e = arg;

	if (e->n < 8)
		snprintf(e->s[e->n], sizeof(e->s[0]), "%s:%u: %s", file, line,
		    msg);
	e->n++;
}

static void
test_good(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };
	struct in_addr		a4;
	struct in6_addr		a6;

	(void)state;
	local_defaults(&c);
	assert_true(c.manage_uplinks);
	assert_int_equal(c.uplink_table_base, 7100);
	assert_int_equal(config_load_string(&c, "u.conf",
	    "[local]\nmanage-uplinks = no\nuplink_table_base = 300\n"
	    "[uplink dsl]\ninterface = eth0\ngateway = 192.168.1.1\n"
	    "[uplink lte]\ninterface = wwan0\nrole = BACKUP\n"
	    "gateway = 10.64.0.1, fe80::1\n"
	    "[uplink dsl]\nrole = active\n", collect_cb, &e), 0);
	assert_false(c.manage_uplinks);
	assert_int_equal(c.uplink_table_base, 300);
	assert_int_equal(ups.n, 2);
	assert_string_equal(ups.v[0].name, "dsl");
	assert_string_equal(ups.v[0].ifname, "eth0");
	assert_int_equal(ups.v[0].role, UPLINK_ROLE_ACTIVE);
	assert_true(ups.v[0].has_gw4);
	assert_false(ups.v[0].has_gw6);
	inet_pton(AF_INET, "192.168.1.1", &a4);
	assert_memory_equal(&ups.v[0].gw4, &a4, 4);
	assert_int_equal(ups.v[0].line, 5);	/* its first key */
	assert_string_equal(ups.v[1].name, "lte");
	assert_string_equal(ups.v[1].ifname, "wwan0");
	assert_int_equal(ups.v[1].role, UPLINK_ROLE_BACKUP);
	assert_true(ups.v[1].has_gw4 && ups.v[1].has_gw6);
	inet_pton(AF_INET6, "fe80::1", &a6);
	assert_memory_equal(&ups.v[1].gw6, &a6, 16);
	assert_string_equal(config_uplink_role_name(ups.v[1].role),
	    "backup");
	/* no gateway: learned from the kernel's routes */
	local_defaults(&c);
	assert_int_equal(config_load_string(&c, "u.conf",
	    "[uplink a]\ninterface = up1\n", collect_cb, &e), 0);
	assert_false(ups.v[0].has_gw4 || ups.v[0].has_gw6);
}

static const struct row {
	const char	*name, *text, *want;
	int		 n;	/* errors */
} rows[] = {
	{ "no interface", "[uplink lte]\nrole = backup\n",
	  "t.conf:2: uplink lte: no interface (interface = IFNAME)", 1 },
	{ "empty name", "[uplink ]\ninterface = x\n",
	  "t.conf:2: uplink name \"\": 1..31 of A-Z a-z 0-9 - _ .", 1 },
	{ "name with space", "[uplink a b]\ninterface = x\n",
	  "t.conf:2: uplink name \"a b\": 1..31 of A-Z a-z 0-9 - _ .", 1 },
	{ "name too long", "[uplink 0123456789012345678901234567890123]\n"
	  "interface = x\n", "t.conf:2: uplink name "
	  "\"0123456789012345678901234567890123\": 1..31 of A-Z a-z 0-9 - _ .", 1 },
	{ "ifname too long", "[uplink a]\ninterface = abcdefghijklmnop\n",
	  "t.conf:2: uplink a.interface: \"abcdefghijklmnop\" is not an "
	  "interface name (1..15 of A-Z a-z 0-9 - _ .)", 2 },
	{ "ifname slash", "[uplink a]\ninterface = ../x\n",
	  "t.conf:2: uplink a.interface: \"../x\" is not an interface name "
	  "(1..15 of A-Z a-z 0-9 - _ .)", 2 },
	{ "interface twice", "[uplink a]\ninterface = x\ninterface = y\n",
	  "t.conf:3: uplink a.interface: already set", 1 },
	{ "same interface", "[uplink a]\ninterface = x\n[uplink b]\n"
	  "interface = x\n",
	  "t.conf:4: uplink b: interface x is already uplink a", 1 },
	{ "bad gateway", "[uplink a]\ninterface = x\ngateway = 10.0.0.256\n",
	  "t.conf:3: uplink a.gateway: \"10.0.0.256\" is not an IPv4 or IPv6 "
	  "address", 1 },
	{ "two v4 gateways", "[uplink a]\ninterface = x\n"
	  "gateway = 10.0.0.1 10.0.0.2\n",
	  "t.conf:3: uplink a.gateway: at most one IPv4 and one IPv6 gateway", 1 },
	{ "empty gateway list", "[uplink a]\ninterface = x\ngateway = ,,\n",
	  "t.conf:3: uplink a.gateway: no address", 1 },
	{ "bad role", "[uplink a]\ninterface = x\nrole = primary\n",
	  "t.conf:3: uplink a.role: \"primary\" is not active or backup", 1 },
	{ "unknown key", "[uplink a]\ninterface = x\nweight = 3\n",
	  "t.conf:3: uplink a.weight: unknown key", 1 },
	{ "table base low", "[local]\nuplink_table_base = 255\n",
	  "t.conf:2: local.uplink_table_base: \"255\" is out of range "
	  "256..1073741824", 1 },
	{ "manage bad", "[local]\nmanage_uplinks = maybe\n",
	  "t.conf:2: local.manage_uplinks: \"maybe\" is not yes or no", 1 },
};

static void
test_error_rows(void **state)
{
	static struct config	c;

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		struct errs	e = { 0 };

		local_defaults(&c);
		CHECK_EQ(rows[i].name, config_load_string(&c, "t.conf",
		    rows[i].text, collect_cb, &e), rows[i].n);
		CHECK_STR(rows[i].name, e.s[0], rows[i].want);
	}
}

static void
test_too_many(void **state)
{
	static struct config	c;
	char			text[4096];
	size_t			off = 0;
	struct errs		e = { 0 };

	(void)state;
	for (int i = 0; i <= CONFIG_MAX_UPLINKS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "[uplink u%d]\ninterface = if%d\n", i, i);
	local_defaults(&c);
	assert_int_equal(config_load_string(&c, "t.conf", text, collect_cb,
	    &e), 1);
	assert_string_equal(e.s[0], "t.conf:34: more than 16 uplinks");
	assert_int_equal(ups.n, CONFIG_MAX_UPLINKS);
}

/* The server adds no [uplink] handler: the section is unknown there. */
static void
test_server_role(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_SERVER);
	memset(&ups, 0, sizeof(ups));
	assert_int_equal(config_load_string(&c, "t.conf",
	    "[uplink a]\ninterface = x\n", collect_cb, &e), 1);
	assert_int_equal(ups.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_error_rows),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_server_role),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
