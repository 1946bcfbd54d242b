/*
 * The pre-authentication budget (preauth.h). Per-source counts in an
 * open-addressing table with linear probing; an entry whose count drops
 * to 0 is removed by shifting the rest of its run back (no tombstones),
 * so the table never fills with the dead. Early drop follows OpenSSH's
 * MaxStartups (sshd.c, drop_connection()) with a 32-bit random number
 * in place of arc4random_uniform(100).
 */

#include "server/preauth.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

enum { SRC_EMPTY, SRC_V4, SRC_V6 };

struct src {
	uint64_t	prefix;		/* IPv4 address, or IPv6 /64 */
	uint32_t	count;		/* > 0 for a used slot */
	uint8_t		kind;		/* SRC_* */
};

struct preauth {
	struct preauth_limits	 lim;
	uint64_t		 seed;
	unsigned		 count, n_sources;
	size_t			 nslots;	/* power of two */
	struct src		*slots;
};

void
preauth_limits_default(struct preauth_limits *l)
{
	l->total = PREAUTH_TOTAL;
	l->early_start = PREAUTH_EARLY_START;
	l->early_rate = PREAUTH_EARLY_RATE;
	l->per_v4 = PREAUTH_PER_V4;
	l->per_v6 = PREAUTH_PER_V6;
	l->sources = PREAUTH_SOURCES;
}

struct preauth *
preauth_new(const struct preauth_limits *l, uint64_t seed)
{
	struct preauth	*p;
	size_t		 nslots = 16;

	if (l->total == 0 || l->total > PREAUTH_MAX ||
	    l->early_start > l->total || l->early_rate > 100 ||
	    l->per_v4 == 0 || l->per_v4 > l->total ||
	    l->per_v6 == 0 || l->per_v6 > l->total ||
	    l->sources == 0 || l->sources > PREAUTH_MAX)
		return NULL;
	while (nslots < (size_t)l->sources * 2)
		nslots <<= 1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->slots = calloc(nslots, sizeof(*p->slots))) == NULL) {
		free(p);
		return NULL;
	}
	p->lim = *l;
	p->seed = seed;
	p->nslots = nslots;
	return p;
}

void
preauth_free(struct preauth *p)
{
	if (p == NULL)
		return;
	free(p->slots);
	free(p);
}

/* The source of sa: an IPv4 address (mapped ones too) or an IPv6 /64. */
static bool
source_of(const struct sockaddr *sa, struct src *out)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a;

	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		a = (const uint8_t *)&sin->sin_addr;
		out->kind = SRC_V4;
		out->prefix = (uint64_t)a[0] << 24 | (uint64_t)a[1] << 16 |
		    (uint64_t)a[2] << 8 | a[3];
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	a = sin6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		out->kind = SRC_V4;
		out->prefix = (uint64_t)a[12] << 24 | (uint64_t)a[13] << 16 |
		    (uint64_t)a[14] << 8 | a[15];
		return true;
	}
	out->kind = SRC_V6;
	for (int i = 0; i < 8; i++)
		out->prefix = out->prefix << 8 | a[i];
	return true;
}

static size_t
slot_of(const struct preauth *p, const struct src *s)
{
	uint64_t	h = s->prefix ^ p->seed ^ (uint64_t)s->kind << 62;

	/* splitmix64's finaliser */
	h = (h ^ h >> 30) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ h >> 27) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (size_t)h & (p->nslots - 1);
}

/* Returns s's slot if it has one; else NULL and *free_slot is where it
 * would go (SIZE_MAX if nowhere). */
static struct src *
src_find(const struct preauth *p, const struct src *s, size_t *free_slot)
{
	size_t	i = slot_of(p, s);

	*free_slot = SIZE_MAX;
	for (size_t n = 0; n < p->nslots; n++) {
		struct src	*e = &p->slots[i];

		if (e->kind == SRC_EMPTY) {
			*free_slot = i;
			return NULL;
		}
		if (e->kind == s->kind && e->prefix == s->prefix)
			return e;
		i = (i + 1) & (p->nslots - 1);
	}
	return NULL;
}

/* Removes slot i and shifts back the entries of its run that probed
 * past it (Knuth, TAOCP 6.4, algorithm R). */
static void
src_remove(struct preauth *p, size_t i)
{
	size_t	mask = p->nslots - 1, j = i, home;

	for (;;) {
		p->slots[i].kind = SRC_EMPTY;
		for (;;) {
			j = (j + 1) & mask;
			if (p->slots[j].kind == SRC_EMPTY)
				return;
			home = slot_of(p, &p->slots[j]);
			/* j stays unless its home is cyclically outside
			 * (i, j]: then it may move back to i */
			if (i <= j ? (i < home && home <= j) :
			    (i < home || home <= j))
				continue;
			break;
		}
		p->slots[i] = p->slots[j];
		i = j;
	}
}

/* Whether to drop at p->count connections, as MaxStartups does. */
static bool
early_drop(const struct preauth *p, uint32_t random)
{
	const struct preauth_limits	*l = &p->lim;
	uint64_t			 span, num;

	if (p->count < l->early_start)
		return false;
	span = (uint64_t)(l->total - l->early_start);	/* > 0 here */
	/* drop probability num / (100 * span), from rate % to 100 % */
	num = (uint64_t)l->early_rate * span +
	    (uint64_t)(100 - l->early_rate) * (p->count - l->early_start);
	/* random < 2^32 * num / (100 * span), without a division bias */
	return (uint64_t)random * 100 * span < num << 32;
}

enum preauth_verdict
preauth_admit(struct preauth *p, const struct sockaddr *sa, uint32_t random)
{
	struct src	 s, *e;
	size_t		 free_slot;
	unsigned	 cap;

	if (!source_of(sa, &s))
		return PREAUTH_DROP_SOURCE;
	if (p->count >= p->lim.total)
		return PREAUTH_DROP_TOTAL;
	cap = s.kind == SRC_V4 ? p->lim.per_v4 : p->lim.per_v6;
	e = src_find(p, &s, &free_slot);
	if (e != NULL && e->count >= cap)
		return PREAUTH_DROP_SOURCE;
	if (e == NULL && (p->n_sources >= p->lim.sources ||
	    free_slot == SIZE_MAX))
		return PREAUTH_DROP_TABLE;
	if (early_drop(p, random))
		return PREAUTH_DROP_EARLY;
	if (e == NULL) {
		e = &p->slots[free_slot];
		*e = s;
		p->n_sources++;
	}
	e->count++;
	p->count++;
	return PREAUTH_ADMIT;
}

bool
preauth_release(struct preauth *p, const struct sockaddr *sa)
{
	struct src	 s, *e;
	size_t		 free_slot;

	if (!source_of(sa, &s) || (e = src_find(p, &s, &free_slot)) == NULL)
		return false;
	if (p->count > 0)		/* always: count >= e->count > 0 */
		p->count--;
	if (--e->count == 0) {
		src_remove(p, (size_t)(e - p->slots));
		p->n_sources--;
	}
	return true;
}

unsigned
preauth_count(const struct preauth *p)
{
	return p->count;
}

const char *
preauth_verdict_str(enum preauth_verdict v)
{
	switch (v) {
	case PREAUTH_ADMIT:
		return "admit";
	case PREAUTH_DROP_TOTAL:
		return "preauth_total";
	case PREAUTH_DROP_EARLY:
		return "preauth_early";
	case PREAUTH_DROP_SOURCE:
		return "preauth_source";
	case PREAUTH_DROP_TABLE:
		return "preauth_table_full";
	}
	return "?";
}
