/*
 * stats.c: every metric family of each daemon, with the hooks fed, as
 * the exact /metrics text (golden files tests/unit/golden/metrics_*.txt:
 * renaming a metric breaks dashboards and alerts, so it must show in a
 * diff). Set UPDATE_GOLDEN=1 to rewrite them.
 */

#include "testutil.h"

#include "proto/metrics.h"
#include "common/stats.h"

/* The repository root, from where this file was compiled. */
static const char *
repo_path(const char *rel, char *buf, size_t len)
{
	static const char	self[] = "tests/unit/test_stats.c";
	const char		*f = __FILE__;
	size_t			 fl = strlen(f), sl = strlen(self);

	if (fl >= sl && strcmp(f + fl - sl, self) == 0)
		snprintf(buf, len, "%.*s%s", (int)(fl - sl), f, rel);
	else
		snprintf(buf, len, "%s", rel);
	return buf;
}

static void
check_golden(const char *name, const char *text)
{
	char	path[4096], *want;
	FILE	*f;
	long	n;

	repo_path(name, path, sizeof(path));
	if (getenv("UPDATE_GOLDEN") != NULL) {
		assert_non_null(f = fopen(path, "w"));
		fputs(text, f);
		fclose(f);
	}
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(want = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(want, 1, (size_t)n, f), n);
	fclose(f);
	assert_string_equal(text, want);
	free(want);
}

static void
test_local(void **state)
{
	char	*t;

	(void)state;
	stats_conn_failed(REPLY_GENERAL); /* before init: nothing, no crash */
	assert_null(stats_metrics());
	stats_init(CONFIG_LOCAL);
	stats_conn_opened();
	stats_conn_opened();
	stats_conn_closed();
	stats_conn_failed(REPLY_REFUSED);
	stats_handshake_failed();
	stats_conn_failed((enum reply_code)200);
	stats_mptcp_fallback();
	stats_connect_latency(30);
	stats_uplink_bytes("up1", 100, 2000);
	stats_uplink_bytes("up2", 0, 3000);
	stats_concentrator_bytes("vps.example:8443", 100, 5000);
	stats_relay_bytes(90, 4900);
	stats_subflows_open("up1", 1);
	stats_subflows_open("up2", 1);
	stats_subflow_failed("up2");
	stats_pool(2, 1, 4, 3);
	stats_pool_take(true);
	stats_pool_take(true);
	stats_pool_take(false);
	stats_auth_failed();		/* a server metric: ignored here */
	stats_dns_latency(5);
	stats_idle_tunnels(1);		/* so is this */
	t = metrics_render(stats_metrics(), NULL);
	assert_non_null(t);
	check_golden("tests/unit/golden/metrics_local.txt", t);
	free(t);
	stats_free();
}

static void
test_server(void **state)
{
	char	*t;

	(void)state;
	stats_init(CONFIG_SERVER);
	stats_conn_opened();
	stats_auth_failed();
	stats_dns_latency(0);
	stats_dns_latency(120);
	stats_connect_latency(2);
	stats_relay_bytes(10, 20);
	stats_idle_tunnels(1);
	stats_idle_tunnels(1);
	stats_idle_tunnels(-1);
	stats_uplink_bytes("up1", 1, 1);	/* a local metric: ignored */
	stats_pool(2, 0, 2, 4);			/* so is the pool */
	stats_pool_take(true);
	t = metrics_render(stats_metrics(), NULL);
	assert_non_null(t);
	check_golden("tests/unit/golden/metrics_server.txt", t);
	free(t);
	stats_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_server),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
