/*
 * Prometheus text exposition format 0.0.4 ("Exposition formats" in the
 * Prometheus docs): one HELP and one TYPE line per family, then its
 * samples. Label values are escaped (\\, \", and we never emit a raw
 * newline: control bytes become U+FFFD first) and made valid UTF-8, so a
 * hostile name cannot forge a sample or break a scraper. Pure.
 */

#include "proto/metrics.h"
#include "proto/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct series {
	char		 lv[METRICS_LABEL_MAX + 1];
	size_t		 lvlen;
	bool		 has_label;
	double		 value, sum;
	uint64_t	 count;
	uint64_t	 bucket[METRICS_MAX_BUCKETS];
};

struct family {
	const char	*name, *help, *label;
	enum metric_type type;
	double		 le[METRICS_MAX_BUCKETS];
	size_t		 n_le;
	struct series	*s;
	size_t		 n, cap;
};

struct metrics {
	struct family	 f[METRICS_MAX_FAMILIES];
	size_t		 n;
};

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->f[i].s);
	free(m);
}

int
metrics_define(struct metrics *m, const char *name, enum metric_type type,
    const char *help, const char *label, const double *buckets,
    size_t n_buckets)
{
	struct family	*f;

	if (m->n >= METRICS_MAX_FAMILIES || name == NULL || help == NULL ||
	    n_buckets > METRICS_MAX_BUCKETS ||
	    (type == METRIC_HISTOGRAM) != (n_buckets > 0))
		return -1;
	for (size_t i = 1; i < n_buckets; i++)
		if (!(buckets[i] > buckets[i - 1]))
			return -1;
	f = &m->f[m->n];
	f->name = name;
	f->help = help;
	f->label = label;
	f->type = type;
	if (n_buckets > 0)
		memcpy(f->le, buckets, n_buckets * sizeof(double));
	f->n_le = n_buckets;
	return (int)m->n++;
}

static struct family *
family(struct metrics *m, int fam)
{
	if (m == NULL || fam < 0 || (size_t)fam >= m->n)
		return NULL;
	return &m->f[fam];
}

static struct series *
series_find(struct family *f, const char *lv, size_t lvlen, bool create)
{
	static const char	other[] = "other";

	if (f->label == NULL || lv == NULL) {
		lv = "";
		lvlen = 0;
	}
	if (lvlen > METRICS_LABEL_MAX)
		lvlen = METRICS_LABEL_MAX;
	for (size_t i = 0; i < f->n; i++)
		if (f->s[i].lvlen == lvlen && memcmp(f->s[i].lv, lv, lvlen) == 0)
			return &f->s[i];
	if (!create)
		return NULL;
	if (f->n + 1 >= METRICS_MAX_SERIES && f->label != NULL &&
	    !(lvlen == 5 && memcmp(lv, other, 5) == 0))
		return series_find(f, other, 5, true);	/* bound the memory */
	if (f->n == f->cap) {
		size_t		 cap = f->cap ? f->cap * 2 : 4;
		struct series	*p = realloc(f->s, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		f->s = p;
		f->cap = cap;
	}
	struct series *s = &f->s[f->n++];
	memset(s, 0, sizeof(*s));
	memcpy(s->lv, lv, lvlen);
	s->lvlen = lvlen;
	s->has_label = f->label != NULL;
	return s;
}

void
metrics_addn(struct metrics *m, int fam, const char *lv, size_t lvlen,
    double v)
{
	struct family	*f = family(m, fam);
	struct series	*s;

	if (f == NULL || f->type == METRIC_HISTOGRAM ||
	    (f->type == METRIC_COUNTER && !(v >= 0)))
		return;			/* counters only go up */
	if ((s = series_find(f, lv, lvlen, true)) != NULL)
		s->value += v;
}

void
metrics_add(struct metrics *m, int fam, const char *lv, double v)
{
	metrics_addn(m, fam, lv, lv ? strlen(lv) : 0, v);
}

void
metrics_set(struct metrics *m, int fam, const char *lv, double v)
{
	struct family	*f = family(m, fam);
	struct series	*s;

	if (f == NULL || f->type != METRIC_GAUGE)
		return;
	if ((s = series_find(f, lv, lv ? strlen(lv) : 0, true)) != NULL)
		s->value = v;
}

void
metrics_observe(struct metrics *m, int fam, const char *lv, double v)
{
	struct family	*f = family(m, fam);
	struct series	*s;

	if (f == NULL || f->type != METRIC_HISTOGRAM || isnan(v))
		return;
	if ((s = series_find(f, lv, lv ? strlen(lv) : 0, true)) == NULL)
		return;
	for (size_t i = 0; i < f->n_le; i++)
		if (v <= f->le[i])
			s->bucket[i]++;
	s->count++;
	s->sum += v;
}

double
metrics_get(const struct metrics *m, int fam, const char *lv)
{
	const struct family	*f;
	size_t			 n = lv ? strlen(lv) : 0;

	if (m == NULL || fam < 0 || (size_t)fam >= m->n)
		return 0;
	f = &m->f[fam];
	if (f->type == METRIC_HISTOGRAM)
		return 0;
	if (f->label == NULL)
		n = 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->s[i].lvlen == MIN(n, (size_t)METRICS_LABEL_MAX) &&
		    memcmp(f->s[i].lv, lv ? lv : "", f->s[i].lvlen) == 0)
			return f->s[i].value;
	return 0;
}

void
metrics_reset(struct metrics *m, int fam)
{
	struct family	*f = family(m, fam);

	if (f != NULL && f->type == METRIC_GAUGE)
		f->n = 0;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t		len;
	uint32_t	cp, min;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2; cp = p[0] & 0x1f; min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3; cp = p[0] & 0x0f; min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4; cp = p[0] & 0x07; min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t
metrics_utf8_clean(const char *in, size_t inlen, char *out, size_t outlen)
{
	static const char	repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 o = 0, i = 0, n;

	if (outlen == 0)
		return 0;
	while (i < inlen) {
		const char	*src = (const char *)p + i;

		n = utf8_seq(p + i, inlen - i);
		if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			src = repl;
			i += 1;
			n = 3;
		} else
			i += n;
		if (o + n >= outlen)
			break;
		memcpy(out + o, src, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

/* A growing output buffer that remembers a failed allocation. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
	bool	 oom;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t	 cap = b->cap ? b->cap : 4096;
		char	*p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char	tmp[256];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void
sb_value(struct sbuf *b, double v)
{
	if (isnan(v))
		sb_put(b, "NaN", 3);
	else if (isinf(v))
		sb_put(b, v > 0 ? "+Inf" : "-Inf", 4);
	else if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v)
		sb_printf(b, "%" PRId64, (int64_t)v);
	else {
		/* the shortest of these that reads back exactly */
		char	tmp[40];

		snprintf(tmp, sizeof(tmp), "%.15g", v);
		if (strtod(tmp, NULL) != v)
			snprintf(tmp, sizeof(tmp), "%.17g", v);
		sb_put(b, tmp, strlen(tmp));
	}
}

static void
sb_label_value(struct sbuf *b, const struct series *s)
{
	char	clean[METRICS_LABEL_MAX * 3 + 1];
	size_t	n = metrics_utf8_clean(s->lv, s->lvlen, clean, sizeof(clean));

	for (size_t i = 0; i < n; i++) {
		if (clean[i] == '\\' || clean[i] == '"')
			sb_put(b, "\\", 1);
		sb_put(b, &clean[i], 1);
	}
}

/* name{label="v",le="x"} for one sample; suffix and le may be NULL. */
static void
sb_sample(struct sbuf *b, const struct family *f, const struct series *s,
    const char *suffix, const char *le, double v)
{
	bool	lab = s->has_label;

	sb_printf(b, "%s%s", f->name, suffix ? suffix : "");
	if (lab || le != NULL) {
		sb_put(b, "{", 1);
		if (lab) {
			sb_printf(b, "%s=\"", f->label);
			sb_label_value(b, s);
			sb_put(b, "\"", 1);
		}
		if (le != NULL)
			sb_printf(b, "%sle=\"%s\"", lab ? "," : "", le);
		sb_put(b, "}", 1);
	}
	sb_put(b, " ", 1);
	sb_value(b, v);
	sb_put(b, "\n", 1);
}

static void
render_family(struct sbuf *b, const struct family *f)
{
	static const char *const types[] = {
		[METRIC_COUNTER] = "counter", [METRIC_GAUGE] = "gauge",
		[METRIC_HISTOGRAM] = "histogram",
	};
	char	le[32];

	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
	    f->name, types[f->type]);
	for (size_t i = 0; i < f->n; i++) {
		const struct series *s = &f->s[i];

		if (f->type != METRIC_HISTOGRAM) {
			sb_sample(b, f, s, NULL, NULL, s->value);
			continue;
		}
		for (size_t j = 0; j < f->n_le; j++) {
			snprintf(le, sizeof(le), "%g", f->le[j]);
			sb_sample(b, f, s, "_bucket", le, (double)s->bucket[j]);
		}
		sb_sample(b, f, s, "_bucket", "+Inf", (double)s->count);
		sb_sample(b, f, s, "_sum", NULL, s->sum);
		sb_sample(b, f, s, "_count", NULL, (double)s->count);
	}
	/* a series-less unlabelled family still says 0, so dashboards and
	 * promtool see it from the start */
	if (f->n == 0 && f->label == NULL && f->type != METRIC_HISTOGRAM)
		sb_printf(b, "%s 0\n", f->name);
}

char *
metrics_render(const struct metrics *m, size_t *len)
{
	struct sbuf	b = { 0 };

	sb_put(&b, "", 0);
	for (size_t i = 0; i < m->n; i++)
		render_family(&b, &m->f[i]);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}
