/*
 * /api/status JSON (schema in docs/metrics.md) and its terminal table.
 * Strings that came from the network (targets) are cleaned to valid UTF-8
 * without control bytes before jansson sees them: json_string() refuses
 * invalid UTF-8, and a raw newline or escape in a terminal table would
 * let a target name draw on the operator's screen.
 */

#include "proto/status.h"
#include "proto/metrics.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
jstr(const char *s, size_t len)
{
	char	buf[STATUS_TARGET_MAX * 3 + 1];

	metrics_utf8_clean(s, len, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
jcstr(const char *s)
{
	return jstr(s, strnlen(s, STATUS_TARGET_MAX));
}

static json_t *
jint(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *
subflow_json(const struct status_subflow *sf)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:I}",
	    "id", (json_int_t)sf->id,
	    "local", jcstr(sf->local), "remote", jcstr(sf->remote),
	    "uplink", jcstr(sf->uplink), "state", jcstr(sf->state),
	    "bytes_sent", jint(sf->bytes_sent),
	    "bytes_received", jint(sf->bytes_received),
	    "rtt_us", (json_int_t)sf->rtt_us);
}

static json_t *
conn_json(const struct status_conn *c)
{
	json_t	*sfs = json_array();

	for (size_t i = 0; i < c->n_subflows && i < STATUS_MAX_SUBFLOWS; i++)
		json_array_append_new(sfs, subflow_json(&c->subflows[i]));
	return json_pack("{s:I,s:o,s:b,s:o,s:o,s:o,s:o}",
	    "id", (json_int_t)c->id,
	    "target", jstr(c->target, c->target_len < sizeof(c->target) ?
	    c->target_len : sizeof(c->target)),
	    "mptcp", c->mptcp, "age_ms", jint(c->age_ms),
	    "bytes_up", jint(c->up), "bytes_down", jint(c->down),
	    "subflows", sfs);
}

static json_t *
uplink_json(const struct status_uplink *u)
{
	json_t	*addrs = json_array(), *hist = json_array();

	for (size_t i = 0; i < u->n_addrs && i < STATUS_MAX_ADDRS; i++)
		json_array_append_new(addrs, jcstr(u->addrs[i]));
	for (size_t i = 0; i < u->n_history && i < STATUS_HISTORY; i++)
		json_array_append_new(hist, jint(u->history[i]));
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:f,s:I,s:o}",
	    "name", jcstr(u->name), "interface", jcstr(u->ifname),
	    "state", jcstr(u->state), "addresses", addrs,
	    "bytes_up", jint(u->bytes_up), "bytes_down", jint(u->bytes_down),
	    "rate_up", u->rate_up, "rate_down", u->rate_down,
	    "subflows", (json_int_t)u->subflows, "history", hist);
}

static json_t *
conc_json(const struct status_concentrator *c)
{
	return json_pack("{s:o,s:o,s:o,s:f,s:o,s:o}",
	    "name", jcstr(c->name), "address", jcstr(c->addr),
	    "health", jcstr(c->health), "rtt_ms", c->rtt_ms,
	    "bytes_up", jint(c->bytes_up), "bytes_down", jint(c->bytes_down));
}

static json_t *
pool_json(const struct status_pool *p)
{
	json_t	*ts = json_array();

	for (size_t i = 0; i < p->n_tunnels && i < STATUS_POOL_TUNNELS; i++)
		json_array_append_new(ts, json_pack("{s:o,s:I,s:o}",
		    "uplink", jstr(p->tunnels[i].uplink,
		    strnlen(p->tunnels[i].uplink, STATUS_NAME_MAX)),
		    "subflows", (json_int_t)p->tunnels[i].subflows,
		    "idle_ms", jint(p->tunnels[i].idle_ms)));
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "enabled", p->enabled, "ready", (json_int_t)p->ready,
	    "opening", (json_int_t)p->opening,
	    "target", (json_int_t)p->target,
	    "subflows", (json_int_t)p->subflows,
	    "hits", jint(p->hits), "misses", jint(p->misses),
	    "opened", jint(p->opened), "failed", jint(p->failed),
	    "retry_in_ms", jint(p->retry_in_ms), "tunnels", ts);
}

char *
status_json_render(const struct status_snapshot *s)
{
	json_t	*root, *ups = json_array(), *cs = json_array(),
		*conns = json_array();
	char	*out;

	for (size_t i = 0; i < s->n_uplinks; i++)
		json_array_append_new(ups, uplink_json(&s->uplinks[i]));
	for (size_t i = 0; i < s->n_concentrators; i++)
		json_array_append_new(cs, conc_json(&s->concentrators[i]));
	for (size_t i = 0; i < s->n_conns; i++)
		json_array_append_new(conns, conn_json(&s->conns[i]));
	/* "o" steals the arrays, also when json_pack fails */
	root = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}",
	    "version", jcstr(s->version ? s->version : ""),
	    "role", jcstr(s->role ? s->role : ""),
	    "uptime_s", jint(s->uptime_s), "uplinks", ups,
	    "concentrators", cs, "connections", conns);
	if (root == NULL)
		return NULL;
	/* set_new takes the value, also when it fails */
	if ((s->pool != NULL && json_object_set_new(root, "pool",
	    pool_json(s->pool)) == -1) || (s->has_idle &&
	    json_object_set_new(root, "idle_tunnels",
	    jint(s->idle_tunnels)) == -1)) {
		json_decref(root);
		return NULL;
	}
	out = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	return out;
}

/* --- the terminal table --------------------------------------------- */

/* A string member cleaned and cut to width bytes ("-" if absent). */
static const char *
tstr(json_t *o, const char *key, char *buf, size_t width)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_string(v))
		return "-";
	metrics_utf8_clean(json_string_value(v), json_string_length(v), buf,
	    width + 1);
	return buf;
}

static double
tnum(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

/* A count member: 0 if absent, negative or past any real count. */
static double
tcount(json_t *o, const char *key)
{
	double	v = tnum(o, key);

	return v >= 0 && v < 1e15 ? v : 0;
}

/* A connection id: 0 unless it fits 32 bits (a cast of anything else,
 * -3 or 1e300, is undefined: fuzz_status under UBSan). */
static uint32_t
tid(json_t *o, const char *key)
{
	double	v = tnum(o, key);

	return v >= 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* 1536 -> "1.5K": bytes with a binary prefix, at most 7 columns. */
static const char *
hbytes(double v, char *buf, size_t len)
{
	static const char	units[] = " KMGTPE";
	size_t			u = 0;

	if (!(v >= 0))
		v = 0;
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

static void
table_uplinks(FILE *f, json_t *ups)
{
	char	n[24], st[12], a[48], b1[16], b2[16], b3[16], b4[16];
	size_t	i;
	json_t	*u;

	fprintf(f, "\n%-16s %-6s %4s %9s %9s %9s %9s  %s\n", "UPLINK",
	    "STATE", "SF", "DOWN/s", "UP/s", "DOWN", "UP", "ADDRESS");
	json_array_foreach(ups, i, u) {
		json_t	*ad = json_object_get(u, "addresses");

		if (!json_is_object(u))
			continue;
		fprintf(f, "%-16s %-6s %4.0f %9s %9s %9s %9s  %s\n",
		    tstr(u, "name", n, 16), tstr(u, "state", st, 6),
		    tnum(u, "subflows"),
		    hbytes(tnum(u, "rate_down"), b1, sizeof(b1)),
		    hbytes(tnum(u, "rate_up"), b2, sizeof(b2)),
		    hbytes(tnum(u, "bytes_down"), b3, sizeof(b3)),
		    hbytes(tnum(u, "bytes_up"), b4, sizeof(b4)),
		    json_is_array(ad) && json_is_string(json_array_get(ad, 0)) ?
		    (metrics_utf8_clean(json_string_value(json_array_get(ad,
		    0)), json_string_length(json_array_get(ad, 0)), a,
		    sizeof(a)), a) : "-");
	}
}

static void
table_concentrators(FILE *f, json_t *cs)
{
	char	n[32], a[48], h[12];
	size_t	i;
	json_t	*c;

	fprintf(f, "\n%-24s %-24s %-8s %8s\n", "CONCENTRATOR", "ADDRESS",
	    "HEALTH", "RTT ms");
	json_array_foreach(cs, i, c) {
		if (!json_is_object(c))
			continue;
		char	rtt[16] = "-";

		if (tnum(c, "rtt_ms") >= 0 && tnum(c, "rtt_ms") < 1e6)
			snprintf(rtt, sizeof(rtt), "%.1f", tnum(c, "rtt_ms"));
		fprintf(f, "%-24s %-24s %-8s %8s\n", tstr(c, "name", n, 24),
		    tstr(c, "address", a, 24), tstr(c, "health", h, 8), rtt);
	}
}

/* "pool: 4 ready (8 subflows), 0 opening, target 4, 120 hits / 3
 * misses, ..." and a line per ready tunnel listed. */
static void
table_pool(FILE *f, json_t *p)
{
	char	u[20];
	size_t	i;
	json_t	*t;

	if (!json_is_object(p))
		return;
	if (!json_is_true(json_object_get(p, "enabled"))) {
		fprintf(f, "\npool: off\n");
		return;
	}
	fprintf(f, "\npool: %.0f ready (%.0f subflow%s), %.0f opening, "
	    "target %.0f, %.0f hits / %.0f misses, %.0f opened / %.0f failed",
	    tcount(p, "ready"), tcount(p, "subflows"),
	    tcount(p, "subflows") == 1 ? "" : "s", tcount(p, "opening"),
	    tcount(p, "target"), tcount(p, "hits"), tcount(p, "misses"),
	    tcount(p, "opened"), tcount(p, "failed"));
	if (tcount(p, "retry_in_ms") > 0)
		fprintf(f, ", retrying in %.1f s",
		    tcount(p, "retry_in_ms") / 1000);
	fputc('\n', f);
	json_array_foreach(json_object_get(p, "tunnels"), i, t) {
		const char	*name;

		if (!json_is_object(t))
			continue;
		name = tstr(t, "uplink", u, 16);
		fprintf(f, "  idle %-16s %3.0f sf %8.0f s\n",
		    name[0] != '\0' ? name : "(route)", tcount(t, "subflows"),
		    tcount(t, "idle_ms") / 1000);
	}
}

static void
table_conns(FILE *f, json_t *conns)
{
	char	t[48], l[48], r[48], u[20], st[16], b1[16], b2[16];
	size_t	i, j;
	json_t	*c, *sf;

	fprintf(f, "\nCONNECTIONS %zu\n%-8s %-40s %8s %9s %9s %5s\n",
	    json_array_size(conns), "ID", "TARGET", "AGE s", "DOWN", "UP",
	    "MPTCP");
	json_array_foreach(conns, i, c) {
		json_t	*sfs = json_object_get(c, "subflows");

		if (!json_is_object(c))
			continue;
		fprintf(f, "%08" PRIx32 " %-40s %8.0f %9s %9s %5s\n",
		    tid(c, "id"), tstr(c, "target", t, 40),
		    tnum(c, "age_ms") / 1000,
		    hbytes(tnum(c, "bytes_down"), b1, sizeof(b1)),
		    hbytes(tnum(c, "bytes_up"), b2, sizeof(b2)),
		    json_is_true(json_object_get(c, "mptcp")) ? "yes" : "no");
		json_array_foreach(sfs, j, sf) {
			if (!json_is_object(sf))
				continue;
			fprintf(f, "  sf %-3.0f %-16s %s -> %s %s rtt %.1f ms "
			    "down %s up %s\n", tnum(sf, "id"),
			    tstr(sf, "uplink", u, 16),
			    tstr(sf, "local", l, 47), tstr(sf, "remote", r, 47),
			    tstr(sf, "state", st, 12),
			    tnum(sf, "rtt_us") / 1000,
			    hbytes(tnum(sf, "bytes_received"), b1, sizeof(b1)),
			    hbytes(tnum(sf, "bytes_sent"), b2, sizeof(b2)));
		}
	}
}

char *
status_table_render(const char *json, size_t len)
{
	json_t		*root;
	json_error_t	 e;
	char		*out = NULL, v[32], role[16];
	size_t		 olen = 0;
	FILE		*f;
	uint64_t	 up;

	if (len > STATUS_MAX_TEXT)
		return NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(root) ||
	    !json_is_array(json_object_get(root, "uplinks")) ||
	    !json_is_array(json_object_get(root, "concentrators")) ||
	    !json_is_array(json_object_get(root, "connections")) ||
	    (f = open_memstream(&out, &olen)) == NULL) {
		json_decref(root);
		return NULL;
	}
	up = (uint64_t)(tnum(root, "uptime_s") > 0 &&
	    tnum(root, "uptime_s") < 1e12 ? tnum(root, "uptime_s") : 0);
	fprintf(f, "mpsocks-%s %s, up %" PRIu64 "h%02" PRIu64 "m%02" PRIu64
	    "s\n", tstr(root, "role", role, 8), tstr(root, "version", v, 24),
	    up / 3600, up / 60 % 60, up % 60);
	table_uplinks(f, json_object_get(root, "uplinks"));
	table_concentrators(f, json_object_get(root, "concentrators"));
	table_pool(f, json_object_get(root, "pool"));
	if (json_is_number(json_object_get(root, "idle_tunnels")))
		fprintf(f, "\nidle tunnels: %.0f (opened ahead by homes' pools)"
		    "\n", tcount(root, "idle_tunnels"));
	table_conns(f, json_object_get(root, "connections"));
	json_decref(root);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
