/*
 * Pairing tokens and --pair's config edit (proto/pairing.h), three ways
 * from one input:
 *
 *  1. the input as a token: pairing_parse() either fails, leaving no key
 *     bytes, or gives valid fields that pairing_encode() turns back into
 *     exactly the input (base64url without padding is canonical);
 *  2. the input as a payload: given its right check and encoded, so the
 *     fields' rules are reached past the check (a payload that ends
 *     early reads its own bytes as the check); the same round trip;
 *  3. the input as a config file: pairing_ini_edit() fits in len + 2048,
 *     and pairing_ini_get() on its output reads back every value set,
 *     and on its input the values it reported as there before.
 */

#include <openssl/evp.h>
#include <string.h>

#include "fuzz.h"
#include "proto/pairing.h"
#include "proto/util.h"

#define FUZZ_MAX_INPUT	(64 * 1024)

static bool
key_zero(const struct pairing *p)
{
	for (size_t i = 0; i < sizeof(p->key); i++)
		if (p->key[i] != 0)
			return false;
	return true;
}

/* A parsed token holds what pairing.h promises, and encodes back. */
static void
check_parsed(const char *tok, size_t len, enum pairing_error e,
    const struct pairing *p)
{
	char	again[PAIRING_TOKEN_MAX + 1], hp[PAIRING_HOSTPORT_MAX];
	int	n;

	FUZZ_CHECK(pairing_strerror(e) != NULL);
	if (e != PAIRING_OK) {
		FUZZ_CHECK(key_zero(p) && p->host[0] == '\0' &&
		    p->name[0] == '\0' && p->port == 0);
		return;
	}
	FUZZ_CHECK(len <= PAIRING_TOKEN_MAX);
	FUZZ_CHECK(pairing_host_valid(p->host) && pairing_name_valid(p->name));
	FUZZ_CHECK(p->port != 0);
	FUZZ_CHECK(pairing_hostport(p, hp, sizeof(hp)));
	n = pairing_encode(p, again, sizeof(again));
	FUZZ_CHECK(n >= 0 && (size_t)n == len && memcmp(again, tok, len) == 0);
}

static void
as_token(const uint8_t *data, size_t size)
{
	struct pairing		p;
	enum pairing_error	e;

	e = pairing_parse((const char *)data, size, &p);
	check_parsed((const char *)data, size, e, &p);
}

static void
as_payload(const uint8_t *data, size_t size)
{
	uint8_t			raw[PAIRING_PAYLOAD_MAX + 16], md[EVP_MAX_MD_SIZE];
	char			b64[(sizeof(raw) + 2) / 3 * 4 + 1];
	char			tok[sizeof(b64) + PAIRING_PREFIX_LEN];
	unsigned		mdlen;
	size_t			n = size + PAIRING_CHECK_LEN, o;
	int			bl;
	struct pairing		p;
	enum pairing_error	e;

	if (n > sizeof(raw))
		return;
	memcpy(raw, data, size);
	FUZZ_CHECK(EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL) ==
	    1);
	memcpy(raw + size, md, PAIRING_CHECK_LEN);
	bl = util_base64_encode(raw, n, b64, sizeof(b64));
	FUZZ_CHECK(bl >= 0);
	while (bl > 0 && b64[bl - 1] == '=')
		bl--;
	memcpy(tok, PAIRING_PREFIX, PAIRING_PREFIX_LEN);
	o = PAIRING_PREFIX_LEN;
	for (int i = 0; i < bl; i++)
		tok[o++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	e = pairing_parse(tok, o, &p);
	FUZZ_CHECK(e != PAIRING_E_PREFIX && e != PAIRING_E_BASE64);
	check_parsed(tok, o, e, &p);
}

static void
as_config(const uint8_t *data, size_t size)
{
	struct pairing_ini_set	 set[3] = {
		{ .key = "server", .value = "vps.example.net:8443" },
		{ .key = "key_file", .value = "/etc/mpsocks/client.key" },
		{ .key = "encryption", .value = "tls" },
	};
	const char		*text = (const char *)data;
	size_t			 cap = size + 2048;
	char			*out = malloc(cap), v[400];
	int			 n;

	FUZZ_CHECK(out != NULL);
	n = pairing_ini_edit(text, size, "local", set, NELEM(set), out, cap);
	FUZZ_CHECK(n >= 0 && (size_t)n < cap && out[n] == '\0');
	for (size_t i = 0; i < NELEM(set); i++) {
		FUZZ_CHECK(pairing_ini_get(out, (size_t)n, "local", set[i].key,
		    v, sizeof(v)));
		FUZZ_CHECK(strcmp(v, set[i].value) == 0);
		if (set[i].found) {
			FUZZ_CHECK(pairing_ini_get(text, size, "local",
			    set[i].key, v, sizeof(v)));
			FUZZ_CHECK(strcmp(v, set[i].old) == 0);
		}
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	as_token(data, size);
	as_payload(data, size);
	as_config(data, size);
	return 0;
}
