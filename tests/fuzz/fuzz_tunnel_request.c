/*
 * Tunnel request header: structural parse, then verify with a fixed key.
 * A fuzzer cannot forge the MAC, so each header that parses is also
 * re-signed here with the fixed key, which drives the authenticated path:
 * the re-signed copy must verify, parse to the same fields, and, when its
 * body is good, re-encode into a header that parses back the same. A v2
 * preamble (70 bytes, no target) re-encodes to the same bytes when its
 * flags are 0.
 */

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "fuzz.h"
#include "proto/tunnel_proto.h"

static const uint8_t	fuzz_key[TUNNEL_KEY_LEN] = FUZZ_KEY_BYTES;

static const struct tunnel_key *
key(void)
{
	static struct tunnel_key	k;
	static int			init;

	if (!init) {
		tunnel_key_init(&k, "fuzz", fuzz_key);
		init = 1;
	}
	return &k;
}

static void
same_fields(const struct tunnel_request *a, const struct tunnel_request *b)
{
	FUZZ_CHECK(a->used == b->used && a->version == b->version &&
	    a->cmd == b->cmd && a->flags == b->flags &&
	    a->timestamp_ms == b->timestamp_ms &&
	    a->body_status == b->body_status);
	FUZZ_CHECK(memcmp(a->nonce, b->nonce, TUNNEL_NONCE_LEN) == 0);
	FUZZ_CHECK(memcmp(a->key_id, b->key_id, TUNNEL_KEYID_LEN) == 0);
	FUZZ_CHECK(memcmp(&a->target, &b->target, sizeof(a->target)) == 0);
}

/* An authentic request with a good body: encode it again from its fields. */
static void
reencode(const struct tunnel_request *req)
{
	struct tunnel_request	again;
	uint8_t			out[TUNNEL_MAX_HDR], mac[TUNNEL_MAC_LEN];
	int			n;

	FUZZ_CHECK(req->cmd == TUNNEL_CMD_CONNECT);
	FUZZ_CHECK(req->target.port != 0);
	FUZZ_CHECK(req->target.atyp == TARGET_IPV4 ||
	    req->target.atyp == TARGET_IPV6 ||
	    req->target.atyp == TARGET_DOMAIN);
	n = tunnel_encode_request(key(), req->cmd, &req->target,
	    req->timestamp_ms, req->nonce, out, sizeof(out), mac);
	FUZZ_CHECK(n >= TUNNEL_MIN_HDR && (size_t)n <= req->used);
	FUZZ_CHECK(tunnel_parse_request(out, (size_t)n, &again) == PARSE_OK);
	FUZZ_CHECK(tunnel_verify_request(out, &again, key()));
	FUZZ_CHECK(memcmp(again.mac, mac, TUNNEL_MAC_LEN) == 0);
	FUZZ_CHECK(again.body_status == REPLY_OK && again.flags == 0);
	FUZZ_CHECK(again.timestamp_ms == req->timestamp_ms);
	FUZZ_CHECK(memcmp(again.nonce, req->nonce, TUNNEL_NONCE_LEN) == 0);
	FUZZ_CHECK(memcmp(&again.target, &req->target,
	    sizeof(again.target)) == 0);
}

/* An authentic v2 preamble: encode it again, derive its PSK. */
static void
reencode_preamble(const uint8_t *copy, const struct tunnel_request *req)
{
	struct tunnel_request	again;
	uint8_t			out[TUNNEL_PREAMBLE_LEN];
	uint8_t			psk[TUNNEL_PSK_LEN], psk2[TUNNEL_PSK_LEN];

	FUZZ_CHECK(req->used == TUNNEL_PREAMBLE_LEN);
	FUZZ_CHECK(req->target.atyp == 0 && req->target.port == 0);
	FUZZ_CHECK(tunnel_encode_preamble(key(), req->cmd, req->timestamp_ms,
	    req->nonce, out) == TUNNEL_PREAMBLE_LEN);
	FUZZ_CHECK(tunnel_parse_request(out, sizeof(out), &again) == PARSE_OK);
	FUZZ_CHECK(tunnel_verify_request(out, &again, key()));
	FUZZ_CHECK(again.flags == 0 && again.body_status == req->body_status);
	FUZZ_CHECK(again.timestamp_ms == req->timestamp_ms);
	FUZZ_CHECK(memcmp(again.nonce, req->nonce, TUNNEL_NONCE_LEN) == 0);
	/* the encoder writes flags 0 and the fuzz key's id (the copy was
	 * signed with that key whatever id it names); the rest is the
	 * input's, and so is the MAC when both match */
	FUZZ_CHECK(memcmp(out, copy, 4) == 0);
	FUZZ_CHECK(memcmp(out + 6, copy + 6, 8 + TUNNEL_NONCE_LEN) == 0);
	if (req->flags == 0 &&
	    memcmp(req->key_id, key()->id, TUNNEL_KEYID_LEN) == 0)
		FUZZ_CHECK(memcmp(out, copy, TUNNEL_PREAMBLE_LEN) == 0);
	/* deterministic, and never the raw key */
	FUZZ_CHECK(tunnel_tls_psk(key(), copy, psk));
	FUZZ_CHECK(tunnel_tls_psk(key(), copy, psk2));
	FUZZ_CHECK(memcmp(psk, psk2, TUNNEL_PSK_LEN) == 0);
	FUZZ_CHECK(memcmp(psk, fuzz_key, TUNNEL_PSK_LEN) != 0);
}

static void
resigned(const uint8_t *data, const struct tunnel_request *req)
{
	struct tunnel_request	 req2;
	uint8_t			*copy = malloc(req->used);
	unsigned		 maclen = TUNNEL_MAC_LEN;

	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data, req->used);
	FUZZ_CHECK(HMAC(EVP_sha256(), fuzz_key, TUNNEL_KEY_LEN, copy,
	    req->used - TUNNEL_MAC_LEN, copy + req->used - TUNNEL_MAC_LEN,
	    &maclen) != NULL);
	FUZZ_CHECK(tunnel_parse_request(copy, req->used, &req2) == PARSE_OK);
	same_fields(req, &req2);
	FUZZ_CHECK(tunnel_verify_request(copy, &req2, key()));
	/* the MAC covers every byte: the original verifies only if equal */
	FUZZ_CHECK(tunnel_verify_request(data, req, key()) ==
	    (memcmp(copy, data, req->used) == 0));
	if (req2.version == TUNNEL_VERSION) {
		if (req2.body_status == REPLY_OK)
			reencode(&req2);
	} else if (req2.version == TUNNEL_VERSION_TLS) {
		/* v2: the body travels in TLS, the preamble has none */
		FUZZ_CHECK(req2.target.atyp == 0);
		if (req2.used != TUNNEL_PREAMBLE_LEN)
			FUZZ_CHECK(req2.body_status == REPLY_GENERAL);
		else if (req2.cmd != TUNNEL_CMD_CONNECT)
			FUZZ_CHECK(req2.body_status == REPLY_CMD_UNSUPPORTED);
		else
			FUZZ_CHECK(req2.body_status == REPLY_OK);
		if (req2.used == TUNNEL_PREAMBLE_LEN)
			reencode_preamble(copy, &req2);
	} else
		FUZZ_CHECK(req2.body_status == REPLY_GENERAL);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tunnel_request	req, req2;
	enum parse_result	r;
	size_t			hdr_len;

	r = tunnel_parse_request(data, size, &req);
	if (size < 4) {
		FUZZ_CHECK(r == PARSE_NEED_MORE && req.used == 0);
		return 0;
	}
	hdr_len = (size_t)data[2] << 8 | data[3];
	/* only v1 must be long enough for a target; any other version's
	 * header may be as short as a v2 preamble */
	if (hdr_len < TUNNEL_PREAMBLE_LEN || hdr_len > TUNNEL_MAX_HDR ||
	    (hdr_len < TUNNEL_MIN_HDR && data[0] == TUNNEL_VERSION)) {
		FUZZ_CHECK(r == PARSE_ERROR && req.used == 0);
		return 0;
	}
	if (size < hdr_len) {
		FUZZ_CHECK(r == PARSE_NEED_MORE && req.used == 0);
		return 0;
	}
	FUZZ_CHECK(r == PARSE_OK && req.used == hdr_len);
	FUZZ_CHECK(req.version == data[0] && req.cmd == data[1]);
	FUZZ_CHECK(memcmp(req.mac, data + hdr_len - TUNNEL_MAC_LEN,
	    TUNNEL_MAC_LEN) == 0);
	FUZZ_CHECK(req.body_status <= REPLY_ATYP_UNSUPPORTED);
	/* nothing behind the header changes the parse */
	FUZZ_CHECK(tunnel_parse_request(data, req.used, &req2) == PARSE_OK);
	same_fields(&req, &req2);
	for (size_t k = 0; k < req.used; k++)
		FUZZ_CHECK(tunnel_parse_request(data, k, &req2) ==
		    PARSE_NEED_MORE);
	resigned(data, &req);
	return 0;
}
