#ifndef MPSOCKS_METRICS_H
#define MPSOCKS_METRICS_H

/*
 * A small metrics registry (counters, gauges, histograms with at most one
 * label) rendered in the Prometheus text exposition format 0.0.4. Pure:
 * no I/O, no globals; the daemons keep one registry in stats.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_FAMILIES	40
#define METRICS_MAX_SERIES	64	/* per family; more fold into "other" */
#define METRICS_MAX_BUCKETS	16
#define METRICS_LABEL_MAX	255	/* bytes of a label value kept */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;				/* opaque: use metrics_*() */

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *);
/*
 * Declares a family; name, help and label are static strings (label NULL:
 * no label). buckets: ascending upper bounds of a histogram (+Inf is
 * added). Returns its handle, or -1 when the registry is full or the
 * arguments are wrong.
 */
int		 metrics_define(struct metrics *, const char *name,
		    enum metric_type, const char *help, const char *label,
		    const double *buckets, size_t n_buckets);
/* Label values are untrusted bytes of any length: kept up to
 * METRICS_LABEL_MAX bytes, escaped when rendered. lv NULL: no label. */
void		 metrics_add(struct metrics *, int fam, const char *lv,
		    double v);
void		 metrics_addn(struct metrics *, int fam, const char *lv,
		    size_t lvlen, double v);
void		 metrics_set(struct metrics *, int fam, const char *lv,
		    double v);
void		 metrics_observe(struct metrics *, int fam, const char *lv,
		    double v);
/* Current value of a counter or gauge series (0 if absent). */
double		 metrics_get(const struct metrics *, int fam, const char *lv);
/* Zeroes every series of a gauge family (before refilling it). */
void		 metrics_reset(struct metrics *, int fam);
/* The whole registry as exposition text; malloc'd, NUL-terminated;
 * NULL on allocation failure. */
char		*metrics_render(const struct metrics *, size_t *len);

/*
 * Copies untrusted bytes as valid UTF-8 without control characters:
 * invalid sequences and C0/DEL bytes become U+FFFD. Writes at most
 * outlen - 1 bytes and a NUL, never cutting a character; returns the
 * length written.
 */
size_t		 metrics_utf8_clean(const char *in, size_t inlen, char *out,
		    size_t outlen);

#endif
