/*
 * tunnel_proto.c against docs/protocol.md: request header encode, parse
 * and verify; the reply; key ids. Headers with odd bodies are crafted by
 * encoding, patching bytes and recomputing the MAC with OpenSSL here, so
 * the test does not trust the module's own HMAC for them. Version 2 is
 * in test_tunnel_v2.c.
 */

#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto/tunnel_proto.h"

#include "tunnel_fixtures.h"

/* The reply MAC: HMAC(key, reply bytes before it || request MAC)[0..16) */
static void
resign_reply(const uint8_t key[TUNNEL_KEY_LEN], uint8_t *buf, size_t body,
    const uint8_t req_mac[TUNNEL_MAC_LEN])
{
	uint8_t		tmp[TUNNEL_MAX_REPLY + TUNNEL_MAC_LEN], mac[32];
	unsigned	outlen = sizeof(mac);

	memcpy(tmp, buf, body);
	memcpy(tmp + body, req_mac, TUNNEL_MAC_LEN);
	assert_non_null(HMAC(EVP_sha256(), key, TUNNEL_KEY_LEN, tmp,
	    body + TUNNEL_MAC_LEN, mac, &outlen));
	memcpy(buf + body, mac, TUNNEL_REPLY_MAC_LEN);
}

static void
test_request_round_trip(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	for (size_t i = 0; i < NELEM(target_rows); i++) {
		const struct target_row	*r = &target_rows[i];
		struct tunnel_request	 req;
		uint8_t			 out[TUNNEL_MAX_HDR], mac[32], *buf;
		int			 n;

		n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, r->t, NOW,
		    nonce1, out, sizeof(out), mac);
		CHECK_EQ(r->name, n, r->len);
		CHECK_EQ(r->name, out[OFF_VERSION], TUNNEL_VERSION);
		CHECK_EQ(r->name, out[OFF_CMD], TUNNEL_CMD_CONNECT);
		CHECK_EQ(r->name, out[OFF_HDR_LEN] << 8 | out[OFF_HDR_LEN + 1],
		    n);
		CHECK_MEM(r->name, mac, out + n - TUNNEL_MAC_LEN, 32);
		buf = dup_exact(out, (size_t)n);
		memset(&req, 0xa5, sizeof(req));
		CHECK_EQ(r->name, tunnel_parse_request(buf, (size_t)n, &req),
		    PARSE_OK);
		CHECK_EQ(r->name, req.used, n);
		CHECK(r->name, tunnel_verify_request(buf, &req, &ka));
		CHECK_EQ(r->name, req.version, TUNNEL_VERSION);
		CHECK_EQ(r->name, req.cmd, TUNNEL_CMD_CONNECT);
		CHECK_EQ(r->name, req.flags, 0);
		CHECK_EQ(r->name, req.timestamp_ms, NOW);
		CHECK_MEM(r->name, req.nonce, nonce1, TUNNEL_NONCE_LEN);
		CHECK_MEM(r->name, req.key_id, ka.id, TUNNEL_KEYID_LEN);
		CHECK_MEM(r->name, req.mac, mac, TUNNEL_MAC_LEN);
		CHECK_EQ(r->name, req.body_status, REPLY_OK);
		CHECK_EQ(r->name, req.target.atyp, r->t->atyp);
		CHECK_EQ(r->name, req.target.port, r->t->port);
		CHECK_MEM(r->name, req.target.addr, r->t->addr, 16);
		CHECK_STR(r->name, req.target.name, r->t->name);
		free(buf);
	}
}

static void
test_request_hold_no_target(void **state)
{
	struct tunnel_key	ka;
	struct tunnel_request	req;
	uint8_t			out[TUNNEL_MAX_HDR];
	int			n;

	(void)state;
	keys(&ka, NULL);
	n = tunnel_encode_request(&ka, TUNNEL_CMD_HOLD, NULL, NOW, nonce1,
	    out, sizeof(out), NULL);
	assert_int_equal(n, TUNNEL_MIN_HDR);
	assert_int_equal(out[OFF_TARGET], 0);
	assert_int_equal(tunnel_parse_request(out, (size_t)n, &req), PARSE_OK);
	assert_true(tunnel_verify_request(out, &req, &ka));
	assert_int_equal(req.cmd, TUNNEL_CMD_HOLD);
	/* version 1 servers answer HOLD with "command not supported" */
	assert_int_equal(req.body_status, REPLY_CMD_UNSUPPORTED);
	assert_int_equal(req.target.atyp, 0);
	/* CONNECT without a target is a malformed body */
	n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, NULL, NOW, nonce1,
	    out, sizeof(out), NULL);
	assert_int_equal(tunnel_parse_request(out, (size_t)n, &req), PARSE_OK);
	assert_true(tunnel_verify_request(out, &req, &ka));
	assert_int_equal(req.body_status, REPLY_GENERAL);
}

static void
test_request_wrong_key(void **state)
{
	struct tunnel_key	ka, kb;

	(void)state;
	keys(&ka, &kb);
	for (size_t i = 0; i < NELEM(target_rows); i++) {
		const struct target_row	*r = &target_rows[i];
		struct tunnel_request	 req;
		uint8_t			 out[TUNNEL_MAX_HDR];
		int			 n;

		n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, r->t, NOW,
		    nonce1, out, sizeof(out), NULL);
		CHECK(r->name, n > 0);
		CHECK_EQ(r->name, tunnel_parse_request(out, (size_t)n, &req),
		    PARSE_OK);
		CHECK(r->name, !tunnel_verify_request(out, &req, &kb));
		CHECK(r->name, tunnel_verify_request(out, &req, &ka));
		CHECK(r->name, memcmp(req.key_id, kb.id, 8) != 0);
	}
}

/* A flipped bit anywhere must never come through authenticated: either
 * the parse refuses it (or waits for more), or the MAC fails. Checked
 * with the header alone and with bytes behind it, where a bigger hdr_len
 * still parses. */
static void
test_request_every_bit_flip(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	for (size_t i = 0; i < NELEM(target_rows); i++) {
		const struct target_row	*r = &target_rows[i];
		uint8_t			 out[TUNNEL_MAX_HDR], work[2048];
		int			 n;
		size_t			 checked = 0;

		n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, r->t, NOW,
		    nonce1, out, sizeof(out), NULL);
		CHECK(r->name, n > 0);
		for (size_t byte = 0; byte < (size_t)n; byte++)
		for (int bit = 0; bit < 8; bit++)
		for (size_t tail = 0; tail <= 1024; tail += 1024) {
			struct tunnel_request	req;
			enum parse_result	res;
			char			label[96];

			snprintf(label, sizeof(label), "%s byte %zu bit %d "
			    "tail %zu", r->name, byte, bit, tail);
			memset(work, 0x5a, sizeof(work));
			memcpy(work, out, (size_t)n);
			work[byte] ^= (uint8_t)(1u << bit);
			res = tunnel_parse_request(work, (size_t)n + tail,
			    &req);
			if (res == PARSE_OK) {
				CHECK(label, req.used <= (size_t)n + tail);
				CHECK(label, !tunnel_verify_request(work, &req,
				    &ka));
			} else if (tail == 0 && byte >= OFF_HDR_LEN &&
			    byte < OFF_HDR_LEN + 2)
				CHECK(label, res == PARSE_ERROR ||
				    res == PARSE_NEED_MORE);
			else
				CHECK(label, res == PARSE_ERROR);
			checked++;
		}
		CHECK_EQ(r->name, checked, (size_t)n * 8 * 2);
	}
}

static void
test_request_truncated(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	for (size_t i = 0; i < NELEM(target_rows); i++) {
		const struct target_row	*r = &target_rows[i];
		uint8_t			 out[TUNNEL_MAX_HDR], *buf;
		int			 n;

		n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, r->t, NOW,
		    nonce1, out, sizeof(out), NULL);
		for (size_t k = 0; k < (size_t)n; k++) {
			struct tunnel_request	req;
			char			label[64];

			snprintf(label, sizeof(label), "%s, %zu of %d bytes",
			    r->name, k, n);
			buf = dup_exact(out, k);
			CHECK_EQ(label, tunnel_parse_request(buf, k, &req),
			    PARSE_NEED_MORE);
			CHECK_EQ(label, req.used, 0);
			free(buf);
		}
	}
}

static void
test_request_followed_by_data(void **state)
{
	struct tunnel_key	ka;
	struct tunnel_request	req;
	uint8_t			out[TUNNEL_MAX_HDR + 64];
	int			n;

	(void)state;
	keys(&ka, NULL);
	n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t_dom, NOW, nonce1,
	    out, TUNNEL_MAX_HDR, NULL);
	/* early data: the start of a TLS ClientHello */
	memcpy(out + n, "\x16\x03\x01\x02\x00", 5);
	assert_int_equal(tunnel_parse_request(out, (size_t)n + 5, &req),
	    PARSE_OK);
	assert_int_equal(req.used, n);
	assert_true(tunnel_verify_request(out, &req, &ka));
	assert_int_equal(req.body_status, REPLY_OK);
}

struct hdr_len_row {
	const char		*name;
	uint16_t		 hdr_len;
	enum parse_result	 res;
};

static const struct hdr_len_row hdr_len_rows[] = {
	{ "0", 0, PARSE_ERROR },
	{ "min - 1", TUNNEL_MIN_HDR - 1, PARSE_ERROR },
	{ "min", TUNNEL_MIN_HDR, PARSE_OK },
	{ "max", TUNNEL_MAX_HDR, PARSE_OK },
	{ "max + 1", TUNNEL_MAX_HDR + 1, PARSE_ERROR },
	{ "65535", 65535, PARSE_ERROR },
};

static void
test_request_hdr_len_bounds(void **state)
{
	(void)state;
	assert_int_equal(TUNNEL_MIN_HDR, 73);	/* docs/protocol.md */
	for (size_t i = 0; i < NELEM(hdr_len_rows); i++) {
		const struct hdr_len_row	*r = &hdr_len_rows[i];
		struct tunnel_request		 req;
		uint8_t				 buf[TUNNEL_MAX_HDR + 1] = {
			TUNNEL_VERSION, TUNNEL_CMD_CONNECT,
			(uint8_t)(r->hdr_len >> 8), (uint8_t)r->hdr_len,
		};

		/* ERROR as soon as the length is known: 4 bytes */
		CHECK_EQ(r->name, tunnel_parse_request(buf, 4, &req),
		    r->res == PARSE_ERROR ? PARSE_ERROR : PARSE_NEED_MORE);
		CHECK_EQ(r->name, tunnel_parse_request(buf, sizeof(buf), &req),
		    r->res);
		if (r->res == PARSE_OK) {
			CHECK_EQ(r->name, req.used, r->hdr_len);
			CHECK_EQ(r->name, req.body_status, REPLY_GENERAL);
		}
	}
}

static void
test_request_encoder_refuses(void **state)
{
	struct tunnel_key	ka;
	uint8_t			out[TUNNEL_MAX_HDR];
	struct target		t;
	int			n;

	(void)state;
	keys(&ka, NULL);
	/* the longest name fits ... */
	memset(&t, 0, sizeof(t));
	t.atyp = TARGET_DOMAIN;
	t.port = 80;
	memset(t.name, 'a', TARGET_MAX_NAME);
	n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t, NOW, nonce1,
	    out, sizeof(out), NULL);
	assert_int_equal(n, 38 + 2 + 255 + 2 + 2 + 32);
	/* ... but not into a buffer one byte short */
	assert_int_equal(tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t,
	    NOW, nonce1, out, (size_t)n - 1, NULL), -1);
	/* empty and bad names */
	t.name[0] = '\0';
	assert_int_equal(tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t,
	    NOW, nonce1, out, sizeof(out), NULL), -1);
	strcpy(t.name, "bad name");
	assert_int_equal(tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t,
	    NOW, nonce1, out, sizeof(out), NULL), -1);
	strcpy(t.name, "evil\r\nname");
	assert_int_equal(tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t,
	    NOW, nonce1, out, sizeof(out), NULL), -1);
	/* unknown address type */
	memset(&t, 0, sizeof(t));
	t.atyp = 9;
	t.port = 80;
	assert_int_equal(tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t,
	    NOW, nonce1, out, sizeof(out), NULL), -1);
	/* too small for the fixed part */
	assert_int_equal(tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t_v4,
	    NOW, nonce1, out, TUNNEL_MIN_HDR, NULL), -1);
}

/*
 * Regression (fixed): docs/protocol.md says the port is "not 0" and the header says the
 * encoder returns -1 "if the target is invalid", but it encodes port 0,
 * which the server then refuses as a malformed body.
 */
static void
test_request_encoder_refuses_port_0(void **state)
{
	struct tunnel_key	ka;
	uint8_t			out[TUNNEL_MAX_HDR];
	struct target		t = t_v4;

	(void)state;
	keys(&ka, NULL);
	t.port = 0;
	assert_int_equal(tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t,
	    NOW, nonce1, out, sizeof(out), NULL), -1);
}

/* Authentic headers whose body the server cannot serve. */
struct body_row {
	const char		*name;
	const struct target	*t;
	size_t			 off;		/* byte to patch */
	uint8_t			 val;
	enum reply_code	 want;
	size_t			 off2;		/* another, if not 0 */
	uint8_t			 val2;
};

static const struct body_row body_rows[] = {
	{ "unpatched", &t_v4, 0, TUNNEL_VERSION, REPLY_OK, 0, 0 },
	{ "cmd 9", &t_v4, OFF_CMD, 9, REPLY_CMD_UNSUPPORTED, 0, 0 },
	{ "cmd 0", &t_v4, OFF_CMD, 0, REPLY_CMD_UNSUPPORTED, 0, 0 },
	{ "cmd hold", &t_dom, OFF_CMD, TUNNEL_CMD_HOLD,
	    REPLY_CMD_UNSUPPORTED, 0, 0 },
	{ "atyp 9", &t_v4, OFF_TARGET, 9, REPLY_ATYP_UNSUPPORTED, 0, 0 },
	{ "atyp 2", &t_v6, OFF_TARGET, 2, REPLY_ATYP_UNSUPPORTED, 0, 0 },
	{ "atyp 4 for a v4 body", &t_v4, OFF_TARGET, TARGET_IPV6,
	    REPLY_GENERAL, 0, 0 },
	{ "atyp 1 for a v6 body", &t_v6, OFF_TARGET, TARGET_IPV4,
	    REPLY_GENERAL, 0, 0 },
	{ "version 2", &t_v4, OFF_VERSION, 2, REPLY_GENERAL, 0, 0 },
	{ "version 0x16", &t_v4, OFF_VERSION, 0x16, REPLY_GENERAL, 0, 0 },
	{ "name byte space", &t_dom, OFF_TARGET + 2, ' ', REPLY_GENERAL,
	    0, 0 },
	{ "name length 0", &t_dom, OFF_TARGET + 1, 0, REPLY_GENERAL, 0, 0 },
	{ "name length too long", &t_dom, OFF_TARGET + 1, 16,
	    REPLY_GENERAL, 0, 0 },
	{ "name length short", &t_dom, OFF_TARGET + 1, 14, REPLY_GENERAL,
	    0, 0 },
	{ "port 0", &t_v4, OFF_TARGET + 5, 0, REPLY_GENERAL,
	    OFF_TARGET + 6, 0 },
	{ "port 1", &t_v4, OFF_TARGET + 5, 0, REPLY_OK,
	    OFF_TARGET + 6, 1 },
	{ "ext_len 1 past the end", &t_v4, OFF_TARGET + 8, 1,
	    REPLY_GENERAL, 0, 0 },
	{ "flags set: ignored", &t_v4, 5, 0x80, REPLY_OK, 0, 0 },
};

static void
test_request_authentic_bad_body(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	for (size_t i = 0; i < NELEM(body_rows); i++) {
		const struct body_row	*r = &body_rows[i];
		struct tunnel_request	 req;
		uint8_t			 out[TUNNEL_MAX_HDR];
		int			 n;

		n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, r->t, NOW,
		    nonce1, out, sizeof(out), NULL);
		CHECK(r->name, n > 0);
		out[r->off] = r->val;
		if (r->off2 != 0)
			out[r->off2] = r->val2;
		resign_request(key_a, out, (size_t)n);
		CHECK_EQ(r->name, tunnel_parse_request(out, (size_t)n, &req),
		    PARSE_OK);
		CHECK_EQ(r->name, req.used, n);
		CHECK(r->name, tunnel_verify_request(out, &req, &ka));
		CHECK_EQ(r->name, req.version, out[OFF_VERSION]);
		CHECK_EQ(r->name, req.cmd, out[OFF_CMD]);
		CHECK_EQ(r->name, req.body_status, r->want);
	}
}

/* Extensions: unknown ones are skipped unless critical. */
struct ext_row {
	const char		*name, *ext_hex;
	enum reply_code	 want;
};

static const struct ext_row ext_rows[] = {
	{ "none", "", REPLY_OK },
	{ "unknown, skipped", "05 02 abcd", REPLY_OK },
	{ "two unknown", "05 00 06 01 ff", REPLY_OK },
	{ "unknown critical", "85 00", REPLY_GENERAL },
	{ "critical after skipped", "05 01 00 90 00", REPLY_GENERAL },
	{ "length past the end", "05 03 abcd", REPLY_GENERAL },
	{ "type without length", "05", REPLY_GENERAL },
};

static void
test_request_extensions(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	for (size_t i = 0; i < NELEM(ext_rows); i++) {
		const struct ext_row	*r = &ext_rows[i];
		struct tunnel_request	 req;
		uint8_t			 out[TUNNEL_MAX_HDR], ext[64];
		size_t			 el = hex_decode(r->ext_hex, ext,
					    sizeof(ext)), body, total;
		int			 n;

		n = tunnel_encode_request(&ka, TUNNEL_CMD_CONNECT, &t_v4, NOW,
		    nonce1, out, sizeof(out), NULL);
		/* rebuild: fixed + target, ext_len, ext, MAC */
		body = (size_t)n - TUNNEL_MAC_LEN - 2;
		total = body + 2 + el + TUNNEL_MAC_LEN;
		put_u16be(out + OFF_HDR_LEN, (uint16_t)total);
		put_u16be(out + body, (uint16_t)el);
		memcpy(out + body + 2, ext, el);
		resign_request(key_a, out, total);
		CHECK_EQ(r->name, tunnel_parse_request(out, total, &req),
		    PARSE_OK);
		CHECK_EQ(r->name, req.used, total);
		CHECK(r->name, tunnel_verify_request(out, &req, &ka));
		CHECK_EQ(r->name, req.body_status, r->want);
	}
}

/* Reply */

static const uint8_t req_mac1[TUNNEL_MAC_LEN] = { 0x11, 0x22, [31] = 0x33 };
static const uint8_t req_mac2[TUNNEL_MAC_LEN] = { 0x11, 0x22, [31] = 0x34 };

struct reply_row {
	const char	*name;
	uint8_t		 status;
	bool		 mismatch;
	size_t		 len;
};

static const struct reply_row reply_rows[] = {
	{ "ok", REPLY_OK, false, 4 + 16 },
	{ "refused", REPLY_REFUSED, false, 4 + 16 },
	{ "not allowed", REPLY_NOT_ALLOWED, false, 4 + 16 },
	/* versions ext: type, length 2, versions 1 and 2 */
	{ "version mismatch", REPLY_GENERAL, true, 4 + 4 + 16 },
};

static void
test_reply_round_trip(void **state)
{
	struct tunnel_key	ka, kb;

	(void)state;
	keys(&ka, &kb);
	for (size_t i = 0; i < NELEM(reply_rows); i++) {
		const struct reply_row	*r = &reply_rows[i];
		struct tunnel_reply	 rep;
		uint8_t			 out[TUNNEL_MAX_REPLY], *buf;
		int			 n;

		n = tunnel_encode_reply(&ka, r->status, r->mismatch, req_mac1,
		    out, sizeof(out));
		CHECK_EQ(r->name, n, r->len);
		CHECK_EQ(r->name, out[0], TUNNEL_VERSION);
		CHECK_EQ(r->name, out[1], r->status);
		buf = dup_exact(out, (size_t)n);
		memset(&rep, 0xa5, sizeof(rep));
		CHECK_EQ(r->name, tunnel_parse_reply(buf, (size_t)n, &ka,
		    req_mac1, &rep), PARSE_OK);
		CHECK_EQ(r->name, rep.used, n);
		CHECK_EQ(r->name, rep.status, r->status);
		CHECK_EQ(r->name, rep.n_server_versions, r->mismatch ? 2 : 0);
		if (r->mismatch) {
			CHECK_MEM(r->name, out + 4, "\x01\x02\x01\x02", 4);
			CHECK_EQ(r->name, out[2] << 8 | out[3], 4);
			CHECK_EQ(r->name, rep.server_versions[0],
			    TUNNEL_VERSION);
			CHECK_EQ(r->name, rep.server_versions[1],
			    TUNNEL_VERSION_TLS);
		} else
			CHECK_EQ(r->name, out[2] << 8 | out[3], 0);
		/* bound to the request: another request's MAC fails */
		CHECK_EQ(r->name, tunnel_parse_reply(buf, (size_t)n, &ka,
		    req_mac2, &rep), PARSE_ERROR);
		/* and to the key */
		CHECK_EQ(r->name, tunnel_parse_reply(buf, (size_t)n, &kb,
		    req_mac1, &rep), PARSE_ERROR);
		/* truncated anywhere: wait for more */
		for (size_t k = 0; k < (size_t)n; k++) {
			uint8_t	*p = dup_exact(out, k);
			char	 label[64];

			snprintf(label, sizeof(label), "%s, %zu of %d bytes",
			    r->name, k, n);
			CHECK_EQ(label, tunnel_parse_reply(p, k, &ka, req_mac1,
			    &rep), PARSE_NEED_MORE);
			free(p);
		}
		free(buf);
		/* followed by relayed bytes: consumes exactly the reply */
		memcpy(out + n, "HTTP/1.1 200 OK\r\n", 17);
		CHECK_EQ(r->name, tunnel_parse_reply(out, (size_t)n + 17, &ka,
		    req_mac1, &rep), PARSE_OK);
		CHECK_EQ(r->name, rep.used, n);
	}
}

static void
test_reply_every_bit_flip(void **state)
{
	struct tunnel_key	ka;
	uint8_t			out[TUNNEL_MAX_REPLY], work[TUNNEL_MAX_REPLY];
	int			n;

	(void)state;
	keys(&ka, NULL);
	n = tunnel_encode_reply(&ka, REPLY_GENERAL, true, req_mac1, out,
	    sizeof(out));
	for (size_t byte = 0; byte < (size_t)n; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			struct tunnel_reply	rep;
			enum parse_result	res;

			memset(work, 0, sizeof(work));
			memcpy(work, out, (size_t)n);
			work[byte] ^= (uint8_t)(1u << bit);
			res = tunnel_parse_reply(work, sizeof(work), &ka,
			    req_mac1, &rep);
			if (res != PARSE_ERROR)
				fail_msg("byte %zu bit %d: result %d", byte,
				    bit, res);
		}
	}
}

struct bad_reply_row {
	const char		*name, *hex;
	enum parse_result	 res;
};

static const struct bad_reply_row bad_reply_rows[] = {
	{ "version 2", "02 00 0000", PARSE_ERROR },
	{ "version 0", "00", PARSE_ERROR },
	{ "ext_len too big", "01 00 00ed", PARSE_ERROR },
	{ "ext_len at the cap", "01 00 00ec", PARSE_NEED_MORE },
	{ "mac missing", "01 00 0000 0011223344", PARSE_NEED_MORE },
};

static void
test_reply_bad(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	assert_int_equal(TUNNEL_REPLY_FIXED + 0xec + TUNNEL_REPLY_MAC_LEN,
	    TUNNEL_MAX_REPLY);
	for (size_t i = 0; i < NELEM(bad_reply_rows); i++) {
		const struct bad_reply_row	*r = &bad_reply_rows[i];
		struct tunnel_reply		 rep;
		uint8_t				 raw[64], *buf;
		size_t				 n = hex_decode(r->hex, raw,
						    sizeof(raw));

		buf = dup_exact(raw, n);
		CHECK_EQ(r->name, tunnel_parse_reply(buf, n, &ka, req_mac1,
		    &rep), r->res);
		CHECK_EQ(r->name, rep.used, 0);
		free(buf);
	}
	/* too small an output buffer */
	uint8_t out[4 + 4 + 16];
	assert_int_equal(tunnel_encode_reply(&ka, 0, true, req_mac1, out,
	    sizeof(out) - 1), -1);
	assert_int_equal(tunnel_encode_reply(&ka, 0, true, req_mac1, out,
	    sizeof(out)), sizeof(out));
}

/* Reply extensions, authenticated by the test's own HMAC. */
struct reply_ext_row {
	const char		*name, *ext_hex;
	enum parse_result	 res;
	size_t			 n_versions;
	uint8_t			 first;
};

static const struct reply_ext_row reply_ext_rows[] = {
	{ "versions 1 2", "01 02 0102", PARSE_OK, 2, 1 },
	{ "versions, 10 listed, 8 kept", "01 0a 0102030405060708090a",
	    PARSE_OK, 8, 1 },
	{ "unknown, skipped", "07 01 00 01 01 03", PARSE_OK, 1, 3 },
	{ "length past the end", "01 05 0102", PARSE_ERROR, 0, 0 },
	{ "type without length", "01 02 0102 07", PARSE_ERROR, 0, 0 },
};

static void
test_reply_extensions(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	for (size_t i = 0; i < NELEM(reply_ext_rows); i++) {
		const struct reply_ext_row	*r = &reply_ext_rows[i];
		struct tunnel_reply		 rep;
		uint8_t				 buf[TUNNEL_MAX_REPLY];
		size_t				 el;

		buf[0] = TUNNEL_VERSION;
		buf[1] = REPLY_GENERAL;
		el = hex_decode(r->ext_hex, buf + 4, sizeof(buf) - 4 - 16);
		put_u16be(buf + 2, (uint16_t)el);
		resign_reply(key_a, buf, 4 + el, req_mac1);
		memset(&rep, 0xa5, sizeof(rep));
		CHECK_EQ(r->name, tunnel_parse_reply(buf, 4 + el + 16, &ka,
		    req_mac1, &rep), r->res);
		if (r->res != PARSE_OK)
			continue;
		CHECK_EQ(r->name, rep.used, 4 + el + 16);
		CHECK_EQ(r->name, rep.status, REPLY_GENERAL);
		CHECK_EQ(r->name, rep.n_server_versions, r->n_versions);
		CHECK_EQ(r->name, rep.server_versions[0], r->first);
	}
}

/*
 * Regression (fixed): docs/protocol.md says reply extensions are "as in the request",
 * where a receiver that does not know a critical (0x80) type must refuse
 * the message; tunnel_parse_reply() skips it and returns OK.
 */
static void
test_reply_refuses_unknown_critical_ext(void **state)
{
	struct tunnel_key	ka;
	struct tunnel_reply	rep;
	uint8_t			buf[4 + 2 + 16] = {
		TUNNEL_VERSION, REPLY_OK, 0x00, 0x02, 0x81, 0x00,
	};

	(void)state;
	keys(&ka, NULL);
	resign_reply(key_a, buf, 6, req_mac1);
	assert_int_equal(tunnel_parse_reply(buf, sizeof(buf), &ka, req_mac1,
	    &rep), PARSE_ERROR);
}

/* Key ids */

static void
test_key_id(void **state)
{
	struct tunnel_key	a1, a2, b;
	uint8_t			mac[32];
	unsigned		outlen = sizeof(mac);
	static const char	label[] = "mpsocks key id v1";

	(void)state;
	tunnel_key_init(&a1, "alice", key_a);
	tunnel_key_init(&a2, "other name", key_a);
	tunnel_key_init(&b, "alice", key_b);
	assert_memory_equal(a1.id, a2.id, TUNNEL_KEYID_LEN);
	assert_memory_not_equal(a1.id, b.id, TUNNEL_KEYID_LEN);
	assert_memory_equal(a1.key, key_a, TUNNEL_KEY_LEN);
	assert_string_equal(a1.name, "alice");
	assert_string_equal(a2.name, "other name");
	/* docs/protocol.md: the first 8 bytes of HMAC(key, label) */
	HMAC(EVP_sha256(), key_a, TUNNEL_KEY_LEN, (const uint8_t *)label,
	    sizeof(label) - 1, mac, &outlen);
	assert_memory_equal(a1.id, mac, TUNNEL_KEYID_LEN);
	/* a long name is cut, and stays terminated */
	char long_name[200];
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	tunnel_key_init(&a1, long_name, key_a);
	assert_int_equal(strlen(a1.name), sizeof(a1.name) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_hold_no_target),
		cmocka_unit_test(test_request_wrong_key),
		cmocka_unit_test(test_request_every_bit_flip),
		cmocka_unit_test(test_request_truncated),
		cmocka_unit_test(test_request_followed_by_data),
		cmocka_unit_test(test_request_hdr_len_bounds),
		cmocka_unit_test(test_request_encoder_refuses),
		cmocka_unit_test(test_request_encoder_refuses_port_0),
		cmocka_unit_test(test_request_authentic_bad_body),
		cmocka_unit_test(test_request_extensions),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_reply_every_bit_flip),
		cmocka_unit_test(test_reply_bad),
		cmocka_unit_test(test_reply_extensions),
		cmocka_unit_test(test_reply_refuses_unknown_critical_ext),
		cmocka_unit_test(test_key_id),
	};

	return cmocka_run_group_tests_name("tunnel_proto", tests, NULL, NULL);
}
