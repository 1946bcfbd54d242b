/*
 * What a status reader and the renderers get from outside: the terminal
 * table from any JSON text (status_table_render), and the input's bytes
 * as a target name and a metrics label value, whose renderings must stay
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
	struct status_snapshot	s = { .version = "v", .role = "local",
				    .n_conns = 1, .conns = &c };
	char			*t;
	json_t			*j;

	c.target_len = size < sizeof(c.target) ? size : sizeof(c.target);
	memcpy(c.target, data, c.target_len);
	t = status_json_render(&s);
	FUZZ_CHECK(t != NULL);
	j = json_loads(t, 0, NULL);
	FUZZ_CHECK(j != NULL);
	json_decref(j);
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
