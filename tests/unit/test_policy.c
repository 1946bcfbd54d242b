/*
 * policy.c and policy_load.c: rules from config text, first match wins,
 * domain suffix boundaries, case and trailing dot, IPv4-mapped IPv6,
 * overlapping networks in rule order, ports, names that need an address,
 * the built-in defaults, hostile list files (file:line errors), and GeoIP
 * with .mmdb files built here by tests/tools/mkmmdb.pl.
 */

#include "testutil.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "local/policy.h"

#define MAXERR	32

struct errs {
	size_t	n;
	char	s[MAXERR][640];
};

static char	tmpdir[64];

static void
collect_cb(void *arg, const char *file, unsigned line, const char *msg)
{
	struct errs	*e = arg;

	if (e->n < MAXERR)
		snprintf(e->s[e->n], sizeof(e->s[0]), "%s:%u: %s", file, line,
		    msg);
	e->n++;
}

static bool
has_err(const struct errs *e, const char *want)
{
	for (size_t i = 0; i < e->n && i < MAXERR; i++)
		if (strstr(e->s[i], want) != NULL)
			return true;
	return false;
}

static void
dump_errs(const struct errs *e)
{
	for (size_t i = 0; i < e->n && i < MAXERR; i++)
		print_message("  %s\n", e->s[i]);
}

/* Loads text as mpsocks-local's config; NULL if there were errors. */
static struct policy *
load(const char *text, struct errs *e)
{
	static struct config		 cfg;
	static struct config_uplinks	 ups;
	struct policy_builder		*b = policy_builder_new();
	int			 n, more = 0;

	assert_non_null(b);
	memset(e, 0, sizeof(*e));
	config_defaults(&cfg, CONFIG_LOCAL);
	memset(&ups, 0, sizeof(ups));
	(void)config_add_section_handler(&cfg, policy_section_cb, NULL, b);
	(void)config_add_section_handler(&cfg, config_uplinks_section_cb,
	    config_uplinks_done_cb, &ups);
	n = config_load_string(&cfg, "t.conf", text, collect_cb, e);
	if (n > 0) {
		policy_builder_free(b);
		return NULL;
	}
	return policy_builder_finish(b, &ups, collect_cb, e, &more);
}

static struct policy *
load_ok(const char *text)
{
	struct errs	 e;
	struct policy	*p = load(text, &e);

	if (p == NULL) {
		dump_errs(&e);
		fail_msg("config did not load");
	}
	return p;
}

static struct target
tgt(const char *host, uint16_t port)
{
	struct target	t = { .port = port };

	if (inet_pton(AF_INET, host, t.addr) == 1)
		t.atyp = TARGET_IPV4;
	else if (inet_pton(AF_INET6, host, t.addr) == 1)
		t.atyp = TARGET_IPV6;
	else {
		t.atyp = TARGET_DOMAIN;
		snprintf(t.name, sizeof(t.name), "%s", host);
	}
	return t;
}

struct row {
	const char	*host;
	uint16_t	 port;
	const char	*rule;		/* "need_addr" for need_addr */
};

static void
run_rows(const struct policy *p, const struct row *rows, size_t n)
{
	struct policy_verdict	v;

	for (size_t i = 0; i < n; i++) {
		struct target t = tgt(rows[i].host, rows[i].port);

		policy_match(p, &t, NULL, false, &v);
		CHECK_STR(rows[i].host, v.need_addr ? "need_addr" : v.rule,
		    rows[i].rule);
	}
}

static void
test_domains(void **state)
{
	static const struct row rows[] = {
		{ "example.com", 80, "suf" },
		{ "a.example.com", 80, "suf" },
		{ "a.b.example.com", 80, "suf" },
		{ "badexample.com", 80, "default" },
		{ "example.com.evil", 80, "default" },
		{ "EXAMPLE.Com", 80, "suf" },
		{ "example.com.", 80, "suf" },
		{ "exact.org", 80, "exact" },
		{ "EXACT.ORG.", 80, "exact" },
		{ "www.exact.org", 80, "default" },
		{ "xexact.org", 80, "default" },
		{ "com", 80, "default" },
		{ "deep.upper.net", 80, "upper" },
		{ "upper.net", 80, "default" },
	};
	struct policy	*p = load_ok(
	    "[rule suf]\ndomain = .Example.COM\naction = direct\n"
	    "[rule exact]\ndomain = exact.org.\naction = reject\n"
	    "[rule upper]\ndomain = .UPPER.net\ndomain = nothing.net\n"
	    "action = bond\n");

	(void)state;
	/* ".upper.net" also matches upper.net itself */
	struct policy_verdict v;
	struct target t = tgt("upper.net", 1);
	policy_match(p, &t, NULL, false, &v);
	CHECK_STR("upper.net itself", v.rule, "upper");
	run_rows(p, rows, NELEM(rows) - 1);
	t = tgt("a.example.com", 1);
	policy_match(p, &t, NULL, false, &v);
	CHECK_EQ("direct", v.action, POLICY_DIRECT);
	CHECK("why names the suffix", strstr(v.why, "suffix .example.com"));
	policy_free(p);
}

static void
test_cidrs_order(void **state)
{
	static const struct row rows[] = {
		{ "10.1.2.3", 80, "narrow" },
		{ "10.1.3.3", 80, "wide" },
		{ "10.9.9.9", 80, "wide" },
		{ "192.0.2.1", 80, "host" },
		{ "192.0.2.2", 80, "default" },
		{ "::ffff:10.1.2.3", 80, "narrow" },	/* mapped: IPv4 */
		{ "::ffff:192.0.2.1", 80, "host" },
		{ "2001:db8::1", 80, "v6" },
		{ "2001:db9::1", 80, "default" },
		{ "203.0.113.9", 80, "mapped" },
		{ "8.8.8.8", 80, "default" },
		/* the wide rule comes first for 172.16/12 */
		{ "172.16.5.5", 80, "first" },
	};
	struct policy	*p = load_ok(
	    "[rule narrow]\ncidr = 10.1.2.0/24\naction = direct\n"
	    "[rule wide]\ncidr = 10.0.0.0/8\naction = bond\n"
	    "[rule host]\ncidr = 192.0.2.1\naction = reject\n"
	    "[rule v6]\ncidr = 2001:db8::/32\naction = reject\n"
	    "[rule mapped]\ncidr = ::ffff:203.0.113.0/120\naction = reject\n"
	    "[rule first]\ncidr = 172.16.0.0/12\naction = bond\n"
	    "[rule second]\ncidr = 172.16.5.0/24\naction = reject\n");

	(void)state;
	run_rows(p, rows, NELEM(rows));
	policy_free(p);
}

static void
test_ports(void **state)
{
	static const struct row rows[] = {
		{ "9.9.9.9", 443, "web" },
		{ "9.9.9.9", 80, "web" },
		{ "9.9.9.9", 7999, "default" },
		{ "9.9.9.9", 8000, "web" },
		{ "9.9.9.9", 8999, "web" },
		{ "9.9.9.9", 9000, "default" },
		{ "x.test", 22, "ssh" },
		{ "y.other", 22, "default" },
	};
	struct policy	*p = load_ok(
	    "[rule web]\nport = 80\nport = 443\nport = 8000-8999\n"
	    "action = direct\n"
	    "[rule ssh]\ndomain = .test\nport = 22\naction = reject\n");

	(void)state;
	run_rows(p, rows, NELEM(rows));
	policy_free(p);
}

/* A name meets a CIDR rule: ask for the address; a domain rule before it
 * decides without one; a failed lookup skips the rule. */
static void
test_names_need_addr(void **state)
{
	struct policy		*p = load_ok(
	    "[rule byname]\ndomain = .known.test\naction = reject\n"
	    "[rule net]\ncidr = 198.51.100.0/24\naction = direct\n"
	    "[rule rest]\nany = yes\naction = bond\n");
	struct policy_verdict	 v;
	struct target		 t = tgt("known.test", 443);
	struct sockaddr_in	 sin = { .sin_family = AF_INET };

	(void)state;
	policy_match(p, &t, NULL, false, &v);
	CHECK_STR("domain first", v.rule, "byname");
	t = tgt("www.unknown.test", 443);
	policy_match(p, &t, NULL, false, &v);
	CHECK("needs address", v.need_addr);
	inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr);
	policy_match(p, &t, (struct sockaddr *)&sin, false, &v);
	CHECK_STR("resolved into net", v.rule, "net");
	CHECK("why has the address", strstr(v.why, "198.51.100.0/24"));
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	policy_match(p, &t, (struct sockaddr *)&sin, false, &v);
	CHECK_STR("resolved elsewhere", v.rule, "rest");
	policy_match(p, &t, NULL, true, &v);
	CHECK_STR("lookup failed", v.rule, "rest");
	policy_free(p);
}

/* Without rules: private addresses direct, names never looked at. */
static void
test_builtin(void **state)
{
	static const struct row rows[] = {
		{ "127.0.0.1", 80, "builtin-local" },
		{ "10.2.3.4", 80, "builtin-local" },
		{ "172.31.1.1", 80, "builtin-local" },
		{ "172.32.1.1", 80, "default" },
		{ "192.168.1.1", 80, "builtin-local" },
		{ "169.254.1.1", 80, "builtin-local" },
		{ "100.64.0.1", 80, "builtin-local" },
		{ "100.128.0.1", 80, "default" },
		{ "::1", 80, "builtin-local" },
		{ "fd12::1", 80, "builtin-local" },
		{ "fe80::1", 80, "builtin-local" },
		{ "::ffff:192.168.0.1", 80, "builtin-local" },
		{ "2001:db8::1", 80, "default" },
		{ "8.8.8.8", 80, "default" },
		{ "localhost", 80, "builtin-local" },
		{ "a.localhost", 80, "builtin-local" },
		{ "nas.lan", 80, "default" },	/* no DNS leak */
		{ "example.com", 80, "default" },
	};
	struct policy	*p = load_ok("");
	struct cidr	 own;

	(void)state;
	run_rows(p, rows, NELEM(rows));
	CHECK("own net", cidr_parse("198.18.0.0/15", &own));
	CHECK("add", policy_add_local_net(p, &own));
	const struct row r2[] = { { "198.18.3.4", 80, "builtin-local" } };
	run_rows(p, r2, 1);
	policy_free(p);
	/* a user rule wins over the built-in */
	p = load_ok("[rule lanbond]\ncidr = 10.0.0.0/8\naction = bond\n");
	const struct row r3[] = { { "10.2.3.4", 80, "lanbond" },
	    { "192.168.1.1", 80, "builtin-local" } };
	run_rows(p, r3, 2);
	policy_free(p);
}

static void
test_direct_pin(void **state)
{
	struct policy		*p = load_ok(
	    "[rule pin]\nany = yes\naction = direct\ninterface = up2\n"
	    "source = 10.0.2.2\n");
	struct policy_verdict	 v;
	struct target		 t = tgt("8.8.8.8", 53);

	(void)state;
	policy_match(p, &t, NULL, false, &v);
	CHECK_EQ("action", v.action, POLICY_DIRECT);
	CHECK_STR("ifname", v.pin->ifname, "up2");
	CHECK_EQ("source", v.pin->source.ss_family, AF_INET);
	policy_free(p);
}

static void
write_file(const char *name, const char *text, char *path, size_t len)
{
	FILE	*f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_lists(void **state)
{
	char		 dom[256], cid[256], text[1024];
	struct policy	*p;

	(void)state;
	write_file("dom.txt", "# ads\n\nads.example\n  .tracker.test  # c\n"
	    "Mixed.Case.\r\n", dom, sizeof(dom));
	write_file("cidr.txt", "203.0.113.0/24\n2001:db8::/32\n", cid,
	    sizeof(cid));
	snprintf(text, sizeof(text), "[rule ads]\ndomains-from = %s\n"
	    "action = reject\n[rule nets]\ncidrs_from = %s\naction = direct\n",
	    dom, cid);
	p = load_ok(text);
	const struct row rows[] = {
		{ "ads.example", 80, "ads" },
		{ "x.ads.example", 80, "need_addr" },	/* nets decides */
		{ "a.b.tracker.test", 80, "ads" },
		{ "mixed.case", 80, "ads" },
		{ "203.0.113.200", 80, "nets" },
		{ "2001:db8:1::1", 80, "nets" },
	};
	run_rows(p, rows, NELEM(rows));
	policy_free(p);
}

static void
test_hostile_lists(void **state)
{
	char		 bad[256], text[1024], *big;
	struct errs	 e;
	struct policy	*p;
	size_t		 n = 100000;

	(void)state;
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "ok.example\n", 11);
	memset(big + 11, 'a', n);
	memcpy(big + 11 + n, "\n10.0.0.1/8\nbad domain\n", 24);
	write_file("bad.txt", big, bad, sizeof(bad));
	free(big);
	snprintf(text, sizeof(text), "[rule x]\ndomains_from = %s\n"
	    "action = reject\n", bad);
	p = load(text, &e);
	CHECK("refused", p == NULL);
	char want[300];
	snprintf(want, sizeof(want), "%s:2: line longer than", bad);
	CHECK(want, has_err(&e, want));
	snprintf(want, sizeof(want), "%s:3: rule x: \"10.0.0.1/8\" is not "
	    "a domain", bad);
	CHECK(want, has_err(&e, want));
	snprintf(want, sizeof(want), "%s:4: one entry per line", bad);
	CHECK(want, has_err(&e, want));

	write_file("badc.txt", "10.0.0.1/8\n300.1.1.1/8\n10.0.0.0/33\n"
	    "fd00::/8\nexample.com\n", bad, sizeof(bad));
	snprintf(text, sizeof(text), "[rule y]\ncidrs_from = %s\n"
	    "action = direct\n", bad);
	p = load(text, &e);
	CHECK("refused", p == NULL);
	CHECK_EQ("4 bad lines", e.n, 4);
	snprintf(want, sizeof(want), "%s:1: rule y: \"10.0.0.1/8\" is not a "
	    "network", bad);
	CHECK(want, has_err(&e, want));
	snprintf(want, sizeof(want), "%s:5:", bad);
	CHECK(want, has_err(&e, want));

	/* binary garbage: stops after POLICY_MAX_FILE_ERRORS */
	char g[4096];
	for (size_t i = 0; i < sizeof(g) - 1; i++)
		g[i] = (char)(i % 7 == 0 ? '\n' : 1 + (i * 37) % 250);
	g[sizeof(g) - 1] = '\0';
	write_file("garbage.txt", g, bad, sizeof(bad));
	snprintf(text, sizeof(text), "[rule z]\ncidrs_from = %s\n"
	    "action = direct\n", bad);
	p = load(text, &e);
	CHECK("refused", p == NULL);
	CHECK_EQ("capped", e.n, POLICY_MAX_FILE_ERRORS + 1);
	CHECK("says skipped", has_err(&e, "rest of the file skipped"));

	p = load("[rule m]\ndomains_from = /nonexistent/list\n"
	    "action = reject\n", &e);
	CHECK("missing file", p == NULL &&
	    has_err(&e, "t.conf:2: rule m: /nonexistent/list: No such file"));
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} rows[] = {
		{ "[rule a]\ndomain = exa mple.com\naction = bond\n",
		    "t.conf:2: rule a: \"exa mple.com\" is not a domain" },
		{ "[rule a]\ndomain = a..b\naction = bond\n",
		    "t.conf:2: rule a: \"a..b\" is not a domain" },
		{ "[rule a]\ncidr = 10.0.0.1/8\naction = bond\n",
		    "t.conf:2: rule a: \"10.0.0.1/8\" is not a network" },
		{ "[rule a]\nport = 0\naction = bond\n",
		    "t.conf:2: rule a: port \"0\" is not PORT" },
		{ "[rule a]\nport = 90-80\naction = bond\n",
		    "t.conf:2: rule a: port \"90-80\"" },
		{ "[rule a]\nport = 65536\naction = bond\n",
		    "t.conf:2: rule a: port \"65536\"" },
		{ "[rule a]\nany = yes\naction = bounce\n",
		    "t.conf:3: rule a: action \"bounce\" is not bond" },
		{ "[rule a]\nany = yes\n", "t.conf:2: [rule a]: no action" },
		{ "[rule a]\naction = bond\n", "t.conf:2: [rule a]: matches "
		    "nothing" },
		{ "[rule a]\nany = yes\naction = direct\nuplink = dsl\n",
		    "t.conf:2: [rule a]: unknown uplink dsl" },
		{ "[rule a]\nany = yes\naction = bond\ninterface = eth0\n",
		    "t.conf:2: [rule a]: uplink, interface and source are "
		    "for action = direct" },
		{ "[rule a]\ncountry = DE\naction = direct\n",
		    "t.conf:2: [rule a]: country needs [geoip] country_db" },
		{ "[rule a]\ncountry = DEU\naction = direct\n",
		    "t.conf:2: rule a: country \"DEU\"" },
		{ "[rule a]\nasn = AS12x\naction = direct\n",
		    "t.conf:2: rule a: asn" },
		{ "[rule a]\nany = yes\naction = bond\n[rule b]\nany = yes\n"
		    "action = bond\n[rule a]\nany = yes\n",
		    "t.conf:8: [rule a]: already defined at line 2" },
		{ "[rule a]\nany = yes\naction = bond\naction = direct\n",
		    "t.conf:4: rule a: action given twice" },
		{ "[rule a]\nfoo = 1\naction = bond\n",
		    "t.conf:2: rule a: unknown key foo" },
		{ "[geoip]\ncity_db = x\n", "t.conf:2: geoip.city_db: "
		    "unknown key" },
		{ "[geoip]\ncountry_db = /nonexistent.mmdb\n",
		    "t.conf:2: geoip.country_db: /nonexistent.mmdb" },
		{ "[rules]\nany = yes\n", "t.conf:2: [rules]: unknown "
		    "section" },
	};
	struct errs	e;

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		struct policy *p = load(rows[i].text, &e);

		if (p != NULL || !has_err(&e, rows[i].want)) {
			dump_errs(&e);
			fail_msg("row %zu: want \"%s\"", i, rows[i].want);
		}
	}
}

static void
test_too_many_rules(void **state)
{
	char		*text = malloc(64 * 80), *w;
	struct errs	 e;

	(void)state;
	assert_non_null(text);
	w = text;
	for (int i = 0; i < POLICY_MAX_RULES + 2; i++)
		w += sprintf(w, "[rule r%d]\nany = yes\naction = bond\n", i);
	CHECK("refused", load(text, &e) == NULL);
	CHECK("says so", has_err(&e, "more than 63 rules"));
	CHECK_EQ("once", e.n, 1);
	free(text);
}

static void
test_geoip(void **state)
{
	char		 cmd[1024], text[1024];
	struct policy	*p;
	struct errs	 e;

	(void)state;
	snprintf(cmd, sizeof(cmd), "perl tests/tools/mkmmdb.pl country "
	    "%s/c.mmdb 203.0.113.0/24=DE 2001:db8::/32=FR 198.51.100.0/24=US "
	    "&& perl tests/tools/mkmmdb.pl asn %s/a.mmdb 203.0.113.0/25=64500 "
	    "198.51.100.0/24=64501", tmpdir, tmpdir);
	if (system(cmd) != 0)
		fail_msg("mkmmdb.pl failed (libmaxmind-db-writer-perl?)");
	snprintf(text, sizeof(text),
	    "[geoip]\ncountry_db = %s/c.mmdb\nasn-db = %s/a.mmdb\n"
	    "[rule as]\nasn = AS64501\nport = 443\naction = reject\n"
	    "[rule home]\ncountry = de\ncountry = FR\naction = direct\n",
	    tmpdir, tmpdir);
	p = load_ok(text);
	const struct row rows[] = {
		{ "203.0.113.1", 80, "home" },
		{ "203.0.113.200", 80, "home" },
		{ "::ffff:203.0.113.1", 80, "home" },
		{ "2001:db8::5", 80, "home" },
		{ "198.51.100.1", 443, "as" },
		{ "198.51.100.1", 80, "default" },
		{ "8.8.8.8", 80, "default" },
		{ "name.test", 80, "need_addr" },
	};
	run_rows(p, rows, NELEM(rows));
	struct policy_verdict v;
	struct target t = tgt("203.0.113.5", 80);
	policy_match(p, &t, NULL, false, &v);
	CHECK_STR("country", v.country, "DE");
	CHECK_EQ("asn", v.asn, 64500);
	CHECK("why", strstr(v.why, "203.0.113.5 in country DE"));
	policy_free(p);

	/* not an mmdb file */
	snprintf(text, sizeof(text), "[geoip]\ncountry_db = %s\n",
	    "tests/tools/mkmmdb.pl");
	CHECK("bad db", load(text, &e) == NULL &&
	    has_err(&e, "t.conf:2: geoip.country_db: tests/tools/mkmmdb.pl"));
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_policy.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_cidrs_order),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_names_need_addr),
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_direct_pin),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_hostile_lists),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_too_many_rules),
		cmocka_unit_test(test_geoip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
