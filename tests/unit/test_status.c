/*
 * status.c: /api/status JSON from snapshots, with hostile target names
 * (quotes, backslashes, newlines, NUL, invalid UTF-8, escapes, 255 bytes)
 * that must come out as valid JSON strings the parser gives back cleaned;
 * and the terminal table from JSON, refusing what is not a status object;
 * the warm pool's object and its table line, and the server's idle
 * tunnels.
 */

#include "testutil.h"

#include <jansson.h>

#include "proto/status.h"

static struct status_conn	conn;
static struct status_uplink	ups[2];
static struct status_concentrator conc;
static struct status_pool	pool;

static struct status_snapshot
snapshot(void)
{
	memset(&conn, 0, sizeof(conn));
	memset(ups, 0, sizeof(ups));
	memset(&conc, 0, sizeof(conc));
	conn.id = 7;
	conn.mptcp = true;
	conn.age_ms = 1500;
	conn.up = 100;
	conn.down = 5000000;
	conn.n_subflows = 2;
	for (int i = 0; i < 2; i++) {
		struct status_subflow *sf = &conn.subflows[i];

		sf->id = (unsigned)i;
		snprintf(sf->local, sizeof(sf->local), "10.9.%d.2:4000", i + 1);
		snprintf(sf->remote, sizeof(sf->remote), "10.9.100.1:8443");
		snprintf(sf->uplink, sizeof(sf->uplink), "up%d", i + 1);
		snprintf(sf->state, sizeof(sf->state), "established");
		sf->bytes_received = 2500000;
		sf->rtt_us = 12000;
		snprintf(ups[i].name, sizeof(ups[i].name), "up%d", i + 1);
		snprintf(ups[i].ifname, sizeof(ups[i].ifname), "up%d", i + 1);
		snprintf(ups[i].state, sizeof(ups[i].state), "up");
		snprintf(ups[i].addrs[0], STATUS_ADDR_MAX, "10.9.%d.2", i + 1);
		ups[i].n_addrs = 1;
		ups[i].bytes_down = 2500000;
		ups[i].rate_down = 1e6;
		ups[i].subflows = 1;
		ups[i].history[0] = 10;
		ups[i].history[1] = 1000000;
		ups[i].n_history = 2;
	}
	snprintf(conc.name, sizeof(conc.name), "vps.example:8443");
	snprintf(conc.addr, sizeof(conc.addr), "10.9.100.1:8443");
	snprintf(conc.health, sizeof(conc.health), "ok");
	conc.rtt_ms = 12.5;
	memset(&pool, 0, sizeof(pool));
	pool.enabled = true;
	pool.ready = 4;
	pool.opening = 1;
	pool.target = 4;
	pool.subflows = 7;
	pool.hits = 120;
	pool.misses = 3;
	pool.opened = 130;
	pool.failed = 2;
	pool.n_tunnels = 2;
	snprintf(pool.tunnels[0].uplink, STATUS_NAME_MAX, "up1");
	pool.tunnels[0].subflows = 2;
	pool.tunnels[0].idle_ms = 12400;
	pool.tunnels[1].subflows = 1;		/* "": the default route */
	pool.tunnels[1].idle_ms = 300;
	return (struct status_snapshot){
		.version = "0.1.0", .role = "local", .uptime_s = 3723,
		.n_uplinks = 2, .uplinks = ups, .n_concentrators = 1,
		.concentrators = &conc, .n_conns = 1, .conns = &conn,
		.pool = &pool,
	};
}

static void
test_json_shape(void **state)
{
	struct status_snapshot	 s = snapshot();
	char			*t;
	json_t			*j, *c, *sf;

	(void)state;
	memcpy(conn.target, "example.com:443", 15);
	conn.target_len = 15;
	t = status_json_render(&s);
	assert_non_null(t);
	j = json_loads(t, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "version")),
	    "0.1.0");
	assert_int_equal(json_integer_value(json_object_get(j, "uptime_s")),
	    3723);
	assert_int_equal(json_array_size(json_object_get(j, "uplinks")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(
	    json_array_get(json_object_get(j, "uplinks"), 1), "history"), 1)),
	    1000000);
	c = json_array_get(json_object_get(j, "connections"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "target")),
	    "example.com:443");
	assert_true(json_is_true(json_object_get(c, "mptcp")));
	assert_int_equal(json_integer_value(json_object_get(c, "bytes_down")),
	    5000000);
	sf = json_array_get(json_object_get(c, "subflows"), 1);
	assert_string_equal(json_string_value(json_object_get(sf, "uplink")),
	    "up2");
	assert_int_equal(json_integer_value(json_object_get(sf, "rtt_us")),
	    12000);
	json_decref(j);
	free(t);
}

static void
test_json_pool(void **state)
{
	struct status_snapshot	 s = snapshot();
	char			*t;
	json_t			*j, *p, *tun;

	(void)state;
	pool.retry_in_ms = 2500;
	t = status_json_render(&s);
	assert_non_null(t);
	j = json_loads(t, 0, NULL);
	assert_non_null(j);
	p = json_object_get(j, "pool");
	assert_true(json_is_object(p));
	assert_true(json_is_true(json_object_get(p, "enabled")));
	assert_int_equal(json_integer_value(json_object_get(p, "ready")), 4);
	assert_int_equal(json_integer_value(json_object_get(p, "opening")), 1);
	assert_int_equal(json_integer_value(json_object_get(p, "target")), 4);
	assert_int_equal(json_integer_value(json_object_get(p, "subflows")),
	    7);
	assert_int_equal(json_integer_value(json_object_get(p, "hits")), 120);
	assert_int_equal(json_integer_value(json_object_get(p, "misses")), 3);
	assert_int_equal(json_integer_value(json_object_get(p, "opened")), 130);
	assert_int_equal(json_integer_value(json_object_get(p, "failed")), 2);
	assert_int_equal(json_integer_value(json_object_get(p,
	    "retry_in_ms")), 2500);
	assert_int_equal(json_array_size(json_object_get(p, "tunnels")), 2);
	tun = json_array_get(json_object_get(p, "tunnels"), 0);
	assert_string_equal(json_string_value(json_object_get(tun, "uplink")),
	    "up1");
	assert_int_equal(json_integer_value(json_object_get(tun, "subflows")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(tun, "idle_ms")),
	    12400);
	tun = json_array_get(json_object_get(p, "tunnels"), 1);
	assert_string_equal(json_string_value(json_object_get(tun, "uplink")),
	    "");
	assert_null(json_object_get(j, "idle_tunnels"));	/* server's */
	json_decref(j);
	free(t);

	/* more tunnels than the array holds: bounded */
	pool.n_tunnels = STATUS_POOL_TUNNELS + 5;
	t = status_json_render(&s);
	j = json_loads(t, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j,
	    "pool"), "tunnels")), STATUS_POOL_TUNNELS);
	json_decref(j);
	free(t);

	/* off: the object says so, with zeros */
	memset(&pool, 0, sizeof(pool));
	t = status_json_render(&s);
	j = json_loads(t, 0, NULL);
	p = json_object_get(j, "pool");
	assert_true(json_is_false(json_object_get(p, "enabled")));
	assert_int_equal(json_integer_value(json_object_get(p, "ready")), 0);
	assert_int_equal(json_array_size(json_object_get(p, "tunnels")), 0);
	json_decref(j);
	free(t);

	/* the server: no pool, its idle tunnels */
	s = (struct status_snapshot){ .version = "0.1.0", .role = "server",
	    .uptime_s = 5, .has_idle = true, .idle_tunnels = 9 };
	t = status_json_render(&s);
	j = json_loads(t, 0, NULL);
	assert_null(json_object_get(j, "pool"));
	assert_int_equal(json_integer_value(json_object_get(j,
	    "idle_tunnels")), 9);
	assert_int_equal(json_array_size(json_object_get(j, "connections")),
	    0);
	json_decref(j);
	free(t);
}

static const struct {
	const char	*name, *target;
	size_t		 len;
	const char	*want;		/* what a JSON parser reads back */
} hostile[] = {
	{ "quote", "a\"b", 3, "a\"b" },
	{ "backslash", "a\\b", 3, "a\\b" },
	{ "newline", "a\nb", 3, "a\xef\xbf\xbd" "b" },
	{ "nul", "a\0b", 3, "a\xef\xbf\xbd" "b" },
	{ "bad utf8", "a\xff", 2, "a\xef\xbf\xbd" },
	{ "escape", "\x1b]0;x\x07", 6, "\xef\xbf\xbd]0;x\xef\xbf\xbd" },
	{ "script", "</script><b>", 12, "</script><b>" },
	{ "utf8", "\xe4\xbe\x8b.jp:80", 9, "\xe4\xbe\x8b.jp:80" },
};

static void
test_json_hostile_targets(void **state)
{
	char	long_name[STATUS_TARGET_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct status_snapshot	 s = snapshot();
		char			*t;
		json_t			*j, *c;

		memcpy(conn.target, hostile[i].target, hostile[i].len);
		conn.target_len = hostile[i].len;
		t = status_json_render(&s);
		CHECK(hostile[i].name, t != NULL);
		/* ASCII only on the wire: nothing for a browser to mis-decode */
		for (const char *p = t; *p; p++)
			CHECK(hostile[i].name, *p >= 0x20 && *p < 0x7f);
		j = json_loads(t, 0, NULL);
		CHECK(hostile[i].name, j != NULL);
		c = json_array_get(json_object_get(j, "connections"), 0);
		CHECK_STR(hostile[i].name,
		    json_string_value(json_object_get(c, "target")),
		    hostile[i].want);
		json_decref(j);
		free(t);
	}
	/* 255 bytes, and a length past the buffer, are bounded */
	memset(long_name, 'x', sizeof(long_name));
	for (size_t n = 255; n <= 100000; n += 99745) {
		struct status_snapshot	 s = snapshot();
		char			*t;
		json_t			*j, *c;

		memcpy(conn.target, long_name, sizeof(conn.target));
		conn.target_len = n;
		t = status_json_render(&s);
		assert_non_null(t);
		j = json_loads(t, 0, NULL);
		c = json_array_get(json_object_get(j, "connections"), 0);
		assert_int_equal(strlen(json_string_value(json_object_get(c,
		    "target"))), n == 255 ? 255 : STATUS_TARGET_MAX);
		json_decref(j);
		free(t);
	}
}

static void
test_table(void **state)
{
	struct status_snapshot	 s = snapshot();
	char			*j, *t;

	(void)state;
	memcpy(conn.target, "evil\n\x1b[2Jname", 14);
	conn.target_len = 14;
	j = status_json_render(&s);
	assert_non_null(j);
	t = status_table_render(j, strlen(j));
	assert_non_null(t);
	assert_non_null(strstr(t, "mpsocks-local 0.1.0, up 1h02m03s\n"));
	assert_non_null(strstr(t, "up1"));
	assert_non_null(strstr(t, "CONNECTIONS 1\n"));
	assert_non_null(strstr(t, "00000007 evil\xef\xbf\xbd\xef\xbf\xbd[2Jname"));
	assert_non_null(strstr(t, "10.9.2.2:4000 -> 10.9.100.1:8443"));
	assert_null(strchr(t, '\x1b'));
	free(t);
	free(j);
}

/* The pool's part of the table from JSON as a daemon may send it: right,
 * off, absent (an older daemon), and wrong types, which render with
 * defaults and never a crash. */
static const struct {
	const char	*name, *pool;	/* the "pool" member, or NULL */
	const char	*want, *not;	/* in the table, and not in it */
} pool_rows[] = {
	{ "off", "{\"enabled\":false,\"ready\":3}", "\npool: off\n",
	    "ready" },
	{ "absent", NULL, "CONNECTIONS 0", "pool:" },
	{ "not an object", "[1,2]", "CONNECTIONS 0", "pool:" },
	{ "enabled not a bool", "{\"enabled\":1,\"ready\":3}",
	    "\npool: off\n", "ready" },
	{ "one subflow", "{\"enabled\":true,\"ready\":1,\"subflows\":1}",
	    "pool: 1 ready (1 subflow), 0 opening, target 0, 0 hits / 0 "
	    "misses, 0 opened / 0 failed\n", "retrying" },
	{ "wrong types", "{\"enabled\":true,\"ready\":\"4\","
	    "\"hits\":-5,\"misses\":1e308,\"retry_in_ms\":null,"
	    "\"tunnels\":{\"uplink\":\"x\"}}",
	    "pool: 0 ready (0 subflows), 0 opening, target 0, 0 hits / 0 "
	    "misses, 0 opened / 0 failed\n", "idle" },
	{ "hostile tunnel", "{\"enabled\":true,\"tunnels\":[7,{\"uplink\":"
	    "\"\\u001b[2Jup1-with-a-long-name\",\"subflows\":2,"
	    "\"idle_ms\":-1}]}",
	    /* cut to 16 bytes, the escape's replacement taking 3 */
	    "  idle \xef\xbf\xbd[2Jup1-with-a   2 sf        0 s\n", "\x1b" },
};

static void
test_table_pool(void **state)
{
	struct status_snapshot	 s = snapshot();
	char			*j, *t, buf[1024];

	(void)state;
	pool.retry_in_ms = 2500;
	j = status_json_render(&s);
	t = status_table_render(j, strlen(j));
	assert_non_null(t);
	assert_non_null(strstr(t, "\npool: 4 ready (7 subflows), 1 opening, "
	    "target 4, 120 hits / 3 misses, 130 opened / 2 failed, retrying "
	    "in 2.5 s\n"
	    "  idle up1                2 sf       12 s\n"
	    "  idle (route)            1 sf        0 s\n"));
	/* after the concentrators, before the connections */
	assert_true(strstr(t, "CONCENTRATOR") < strstr(t, "pool:"));
	assert_true(strstr(t, "pool:") < strstr(t, "CONNECTIONS"));
	free(t);
	free(j);

	for (size_t i = 0; i < NELEM(pool_rows); i++) {
		snprintf(buf, sizeof(buf), "{\"uplinks\":[],\"concentrators\":"
		    "[],\"connections\":[]%s%s}", pool_rows[i].pool != NULL ?
		    ",\"pool\":" : "", pool_rows[i].pool != NULL ?
		    pool_rows[i].pool : "");
		t = status_table_render(buf, strlen(buf));
		CHECK(pool_rows[i].name, t != NULL);
		CHECK(pool_rows[i].name, strstr(t, pool_rows[i].want) != NULL);
		CHECK(pool_rows[i].name, strstr(t, pool_rows[i].not) == NULL);
		free(t);
	}

	/* the server's idle tunnels */
	s = (struct status_snapshot){ .version = "0.1.0", .role = "server",
	    .uptime_s = 5, .has_idle = true, .idle_tunnels = 9 };
	j = status_json_render(&s);
	t = status_table_render(j, strlen(j));
	assert_non_null(t);
	assert_non_null(strstr(t, "mpsocks-server 0.1.0, up 0h00m05s\n"));
	assert_non_null(strstr(t, "\nidle tunnels: 9 "));
	assert_null(strstr(t, "pool:"));
	free(t);
	free(j);
}

/* Connection ids that do not fit 32 bits print as 0: casting -3 or
 * 1e300 to an unsigned type is undefined (fuzz_status under UBSan,
 * which the ASan build of this test would abort on). */
static void
test_table_hostile_ids(void **state)
{
	static const char *const ids[] = { "-3", "1e300", "4294967296",
	    "-0.5" };
	char	buf[256], *t;

	(void)state;
	for (size_t i = 0; i < NELEM(ids); i++) {
		snprintf(buf, sizeof(buf), "{\"uplinks\":[],\"concentrators\":"
		    "[],\"connections\":[{\"id\":%s,\"target\":\"x:1\"}]}",
		    ids[i]);
		t = status_table_render(buf, strlen(buf));
		assert_non_null(t);
		assert_non_null(strstr(t, "\n00000000 x:1"));
		free(t);
	}
}

static void
test_table_rejects(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "null", "{\"uplinks\":[]}",
		"{\"uplinks\":[],\"concentrators\":[],\"connections\":{}}",
		"{\"uplinks\":1,\"concentrators\":[],\"connections\":[]}",
		"{\"a\":1,\"a\":2}",
	};
	static const char wrong_types[] =
	    "{\"uplinks\":[1,\"x\",{\"name\":5,\"rate_down\":\"fast\"}],"
	    "\"concentrators\":[[]],\"connections\":[{\"subflows\":[7,{}]},"
	    "{\"id\":-1,\"age_ms\":1e308,\"bytes_down\":-5}],"
	    "\"uptime_s\":-1}";
	char	*t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(bad[i], status_table_render(bad[i], strlen(bad[i])) ==
		    NULL);
	/* right shape, wrong member types: rendered with defaults */
	t = status_table_render(wrong_types, sizeof(wrong_types) - 1);
	assert_non_null(t);
	assert_non_null(strstr(t, "up 0h00m00s"));
	free(t);
	/* truncated at every byte: never a crash, never a partial table */
	{
		struct status_snapshot	s = snapshot();
		char			*j = status_json_render(&s);
		size_t			 n = strlen(j);

		for (size_t i = 0; i < n; i++)
			assert_null(status_table_render(j, i));
		free(j);
	}
	assert_null(status_table_render("{}", STATUS_MAX_TEXT + 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_json_pool),
		cmocka_unit_test(test_json_hostile_targets),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_pool),
		cmocka_unit_test(test_table_hostile_ids),
		cmocka_unit_test(test_table_rejects),
	};

	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
