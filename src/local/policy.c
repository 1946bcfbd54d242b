/*
 * Per-destination policy: the tables and the matcher. The rules and lists
 * are read by policy_load.c, which fills these tables through the
 * functions in policy_int.h. Pure: no sockets; the only files are the
 * GeoIP databases, opened by the loader.
 */

#include "local/policy.h"
#include "policy_int.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOM_MIN_CAP	64

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
    0xff };

/* FNV-1a: names are already folded to lower case. */
static uint64_t
dom_hash(const char *s, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ULL;
	}
	return h | 1;			/* 0 marks an empty slot */
}

static struct dom_ent *
dom_find(const struct dom_table *d, const char *s, size_t n)
{
	uint64_t	h;
	size_t		i;

	if (d->cap == 0)
		return NULL;
	h = dom_hash(s, n);
	for (i = h & (d->cap - 1); d->v[i].hash != 0;
	    i = (i + 1) & (d->cap - 1)) {
		struct dom_ent *e = &d->v[i];

		if (e->hash == h && e->len == n &&
		    memcmp(d->names + e->off, s, n) == 0)
			return e;
	}
	return NULL;
}

static bool
dom_grow(struct dom_table *d)
{
	size_t		 ncap = d->cap ? d->cap * 2 : DOM_MIN_CAP;
	struct dom_ent	*nv = calloc(ncap, sizeof(*nv));

	if (nv == NULL)
		return false;
	for (size_t i = 0; i < d->cap; i++) {
		size_t j;

		if (d->v[i].hash == 0)
			continue;
		for (j = d->v[i].hash & (ncap - 1); nv[j].hash != 0;
		    j = (j + 1) & (ncap - 1))
			;
		nv[j] = d->v[i];
	}
	free(d->v);
	d->v = nv;
	d->cap = ncap;
	return true;
}

bool
policy_dom_add(struct dom_table *d, const char *name, bool suffix,
    unsigned rule)
{
	size_t		 n = strlen(name), i;
	struct dom_ent	*e = dom_find(d, name, n);
	uint64_t	 h;
	unsigned	 labels = 1;

	if (e == NULL) {
		if ((d->n + 1) * 2 > d->cap && !dom_grow(d))
			return false;
		if (d->names_len + n > d->names_cap) {
			size_t	 ncap = MAX(d->names_cap * 2, 4096);
			char	*p;

			while (ncap < d->names_len + n)
				ncap *= 2;
			if ((p = realloc(d->names, ncap)) == NULL)
				return false;
			d->names = p;
			d->names_cap = ncap;
		}
		memcpy(d->names + d->names_len, name, n);
		h = dom_hash(name, n);
		for (i = h & (d->cap - 1); d->v[i].hash != 0;
		    i = (i + 1) & (d->cap - 1))
			;
		e = &d->v[i];
		e->hash = h;
		e->off = (uint32_t)d->names_len;
		e->len = (uint16_t)n;
		d->names_len += n;
		d->n++;
	}
	for (const char *c = name; *c != '\0'; c++)
		labels += *c == '.';
	d->labels[labels / 64] |= 1ULL << (labels % 64);	/* < 128 */
	if (suffix)
		e->suffix |= 1ULL << rule;
	else
		e->exact |= 1ULL << rule;
	return true;
}

static bool
dom_has_labels(const struct dom_table *d, unsigned n)
{
	return n < 256 && (d->labels[n / 64] & (1ULL << (n % 64))) != 0;
}

static void
dom_free(struct dom_table *d)
{
	free(d->v);
	free(d->names);
	memset(d, 0, sizeof(*d));
}

/* Bit i of an address, most significant first. */
static unsigned
addr_bit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

bool
policy_trie_add(struct trie *t, const struct cidr *c, unsigned rule)
{
	const uint8_t	*a = c->addr;
	unsigned	 prefix = c->prefix;
	uint32_t	 node;

	if (t->n == 0) {		/* the two roots: IPv4, IPv6 */
		if ((t->v = calloc(64, sizeof(*t->v))) == NULL)
			return false;
		t->cap = 64;
		t->n = 2;
	}
	if (c->family == AF_INET6 && prefix >= 96 &&
	    memcmp(a, v4mapped, 12) == 0) {
		a += 12;		/* ::ffff:a.b.c.d/n is IPv4 */
		prefix -= 96;
		node = 0;
	} else
		node = c->family == AF_INET ? 0 : 1;
	for (unsigned i = 0; i < prefix; i++) {
		unsigned b = addr_bit(a, i);

		if (t->v[node].child[b] == 0) {
			if (t->n == t->cap) {
				struct tnode *p = realloc(t->v,
				    t->cap * 2 * sizeof(*p));

				if (p == NULL)
					return false;
				t->v = p;
				t->cap *= 2;
			}
			memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
			t->v[node].child[b] = (uint32_t)t->n++;
		}
		node = t->v[node].child[b];
	}
	t->v[node].rules |= 1ULL << rule;
	return true;
}

static uint32_t
trie_place(const struct trie *t, struct tnode *nv, size_t *next,
    uint32_t old)
{
	uint32_t	at = (uint32_t)(*next)++;

	nv[at] = t->v[old];
	for (unsigned b = 0; b < 2; b++)
		if (t->v[old].child[b] != 0)
			nv[at].child[b] = trie_place(t, nv, next,
			    t->v[old].child[b]);
	return at;
}

bool
policy_trie_compact(struct trie *t)
{
	struct tnode	*nv;
	size_t		 next = 2;

	if (t->n <= 2)
		return true;
	if ((nv = malloc(t->n * sizeof(*nv))) == NULL)
		return false;
	for (uint32_t r = 0; r < 2; r++) {	/* the roots stay 0 and 1 */
		nv[r] = t->v[r];
		for (unsigned b = 0; b < 2; b++)
			if (t->v[r].child[b] != 0)
				nv[r].child[b] = trie_place(t, nv, &next,
				    t->v[r].child[b]);
	}
	free(t->v);
	t->v = nv;
	t->cap = t->n;
	return true;
}

/*
 * Rules whose networks hold the address; depth[r] gets the longest
 * matching prefix for each rule hit (for "why").
 */
static uint64_t
trie_lookup(const struct trie *t, int family, const uint8_t *a,
    uint8_t depth[64])
{
	uint64_t	hits = 0;
	uint32_t	node;
	unsigned	bits, i;

	if (t->n == 0)
		return 0;
	node = family == AF_INET ? 0 : 1;
	bits = family == AF_INET ? 32 : 128;
	for (i = 0;; i++) {
		uint64_t r = t->v[node].rules;

		for (uint64_t m = depth != NULL ? r : 0; m != 0; m &= m - 1)
			depth[__builtin_ctzll(m)] = (uint8_t)i;
		hits |= r;
		if (i == bits || (node = t->v[node].child[addr_bit(a,
		    i)]) == 0)
			break;
	}
	return hits;
}

const char *
policy_action_str(enum policy_action a)
{
	return a == POLICY_DIRECT ? "direct" : a == POLICY_REJECT ? "reject" :
	    "bond";
}

bool
policy_norm_domain(const char *in, char *out, size_t outlen, bool *suffix)
{
	size_t	n = strlen(in), j = 0;
	char	prev = '.';

	*suffix = false;
	if (n > 0 && in[0] == '.') {
		*suffix = true;
		in++;
		n--;
	}
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.'))
			return false;
		if (c == '.' && prev == '.')
			return false;	/* empty label */
		out[j++] = prev = c;
	}
	out[j] = '\0';
	return true;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	dom_free(&p->dom);
	free(p->trie.v);
	free(p->local.v);
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].ports);
		free(p->rules[i].countries);
		free(p->rules[i].asns);
	}
	if (p->have_country_db)
		MMDB_close(&p->country_db);
	if (p->have_asn_db)
		MMDB_close(&p->asn_db);
	free(p);
}

bool
policy_add_local_net(struct policy *p, const struct cidr *c)
{
	return policy_trie_add(&p->local, c, 63);
}

size_t
policy_rule_count(const struct policy *p)
{
	return p->n_rules;
}

size_t
policy_memory(const struct policy *p)
{
	return sizeof(*p) + p->dom.cap * sizeof(*p->dom.v) +
	    p->dom.names_cap + (p->trie.cap + p->local.cap) *
	    sizeof(struct tnode);
}

/* What the match knows about the target, gathered once. */
struct facts {
	const struct target	*t;
	char			 name[TARGET_MAX_NAME + 1];	/* folded */
	bool			 is_name;
	uint64_t		 dom_hits;
	/* the entries hit, longest name first, for "why" */
	const struct dom_ent	*hit[POLICY_MAX_HITS];
	const char		*hit_at[POLICY_MAX_HITS];
	unsigned		 n_hit;
	int			 family;	/* 0: no address */
	uint8_t			 addr[16];
	char			 addr_str[INET6_ADDRSTRLEN];
	uint64_t		 cidr_hits;
	uint8_t			 depth[64];
	bool			 geo_done;
};

static void
facts_domain(const struct policy *p, struct facts *f)
{
	bool			 suf;
	const struct dom_ent	*e;

	unsigned		 labels = 1;

	if (!policy_norm_domain(f->t->name, f->name, sizeof(f->name), &suf) ||
	    suf)
		return;
	for (const char *c = f->name; *c != '\0'; c++)
		labels += *c == '.';
	/* only the suffixes with as many labels as some entry has */
	for (const char *s = f->name; s != NULL; s = strchr(s, '.'),
	    labels--) {
		if (*s == '.')
			s++;
		if (!dom_has_labels(&p->dom, labels) ||
		    (e = dom_find(&p->dom, s, strlen(s))) == NULL)
			continue;
		f->dom_hits |= e->suffix | (s == f->name ? e->exact : 0);
		if (f->n_hit < POLICY_MAX_HITS) {
			f->hit[f->n_hit] = e;
			f->hit_at[f->n_hit++] = s;
		}
	}
}

static void
facts_addr(const struct policy *p, struct facts *f, const struct sockaddr *sa)
{
	const struct target	*t = f->t;

	if (t->atyp == TARGET_IPV4 || t->atyp == TARGET_IPV6) {
		f->family = t->atyp == TARGET_IPV4 ? AF_INET : AF_INET6;
		memcpy(f->addr, t->addr, t->atyp == TARGET_IPV4 ? 4 : 16);
	} else if (sa != NULL && sa->sa_family == AF_INET) {
		f->family = AF_INET;
		memcpy(f->addr, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		f->family = AF_INET6;
		memcpy(f->addr, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, 16);
	} else
		return;
	if (f->family == AF_INET6 && memcmp(f->addr, v4mapped, 12) == 0) {
		memmove(f->addr, f->addr + 12, 4);	/* mapped: IPv4 */
		f->family = AF_INET;
	}
	f->cidr_hits = trie_lookup(&p->trie, f->family, f->addr, f->depth);
}

/* The address as text, made only when a "why" needs it. */
static const char *
addr_str(struct facts *f)
{
	if (f->addr_str[0] == '\0')
		inet_ntop(f->family, f->addr, f->addr_str, sizeof(f->addr_str));
	return f->addr_str;
}

static void
geo_lookup(const struct policy *p, struct facts *f, struct policy_verdict *v)
{
	struct sockaddr_storage	ss = { 0 };
	MMDB_lookup_result_s	r;
	MMDB_entry_data_s	d;
	int			e;

	if (f->geo_done || f->family == 0)
		return;
	f->geo_done = true;
	if (f->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, f->addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, f->addr, 16);
	}
	if (p->have_country_db) {
		r = MMDB_lookup_sockaddr(&p->country_db,
		    (struct sockaddr *)&ss, &e);
		if (e == MMDB_SUCCESS && r.found_entry &&
		    MMDB_get_value(&r.entry, &d, "country", "iso_code",
		    NULL) == MMDB_SUCCESS && d.has_data &&
		    d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
			memcpy(v->country, d.utf8_string, 2);
			v->country[0] &= ~0x20;		/* upper case */
			v->country[1] &= ~0x20;
			v->country[2] = '\0';
		}
	}
	if (p->have_asn_db) {
		r = MMDB_lookup_sockaddr(&p->asn_db,
		    (struct sockaddr *)&ss, &e);
		if (e == MMDB_SUCCESS && r.found_entry &&
		    MMDB_get_value(&r.entry, &d, "autonomous_system_number",
		    NULL) == MMDB_SUCCESS && d.has_data &&
		    d.type == MMDB_DATA_TYPE_UINT32)
			v->asn = d.uint32;
	}
}

static void
why_add(struct policy_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
why_add(struct policy_verdict *v, const char *fmt, ...)
{
	size_t	n = strlen(v->why);
	va_list	ap;

	if (n > 0 && n + 5 < sizeof(v->why)) {
		memcpy(v->why + n, " and ", 6);
		n += 5;
	}
	va_start(ap, fmt);
	vsnprintf(v->why + n, sizeof(v->why) - n, fmt, ap);
	va_end(ap);
}

/* The entry that made rule r match the name: the exact name, or the
 * longest suffix. */
static void
why_domain(const struct policy *p, const struct facts *f, unsigned r,
    struct policy_verdict *v)
{
	uint64_t	bit = 1ULL << r;

	(void)p;
	for (unsigned i = 0; i < f->n_hit; i++) {
		const struct dom_ent	*e = f->hit[i];
		const char		*s = f->hit_at[i];

		if (s == f->name && (e->exact & bit)) {
			why_add(v, "domain %s (exact)", s);
			return;
		}
		if (e->suffix & bit) {
			why_add(v, "domain %s matches suffix .%s", f->name, s);
			return;
		}
	}
}

static void
why_cidr(struct facts *f, unsigned r, struct policy_verdict *v)
{
	uint8_t	net[16] = { 0 };
	char	buf[INET6_ADDRSTRLEN];
	unsigned d = f->depth[r];

	memcpy(net, f->addr, f->family == AF_INET ? 4 : 16);
	for (unsigned i = d; i < (f->family == AF_INET ? 32u : 128u); i++)
		net[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	inet_ntop(f->family, net, buf, sizeof(buf));
	why_add(v, "address %s in %s/%u", addr_str(f), buf, d);
}

static bool
rule_port_ok(const struct prule *r, uint16_t port)
{
	for (size_t i = 0; i < r->n_ports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

static bool
rule_country_ok(const struct prule *r, const char *cc)
{
	for (size_t i = 0; cc[0] != '\0' && i < r->n_countries; i++)
		if (memcmp(r->countries[i], cc, 2) == 0)
			return true;
	return false;
}

static bool
rule_asn_ok(const struct prule *r, uint32_t asn)
{
	for (size_t i = 0; asn != 0 && i < r->n_asns; i++)
		if (r->asns[i] == asn)
			return true;
	return false;
}

/* Does rule i hold for what f knows? -1: it needs an address. */
static int
rule_test(const struct policy *p, struct facts *f, unsigned i,
    bool resolve_failed, struct policy_verdict *v)
{
	const struct prule	*r = &p->rules[i];
	uint64_t		 bit = 1ULL << i;

	if ((r->kinds & K_DOMAIN) && !(f->dom_hits & bit))
		return 0;
	if ((r->kinds & K_PORT) && !rule_port_ok(r, f->t->port))
		return 0;
	if (r->kinds & (K_CIDR | K_COUNTRY | K_ASN)) {
		if (f->family == 0)
			return f->is_name && !resolve_failed ? -1 : 0;
		if ((r->kinds & K_CIDR) && !(f->cidr_hits & bit))
			return 0;
		if (r->kinds & (K_COUNTRY | K_ASN))
			geo_lookup(p, f, v);
		if ((r->kinds & K_COUNTRY) && !rule_country_ok(r, v->country))
			return 0;
		if ((r->kinds & K_ASN) && !rule_asn_ok(r, v->asn))
			return 0;
	}
	return 1;
}

static void
rule_explain(const struct policy *p, struct facts *f, unsigned i,
    struct policy_verdict *v)
{
	const struct prule	*r = &p->rules[i];

	if (r->kinds & K_DOMAIN)
		why_domain(p, f, i, v);
	if (r->kinds & K_CIDR)
		why_cidr(f, i, v);
	if (r->kinds & K_COUNTRY)
		why_add(v, "address %s in country %s", addr_str(f),
		    v->country);
	if (r->kinds & K_ASN)
		why_add(v, "address %s in AS%" PRIu32, addr_str(f),
		    v->asn);
	if (r->kinds & K_PORT)
		why_add(v, "port %u", f->t->port);
	if (r->kinds & K_ANY)
		why_add(v, "any");
}

static bool
is_localhost(const char *name)
{
	size_t	n = strlen(name);

	return strcmp(name, "localhost") == 0 ||
	    (n > 10 && strcmp(name + n - 10, ".localhost") == 0);
}

void
policy_match(const struct policy *p, const struct target *t,
    const struct sockaddr *sa, bool resolve_failed,
    struct policy_verdict *v)
{
	struct facts	f = { .t = t, .is_name = t->atyp == TARGET_DOMAIN };
	int		rc;

	memset(v, 0, sizeof(*v));
	if (f.is_name)
		facts_domain(p, &f);
	facts_addr(p, &f, sa);
	for (unsigned i = 0; i < p->n_rules; i++) {
		if ((rc = rule_test(p, &f, i, resolve_failed, v)) == 0)
			continue;
		if (rc < 0) {
			v->need_addr = true;
			v->rule = p->rules[i].name;
			snprintf(v->why, sizeof(v->why), "rule %s needs the "
			    "address of %s", p->rules[i].name, f.name);
			return;
		}
		v->action = p->rules[i].action;
		v->rule = p->rules[i].name;
		v->pin = &p->rules[i].pin;
		rule_explain(p, &f, i, v);
		goto done;
	}
	/* Built-in defaults look only at addresses the app gave, never at
	 * names, which would have to be resolved here (a DNS leak). */
	if (f.is_name && is_localhost(f.name)) {
		v->action = POLICY_DIRECT;
		v->rule = "builtin-local";
		why_add(v, "%s is this host", f.name);
	} else if (!f.is_name && trie_lookup(&p->local, f.family, f.addr,
	    f.depth) != 0) {
		v->action = POLICY_DIRECT;
		v->rule = "builtin-local";
		why_add(v, "address %s is loopback, private, link-local, "
		    "CGNAT or this host's network", addr_str(&f));
	} else {
		v->action = POLICY_BOND;
		v->rule = "default";
		why_add(v, "no rule matched");
	}
	v->pin = &p->no_pin;
done:
	if (f.family != 0) {
		geo_lookup(p, &f, v);
		if (f.is_name)
			why_add(v, "resolved %s", addr_str(&f));
	}
}
