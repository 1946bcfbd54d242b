/*
 * What a status reader and the renderers get from outside: the terminal
 * table from any JSON text (status_table_render, its "pool" object
 * included), and the input's bytes as a target name, a pooled tunnel's
 * uplink name and a metrics label value, whose renderings must stay
 * valid (JSON that parses back; one exposition line per sample).
 */

#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "proto/metrics.h"
#include "proto/status.h"

static void
check_json_render(const uint8_t *data, size_t size)
{
	struct status_conn	c = { .id = 1 };
	struct status_pool	p = { .enabled = true, .ready = 1,
				    .n_tunnels = 1 };
	struct status_snapshot	s = { .version = "v", .role = "local",
				    .n_conns = 1, .conns = &c, .pool = &p };
	char			*t, *table;
	json_t			*j;

	c.target_len = size < sizeof(c.target) ? size : sizeof(c.target);
	memcpy(c.target, data, c.target_len);
	/* not NUL-terminated when it fills the field: the renderer bounds
	 * it */
	memcpy(p.tunnels[0].uplink, data, size < sizeof(p.tunnels[0].uplink) ?
	    size : sizeof(p.tunnels[0].uplink));
	t = status_json_render(&s);
	FUZZ_CHECK(t != NULL);
	j = json_loads(t, 0, NULL);
	FUZZ_CHECK(j != NULL);
	json_decref(j);
	/* and what we render, we read back */
	table = status_table_render(t, strlen(t));
	FUZZ_CHECK(table != NULL && strstr(table, "\npool: 1 ready") != NULL);
	free(table);
	free(t);
}

static void
check_metrics_render(const uint8_t *data, size_t size)
{
	struct metrics	*m = metrics_new();
	int		 f = metrics_define(m, "t_total", METRIC_COUNTER, "T.",
			    "target", NULL, 0);
	size_t		 len, lines = 0;
	char		*t;

	FUZZ_CHECK(m != NULL && f >= 0);
	metrics_addn(m, f, (const char *)data, size, 1);
	t = metrics_render(m, &len);
	FUZZ_CHECK(t != NULL && strlen(t) == len);
	for (size_t i = 0; i < len; i++)
		lines += t[i] == '\n';
	FUZZ_CHECK(lines == 3);		/* HELP, TYPE, one sample */
	free(t);
	metrics_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*t;

	t = status_table_render((const char *)data, size);
	free(t);
	check_json_render(data, size);
	check_metrics_render(data, size);
	return 0;
}
