/*
 * pairing.c: the pairing token (pairing.h) through pairing_parse() and
 * pairing_encode(): round trips, the longest token, payload rows built
 * by hand (each field wrong in turn: flags, host, port, name, key
 * length, cut anywhere, bytes after the end, a wrong check), token rows
 * (prefix, version, base64url), every prefix, every bit flip, oversized
 * and hostile input; then the config edit of --pair
 * (pairing_ini_edit(), pairing_ini_get()).
 */

#include "testutil.h"

#include <openssl/evp.h>

#include "proto/pairing.h"

#define KEY32	"000102030405060708090a0b0c0d0e0f" \
		"101112131415161718191a1b1c1d1e1f"
#define HOST	"09 612e6578616d706c65"		/* a.example */
#define PORT	"20fb"				/* 8443 */
#define NAME	"05 686f6d6531"			/* home1 */
#define GOOD	HOST " " PORT " " NAME " 20 " KEY32

/* raw payload to token text: the check as the row asks, then base64url */
enum check_mode { CK_GOOD, CK_NONE, CK_ZERO, CK_HALF };

static size_t
make_token(const uint8_t *raw, size_t n, enum check_mode ck,
    const uint8_t *tail, size_t tn, char *out, size_t outlen)
{
	uint8_t		buf[1024], md[EVP_MAX_MD_SIZE];
	char		b64[2048];
	unsigned	mdlen;
	size_t		o = 0;
	int		bl;

	assert_true(n + 4 + tn <= sizeof(buf));
	memcpy(buf, raw, n);
	assert_int_equal(EVP_Digest(raw, n, md, &mdlen, EVP_sha256(), NULL),
	    1);
	if (ck == CK_GOOD || ck == CK_HALF) {
		memcpy(buf + n, md, ck == CK_GOOD ? 4 : 2);
		n += ck == CK_GOOD ? 4 : 2;
	} else if (ck == CK_ZERO) {
		memset(buf + n, 0, 4);
		n += 4;
	}
	memcpy(buf + n, tail, tn);
	n += tn;
	bl = util_base64_encode(buf, n, b64, sizeof(b64));
	assert_true(bl >= 0);
	while (bl > 0 && b64[bl - 1] == '=')
		bl--;
	assert_true((size_t)bl + PAIRING_PREFIX_LEN < outlen);
	memcpy(out, PAIRING_PREFIX, PAIRING_PREFIX_LEN);
	o = PAIRING_PREFIX_LEN;
	for (int i = 0; i < bl; i++)
		out[o++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[o] = '\0';
	return o;
}

/* Parses exactly n bytes from a heap block of that size. */
static enum pairing_error
parse_exact(const char *tok, size_t n, struct pairing *p)
{
	uint8_t			*b = dup_exact((const uint8_t *)tok, n);
	enum pairing_error	 e = pairing_parse((const char *)b, n, p);

	free(b);
	return e;
}

static bool
key_zero(const struct pairing *p)
{
	for (size_t i = 0; i < sizeof(p->key); i++)
		if (p->key[i] != 0)
			return false;
	return true;
}

/* --- payload rows ------------------------------------------------------- */

struct payload_row {
	const char		*name, *hex;
	enum check_mode		 ck;
	const char		*tail;		/* hex after the check */
	enum pairing_error	 err;
	const char		*host;		/* OK rows: the fields */
	uint16_t		 port;
	bool			 tls;
};

static const struct payload_row payload_rows[] = {
	{ "good", "00 " GOOD, CK_GOOD, "", PAIRING_OK, "a.example", 8443,
	    false },
	{ "tls flag", "01 " GOOD, CK_GOOD, "", PAIRING_OK, "a.example", 8443,
	    true },
	{ "ipv4 host", "00 07 312e322e332e34 " PORT " " NAME " 20 " KEY32,
	    CK_GOOD, "", PAIRING_OK, "1.2.3.4", 8443, false },
	{ "ipv6 host", "00 0b 323030313a6462383a3a31 0001 " NAME " 20 " KEY32,
	    CK_GOOD, "", PAIRING_OK, "2001:db8::1", 1, false },
	{ "port 65535", "00 " HOST " ffff " NAME " 20 " KEY32, CK_GOOD, "",
	    PAIRING_OK, "a.example", 65535, false },
	{ "flags 02", "02 " GOOD, CK_GOOD, "", PAIRING_E_FLAGS, NULL, 0,
	    false },
	{ "flags 80", "80 " GOOD, CK_GOOD, "", PAIRING_E_FLAGS, NULL, 0,
	    false },
	{ "host len 0", "00 00 " PORT " " NAME " 20 " KEY32, CK_GOOD, "",
	    PAIRING_E_HOST, NULL, 0, false },
	{ "host len 254", "00 fe", CK_NONE, "", PAIRING_E_HOST, NULL, 0,
	    false },
	{ "host with a space", "00 03 612062 " PORT " " NAME " 20 " KEY32,
	    CK_GOOD, "", PAIRING_E_HOST, NULL, 0, false },
	{ "host with NUL", "00 03 610062 " PORT " " NAME " 20 " KEY32,
	    CK_GOOD, "", PAIRING_E_HOST, NULL, 0, false },
	{ "host -ab", "00 03 2d6162 " PORT " " NAME " 20 " KEY32, CK_GOOD, "",
	    PAIRING_E_HOST, NULL, 0, false },
	{ "host a..b", "00 04 612e2e62 " PORT " " NAME " 20 " KEY32, CK_GOOD,
	    "", PAIRING_E_HOST, NULL, 0, false },
	{ "host a.b.", "00 04 612e622e " PORT " " NAME " 20 " KEY32, CK_GOOD,
	    "", PAIRING_E_HOST, NULL, 0, false },
	{ "host :::", "00 03 3a3a3a " PORT " " NAME " 20 " KEY32, CK_GOOD, "",
	    PAIRING_E_HOST, NULL, 0, false },
	{ "host [::1]", "00 05 5b3a3a315d " PORT " " NAME " 20 " KEY32,
	    CK_GOOD, "", PAIRING_E_HOST, NULL, 0, false },
	{ "host a;rm", "00 04 613b726d " PORT " " NAME " 20 " KEY32, CK_GOOD,
	    "", PAIRING_E_HOST, NULL, 0, false },
	{ "host newline", "00 03 610a62 " PORT " " NAME " 20 " KEY32, CK_GOOD,
	    "", PAIRING_E_HOST, NULL, 0, false },
	{ "port 0", "00 " HOST " 0000 " NAME " 20 " KEY32, CK_GOOD, "",
	    PAIRING_E_PORT, NULL, 0, false },
	{ "name len 0", "00 " HOST " " PORT " 00 20 " KEY32, CK_GOOD, "",
	    PAIRING_E_NAME, NULL, 0, false },
	{ "name len 64", "00 " HOST " " PORT " 40", CK_NONE, "",
	    PAIRING_E_NAME, NULL, 0, false },
	{ "name require_tls", "00 " HOST " " PORT " 0b 726571756972655f746c73"
	    " 20 " KEY32, CK_GOOD, "", PAIRING_E_NAME, NULL, 0, false },
	{ "name a/b", "00 " HOST " " PORT " 03 612f62 20 " KEY32, CK_GOOD, "",
	    PAIRING_E_NAME, NULL, 0, false },
	{ "name with newline", "00 " HOST " " PORT " 03 610a62 20 " KEY32,
	    CK_GOOD, "", PAIRING_E_NAME, NULL, 0, false },
	{ "key len 31", "00 " HOST " " PORT " " NAME " 1f "
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
	    CK_GOOD, "", PAIRING_E_KEY_LEN, NULL, 0, false },
	{ "key len 33", "00 " HOST " " PORT " " NAME " 21 " KEY32 "20",
	    CK_GOOD, "", PAIRING_E_KEY_LEN, NULL, 0, false },
	{ "key len 0", "00 " HOST " " PORT " " NAME " 00", CK_GOOD, "",
	    PAIRING_E_KEY_LEN, NULL, 0, false },
	{ "key len 255", "00 " HOST " " PORT " " NAME " ff", CK_NONE, "",
	    PAIRING_E_KEY_LEN, NULL, 0, false },
	{ "empty", "", CK_NONE, "", PAIRING_E_TRUNCATED, NULL, 0, false },
	{ "flags only", "00", CK_NONE, "", PAIRING_E_TRUNCATED, NULL, 0,
	    false },
	{ "cut in host", "00 09 612e6578", CK_NONE, "", PAIRING_E_TRUNCATED,
	    NULL, 0, false },
	{ "cut in port", "00 " HOST " 20", CK_NONE, "", PAIRING_E_TRUNCATED,
	    NULL, 0, false },
	{ "cut in name", "00 " HOST " " PORT " 05 686f", CK_NONE, "",
	    PAIRING_E_TRUNCATED, NULL, 0, false },
	{ "cut in key", "00 " HOST " " PORT " " NAME " 20 0001020304",
	    CK_NONE, "", PAIRING_E_TRUNCATED, NULL, 0, false },
	{ "no check", "00 " GOOD, CK_NONE, "", PAIRING_E_TRUNCATED, NULL, 0,
	    false },
	{ "half a check", "00 " GOOD, CK_HALF, "", PAIRING_E_TRUNCATED, NULL,
	    0, false },
	{ "wrong check", "00 " GOOD, CK_ZERO, "", PAIRING_E_CHECK, NULL, 0,
	    false },
	{ "a byte after", "00 " GOOD, CK_GOOD, "00", PAIRING_E_TRAILING,
	    NULL, 0, false },
	{ "a second token", "00 " GOOD, CK_GOOD, "00 " GOOD,
	    PAIRING_E_TRAILING, NULL, 0, false },
};

static void
test_payload_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(payload_rows); i++) {
		const struct payload_row	*r = &payload_rows[i];
		uint8_t				 raw[512], tail[512];
		char				 tok[1024];
		struct pairing			 p;
		size_t				 n, tn, tl;
		enum pairing_error		 e;

		n = hex_decode(r->hex, raw, sizeof(raw));
		tn = hex_decode(r->tail, tail, sizeof(tail));
		tl = make_token(raw, n, r->ck, tail, tn, tok, sizeof(tok));
		memset(&p, 0xa5, sizeof(p));
		e = parse_exact(tok, tl, &p);
		CHECK_EQ(r->name, e, r->err);
		CHECK(r->name, pairing_strerror(e)[0] != '\0');
		if (r->err != PAIRING_OK) {
			CHECK(r->name, key_zero(&p));
			continue;
		}
		CHECK_STR(r->name, p.host, r->host);
		CHECK_EQ(r->name, p.port, r->port);
		CHECK_STR(r->name, p.name, "home1");
		CHECK_EQ(r->name, p.require_tls, r->tls);
		hex_decode(KEY32, raw, sizeof(raw));
		CHECK_MEM(r->name, p.key, raw, 32);
	}
}

/* --- token rows --------------------------------------------------------- */

struct token_row {
	const char		*name, *tok;
	enum pairing_error	 err;
};

static const struct token_row token_rows[] = {
	{ "empty", "", PAIRING_E_PREFIX },
	{ "prefix cut", "mpsocks1", PAIRING_E_PREFIX },
	{ "version 2", "mpsocks2:AAECAw", PAIRING_E_PREFIX },
	{ "version 0", "mpsocks0:AAECAw", PAIRING_E_PREFIX },
	{ "upper case", "MPSOCKS1:AAECAw", PAIRING_E_PREFIX },
	{ "leading space", " mpsocks1:AAECAw", PAIRING_E_PREFIX },
	{ "a key file line", "home1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	    PAIRING_E_PREFIX },
	{ "prefix only", "mpsocks1:", PAIRING_E_TRUNCATED },
	{ "one character", "mpsocks1:A", PAIRING_E_BASE64 },
	{ "five characters", "mpsocks1:AAAAA", PAIRING_E_BASE64 },
	{ "stray bits", "mpsocks1:AB", PAIRING_E_BASE64 },
	{ "plus", "mpsocks1:AA+A", PAIRING_E_BASE64 },
	{ "slash", "mpsocks1:AA/A", PAIRING_E_BASE64 },
	{ "padding", "mpsocks1:AA==", PAIRING_E_BASE64 },
	{ "one pad", "mpsocks1:AAA=", PAIRING_E_BASE64 },
	{ "space inside", "mpsocks1:AA AA", PAIRING_E_BASE64 },
	{ "trailing newline", "mpsocks1:AAAA\n", PAIRING_E_BASE64 },
	{ "colon", "mpsocks1:AAAA:AAAA", PAIRING_E_BASE64 },
	{ "high bytes", "mpsocks1:\xff\xfe\xfd\xfc", PAIRING_E_BASE64 },
	{ "control bytes", "mpsocks1:\x01\x02\x1b[31m", PAIRING_E_BASE64 },
	{ "three zero bytes", "mpsocks1:AAAA", PAIRING_E_HOST },
};

static void
test_token_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(token_rows); i++) {
		const struct token_row	*r = &token_rows[i];
		struct pairing		 p;

		CHECK_EQ(r->name, parse_exact(r->tok, strlen(r->tok), &p),
		    r->err);
		CHECK(r->name, key_zero(&p));
	}
}

/* A NUL inside the length: the parser takes len bytes, not a string. */
static void
test_nul_inside(void **state)
{
	static const char	tok[] = "mpsocks1:AAAA\0AAA";
	struct pairing		p;

	(void)state;
	assert_int_equal(parse_exact(tok, sizeof(tok) - 1, &p),
	    PAIRING_E_BASE64);
}

/* --- round trips and the longest token ---------------------------------- */

struct trip_row {
	const char	*name, *host, *key_name;
	uint16_t	 port;
	bool		 tls;
};

static const struct trip_row trip_rows[] = {
	{ "name", "vps.example.net", "home1", 8443, false },
	{ "tls", "vps.example.net", "alice@home", 443, true },
	{ "ipv4", "203.0.113.5", "a", 1, false },
	{ "ipv6", "2001:db8::1", "b.c-d_e", 65535, true },
	{ "mapped", "::ffff:192.0.2.1", "x", 9, false },
	{ "one letter", "x", "y", 80, false },
};

static void
fill(struct pairing *p, const char *host, const char *name, uint16_t port,
    bool tls)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->host, sizeof(p->host), "%s", host);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->port = port;
	p->require_tls = tls;
	for (size_t i = 0; i < sizeof(p->key); i++)
		p->key[i] = (uint8_t)(0xf0 ^ i);
}

static void
test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(trip_rows); i++) {
		const struct trip_row	*r = &trip_rows[i];
		struct pairing		 in, out;
		char			 tok[PAIRING_TOKEN_MAX + 1];
		int			 n;

		fill(&in, r->host, r->key_name, r->port, r->tls);
		n = pairing_encode(&in, tok, sizeof(tok));
		CHECK(r->name, n > (int)PAIRING_PREFIX_LEN);
		CHECK_EQ(r->name, strlen(tok), n);
		CHECK(r->name, strspn(tok + PAIRING_PREFIX_LEN,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_") == strlen(tok) - PAIRING_PREFIX_LEN);
		CHECK_EQ(r->name, parse_exact(tok, (size_t)n, &out),
		    PAIRING_OK);
		CHECK_STR(r->name, out.host, in.host);
		CHECK_STR(r->name, out.name, in.name);
		CHECK_EQ(r->name, out.port, in.port);
		CHECK_EQ(r->name, out.require_tls, in.require_tls);
		CHECK_MEM(r->name, out.key, in.key, 32);
	}
}

/* host: 63.63.63.61 characters = 253; name: 63 */
static void
longest(struct pairing *p)
{
	char	host[PAIRING_HOST_MAX + 1], name[PAIRING_NAME_MAX + 1];

	memset(host, 'h', PAIRING_HOST_MAX);
	host[63] = host[127] = host[191] = '.';
	host[PAIRING_HOST_MAX] = '\0';
	memset(name, 'n', PAIRING_NAME_MAX);
	name[PAIRING_NAME_MAX] = '\0';
	fill(p, host, name, 65535, true);
}

static void
test_longest(void **state)
{
	struct pairing	in, out;
	char		tok[PAIRING_TOKEN_MAX + 1], big[PAIRING_TOKEN_MAX + 2];
	int		n;

	(void)state;
	longest(&in);
	n = pairing_encode(&in, tok, sizeof(tok));
	assert_int_equal(n, PAIRING_TOKEN_MAX);
	assert_int_equal(parse_exact(tok, (size_t)n, &out), PAIRING_OK);
	assert_string_equal(out.host, in.host);
	/* one more character than any token */
	memcpy(big, tok, (size_t)n);
	big[n] = 'A';
	assert_int_equal(parse_exact(big, (size_t)n + 1, &out),
	    PAIRING_E_LENGTH);
	/* a buffer one short */
	assert_int_equal(pairing_encode(&in, tok, PAIRING_TOKEN_MAX), -1);
}

/* A megabyte of base64: refused by its length, nothing decoded. */
static void
test_oversized(void **state)
{
	size_t		 n = 1 << 20;
	char		*t = malloc(n);
	struct pairing	 p;

	(void)state;
	assert_non_null(t);
	memset(t, 'A', n);
	memcpy(t, PAIRING_PREFIX, PAIRING_PREFIX_LEN);
	assert_int_equal(parse_exact(t, n, &p), PAIRING_E_LENGTH);
	free(t);
}

static void
test_encode_refuses(void **state)
{
	struct pairing	p;
	char		tok[PAIRING_TOKEN_MAX + 1];

	(void)state;
	fill(&p, "bad host", "home1", 1, false);
	assert_int_equal(pairing_encode(&p, tok, sizeof(tok)), -1);
	fill(&p, "ok.example", "bad name", 1, false);
	assert_int_equal(pairing_encode(&p, tok, sizeof(tok)), -1);
	fill(&p, "ok.example", "require_tls", 1, false);
	assert_int_equal(pairing_encode(&p, tok, sizeof(tok)), -1);
	fill(&p, "ok.example", "home1", 0, false);
	assert_int_equal(pairing_encode(&p, tok, sizeof(tok)), -1);
	fill(&p, "ok.example", "home1", 1, false);
	assert_int_equal(pairing_encode(&p, tok, 10), -1);
}

/* Every prefix of a good token fails, as a cut token, never as OK. */
static void
test_every_prefix(void **state)
{
	struct pairing		in, out;
	char			tok[PAIRING_TOKEN_MAX + 1];
	int			n;

	(void)state;
	fill(&in, "vps.example.net", "home1", 8443, true);
	n = pairing_encode(&in, tok, sizeof(tok));
	for (int i = 0; i < n; i++) {
		enum pairing_error e = parse_exact(tok, (size_t)i, &out);

		if (e != PAIRING_E_PREFIX && e != PAIRING_E_BASE64 &&
		    e != PAIRING_E_TRUNCATED)
			fail_msg("prefix of %d: %s", i, pairing_strerror(e));
		assert_true(key_zero(&out));
	}
	assert_int_equal(parse_exact(tok, (size_t)n, &out), PAIRING_OK);
}

/* Every bit of every character after the prefix, flipped: never OK. */
static void
test_bit_flips(void **state)
{
	struct pairing	in, out;
	char		tok[PAIRING_TOKEN_MAX + 1];
	int		n, ok = 0;

	(void)state;
	fill(&in, "vps.example.net", "home1", 8443, false);
	n = pairing_encode(&in, tok, sizeof(tok));
	for (int i = (int)PAIRING_PREFIX_LEN; i < n; i++)
		for (int b = 0; b < 8; b++) {
			tok[i] ^= (char)(1 << b);
			ok += parse_exact(tok, (size_t)n, &out) == PAIRING_OK;
			tok[i] ^= (char)(1 << b);
		}
	assert_int_equal(ok, 0);
	/* a key byte changed, base64 kept valid: the check says so */
	tok[n - 12] = tok[n - 12] == 'A' ? 'B' : 'A';
	assert_int_equal(parse_exact(tok, (size_t)n, &out), PAIRING_E_CHECK);
}

/* --- names, hosts, host:port ------------------------------------------- */

static void
test_names_hosts(void **state)
{
	struct pairing	p;
	char		hp[PAIRING_HOSTPORT_MAX];

	(void)state;
	assert_true(pairing_name_valid("home1"));
	assert_true(pairing_name_valid("a.b-c_d@e"));
	assert_false(pairing_name_valid(""));
	assert_false(pairing_name_valid("a b"));
	assert_false(pairing_name_valid("require_tls"));
	assert_false(pairing_name_valid("a#b"));
	assert_true(pairing_host_valid("vps.example.net"));
	assert_true(pairing_host_valid("192.0.2.1"));
	assert_true(pairing_host_valid("2001:db8::1"));
	assert_false(pairing_host_valid(""));
	assert_false(pairing_host_valid("-a"));
	assert_false(pairing_host_valid("a-"));
	assert_false(pairing_host_valid("a.-b"));
	assert_false(pairing_host_valid("a_b"));
	assert_false(pairing_host_valid("[::1]"));
	assert_false(pairing_host_valid("2001:db8::1%eth0"));
	fill(&p, "vps.example.net", "h", 8443, false);
	assert_true(pairing_hostport(&p, hp, sizeof(hp)));
	assert_string_equal(hp, "vps.example.net:8443");
	fill(&p, "2001:db8::1", "h", 1, false);
	assert_true(pairing_hostport(&p, hp, sizeof(hp)));
	assert_string_equal(hp, "[2001:db8::1]:1");
	assert_false(pairing_hostport(&p, hp, 8));
	assert_string_equal(hp, "");
}

/* --- the config edit ---------------------------------------------------- */

struct ini_row {
	const char	*name, *in, *want;
	/* whether server and key_file had a value, and which */
	bool		 found_server;
	const char	*old_server;
};

static const struct ini_row ini_rows[] = {
	{ "empty file", "",
	    "[local]\nserver = s:1\nkey_file = /k\n", false, "" },
	{ "no [local]", "[control]\nlisten = off\n",
	    "[local]\nserver = s:1\nkey_file = /k\n\n[control]\nlisten = off\n",
	    false, "" },
	{ "replaced in place",
	    "; top\n[local]\nlisten = 127.0.0.1:1080\nserver = old:2 ; c\n"
	    "key_file = /old\nmptcp = yes\n",
	    "; top\n[local]\nlisten = 127.0.0.1:1080\nserver = s:1\n"
	    "key_file = /k\nmptcp = yes\n", true, "old:2" },
	{ "added after the header",
	    "[local]\nmptcp = no\n[uplink dsl]\ninterface = eth0\n",
	    "[local]\nserver = s:1\nkey_file = /k\nmptcp = no\n"
	    "[uplink dsl]\ninterface = eth0\n", false, "" },
	{ "commented ones stay",
	    "[local]\n;server = x:1\n# key_file = /x\n",
	    "[local]\nserver = s:1\nkey_file = /k\n;server = x:1\n"
	    "# key_file = /x\n", false, "" },
	{ "dash spelling",
	    "[local]\nkey-file = /old\n",
	    "[local]\nserver = s:1\nkey_file = /k\n", false, "" },
	{ "twice: the first replaced, the second dropped",
	    "[local]\nserver = a:1\nserver = b:1\n",
	    "[local]\nkey_file = /k\nserver = s:1\n", true, "a:1" },
	{ "other sections' keys untouched",
	    "[rule x]\nserver = no\n[local]\nserver = a:1\n",
	    "[rule x]\nserver = no\n[local]\nkey_file = /k\nserver = s:1\n",
	    true, "a:1" },
	{ "no final newline", "[local]\nserver = a:1",
	    "[local]\nkey_file = /k\nserver = s:1\n", true, "a:1" },
	{ "CRLF and spaces", "  [local]  \r\n  server=a:1\r\n",
	    "  [local]  \r\nkey_file = /k\nserver = s:1\n", true, "a:1" },
	{ "[local] twice",
	    "[local]\nmptcp = no\n[control]\nlisten = off\n[local]\n"
	    "server = a:1\n",
	    "[local]\nkey_file = /k\nmptcp = no\n[control]\nlisten = off\n"
	    "[local]\nserver = s:1\n", true, "a:1" },
	{ "[localx] is another section", "[localx]\nserver = a:1\n",
	    "[local]\nserver = s:1\nkey_file = /k\n\n[localx]\nserver = a:1\n",
	    false, "" },
};

static void
test_ini_edit(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ini_rows); i++) {
		const struct ini_row	*r = &ini_rows[i];
		struct pairing_ini_set	 set[2] = {
			{ .key = "server", .value = "s:1" },
			{ .key = "key_file", .value = "/k" },
		};
		char			 out[1024], v[64];
		int			 n;

		n = pairing_ini_edit(r->in, strlen(r->in), "local", set, 2,
		    out, sizeof(out));
		CHECK(r->name, n >= 0);
		CHECK_STR(r->name, out, r->want);
		CHECK_EQ(r->name, strlen(out), n);
		CHECK_EQ(r->name, set[0].found, r->found_server);
		CHECK_STR(r->name, set[0].old, r->old_server);
		CHECK(r->name, pairing_ini_get(out, (size_t)n, "local",
		    "server", v, sizeof(v)));
		CHECK_STR(r->name, v, "s:1");
		CHECK(r->name, pairing_ini_get(out, (size_t)n, "local",
		    "key_file", v, sizeof(v)));
		CHECK_STR(r->name, v, "/k");
	}
}

static void
test_ini_limits(void **state)
{
	static const char	in[] = "[local]\nserver = a:1\n";
	static const char	cmt[] = "[local]\nserver = a:1 ; x\n";
	static const char	semi[] = "[local]\nserver = a;b\n";
	struct pairing_ini_set	set[1] = { { .key = "server", .value = "b:2" } };
	struct pairing_ini_set	nl[1] = { { .key = "server", .value = "b\n[x]" } };
	char			out[64], v[8];
	size_t			len = sizeof(in) - 1;

	(void)state;
	/* exactly enough room, then one byte less */
	assert_int_equal(pairing_ini_edit(in, len, "local", set, 1, out,
	    len + 1), (int)len);
	assert_int_equal(pairing_ini_edit(in, len, "local", set, 1, out, len),
	    -1);
	assert_int_equal(pairing_ini_edit(in, len, "local", set, 1, out, 0),
	    -1);
	/* a value that would start a section of its own */
	assert_int_equal(pairing_ini_edit(in, len, "local", nl, 1, out,
	    sizeof(out)), -1);
	/* get: not there, too long for out, a comment cut */
	assert_false(pairing_ini_get(in, len, "local", "key_file", v,
	    sizeof(v)));
	assert_false(pairing_ini_get(in, len, "local", "server", v, 3));
	assert_true(pairing_ini_get(cmt, strlen(cmt), "local", "server", v,
	    sizeof(v)));
	assert_string_equal(v, "a:1");
	assert_true(pairing_ini_get(semi, strlen(semi), "local", "server", v,
	    sizeof(v)));
	assert_string_equal(v, "a;b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_table),
		cmocka_unit_test(test_token_table),
		cmocka_unit_test(test_nul_inside),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_longest),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_names_hosts),
		cmocka_unit_test(test_ini_edit),
		cmocka_unit_test(test_ini_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
