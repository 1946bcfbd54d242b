/*
 * Pairing tokens and the config edit of `mpsocks-local --pair`; see
 * pairing.h for the token's layout. Base64url (RFC 4648 section 5) is
 * mapped onto util's strict standard base64, so one decoder refuses
 * stray bits and bad characters for both.
 */

#include "proto/pairing.h"
#include "proto/tunnel_proto.h"
#include "proto/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <string.h>

static const char *const errors[] = {
	[PAIRING_OK] = "ok",
	[PAIRING_E_PREFIX] = "it does not start with \"" PAIRING_PREFIX "\" "
	    "(a token of another version, or not a token)",
	[PAIRING_E_LENGTH] = "it is longer than any token",
	[PAIRING_E_BASE64] = "it is not base64url (A-Z a-z 0-9 - _, no "
	    "padding) after the prefix",
	[PAIRING_E_TRUNCATED] = "it is cut short",
	[PAIRING_E_FLAGS] = "it has flags this version does not know",
	[PAIRING_E_HOST] = "its concentrator host is not a name or an "
	    "address",
	[PAIRING_E_PORT] = "its port is 0",
	[PAIRING_E_NAME] = "its key name is not 1..63 of A-Z a-z 0-9 - _ . @",
	[PAIRING_E_KEY_LEN] = "its key is not 32 bytes",
	[PAIRING_E_TRAILING] = "it has bytes after its end",
	[PAIRING_E_CHECK] = "it was damaged on the way (its check does not "
	    "match): copy it again, whole",
};

const char *
pairing_strerror(enum pairing_error e)
{
	if ((size_t)e >= NELEM(errors) || errors[e] == NULL)
		return "unknown error";
	return errors[e];
}

bool
pairing_name_valid(const char *s)
{
	return strlen(s) <= PAIRING_NAME_MAX && strcmp(s, "require_tls") != 0 &&
	    tunnel_key_name_valid(s);
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 1123 labels; a trailing dot is refused (a config would keep it). */
static bool
dns_name_valid(const char *s, size_t n)
{
	size_t	label = 0;

	if (n == 0 || n > PAIRING_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && !(s[i] == '-' && label > 0))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}

bool
pairing_host_valid(const char *s)
{
	struct in6_addr	a6;
	size_t		n = strnlen(s, PAIRING_HOST_MAX + 1);

	if (n == 0 || n > PAIRING_HOST_MAX)
		return false;
	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, &a6) == 1;
	/* dotted digits are a name to this rule; 1.2.3.4 is both */
	return dns_name_valid(s, n);
}

bool
pairing_hostport(const struct pairing *p, char *out, size_t outlen)
{
	struct wbuf	w = { out, 0, outlen > 0 ? outlen - 1 : 0, false };
	char		port[8];
	size_t		n = 0;
	unsigned	v = p->port;

	if (outlen == 0)
		return false;
	do {				/* no snprintf: a pure codec */
		port[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (strchr(p->host, ':') != NULL) {
		wbuf_str(&w, "[");
		wbuf_str(&w, p->host);
		wbuf_str(&w, "]");
	} else
		wbuf_str(&w, p->host);
	wbuf_str(&w, ":");
	while (n > 0)
		wbuf_put(&w, &port[--n], 1);
	if (wbuf_done(&w) < 0) {
		out[0] = '\0';
		return false;
	}
	out[w.len] = '\0';
	return true;
}

static bool
check_bytes(const uint8_t *p, size_t n, uint8_t out[PAIRING_CHECK_LEN])
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned	mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < PAIRING_CHECK_LEN)
		return false;
	memcpy(out, md, PAIRING_CHECK_LEN);
	return true;
}

static bool
fields_valid(const struct pairing *p)
{
	return pairing_host_valid(p->host) && p->port != 0 &&
	    pairing_name_valid(p->name);
}

int
pairing_encode(const struct pairing *p, char *out, size_t outlen)
{
	uint8_t	raw[PAIRING_PAYLOAD_MAX];
	char	b64[(PAIRING_PAYLOAD_MAX + 2) / 3 * 4 + 1];
	size_t	n = 0, hl, nl;
	int	bl;

	if (!fields_valid(p) || outlen < PAIRING_TOKEN_MAX + 1)
		return -1;
	hl = strlen(p->host);
	nl = strlen(p->name);
	raw[n++] = p->require_tls ? PAIRING_FLAG_TLS : 0;
	raw[n++] = (uint8_t)hl;
	memcpy(raw + n, p->host, hl);
	n += hl;
	put_u16be(raw + n, p->port);
	n += 2;
	raw[n++] = (uint8_t)nl;
	memcpy(raw + n, p->name, nl);
	n += nl;
	raw[n++] = PAIRING_KEY_LEN;
	memcpy(raw + n, p->key, PAIRING_KEY_LEN);
	n += PAIRING_KEY_LEN;
	if (!check_bytes(raw, n, raw + n)) {
		util_wipe(raw, sizeof(raw));
		return -1;
	}
	n += PAIRING_CHECK_LEN;
	bl = util_base64_encode(raw, n, b64, sizeof(b64));
	util_wipe(raw, sizeof(raw));
	if (bl < 0)
		return -1;
	/* standard to url alphabet, padding dropped */
	while (bl > 0 && b64[bl - 1] == '=')
		bl--;
	memcpy(out, PAIRING_PREFIX, PAIRING_PREFIX_LEN);
	for (int i = 0; i < bl; i++)
		out[PAIRING_PREFIX_LEN + (size_t)i] = b64[i] == '+' ? '-' :
		    b64[i] == '/' ? '_' : b64[i];
	out[PAIRING_PREFIX_LEN + (size_t)bl] = '\0';
	util_wipe(b64, sizeof(b64));
	return (int)PAIRING_PREFIX_LEN + bl;
}

/* base64url without padding into raw; -1 if it is not that. */
static int
b64url_decode(const char *s, size_t n, uint8_t *raw, size_t rawlen)
{
	char	std[(PAIRING_PAYLOAD_MAX + 2) / 3 * 4 + 4];
	size_t	o = 0;
	int	r;

	if (n % 4 == 1 || n + 3 >= sizeof(std))
		return -1;		/* no length is 1 mod 4 */
	for (size_t i = 0; i < n; i++) {
		char	c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!is_alnum(c))
			return -1;	/* '+', '/', '=' too: not url */
		std[o++] = c;
	}
	while (o % 4 != 0)
		std[o++] = '=';
	std[o] = '\0';
	r = util_base64_decode(std, raw, rawlen);
	util_wipe(std, sizeof(std));
	return r;
}

/* A length-prefixed text field into dst (NUL-terminated). */
static bool
cur_text(struct cursor *c, size_t max, char *dst, bool *too_long)
{
	const uint8_t	*p;
	uint8_t		 n;

	*too_long = false;
	if (!cur_u8(c, &n))
		return false;
	if (n == 0 || n > max) {
		*too_long = true;
		return true;
	}
	if (!cur_bytes(c, n, &p))
		return false;
	if (memchr(p, '\0', n) != NULL) {	/* would cut the string */
		*too_long = true;
		return true;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return true;
}

static enum pairing_error
parse_payload(const uint8_t *raw, size_t n, struct pairing *out)
{
	struct cursor	 c;
	const uint8_t	*key;
	uint8_t		 flags, klen, check[PAIRING_CHECK_LEN];
	const uint8_t	*want;
	bool		 bad;

	cur_init(&c, raw, n);
	if (!cur_u8(&c, &flags))
		return PAIRING_E_TRUNCATED;
	if (flags & ~PAIRING_FLAG_TLS)
		return PAIRING_E_FLAGS;
	out->require_tls = (flags & PAIRING_FLAG_TLS) != 0;
	if (!cur_text(&c, PAIRING_HOST_MAX, out->host, &bad))
		return PAIRING_E_TRUNCATED;
	if (bad || !pairing_host_valid(out->host))
		return PAIRING_E_HOST;
	if (!cur_u16be(&c, &out->port))
		return PAIRING_E_TRUNCATED;
	if (out->port == 0)
		return PAIRING_E_PORT;
	if (!cur_text(&c, PAIRING_NAME_MAX, out->name, &bad))
		return PAIRING_E_TRUNCATED;
	if (bad || !pairing_name_valid(out->name))
		return PAIRING_E_NAME;
	if (!cur_u8(&c, &klen))
		return PAIRING_E_TRUNCATED;
	if (klen != PAIRING_KEY_LEN)
		return PAIRING_E_KEY_LEN;
	if (!cur_bytes(&c, PAIRING_KEY_LEN, &key))
		return PAIRING_E_TRUNCATED;
	if (!check_bytes(raw, c.off, check))
		return PAIRING_E_CHECK;
	if (!cur_bytes(&c, PAIRING_CHECK_LEN, &want))
		return PAIRING_E_TRUNCATED;
	if (cur_left(&c) != 0)
		return PAIRING_E_TRAILING;
	if (memcmp(check, want, PAIRING_CHECK_LEN) != 0)
		return PAIRING_E_CHECK;
	memcpy(out->key, key, PAIRING_KEY_LEN);
	return PAIRING_OK;
}

enum pairing_error
pairing_parse(const char *tok, size_t len, struct pairing *out)
{
	uint8_t			raw[PAIRING_PAYLOAD_MAX];
	enum pairing_error	e;
	int			n;

	memset(out, 0, sizeof(*out));
	if (len < PAIRING_PREFIX_LEN ||
	    memcmp(tok, PAIRING_PREFIX, PAIRING_PREFIX_LEN) != 0)
		return PAIRING_E_PREFIX;
	if (len > PAIRING_TOKEN_MAX)
		return PAIRING_E_LENGTH;
	n = b64url_decode(tok + PAIRING_PREFIX_LEN, len - PAIRING_PREFIX_LEN,
	    raw, sizeof(raw));
	if (n < 0)
		return PAIRING_E_BASE64;
	e = parse_payload(raw, (size_t)n, out);
	util_wipe(raw, sizeof(raw));
	if (e != PAIRING_OK)
		memset(out, 0, sizeof(*out));
	return e;
}

/* --- the config edit ---------------------------------------------------- */

struct line {
	const char	*p;		/* the line, newline excluded */
	size_t		 n;
	bool		 nl;		/* a newline followed it */
};

static bool
next_line(const char *text, size_t len, size_t *pos, struct line *l)
{
	const char	*nl;

	if (*pos >= len)
		return false;
	l->p = text + *pos;
	nl = memchr(l->p, '\n', len - *pos);
	l->n = nl ? (size_t)(nl - l->p) : len - *pos;
	l->nl = nl != NULL;
	*pos += l->n + l->nl;
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trims white space (and a CR) off both ends of p[0..*n). */
static const char *
trim(const char *p, size_t *n)
{
	while (*n > 0 && is_space(*p))
		p++, (*n)--;
	while (*n > 0 && is_space(p[*n - 1]))
		(*n)--;
	return p;
}

/* "[name]" (a comment may follow): sets *sec, *sn to the name. */
static bool
section_of(const struct line *l, const char **sec, size_t *sn)
{
	size_t		 n = l->n;
	const char	*p = trim(l->p, &n), *close;

	if (n == 0 || *p != '[' || (close = memchr(p, ']', n)) == NULL)
		return false;
	*sec = p + 1;
	*sn = (size_t)(close - p - 1);
	return true;
}

/* A key's name in the file matches want, '-' standing for '_'. */
static bool
key_eq(const char *want, const char *got, size_t n)
{
	if (strlen(want) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (want[i] != got[i] && !(want[i] == '_' && got[i] == '-'))
			return false;
	return true;
}

/* "key = value ; comment": the key and the value, comment cut, as
 * inih reads them. false for blank, comment and section lines. */
static bool
key_value(const struct line *l, const char **k, size_t *kn, const char **v,
    size_t *vn)
{
	size_t		 n = l->n;
	const char	*p = trim(l->p, &n), *eq;

	if (n == 0 || *p == ';' || *p == '#' || *p == '[' ||
	    (eq = memchr(p, '=', n)) == NULL)
		return false;
	*kn = (size_t)(eq - p);
	*k = trim(p, kn);
	*v = eq + 1;
	*vn = n - (size_t)(eq + 1 - p);
	for (size_t i = 1; i < *vn; i++)
		if ((*v)[i] == ';' && is_space((*v)[i - 1])) {
			*vn = i;
			break;
		}
	*v = trim(*v, vn);
	return *kn > 0;
}

static bool
same(const char *a, size_t an, const char *b)
{
	return strlen(b) == an && memcmp(a, b, an) == 0;
}

static void
put_setting(struct wbuf *w, const struct pairing_ini_set *s)
{
	wbuf_str(w, s->key);
	wbuf_str(w, " = ");
	wbuf_str(w, s->value);
	wbuf_str(w, "\n");
}

bool
pairing_ini_get(const char *text, size_t len, const char *section,
    const char *key, char *out, size_t outlen)
{
	struct line	 l;
	size_t		 pos = 0, sn, kn, vn;
	const char	*sec, *k, *v;
	bool		 in = false;

	while (next_line(text, len, &pos, &l)) {
		if (section_of(&l, &sec, &sn)) {
			in = same(sec, sn, section);
			continue;
		}
		if (!in || !key_value(&l, &k, &kn, &v, &vn) ||
		    !key_eq(key, k, kn))
			continue;
		if (vn >= outlen || memchr(v, '\0', vn) != NULL)
			return false;
		memcpy(out, v, vn);
		out[vn] = '\0';
		return true;
	}
	return false;
}

static bool
section_present(const char *text, size_t len, const char *section)
{
	struct line	 l;
	size_t		 pos = 0, sn;
	const char	*sec;

	while (next_line(text, len, &pos, &l))
		if (section_of(&l, &sec, &sn) && same(sec, sn, section))
			return true;
	return false;
}

/* The keys the section did not have, once: after its first header. */
static void
put_missing(struct wbuf *w, const struct pairing_ini_set *set, size_t nset)
{
	for (size_t i = 0; i < nset; i++)
		if (!set[i].found)
			put_setting(w, &set[i]);
}

int
pairing_ini_edit(const char *text, size_t len, const char *section,
    struct pairing_ini_set *set, size_t nset, char *out, size_t outlen)
{
	struct wbuf	 w = { out, 0, outlen > 0 ? outlen - 1 : 0, false };
	struct line	 l;
	size_t		 pos = 0, sn, kn, vn, i;
	const char	*sec, *k, *v;
	bool		 in = false, added = false;
	bool		 written[16] = { false };

	if (outlen == 0 || nset > NELEM(written))
		return -1;
	for (i = 0; i < nset; i++)
		if (strpbrk(set[i].value, "\r\n") != NULL)
			return -1;
	for (i = 0; i < nset; i++)
		set[i].found = pairing_ini_get(text, len, section, set[i].key,
		    set[i].old, sizeof(set[i].old));
	if (!section_present(text, len, section)) {
		wbuf_str(&w, "[");
		wbuf_str(&w, section);
		wbuf_str(&w, "]\n");
		put_missing(&w, set, nset);
		if (len > 0)
			wbuf_str(&w, "\n");
		added = true;
	}
	while (next_line(text, len, &pos, &l)) {
		if (section_of(&l, &sec, &sn)) {
			in = same(sec, sn, section);
			wbuf_put(&w, l.p, l.n);
			wbuf_str(&w, "\n");
			if (in && !added)
				put_missing(&w, set, nset);
			added |= in;
			continue;
		}
		if (in && key_value(&l, &k, &kn, &v, &vn)) {
			for (i = 0; i < nset; i++)
				if (key_eq(set[i].key, k, kn))
					break;
			if (i < nset) {
				if (!written[i])
					put_setting(&w, &set[i]);
				written[i] = true;
				continue;	/* a later setting: dropped */
			}
		}
		wbuf_put(&w, l.p, l.n);
		wbuf_str(&w, "\n");
	}
	if (wbuf_done(&w) < 0)
		return -1;
	out[w.len] = '\0';
	return (int)w.len;
}
