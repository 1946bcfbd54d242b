/*
 * Per-destination policy: the loader. config.c hands over the keys of
 * [rule NAME] and [geoip] sections (policy_section_cb); list files
 * (domains_from, cidrs_from) are read as their key is met, so their errors
 * carry the list's own file:line. policy_builder_finish() checks each rule
 * as a whole and opens the GeoIP databases.
 */

#include "local/policy.h"
#include "policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct policy_builder {
	struct policy	*p;
	char		 section[POLICY_MAX_NAME + 8];	/* current one */
	struct prule	*cur;		/* NULL: not a rule section */
	char		 country_db[PATH_MAX], asn_db[PATH_MAX];
	unsigned	 country_db_line, asn_db_line;
	const char	*file;
	bool		 too_many;	/* reported once */
};

/* Error sink for one key: counts and reports at file:line. */
struct perr {
	const char	*file;
	unsigned	 line;
	config_err_cb	*cb;
	void		*arg;
	int		 n;
};

static void
perr(struct perr *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
perr(struct perr *e, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->n++;
	e->cb(e->arg, e->file, e->line, msg);
}

struct policy_builder *
policy_builder_new(void)
{
	struct policy_builder	*b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	if ((b->p = calloc(1, sizeof(*b->p))) == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

void
policy_builder_free(struct policy_builder *b)
{
	if (b == NULL)
		return;
	policy_free(b->p);
	free(b);
}

static bool
grow(void *pp, size_t n, size_t size)
{
	void	**p = pp;
	void	 *q;

	if (n % 8 != 0)
		return true;
	if ((q = realloc(*p, (n + 8) * size)) == NULL)
		return false;
	*p = q;
	return true;
}

static bool
parse_u32(const char *v, uint32_t max, uint32_t *out)
{
	char		*end;
	unsigned long	 n;

	if (v[0] < '0' || v[0] > '9')
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || errno != 0 || n > max)
		return false;
	*out = (uint32_t)n;
	return true;
}

static bool
parse_ports(const char *v, struct port_range *pr)
{
	char		 lo[8];
	const char	*dash = strchr(v, '-');
	size_t		 n = dash ? (size_t)(dash - v) : strlen(v);
	uint32_t	 a, z;

	if (n == 0 || n >= sizeof(lo))
		return false;
	memcpy(lo, v, n);
	lo[n] = '\0';
	if (!parse_u32(lo, 65535, &a) || a == 0)
		return false;
	if (dash == NULL)
		z = a;
	else if (!parse_u32(dash + 1, 65535, &z) || z < a)
		return false;
	pr->lo = (uint16_t)a;
	pr->hi = (uint16_t)z;
	return true;
}

/* One domain, from the config or a list; false (reported) if bad. */
static bool
add_domain(struct policy_builder *b, struct perr *e, const char *v)
{
	char	name[256];
	bool	suffix;

	if (!policy_norm_domain(v, name, sizeof(name), &suffix)) {
		perr(e, "rule %s: \"%.64s\" is not a domain (example.com, or "
		    ".example.com for it and its subdomains)", b->cur->name, v);
		return false;
	}
	if (!policy_dom_add(&b->p->dom, name, suffix,
	    (unsigned)(b->cur - b->p->rules))) {
		perr(e, "out of memory");
		return false;
	}
	b->cur->kinds |= K_DOMAIN;
	return true;
}

static bool
add_cidr(struct policy_builder *b, struct perr *e, const char *v)
{
	struct cidr	c;

	if (!cidr_parse(v, &c)) {
		perr(e, "rule %s: \"%.64s\" is not a network (like "
		    "10.0.0.0/8 or fd00::/8, host bits zero) or an address",
		    b->cur->name, v);
		return false;
	}
	if (!policy_trie_add(&b->p->trie, &c,
	    (unsigned)(b->cur - b->p->rules))) {
		perr(e, "out of memory");
		return false;
	}
	b->cur->kinds |= K_CIDR;
	return true;
}

/*
 * A list file: one entry a line; blank lines and '#' comments skipped,
 * blanks around entries trimmed. Errors name the list's file:line; after
 * POLICY_MAX_FILE_ERRORS the rest of the file is not read.
 */
/*
 * Reads the next line into buf (NUL-terminated, newline dropped); a line
 * longer than the buffer is skipped to its end and *too_long set. Returns
 * the line's length, or -1 at the end or past POLICY_MAX_LIST_BYTES (a
 * list pointed at /dev/zero must not eat the memory).
 */
static ssize_t
read_line(FILE *f, char *buf, size_t cap, size_t *total, bool *too_long)
{
	size_t	n = 0;
	int	c;

	*too_long = false;
	while ((c = getc(f)) != EOF) {
		if (++*total > POLICY_MAX_LIST_BYTES)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			*too_long = true;
	}
	if (c == EOF && n == 0 && !*too_long)
		return -1;
	while (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (ssize_t)n;
}

/*
 * A list file: one entry a line; blank lines and '#' comments skipped,
 * blanks around entries trimmed. Errors name the list's file:line; after
 * POLICY_MAX_FILE_ERRORS the rest of the file is not read.
 */
static void
load_list(struct policy_builder *b, struct perr *ce, const char *path,
    bool (*add)(struct policy_builder *, struct perr *, const char *))
{
	struct perr	 e = { .file = path, .cb = ce->cb, .arg = ce->arg };
	FILE		*f;
	char		 line[POLICY_MAX_LIST_LINE + 2];
	size_t		 total = 0;
	ssize_t		 len;
	bool		 too_long;

	if ((f = fopen(path, "re")) == NULL) {
		perr(ce, "rule %s: %s: %s", b->cur->name, path,
		    strerror(errno));
		return;
	}
	while ((len = read_line(f, line, sizeof(line), &total,
	    &too_long)) != -1) {
		char	*s = line, *end;
		size_t	 n = (size_t)len;

		e.line++;
		if (too_long || n > POLICY_MAX_LIST_LINE) {
			perr(&e, "line longer than %d bytes",
			    POLICY_MAX_LIST_LINE);
			goto next;
		}
		if (memchr(s, '\0', n) != NULL) {
			perr(&e, "NUL byte in line");
			goto next;
		}
		if ((end = strchr(s, '#')) != NULL)
			*end = '\0';
		s += strspn(s, " \t");
		n = strcspn(s, " \t");
		if (s[n + strspn(s + n, " \t")] != '\0') {
			perr(&e, "one entry per line");
			goto next;
		}
		s[n] = '\0';
		if (n > 0)
			add(b, &e, s);
next:
		if (e.n >= POLICY_MAX_FILE_ERRORS) {
			e.line = 0;
			perr(&e, "too many errors, rest of the file skipped");
			break;
		}
	}
	if (total > POLICY_MAX_LIST_BYTES) {
		e.line = 0;
		perr(&e, "larger than %d MiB", POLICY_MAX_LIST_BYTES >> 20);
	}
	ce->n += e.n;
	fclose(f);
}

static void
set_action(struct prule *r, struct perr *e, const char *v)
{
	if (r->action_set)
		perr(e, "rule %s: action given twice", r->name);
	else if (strcasecmp(v, "bond") == 0)
		r->action = POLICY_BOND;
	else if (strcasecmp(v, "direct") == 0)
		r->action = POLICY_DIRECT;
	else if (strcasecmp(v, "reject") == 0)
		r->action = POLICY_REJECT;
	else {
		perr(e, "rule %s: action \"%.64s\" is not bond, direct or "
		    "reject", r->name, v);
		return;
	}
	r->action_set = true;
}

static void
set_source(struct prule *r, struct perr *e, const char *v)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&r->pin.source;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&r->pin.source;

	if (inet_pton(AF_INET, v, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		r->pin.source_len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, v, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		r->pin.source_len = sizeof(*sin6);
	} else
		perr(e, "rule %s: source \"%.64s\" is not an address",
		    r->name, v);
}

/* key_name_eq() of config.c: '-' is taken for '_'. */
static bool
keyeq(const char *want, const char *got)
{
	for (; *want != '\0' && *got != '\0'; want++, got++)
		if (*want != *got && !(*want == '_' && *got == '-'))
			return false;
	return *want == *got;
}

static void
add_port(struct prule *r, struct perr *e, const char *v)
{
	if (!grow(&r->ports, r->n_ports, sizeof(*r->ports)))
		perr(e, "out of memory");
	else if (!parse_ports(v, &r->ports[r->n_ports]))
		perr(e, "rule %s: port \"%.64s\" is not PORT or LO-HI "
		    "(1..65535)", r->name, v);
	else {
		r->n_ports++;
		r->kinds |= K_PORT;
	}
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void
add_country(struct prule *r, struct perr *e, const char *v)
{
	if (strlen(v) != 2 || !is_alpha(v[0]) || !is_alpha(v[1]))
		perr(e, "rule %s: country \"%.64s\" is not a two-letter ISO "
		    "code", r->name, v);
	else if (!grow(&r->countries, r->n_countries, sizeof(*r->countries)))
		perr(e, "out of memory");
	else {
		r->countries[r->n_countries][0] = (char)(v[0] & ~0x20);
		r->countries[r->n_countries++][1] = (char)(v[1] & ~0x20);
		r->kinds |= K_COUNTRY;
	}
}

static void
add_asn(struct prule *r, struct perr *e, const char *v)
{
	uint32_t	asn;

	if (strncasecmp(v, "AS", 2) == 0)
		v += 2;
	if (!parse_u32(v, UINT32_MAX, &asn) || asn == 0)
		perr(e, "rule %s: asn \"%.64s\" is not a number", r->name, v);
	else if (!grow(&r->asns, r->n_asns, sizeof(*r->asns)))
		perr(e, "out of memory");
	else {
		r->asns[r->n_asns++] = asn;
		r->kinds |= K_ASN;
	}
}

static void
rule_key(struct policy_builder *b, struct perr *e, const char *k,
    const char *v)
{
	struct prule	*r = b->cur;

	if (keyeq("domain", k))
		add_domain(b, e, v);
	else if (keyeq("domains_from", k))
		load_list(b, e, v, add_domain);
	else if (keyeq("cidr", k))
		add_cidr(b, e, v);
	else if (keyeq("cidrs_from", k))
		load_list(b, e, v, add_cidr);
	else if (keyeq("port", k))
		add_port(r, e, v);
	else if (keyeq("country", k))
		add_country(r, e, v);
	else if (keyeq("asn", k))
		add_asn(r, e, v);
	else if (keyeq("any", k)) {
		if (strcasecmp(v, "yes") != 0 && strcasecmp(v, "true") != 0)
			perr(e, "rule %s: any must be yes", r->name);
		else
			r->kinds |= K_ANY;
	} else if (keyeq("action", k))
		set_action(r, e, v);
	else if (keyeq("uplink", k)) {
		if (strlen(v) >= sizeof(r->uplink) || v[0] == '\0')
			perr(e, "rule %s: uplink name empty or too long",
			    r->name);
		else
			strcpy(r->uplink, v);
	} else if (keyeq("interface", k)) {
		if (strlen(v) >= sizeof(r->pin.ifname) || v[0] == '\0' ||
		    strchr(v, '/') != NULL)
			perr(e, "rule %s: \"%.64s\" is not an interface name",
			    r->name, v);
		else
			strcpy(r->pin.ifname, v);
	} else if (keyeq("source", k))
		set_source(r, e, v);
	else
		perr(e, "rule %s: unknown key %.64s", r->name, k);
}

static void
geoip_key(struct policy_builder *b, struct perr *e, const char *k,
    const char *v)
{
	char		*dst;
	unsigned	*at;

	if (keyeq("country_db", k)) {
		dst = b->country_db;
		at = &b->country_db_line;
	} else if (keyeq("asn_db", k)) {
		dst = b->asn_db;
		at = &b->asn_db_line;
	} else {
		perr(e, "geoip.%.64s: unknown key", k);
		return;
	}
	if (v[0] == '\0' || strlen(v) >= PATH_MAX)
		perr(e, "geoip.%s: empty or too long", k);
	else {
		strcpy(dst, v);
		*at = e->line;
	}
}

/* A new [rule NAME] section. NULL (reported) if it cannot be one. */
static struct prule *
rule_begin(struct policy_builder *b, struct perr *e, const char *name)
{
	struct policy	*p = b->p;
	struct prule	*r;

	if (name[0] == '\0' || strlen(name) >= POLICY_MAX_NAME ||
	    strpbrk(name, " \t\"=") != NULL) {
		perr(e, "[rule %.64s]: a rule name is 1..%d characters, no "
		    "blanks or quotes", name, POLICY_MAX_NAME - 1);
		return NULL;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].name, name) == 0) {
			perr(e, "[rule %s]: already defined at line %u", name,
			    p->rules[i].line);
			return NULL;
		}
	if (p->n_rules >= POLICY_MAX_RULES) {
		if (!b->too_many)
			perr(e, "more than %d rules: put long lists in "
			    "domains_from or cidrs_from", POLICY_MAX_RULES);
		b->too_many = true;
		return NULL;
	}
	r = &p->rules[p->n_rules++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->file = p->file;
	r->line = e->line;
	return r;
}

int
policy_section_cb(void *arg, const char *file, unsigned line,
    const char *section, const char *name, const char *value,
    config_err_cb *err, void *err_arg)
{
	struct policy_builder	*b = arg;
	struct perr		 e = { .file = file, .line = line, .cb = err,
				    .arg = err_arg };
	bool			 is_rule = strncmp(section, "rule ", 5) == 0;

	if (!is_rule && strcmp(section, "geoip") != 0)
		return -1;
	if (b->p->file[0] == '\0')
		snprintf(b->p->file, sizeof(b->p->file), "%s", file);
	/* inih calls back per key: a section starts when its name changes.
	 * A repeated [rule NAME] further down is caught as a duplicate. */
	if (strcmp(section, b->section) != 0) {
		snprintf(b->section, sizeof(b->section), "%s", section);
		b->cur = is_rule ? rule_begin(b, &e, section + 5) : NULL;
	}
	if (is_rule && b->cur != NULL)
		rule_key(b, &e, name, value);
	else if (!is_rule)
		geoip_key(b, &e, name, value);
	return e.n;
}

static void
open_db(struct perr *e, const char *key, const char *path, unsigned line,
    MMDB_s *db, bool *have)
{
	int	rc;

	if (path[0] == '\0')
		return;
	e->line = line;
	if ((rc = MMDB_open(path, MMDB_MODE_MMAP, db)) != MMDB_SUCCESS) {
		bool sys = rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR;

		perr(e, "geoip.%s: %s: %s%s%s", key, path, MMDB_strerror(rc),
		    sys ? ": " : "", sys ? strerror(errno) : "");
		return;
	}
	*have = true;
}

/* The checks that need the whole rule. */
static void
rule_finish(const struct policy_builder *b, struct prule *r,
    const struct config_uplinks *ups, struct perr *e)
{
	e->line = r->line;
	if (!r->action_set)
		perr(e, "[rule %s]: no action (bond, direct or reject)",
		    r->name);
	if (r->kinds == 0)
		perr(e, "[rule %s]: matches nothing: give domain, cidr, "
		    "port, country, asn (or their _from lists), or any = yes",
		    r->name);
	if ((r->kinds & K_ANY) && (r->kinds & ~K_ANY))
		perr(e, "[rule %s]: any = yes with other conditions",
		    r->name);
	/* a database that did not open is reported once, not per rule */
	if ((r->kinds & K_COUNTRY) && b->country_db[0] == '\0')
		perr(e, "[rule %s]: country needs [geoip] country_db",
		    r->name);
	if ((r->kinds & K_ASN) && b->asn_db[0] == '\0')
		perr(e, "[rule %s]: asn needs [geoip] asn_db", r->name);
	if (r->action != POLICY_DIRECT && (r->uplink[0] != '\0' ||
	    r->pin.ifname[0] != '\0' || r->pin.source_len != 0))
		perr(e, "[rule %s]: uplink, interface and source are for "
		    "action = direct", r->name);
	if (r->uplink[0] != '\0') {
		const struct config_uplink *u = config_uplinks_find(ups,
		    r->uplink);

		if (u == NULL)
			perr(e, "[rule %s]: unknown uplink %s", r->name,
			    r->uplink);
		else if (r->pin.ifname[0] != '\0')
			perr(e, "[rule %s]: uplink and interface both given",
			    r->name);
		else
			snprintf(r->pin.ifname, sizeof(r->pin.ifname), "%s",
			    u->ifname);
	}
}

/* Loopback, private, shared (CGNAT) and link-local: these go direct
 * unless a rule says otherwise. */
static bool
add_builtin(struct policy *p)
{
	static const char *const nets[] = {
		"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12",
		"192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
		"::1/128", "fc00::/7", "fe80::/10",
	};
	struct cidr	c;

	for (size_t i = 0; i < NELEM(nets); i++)
		if (!cidr_parse(nets[i], &c) || !policy_add_local_net(p,
		    &c))
			return false;
	return true;
}

struct policy *
policy_builder_finish(struct policy_builder *b,
    const struct config_uplinks *ups,
    config_err_cb *err, void *err_arg, int *errors)
{
	struct policy	*p = b->p;
	struct perr	 e = { .file = p->file[0] ? p->file : "configuration",
			    .cb = err, .arg = err_arg };

	open_db(&e, "country_db", b->country_db, b->country_db_line,
	    &p->country_db, &p->have_country_db);
	open_db(&e, "asn_db", b->asn_db, b->asn_db_line, &p->asn_db,
	    &p->have_asn_db);
	for (size_t i = 0; i < p->n_rules; i++)
		rule_finish(b, &p->rules[i], ups, &e);
	(void)policy_trie_compact(&p->trie);	/* only faster if it works */
	if (!add_builtin(p)) {
		e.line = 0;
		perr(&e, "out of memory");
	}
	*errors = e.n;
	b->p = NULL;
	free(b);
	if (e.n > 0) {
		policy_free(p);
		return NULL;
	}
	return p;
}
