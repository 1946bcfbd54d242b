/*
 * config.c: INI loading for both roles, every error named by file:line
 * and all of them reported in one run, config_set() from the command
 * line, config_validate(), and the exact error text against a golden
 * file (tests/unit/golden/config_errors.txt).
 */

#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"

#define MAXERR	32

struct errs {
	size_t	n;
	char	s[MAXERR][640];
};

/* "file:line: msg", or "file: msg" for line 0, as the daemons print. */
static void
collect_cb(void *arg, const char *file, unsigned line, const char *msg)
{
	struct errs	*e = arg;

	if (e->n < MAXERR) {
		if (line > 0)
			snprintf(e->s[e->n], sizeof(e->s[0]), "%s:%u: %s",
			    file, line, msg);
		else
			snprintf(e->s[e->n], sizeof(e->s[0]), "%s: %s", file,
			    msg);
	}
	e->n++;
}

/* The repository root, from where this file was compiled ("" if from
 * the root itself, as make does). */
static const char *
repo_path(const char *rel, char *buf, size_t len)
{
	static const char	self[] = "tests/unit/test_config.c";
	const char		*f = __FILE__;
	size_t			 fl = strlen(f), sl = strlen(self);

	if (fl >= sl && strcmp(f + fl - sl, self) == 0)
		snprintf(buf, len, "%.*s%s", (int)(fl - sl), f, rel);
	else
		snprintf(buf, len, "%s", rel);
	return buf;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*buf;
	long	 n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		fail_msg("cannot read %s", path);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Good files */

/* '-' in a key name stands for '_'; nothing else is loosened. */
static void
test_key_dash_spelling(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t.conf",
	    "[local]\nkey-file = /k\nhttp-head-max = 2048\n", collect_cb,
	    &e), 0);
	assert_string_equal(c.key_file, "/k");
	assert_int_equal(c.http_head_max, 2048);
	assert_int_equal(config_load_string(&c, "t.conf",
	    "[local]\nkeyfile = /x\nkey_file- = /y\nkey--file = /z\n",
	    collect_cb, &e), 3);
	assert_string_equal(c.key_file, "/k");
	assert_true(config_set(&c, "handshake-timeout", "7", collect_cb, &e));
	assert_int_equal(c.handshake_timeout, 7);
}

static void
test_good_server(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };
	static const char	text[] =
	    "; comment\n"
	    "# another\n"
	    "\n"
	    "[server]\n"
	    "listen = 0.0.0.0:8443\n"
	    "listen = [::]:8443\n"
	    "  key_file   =   /etc/mpsocks/keys  \n"
	    "allow = 10.20.0.0/16\n"
	    "allow = fd00:1::/32\n"
	    "handshake_timeout = 300\n"
	    "idle_timeout = 86400\n"
	    "connect_timeout = 1\n"
	    "replay_window = 5\n"
	    "replay_cache = 16777216\n"
	    "max_connections = 1000000\n"
	    "log_level = DEBUG\n"
	    "[dns]\n"
	    "cache_size = 0\n"
	    "cache_ttl = 86400\n";

	(void)state;
	config_defaults(&c, CONFIG_SERVER);
	assert_int_equal(config_load_string(&c, "s.conf", text, collect_cb,
	    &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(c.role, CONFIG_SERVER);
	assert_int_equal(c.n_listen, 2);
	assert_string_equal(c.listen[0], "0.0.0.0:8443");
	assert_string_equal(c.listen[1], "[::]:8443");
	assert_string_equal(c.key_file, "/etc/mpsocks/keys");
	assert_int_equal(c.allow.n, 2);
	assert_int_equal(c.allow.v[0].prefix, 16);
	assert_int_equal(c.allow.v[1].prefix, 32);
	assert_int_equal(c.handshake_timeout, 300);
	assert_int_equal(c.idle_timeout, 86400);
	assert_int_equal(c.connect_timeout, 1);
	assert_int_equal(c.replay_window, 5);
	assert_int_equal(c.replay_cache, 1u << 24);
	assert_int_equal(c.max_connections, 1000000);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.dns_cache_size, 0);
	assert_int_equal(c.dns_cache_ttl, 86400);
	assert_int_equal(config_validate(&c, collect_cb, &e), 0);
}

static void
test_good_local(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };
	static const char	text[] =
	    "[local]\n"
	    "listen = 192.168.1.2:1080\n"
	    "server = vps.example.net:8443\n"
	    "key_file = /etc/mpsocks/client.key\n"
	    "allow_client = 192.168.1.0/24\n"
	    "user = alice:correct:horse\n"
	    "user = bob:x\n"
	    "mptcp = no\n"
	    "handshake_timeout = 1\n"
	    "idle_timeout = 1\n"
	    "connect_timeout = 300\n"
	    "max_connections = 1\n"
	    "log_level = warn\r\n";

	(void)state;
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "l.conf", text, collect_cb,
	    &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(c.n_listen, 1);
	assert_string_equal(c.listen[0], "192.168.1.2:1080");
	assert_string_equal(c.server, "vps.example.net:8443");
	assert_string_equal(c.key_file, "/etc/mpsocks/client.key");
	assert_int_equal(c.allow_clients.n, 1);
	assert_int_equal(c.n_users, 2);
	assert_string_equal(c.users[0].name, "alice");
	assert_string_equal(c.users[0].pass, "correct:horse");
	assert_string_equal(c.users[1].name, "bob");
	assert_string_equal(c.users[1].pass, "x");
	assert_false(c.mptcp);
	assert_int_equal(c.handshake_timeout, 1);
	assert_int_equal(c.idle_timeout, 1);
	assert_int_equal(c.connect_timeout, 300);
	assert_int_equal(c.max_connections, 1);
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	assert_int_equal(config_validate(&c, collect_cb, &e), 0);
}

/* pool_min above pool_max is an error; pool_max = 0 turns the pool off
 * whatever pool_min says (--no-pool). */
static void
test_pool_bounds(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "p.conf", "[local]\n"
	    "server = vps:1\nkey_file = /k\npool_min = 8\npool_max = 4\n",
	    collect_cb, &e), 0);
	assert_int_equal(config_validate(&c, collect_cb, &e), 1);
	assert_non_null(strstr(e.s[0], "local.pool_min (8) cannot exceed "
	    "local.pool_max (4)"));
	config_defaults(&c, CONFIG_LOCAL);
	e.n = 0;
	assert_int_equal(config_load_string(&c, "p.conf", "[local]\n"
	    "server = vps:1\nkey_file = /k\npool_max = 0\n", collect_cb, &e),
	    0);
	assert_int_equal(config_validate(&c, collect_cb, &e), 0);
}

static void
test_defaults(void **state)
{
	struct config	c;

	(void)state;
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(c.role, CONFIG_LOCAL);
	assert_int_equal(c.handshake_timeout, 10);
	assert_int_equal(c.idle_timeout, 300);
	assert_int_equal(c.connect_timeout, 10);
	assert_int_equal(c.replay_window, 30);
	assert_int_equal(c.replay_cache, 65536);	/* docs/protocol.md */
	assert_int_equal(c.dns_cache_size, 1024);
	assert_int_equal(c.dns_cache_ttl, 60);
	assert_int_equal(c.max_connections, 65536);
	assert_true(c.mptcp);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	/* the warm pool and optimistic replies are on (docs/protocol.md) */
	assert_int_equal(c.pool_min, 2);
	assert_int_equal(c.pool_max, 16);
	assert_int_equal(c.pool_refresh, 30);
	assert_false(c.strict_replies);
	assert_int_equal(c.pool_idle_timeout, 90);
	assert_int_equal(c.pool_max_per_key, 64);
	assert_true(c.pool_refresh < c.pool_idle_timeout);
	assert_int_equal(c.n_listen, 0);
	assert_int_equal(c.n_users, 0);
}

/* The shipped sample files load and validate cleanly. */
static void
test_sample_configs(void **state)
{
	static struct config	c;
	char			path[PATH_MAX];
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_SERVER);
	config_load_file(&c, repo_path("conf/server.conf", path, sizeof(path)),
	    collect_cb, &e);
	config_validate(&c, collect_cb, &e);
	if (e.n > 0)
		fail_msg("%s", e.s[0]);
	assert_int_equal(c.n_listen, 2);
	config_defaults(&c, CONFIG_LOCAL);
	config_load_file(&c, repo_path("conf/local.conf", path, sizeof(path)),
	    collect_cb, &e);
	config_validate(&c, collect_cb, &e);
	if (e.n > 0)
		fail_msg("%s", e.s[0]);
	assert_int_equal(c.n_listen, 1);
}

/* One error per row, with its exact text. */

struct err_row {
	const char		*name;
	enum config_role	 role;
	const char		*text;
	const char		*want;
};

#define A16	"aaaaaaaaaaaaaaaa"
#define LONG_64	A16 A16 A16 A16

static const struct err_row err_rows[] = {
	{ "pool_refresh below min", CONFIG_LOCAL,
	    "[local]\npool_refresh = 4\n",
	    "t.conf:2: local.pool_refresh: \"4\" is out of range 5..3600" },
	{ "pool_idle_timeout above max", CONFIG_SERVER,
	    "[server]\npool_idle_timeout = 3601\n",
	    "t.conf:2: server.pool_idle_timeout: \"3601\" is out of range "
	    "5..3600" },
	{ "unknown key", CONFIG_SERVER, "[server]\nlisen = 1.2.3.4:1\n",
	    "t.conf:2: server.lisen: unknown key" },
	{ "unknown dns key", CONFIG_SERVER, "[dns]\nttl = 5\n",
	    "t.conf:2: dns.ttl: unknown key" },
	{ "unknown section", CONFIG_SERVER, "[tunnel]\nidle_timeout = 5\n",
	    "t.conf:2: [tunnel]: unknown section" },
	{ "other role's section", CONFIG_SERVER, "[local]\nmptcp = no\n",
	    "t.conf:2: [local]: unknown section" },
	{ "server key in local", CONFIG_LOCAL, "[server]\nlisten = 1.2.3.4:5\n",
	    "t.conf:2: [server]: unknown section" },
	{ "local-only key", CONFIG_LOCAL, "[local]\nreplay_window = 30\n",
	    "t.conf:2: local.replay_window: unknown key" },
	{ "key before any section", CONFIG_SERVER, "idle_timeout = 5\n",
	    "t.conf:1: []: unknown section" },
	{ "zero", CONFIG_SERVER, "[server]\nidle_timeout = 0\n",
	    "t.conf:2: server.idle_timeout: \"0\" is out of range 1..86400" },
	{ "above max", CONFIG_SERVER, "[server]\nidle_timeout = 86401\n",
	    "t.conf:2: server.idle_timeout: \"86401\" is out of range "
	    "1..86400" },
	{ "below min", CONFIG_SERVER, "[server]\nreplay_window = 4\n",
	    "t.conf:2: server.replay_window: \"4\" is out of range 5..3600" },
	{ "replay_cache small", CONFIG_SERVER,
	    "[server]\nreplay_cache = 1023\n",
	    "t.conf:2: server.replay_cache: \"1023\" is out of range "
	    "1024..16777216" },
	{ "dns above max", CONFIG_SERVER, "[dns]\ncache_size = 65537\n",
	    "t.conf:2: dns.cache_size: \"65537\" is out of range 0..65536" },
	{ "negative", CONFIG_LOCAL, "[local]\nidle_timeout = -1\n",
	    "t.conf:2: local.idle_timeout: \"-1\" is out of range 1..86400" },
	{ "unit suffix", CONFIG_LOCAL, "[local]\nidle_timeout = 5s\n",
	    "t.conf:2: local.idle_timeout: \"5s\" is out of range 1..86400" },
	{ "huge", CONFIG_LOCAL,
	    "[local]\nidle_timeout = 99999999999999999999\n",
	    "t.conf:2: local.idle_timeout: \"99999999999999999999\" is out of "
	    "range 1..86400" },
	{ "2^32 + 5 does not wrap", CONFIG_LOCAL,
	    "[local]\nidle_timeout = 4294967301\n",
	    "t.conf:2: local.idle_timeout: \"4294967301\" is out of range "
	    "1..86400" },
	{ "empty number", CONFIG_LOCAL, "[local]\nidle_timeout =\n",
	    "t.conf:2: local.idle_timeout: \"\" is not a number" },
	{ "listen by name", CONFIG_SERVER, "[server]\nlisten = localhost:80\n",
	    "t.conf:2: server.listen: \"localhost:80\" is not ADDR:PORT "
	    "(numeric; [v6]:PORT for IPv6)" },
	{ "listen without port", CONFIG_LOCAL, "[local]\nlisten = 127.0.0.1\n",
	    "t.conf:2: local.listen: \"127.0.0.1\" is not ADDR:PORT "
	    "(numeric; [v6]:PORT for IPv6)" },
	{ "listen bare v6", CONFIG_LOCAL, "[local]\nlisten = ::1:1080\n",
	    "t.conf:2: local.listen: \"::1:1080\" is not ADDR:PORT "
	    "(numeric; [v6]:PORT for IPv6)" },
	{ "server without port", CONFIG_LOCAL, "[local]\nserver = vps\n",
	    "t.conf:2: local.server: \"vps\" is not HOST:PORT" },
	{ "server port 0", CONFIG_LOCAL, "[local]\nserver = vps:0\n",
	    "t.conf:2: local.server: \"vps:0\" is not HOST:PORT" },
	{ "cidr host bits", CONFIG_SERVER, "[server]\nallow = 10.0.0.1/8\n",
	    "t.conf:2: server.allow: \"10.0.0.1/8\" is not a network (like "
	    "10.0.0.0/8 or fd00::/8, host bits zero), or the list is full" },
	{ "cidr garbage", CONFIG_LOCAL, "[local]\nallow_client = lan\n",
	    "t.conf:2: local.allow_client: \"lan\" is not a network (like "
	    "10.0.0.0/8 or fd00::/8, host bits zero), or the list is full" },
	{ "bad bool", CONFIG_LOCAL, "[local]\nmptcp = maybe\n",
	    "t.conf:2: local.mptcp: \"maybe\" is not yes or no" },
	{ "bad level", CONFIG_LOCAL, "[local]\nlog_level = loud\n",
	    "t.conf:2: local.log_level: \"loud\" is not one of error, warn, "
	    "info, debug" },
	{ "user without colon", CONFIG_LOCAL, "[local]\nuser = alice\n",
	    "t.conf:2: local.user: expected NAME:PASSWORD, each 1..255 bytes" },
	{ "user empty name", CONFIG_LOCAL, "[local]\nuser = :pw\n",
	    "t.conf:2: local.user: expected NAME:PASSWORD, each 1..255 bytes" },
	{ "user empty password", CONFIG_LOCAL, "[local]\nuser = alice:\n",
	    "t.conf:2: local.user: expected NAME:PASSWORD, each 1..255 bytes" },
	{ "empty key_file", CONFIG_SERVER, "[server]\nkey_file =\n",
	    "t.conf:2: server.key_file: empty or too long" },
	{ "set twice", CONFIG_SERVER, "[server]\nkey_file = /a\n\n"
	    "key_file = /b\n",
	    "t.conf:4: server.key_file: already set at line 2" },
	{ "set twice across sections", CONFIG_SERVER,
	    "[server]\nidle_timeout = 5\n[dns]\n[server]\nidle_timeout = 6\n",
	    "t.conf:5: server.idle_timeout: already set at line 2" },
	{ "no equals sign", CONFIG_SERVER, "[server]\njust some words\n",
	    "t.conf:2: expected key = value" },
	{ "colon delimiter", CONFIG_SERVER, "[server]\nkey_file: /a\n",
	    "t.conf:2: expected key = value" },
	{ "no key", CONFIG_SERVER, "[server]\n= /a\n",
	    "t.conf:2: expected key = value" },
	{ "unclosed section", CONFIG_SERVER, "[server\n",
	    "t.conf:1: expected [section]" },
	{ "empty section", CONFIG_SERVER, "[]\n",
	    "t.conf:1: expected [section]" },
	{ "value is cut to 64 in errors", CONFIG_LOCAL,
	    "[local]\nmptcp = " LONG_64 "tail\n",
	    "t.conf:2: local.mptcp: \"" LONG_64 "\" is not yes or no" },
};

static void
test_error_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(err_rows); i++) {
		const struct err_row	*r = &err_rows[i];
		static struct config	 c;
		struct errs		 e = { 0 };

		config_defaults(&c, r->role);
		CHECK_EQ(r->name, config_load_string(&c, "t.conf", r->text,
		    collect_cb, &e), 1);
		CHECK_EQ(r->name, e.n, 1);
		CHECK_STR(r->name, e.s[0], r->want);
	}
}

/* Values that fail leave the default in place. */
static void
test_bad_value_keeps_default(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t.conf", "[local]\n"
	    "idle_timeout = 0\nmptcp = maybe\nlog_level = loud\n"
	    "listen = nowhere\nuser = x\n", collect_cb, &e), 5);
	assert_int_equal(c.idle_timeout, 300);
	assert_true(c.mptcp);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	/* the warm pool and optimistic replies are on (docs/protocol.md) */
	assert_int_equal(c.pool_min, 2);
	assert_int_equal(c.pool_max, 16);
	assert_int_equal(c.pool_refresh, 30);
	assert_false(c.strict_replies);
	assert_int_equal(c.pool_idle_timeout, 90);
	assert_int_equal(c.pool_max_per_key, 64);
	assert_true(c.pool_refresh < c.pool_idle_timeout);
	assert_int_equal(c.n_listen, 0);
	assert_int_equal(c.n_users, 0);
}

static void
test_bool_and_level_spellings(void **state)
{
	static const char *const yes[] = { "yes", "YES", "true", "On", "1" };
	static const char *const no[] = { "no", "False", "off", "0" };
	static const char *const lv[] = { "error", "warn", "info", "debug" };
	static struct config	 c;
	struct errs		 e = { 0 };
	char			 text[128];

	(void)state;
	for (size_t i = 0; i < NELEM(yes) + NELEM(no); i++) {
		bool	want = i < NELEM(yes);

		config_defaults(&c, CONFIG_LOCAL);
		c.mptcp = !want;
		snprintf(text, sizeof(text), "[local]\nmptcp = %s\n",
		    want ? yes[i] : no[i - NELEM(yes)]);
		CHECK_EQ(text, config_load_string(&c, "t", text, collect_cb,
		    &e), 0);
		CHECK_EQ(text, c.mptcp, want);
	}
	for (size_t i = 0; i < NELEM(lv); i++) {
		config_defaults(&c, CONFIG_SERVER);
		snprintf(text, sizeof(text), "[server]\nlog_level = %s\n",
		    lv[i]);
		CHECK_EQ(text, config_load_string(&c, "t", text, collect_cb,
		    &e), 0);
		CHECK_EQ(text, c.log_level, i);
	}
}

static void
test_list_limits(void **state)
{
	static struct config	c;
	static char		text[16384];
	struct errs		e = { 0 };
	size_t			o;

	(void)state;
	/* CONFIG_MAX_LISTEN addresses, then one more */
	o = (size_t)snprintf(text, sizeof(text), "[local]\n");
	for (int i = 0; i <= CONFIG_MAX_LISTEN; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "listen = 127.0.0.1:%d\n", 1000 + i);
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t.conf", text, collect_cb,
	    &e), 1);
	assert_string_equal(e.s[0], "t.conf:10: local.listen: more than 8 "
	    "addresses");
	assert_int_equal(c.n_listen, CONFIG_MAX_LISTEN);
	/* CONFIG_MAX_USERS users, then one more */
	e.n = 0;
	o = (size_t)snprintf(text, sizeof(text), "[local]\n");
	for (int i = 0; i <= CONFIG_MAX_USERS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "user = u%d:p\n", i);
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t.conf", text, collect_cb,
	    &e), 1);
	assert_string_equal(e.s[0], "t.conf:66: local.user: more than 64 "
	    "users");
	assert_int_equal(c.n_users, CONFIG_MAX_USERS);
	/* a 255-byte name and password fit, 256 do not */
	char n255[256], n256[257];
	memset(n255, 'n', 255);
	n255[255] = '\0';
	memset(n256, 'n', 256);
	n256[256] = '\0';
	snprintf(text, sizeof(text), "[local]\nuser = %s:%s\n", n255, n255);
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t", text, collect_cb, &e), 0);
	assert_int_equal(strlen(c.users[0].name), 255);
	assert_int_equal(strlen(c.users[0].pass), 255);
	snprintf(text, sizeof(text), "[local]\nuser = %s:p\nuser = u:%s\n",
	    n256, n256);
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t", text, collect_cb, &e), 2);
	assert_int_equal(c.n_users, 0);
}

/* All errors of one file in one run, each on its own line number, and
 * the good lines between them still applied. */
static void
test_all_errors_one_run(void **state)
{
	static struct config	c;
	static char		text[4096];
	struct errs		e = { 0 };
	size_t			o = 0;
	static const char *const want[] = {
		"t.conf:3: server.lisen: unknown key",
		"t.conf:4: server.idle_timeout: \"0\" is out of range 1..86400",
		"t.conf:6: server.listen: \"0.0.0.0\" is not ADDR:PORT "
		    "(numeric; [v6]:PORT for IPv6)",
		"t.conf:7: expected key = value",
		"t.conf:8: line longer than 1024 bytes",
		"t.conf:9: server.allow: \"10.0.0.1/8\" is not a network "
		    "(like 10.0.0.0/8 or fd00::/8, host bits zero), or the "
		    "list is full",
		"t.conf:11: server.key_file: already set at line 5",
		"t.conf:13: [bogus]: unknown section",
		"t.conf:15: dns.cache_ttl: \"0\" is out of range 1..86400",
	};

	(void)state;
	o += (size_t)snprintf(text + o, sizeof(text) - o,
	    "# 1\n"
	    "[server]\n"
	    "lisen = 1.2.3.4:5\n"
	    "idle_timeout = 0\n"
	    "key_file = /k\n"
	    "listen = 0.0.0.0\n"
	    "garbage line\n"
	    "connect_timeout = ");
	memset(text + o, '9', CONFIG_MAX_LINE);		/* line 8: too long */
	o += CONFIG_MAX_LINE;
	o += (size_t)snprintf(text + o, sizeof(text) - o, "\n"
	    "allow = 10.0.0.1/8\n"
	    "listen = 127.0.0.1:8443\n"
	    "key_file = /k2\n"
	    "[bogus]\n"
	    "x = 1\n"
	    "[dns]\n"
	    "cache_ttl = 0\n"
	    "cache_size = 7\n");
	config_defaults(&c, CONFIG_SERVER);
	assert_int_equal(config_load_string(&c, "t.conf", text, collect_cb,
	    &e), NELEM(want));
	assert_int_equal(e.n, NELEM(want));
	for (size_t i = 0; i < NELEM(want); i++)
		CHECK_STR(want[i], e.s[i], want[i]);
	/* the good lines took effect */
	assert_string_equal(c.key_file, "/k");
	assert_int_equal(c.n_listen, 1);
	assert_string_equal(c.listen[0], "127.0.0.1:8443");
	assert_int_equal(c.dns_cache_size, 7);
	assert_int_equal(c.connect_timeout, 10);
	assert_int_equal(c.idle_timeout, 300);
}

/* The longest line allowed, and one byte more, with and without a
 * final newline. */
static void
test_line_length(void **state)
{
	static struct config	c;
	static char		text[4096];
	struct errs		e;
	static const struct {
		const char	*name;
		size_t		 len;		/* of line 2, without \n */
		bool		 newline;
		int		 errors;
	} rows[] = {
		{ "max, newline", CONFIG_MAX_LINE, true, 0 },
		{ "max, last line", CONFIG_MAX_LINE, false, 0 },
		{ "max + 1, newline", CONFIG_MAX_LINE + 1, true, 1 },
		{ "max + 2, last line", CONFIG_MAX_LINE + 2, false, 1 },
		{ "3 * max, newline", 3 * CONFIG_MAX_LINE, true, 1 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		size_t	o = (size_t)snprintf(text, sizeof(text),
			    "[server]\nkey_file = /");

		memset(text + o, 'k', rows[i].len - (o - 9));
		o = 9 + rows[i].len;
		if (rows[i].newline)
			text[o++] = '\n';
		snprintf(text + o, sizeof(text) - o, "%s",
		    rows[i].newline ? "idle_timeout = 0\n" : "");
		memset(&e, 0, sizeof(e));
		config_defaults(&c, CONFIG_SERVER);
		config_load_string(&c, "t.conf", text, collect_cb, &e);
		CHECK_EQ(rows[i].name, e.n, rows[i].errors +
		    (rows[i].newline ? 1 : 0));
		if (rows[i].errors > 0)
			CHECK_STR(rows[i].name, e.s[0],
			    "t.conf:2: line longer than 1024 bytes");
		else
			CHECK_EQ(rows[i].name, strlen(c.key_file),
			    rows[i].len - 11);
		if (rows[i].newline)	/* the next line keeps its number */
			CHECK_STR(rows[i].name, e.s[e.n - 1], "t.conf:3: "
			    "server.idle_timeout: \"0\" is out of range "
			    "1..86400");
	}
}

/*
 * Regression (fixed): a last line of exactly CONFIG_MAX_LINE + 1 bytes with no newline
 * is accepted; with a newline, or one byte longer, it is refused. The
 * string reader sees "no newline, but no more input" and takes it whole.
 */
static void
test_last_line_one_too_long(void **state)
{
	static struct config	c;
	static char		text[2048];
	struct errs		e = { 0 };
	size_t			o = (size_t)snprintf(text, sizeof(text),
				    "[server]\nkey_file = /");

	(void)state;
	memset(text + o, 'k', CONFIG_MAX_LINE + 1 - (o - 9));
	text[9 + CONFIG_MAX_LINE + 1] = '\0';
	assert_int_equal(strlen(text + 9), CONFIG_MAX_LINE + 1);
	config_defaults(&c, CONFIG_SERVER);
	assert_int_equal(config_load_string(&c, "t.conf", text, collect_cb,
	    &e), 1);
	assert_string_equal(e.s[0], "t.conf:2: line longer than 1024 bytes");
}

/*
 * Regression (fixed): a NUL byte in a config file. The reader's NUL check runs
 * memchr() over strlen() bytes, so it never fires. A NUL mid-line makes
 * the line look unterminated: it is reported as "line longer than 1024
 * bytes" and the NEXT line is swallowed as its tail (its setting silently
 * lost, later line numbers off by one). A NUL first on a line drops the
 * line without any error.
 */
static void
test_nul_byte_in_file(void **state)
{
	static const struct {
		const char	*name;
		const char	*text;
		size_t		 len;
	} rows[] = {
#define ROW(name, s)	{ name, s, sizeof(s) - 1 }
		ROW("NUL mid-line", "[server]\nkey_file = /a\0junk\n"
		    "idle_timeout = 0\nconnect_timeout = 0\n"),
		ROW("NUL first", "[server]\n\0idle_timeout = 0\n"
		    "idle_timeout = 0\nconnect_timeout = 0\n"),
#undef ROW
	};
	static struct errs	e[NELEM(rows)];
	char			dir[] = "/tmp/mpsocks-config-XXXXXX";
	char			path[64], want[128];
	int			bad = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	for (size_t i = 0; i < NELEM(rows); i++) {
		static struct config	 c;
		FILE			*f = fopen(path, "w");

		if (f == NULL)
			break;
		fwrite(rows[i].text, 1, rows[i].len, f);
		fclose(f);
		memset(&e[i], 0, sizeof(e[i]));
		config_defaults(&c, CONFIG_SERVER);
		config_load_file(&c, path, collect_cb, &e[i]);
		unlink(path);
	}
	rmdir(dir);
	for (size_t i = 0; i < NELEM(rows); i++) {
		bool	ok = e[i].n == 3;

		snprintf(want, sizeof(want), "%s:2: ", path);
		ok = ok && strncmp(e[i].s[0], want, strlen(want)) == 0;
		snprintf(want, sizeof(want), "%s:3: server.idle_timeout: "
		    "\"0\" is out of range 1..86400", path);
		ok = ok && strcmp(e[i].s[1], want) == 0;
		snprintf(want, sizeof(want), "%s:4: server.connect_timeout: "
		    "\"0\" is out of range 1..300", path);
		ok = ok && strcmp(e[i].s[2], want) == 0;
		if (ok)
			continue;
		bad++;
		print_error("%s: want errors on lines 2, 3 and 4; got %zu:\n",
		    rows[i].name, e[i].n);
		for (size_t k = 0; k < e[i].n && k < MAXERR; k++)
			print_error("    %s\n", e[i].s[k]);
	}
	if (bad > 0)
		fail_msg("%d of %zu rows wrong", bad, NELEM(rows));
}

/*
 * Regression (fixed): listen values are copied into CONFIG_ADDR_MAX bytes with
 * snprintf() and no length check (server does have one). A port padded
 * with zeros past 299 bytes is cut silently: "127.0.0.1:000...08080"
 * becomes "127.0.0.1:000...08", and the daemon listens on port 8.
 */
static void
test_listen_too_long_not_cut(void **state)
{
	static struct config	c;
	static char		text[1024];
	struct errs		e = { 0 };
	struct sockaddr_storage	ss;
	socklen_t		sl;
	char			s[UTIL_ADDRSTRLEN];
	size_t			o;

	(void)state;
	o = (size_t)snprintf(text, sizeof(text), "[local]\nlisten = "
	    "127.0.0.1:");
	memset(text + o, '0', 288);
	snprintf(text + o + 288, sizeof(text) - o - 288, "8080\n");
	config_defaults(&c, CONFIG_LOCAL);
	config_load_string(&c, "t.conf", text, collect_cb, &e);
	if (e.n > 0)
		return;		/* refused: fine */
	assert_int_equal(c.n_listen, 1);
	assert_true(util_parse_sockaddr(c.listen[0], &ss, &sl));
	assert_string_equal(util_sockaddr_str((struct sockaddr *)&ss, s,
	    sizeof(s)), "127.0.0.1:8080");
}

static void
test_load_file_missing(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_SERVER);
	assert_int_equal(config_load_file(&c, "/nonexistent/x.conf",
	    collect_cb, &e), 1);
	assert_string_equal(e.s[0],
	    "/nonexistent/x.conf: cannot open: No such file or directory");
}

/*
 * Regression: config_load_file() read whatever it was given. A symlink,
 * a file its group or others may write, or one owned by another user
 * lets that user choose the destinations, keys and listeners.
 */
static void
test_load_file_unsafe(void **state)
{
	static const struct unsafe_row rows[] = {
		{ "644", 0644, false, 0, NULL },
		{ "600", 0600, false, 0, NULL },
		{ "symlink", 0644, true, 0,
		    "is a symbolic link; name the file itself" },
		{ "group-writable 664", 0664, false, 0,
		    "writable by its group; chmod go-w it" },
		{ "other-writable 646", 0646, false, 0,
		    "writable by others; chmod go-w it" },
		{ "owned by 65534", 0644, false, 65534,
		    "owned by uid 65534" },
	};
	char		dir[] = "/tmp/mpsocks-config-XXXXXX";
	char		path[64], real[64], want[160];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(real, sizeof(real), "%s/real.conf", dir);
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	for (size_t i = 0; i < NELEM(rows); i++) {
		static struct config	 c;
		const struct unsafe_row	*r = &rows[i];
		struct errs		 e = { 0 };

		if (!unsafe_file_place(r, real, path,
		    "[server]\nidle_timeout = 7\n"))
			continue;
		config_defaults(&c, CONFIG_SERVER);
		if (r->err == NULL) {
			assert_int_equal(config_load_file(&c, path,
			    collect_cb, &e), 0);
			assert_int_equal(c.idle_timeout, 7);
		} else {
			assert_int_equal(config_load_file(&c, path,
			    collect_cb, &e), 1);
			assert_int_equal(e.n, 1);
			/* names the file, then the reason */
			snprintf(want, sizeof(want), "%s: %s", path, r->err);
			assert_true(strncmp(e.s[0], want, strlen(want)) == 0);
			assert_int_equal(c.idle_timeout, 300);
		}
		unlink(path);
		unlink(real);
	}
	rmdir(dir);
}

/* The command line */

struct set_row {
	const char		*name;
	enum config_role	 role;
	const char		*key, *value;
	bool			 ok;
	const char		*err;
};

static const struct set_row set_rows[] = {
	{ "listen", CONFIG_LOCAL, "listen", "0.0.0.0:1080", true, NULL },
	{ "user", CONFIG_LOCAL, "user", "alice:pw", true, NULL },
	{ "server", CONFIG_LOCAL, "server", "[2001:db8::1]:8443", true, NULL },
	{ "allow", CONFIG_SERVER, "allow", "10.0.0.0/8", true, NULL },
	{ "dns key", CONFIG_SERVER, "cache_ttl", "5", true, NULL },
	{ "out of range", CONFIG_SERVER, "idle_timeout", "0", false,
	    "command line: server.idle_timeout: \"0\" is out of range "
	    "1..86400" },
	{ "bad listen", CONFIG_SERVER, "listen", "x", false,
	    "command line: server.listen: \"x\" is not ADDR:PORT (numeric; "
	    "[v6]:PORT for IPv6)" },
	{ "unknown", CONFIG_SERVER, "lisen", "1.2.3.4:5", false,
	    "command line: lisen: unknown option" },
	{ "other role's key", CONFIG_LOCAL, "allow", "10.0.0.0/8", false,
	    "command line: allow: unknown option" },
	{ "other role's key 2", CONFIG_SERVER, "mptcp", "no", false,
	    "command line: mptcp: unknown option" },
};

static void
test_config_set(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(set_rows); i++) {
		const struct set_row	*r = &set_rows[i];
		static struct config	 c;
		struct errs		 e = { 0 };

		config_defaults(&c, r->role);
		CHECK_EQ(r->name, config_set(&c, r->key, r->value, collect_cb,
		    &e), r->ok);
		CHECK_EQ(r->name, e.n, r->ok ? 0 : 1);
		if (!r->ok)
			CHECK_STR(r->name, e.s[0], r->err);
	}
}

static void
test_config_set_over_file(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t", "[local]\n"
	    "idle_timeout = 5\nlisten = 127.0.0.1:1080\n", collect_cb, &e), 0);
	/* the command line overrides single values, even ones set twice */
	assert_true(config_set(&c, "idle_timeout", "6", collect_cb, &e));
	assert_true(config_set(&c, "idle_timeout", "7", collect_cb, &e));
	assert_int_equal(c.idle_timeout, 7);
	/* and adds to lists */
	assert_true(config_set(&c, "listen", "[::1]:1080", collect_cb, &e));
	assert_int_equal(c.n_listen, 2);
	assert_true(config_set(&c, "mptcp", "off", collect_cb, &e));
	assert_false(c.mptcp);
	assert_int_equal(e.n, 0);
}

/* Cross-field checks */

struct validate_row {
	const char		*name;
	enum config_role	 role;
	const char		*sets[4][2];	/* key, value */
	const char		*errs[3];
};

#define OPEN_PROXY(a)	"configuration: listening on " a ", beyond " \
	"loopback, needs users (--user) or client networks (--allow-client):" \
	" an open proxy is abused within hours"

static const struct validate_row validate_rows[] = {
	{ "local, all given", CONFIG_LOCAL, { { "key_file", "/k" },
	    { "server", "vps:1" } }, { NULL } },
	{ "local, loopback v6", CONFIG_LOCAL, { { "key_file", "/k" },
	    { "server", "vps:1" }, { "listen", "[::1]:1080" } }, { NULL } },
	{ "local, 0.0.0.0 without users", CONFIG_LOCAL, { { "key_file", "/k" },
	    { "server", "vps:1" }, { "listen", "0.0.0.0:1080" } },
	    { OPEN_PROXY("0.0.0.0:1080") } },
	{ "local, [::] without users", CONFIG_LOCAL, { { "key_file", "/k" },
	    { "server", "vps:1" }, { "listen", "[::]:1080" } },
	    { OPEN_PROXY("[::]:1080") } },
	{ "local, 0.0.0.0 with a user", CONFIG_LOCAL, { { "key_file", "/k" },
	    { "server", "vps:1" }, { "listen", "0.0.0.0:1080" },
	    { "user", "a:b" } }, { NULL } },
	{ "local, 0.0.0.0 with a client network", CONFIG_LOCAL,
	    { { "key_file", "/k" }, { "server", "vps:1" },
	    { "listen", "0.0.0.0:1080" }, { "allow_client", "10.0.0.0/8" } },
	    { NULL } },
	{ "local, nothing", CONFIG_LOCAL, { { NULL } },
	    { "configuration: no key file (--key-file or key_file)",
	    "configuration: no concentrator (--server or local.server)" } },
	{ "server, all given", CONFIG_SERVER, { { "key_file", "/k" },
	    { "listen", "0.0.0.0:8443" } }, { NULL } },
	{ "server, no listen", CONFIG_SERVER, { { "key_file", "/k" } },
	    { "configuration: no listen address (--listen or "
	    "server.listen)" } },
	{ "server, nothing", CONFIG_SERVER, { { NULL } },
	    { "configuration: no key file (--key-file or key_file)",
	    "configuration: no listen address (--listen or "
	    "server.listen)" } },
};

static void
test_config_validate(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(validate_rows); i++) {
		const struct validate_row	*r = &validate_rows[i];
		static struct config		 c;
		struct errs			 e = { 0 };
		size_t				 want = 0;

		config_defaults(&c, r->role);
		for (size_t k = 0; k < NELEM(r->sets) && r->sets[k][0]; k++)
			CHECK(r->name, config_set(&c, r->sets[k][0],
			    r->sets[k][1], collect_cb, &e));
		while (want < NELEM(r->errs) && r->errs[want] != NULL)
			want++;
		CHECK_EQ(r->name, config_validate(&c, collect_cb, &e), want);
		CHECK_EQ(r->name, e.n, want);
		for (size_t k = 0; k < want; k++)
			CHECK_STR(r->name, e.s[k], r->errs[k]);
	}
}

static void
test_validate_default_listen(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_LOCAL);
	assert_true(config_set(&c, "key_file", "/k", collect_cb, &e));
	assert_true(config_set(&c, "server", "vps:8443", collect_cb, &e));
	assert_int_equal(config_validate(&c, collect_cb, &e), 0);
	assert_int_equal(c.n_listen, 1);
	assert_string_equal(c.listen[0], "127.0.0.1:1080");
}

/* [control]: defaults per role, "off", section.key on the command line,
 * bad values, and the token rule beyond loopback. */
static void
test_control_keys(void **state)
{
	static struct config	c;
	struct errs		e = { 0 };

	(void)state;
	config_defaults(&c, CONFIG_SERVER);
	assert_string_equal(c.control_listen, "");
	config_defaults(&c, CONFIG_LOCAL);
	assert_string_equal(c.control_listen, "127.0.0.1:1081");
	assert_int_equal(config_load_string(&c, "t.conf",
	    "[control]\nlisten = off\n", collect_cb, &e), 0);
	assert_string_equal(c.control_listen, "");
	assert_true(config_set(&c, "control.listen", "[::1]:9", collect_cb,
	    &e));
	assert_string_equal(c.control_listen, "[::1]:9");
	assert_true(config_set(&c, "listen", "127.0.0.1:5", collect_cb, &e));
	assert_string_equal(c.listen[0], "127.0.0.1:5");	/* not control */
	assert_int_equal(e.n, 0);

	config_defaults(&c, CONFIG_LOCAL);
	assert_int_equal(config_load_string(&c, "t.conf",
	    "[control]\nlisten = nowhere\ntoken = short\n", collect_cb, &e),
	    2);
	assert_string_equal(e.s[0], "t.conf:2: control.listen: \"nowhere\" "
	    "is not ADDR:PORT or off");
	assert_string_equal(e.s[1], "t.conf:3: control.token: expected "
	    "16..128 characters of A-Z a-z 0-9 - . _ ~ + / =");

	e.n = 0;
	config_defaults(&c, CONFIG_LOCAL);
	assert_true(config_set(&c, "key_file", "/k", collect_cb, &e));
	assert_true(config_set(&c, "server", "vps:8443", collect_cb, &e));
	assert_true(config_set(&c, "control.listen", "0.0.0.0:1081",
	    collect_cb, &e));
	assert_int_equal(config_validate(&c, collect_cb, &e), 1);
	assert_string_equal(e.s[0], "configuration: control.listen "
	    "0.0.0.0:1081 is beyond loopback: set control.token, or anyone "
	    "who reaches it sees every connection");
	assert_true(config_set(&c, "token", "0123456789abcdef", collect_cb,
	    &e));
	assert_int_equal(config_validate(&c, collect_cb, &e), 0);
}

/* Golden: the exact text an operator sees for two sample bad files. */

static const char golden_server[] =
    "; a server configuration with one of each mistake\n"
    "[server]\n"
    "listen = 0.0.0.0:8443\n"
    "lisen = [::]:8443\n"
    "listen = vps.example.net:8443\n"
    "key_file = /etc/mpsocks/keys\n"
    "key_file = /etc/mpsocks/keys2\n"
    "allow = 10.20.0.1/16\n"
    "idle_timeout = 0\n"
    "replay_cache = lots\n"
    "log_level = verbose\n"
    "handshake_timeout 10\n"
    "[dns]\n"
    "cache_ttl = 86401\n"
    "[tunnel]\n"
    "idle_timeout = 300\n";

static const char golden_local[] =
    "[local]\n"
    "listen = 0.0.0.0:1080\n"
    "server = vps.example.net\n"
    "user = alice\n"
    "mptcp = perhaps\n"
    "allow_client = 192.168.1.1/24\n"
    "[server\n"
    "replay_window = 30\n";

static void
test_golden_errors(void **state)
{
	static struct config	c;
	static char		got[16384];
	struct errs		e;
	char			path[PATH_MAX];
	char			*want;
	size_t			o = 0, wl;
	int			n;

	(void)state;
	memset(&e, 0, sizeof(e));
	config_defaults(&c, CONFIG_SERVER);
	n = config_load_string(&c, "server.conf", golden_server, collect_cb,
	    &e);
	n += config_validate(&c, collect_cb, &e);
	config_defaults(&c, CONFIG_LOCAL);
	n += config_load_string(&c, "local.conf", golden_local, collect_cb,
	    &e);
	n += config_validate(&c, collect_cb, &e);
	assert_int_equal((size_t)n, e.n);
	assert_true(e.n <= MAXERR);
	for (size_t i = 0; i < e.n; i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s\n",
		    e.s[i]);
	want = read_file(repo_path("tests/unit/golden/config_errors.txt", path,
	    sizeof(path)), &wl);
	if (strcmp(got, want) != 0) {
		size_t	line = 1;

		for (size_t i = 0; got[i] == want[i]; i++)
			line += got[i] == '\n';
		for (size_t i = 0; i < e.n; i++)
			print_error("got: %s\n", e.s[i]);
		free(want);
		fail_msg("config errors differ from %s at its line %zu", path,
		    line);
	}
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_dash_spelling),
		cmocka_unit_test(test_good_server),
		cmocka_unit_test(test_good_local),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_pool_bounds),
		cmocka_unit_test(test_sample_configs),
		cmocka_unit_test(test_error_rows),
		cmocka_unit_test(test_bad_value_keeps_default),
		cmocka_unit_test(test_bool_and_level_spellings),
		cmocka_unit_test(test_list_limits),
		cmocka_unit_test(test_all_errors_one_run),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_last_line_one_too_long),
		cmocka_unit_test(test_nul_byte_in_file),
		cmocka_unit_test(test_listen_too_long_not_cut),
		cmocka_unit_test(test_load_file_missing),
		cmocka_unit_test(test_load_file_unsafe),
		cmocka_unit_test(test_config_set),
		cmocka_unit_test(test_config_set_over_file),
		cmocka_unit_test(test_config_validate),
		cmocka_unit_test(test_validate_default_listen),
		cmocka_unit_test(test_control_keys),
		cmocka_unit_test(test_golden_errors),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
