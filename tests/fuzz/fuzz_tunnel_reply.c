/*
 * Tunnel reply: parse with a fixed key and request MAC. As the fuzzer
 * cannot forge the MAC, each input is also re-signed here so that the
 * extension walk behind the MAC check gets fuzzed too. Plus an encode ->
 * parse round trip on a status and flag taken from the input.
 */

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "fuzz.h"
#include "proto/tunnel_proto.h"

static const uint8_t	fuzz_key[TUNNEL_KEY_LEN] = FUZZ_KEY_BYTES;
static const uint8_t	other_key[TUNNEL_KEY_LEN] = { 0x42 };
static const uint8_t	req_mac[TUNNEL_MAC_LEN] = FUZZ_REQ_MAC_BYTES;

static const struct tunnel_key *
key(int other)
{
	static struct tunnel_key	k[2];
	static int			init;

	if (!init) {
		tunnel_key_init(&k[0], "fuzz", fuzz_key);
		tunnel_key_init(&k[1], "other", other_key);
		init = 1;
	}
	return &k[other];
}

static void
check_ok(const uint8_t *data, size_t size, const struct tunnel_reply *rep)
{
	struct tunnel_reply	rep2;
	size_t			ext_len = (size_t)data[2] << 8 | data[3];

	FUZZ_CHECK(rep->used == TUNNEL_REPLY_FIXED + ext_len +
	    TUNNEL_REPLY_MAC_LEN);
	FUZZ_CHECK(rep->used <= size && rep->used <= TUNNEL_MAX_REPLY);
	FUZZ_CHECK(rep->status == reply_from_wire(data[1]));
	FUZZ_CHECK(rep->n_server_versions <= sizeof(rep->server_versions));
	FUZZ_CHECK(tunnel_parse_reply(data, rep->used, key(0), req_mac,
	    &rep2) == PARSE_OK && rep2.used == rep->used);
	for (size_t k = 0; k < rep->used; k++)
		FUZZ_CHECK(tunnel_parse_reply(data, k, key(0), req_mac,
		    &rep2) == PARSE_NEED_MORE);
	/* bound to the key and to the request */
	FUZZ_CHECK(tunnel_parse_reply(data, size, key(1), req_mac, &rep2) ==
	    PARSE_ERROR);
}

/* Sign data[0 .. 4 + ext_len) as the server would, then parse. */
static void
resigned(const uint8_t *data, size_t size)
{
	struct tunnel_reply	 rep;
	size_t			 ext_len, body, len;
	uint8_t			*copy, tmp[TUNNEL_MAX_REPLY + TUNNEL_MAC_LEN];
	uint8_t			 mac[32];
	unsigned		 maclen = sizeof(mac);
	enum parse_result	 r;

	if (size < TUNNEL_REPLY_FIXED || data[0] != TUNNEL_VERSION)
		return;
	ext_len = (size_t)data[2] << 8 | data[3];
	body = TUNNEL_REPLY_FIXED + ext_len;
	len = body + TUNNEL_REPLY_MAC_LEN;
	if (len > TUNNEL_MAX_REPLY || len > size)
		return;
	memcpy(tmp, data, body);
	memcpy(tmp + body, req_mac, TUNNEL_MAC_LEN);
	FUZZ_CHECK(HMAC(EVP_sha256(), fuzz_key, TUNNEL_KEY_LEN, tmp,
	    body + TUNNEL_MAC_LEN, mac, &maclen) != NULL);
	FUZZ_CHECK((copy = malloc(len)) != NULL);
	memcpy(copy, data, body);
	memcpy(copy + body, mac, TUNNEL_REPLY_MAC_LEN);
	r = tunnel_parse_reply(copy, len, key(0), req_mac, &rep);
	/* authentic: only a malformed extension list can refuse it */
	FUZZ_CHECK(r == PARSE_OK || r == PARSE_ERROR);
	if (r == PARSE_OK)
		check_ok(copy, len, &rep);
	/* the original is authentic exactly when its MAC is this one */
	r = tunnel_parse_reply(data, size, key(0), req_mac, &rep);
	if (memcmp(data + body, mac, TUNNEL_REPLY_MAC_LEN) != 0)
		FUZZ_CHECK(r == PARSE_ERROR);
	free(copy);
}

static void
round_trip(const uint8_t *data, size_t size)
{
	struct tunnel_reply	rep;
	uint8_t			out[TUNNEL_MAX_REPLY];
	enum reply_code		status = reply_from_wire(size > 0 ? data[0] : 0);
	bool			mismatch = size > 1 && (data[1] & 1);
	int			n;

	n = tunnel_encode_reply(key(0), status, mismatch, req_mac, out,
	    sizeof(out));
	/* the versions extension: type, length, versions 1 and 2 */
	FUZZ_CHECK(n == TUNNEL_REPLY_FIXED + (mismatch ? 4 : 0) +
	    TUNNEL_REPLY_MAC_LEN);
	FUZZ_CHECK(tunnel_parse_reply(out, (size_t)n, key(0), req_mac,
	    &rep) == PARSE_OK);
	FUZZ_CHECK(rep.used == (size_t)n && rep.status == status);
	FUZZ_CHECK(rep.n_server_versions == (mismatch ? 2u : 0u));
	if (mismatch)
		FUZZ_CHECK(rep.server_versions[0] == TUNNEL_VERSION &&
		    rep.server_versions[1] == TUNNEL_VERSION_TLS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tunnel_reply	rep;
	enum parse_result	r;

	r = tunnel_parse_reply(data, size, key(0), req_mac, &rep);
	if (r == PARSE_OK)
		check_ok(data, size, &rep);
	else
		FUZZ_CHECK(rep.used == 0);
	if (size == 0)
		FUZZ_CHECK(r == PARSE_NEED_MORE);
	else if (data[0] != TUNNEL_VERSION)
		FUZZ_CHECK(r == PARSE_ERROR);
	resigned(data, size);
	round_trip(data, size);
	return 0;
}
