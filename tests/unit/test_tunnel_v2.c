/*
 * tunnel_proto.c, version 2 (docs/protocol.md): the preamble, the TLS
 * PSK (checked against an HKDF done by hand and a vector from Python),
 * the request and reply inside TLS.
 */

#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto/tunnel_proto.h"
#include "tunnel_fixtures.h"

/* Version 2: the preamble */

static const uint8_t nonce2[TUNNEL_NONCE_LEN] = { 0xde, 0xad, 0xbe, 0xee };

/* key_a, CONNECT, NOW, nonce1: computed outside OpenSSL (Python's hmac) */
#define PREAMBLE_A_HEX							\
	"02 01 0046 0000 0000018bcfe5687b deadbeef0102030405060708090a0b0c" \
	" 9e1c8fcd19cf4a3a"						\
	" bc31eb8280f1a362aab8fd8bcbfc8f52ca7f2918f0f3add1cff6df488d12b73a"

static void
test_preamble_round_trip(void **state)
{
	struct tunnel_key	 ka, kb;
	struct tunnel_request	 req;
	uint8_t			 out[TUNNEL_PREAMBLE_LEN], want[128], *buf;
	uint8_t			 mac[32];
	unsigned		 maclen = sizeof(mac);
	int			 n;

	(void)state;
	keys(&ka, &kb);
	assert_int_equal(TUNNEL_PREAMBLE_LEN, 70);	/* v2spec.md */
	n = tunnel_encode_preamble(&ka, TUNNEL_CMD_CONNECT, NOW, nonce1, out);
	assert_int_equal(n, TUNNEL_PREAMBLE_LEN);
	assert_int_equal(hex_decode(PREAMBLE_A_HEX, want, sizeof(want)), 70);
	assert_memory_equal(out, want, 70);
	/* the MAC is HMAC-SHA256(key, bytes 0..37), as in v1 */
	assert_non_null(HMAC(EVP_sha256(), key_a, TUNNEL_KEY_LEN, out,
	    TUNNEL_FIXED_LEN, mac, &maclen));
	assert_memory_equal(out + TUNNEL_FIXED_LEN, mac, TUNNEL_MAC_LEN);

	buf = dup_exact(out, (size_t)n);
	memset(&req, 0xa5, sizeof(req));
	assert_int_equal(tunnel_parse_request(buf, (size_t)n, &req), PARSE_OK);
	assert_int_equal(req.used, TUNNEL_PREAMBLE_LEN);
	assert_int_equal(req.version, TUNNEL_VERSION_TLS);
	assert_int_equal(req.cmd, TUNNEL_CMD_CONNECT);
	assert_int_equal(req.flags, 0);
	assert_int_equal(req.timestamp_ms, NOW);
	assert_memory_equal(req.nonce, nonce1, TUNNEL_NONCE_LEN);
	assert_memory_equal(req.key_id, ka.id, TUNNEL_KEYID_LEN);
	assert_memory_equal(req.mac, mac, TUNNEL_MAC_LEN);
	assert_int_equal(req.body_status, REPLY_OK);
	assert_int_equal(req.target.atyp, 0);		/* no target in v2 */
	assert_true(tunnel_verify_request(buf, &req, &ka));
	assert_false(tunnel_verify_request(buf, &req, &kb));
	free(buf);

	/* HOLD: authentic, but not served yet */
	n = tunnel_encode_preamble(&ka, TUNNEL_CMD_HOLD, NOW, nonce1, out);
	assert_int_equal(tunnel_parse_request(out, (size_t)n, &req), PARSE_OK);
	assert_true(tunnel_verify_request(out, &req, &ka));
	assert_int_equal(req.cmd, TUNNEL_CMD_HOLD);
	assert_int_equal(req.body_status, REPLY_CMD_UNSUPPORTED);
}

/* Preamble then the ClientHello, in one write: consume only the preamble;
 * and every prefix waits for more. */
static void
test_preamble_truncated_and_followed(void **state)
{
	struct tunnel_key	ka;
	struct tunnel_request	req;
	uint8_t			out[TUNNEL_PREAMBLE_LEN + 16], *buf;

	(void)state;
	keys(&ka, NULL);
	assert_int_equal(tunnel_encode_preamble(&ka, TUNNEL_CMD_CONNECT, NOW,
	    nonce1, out), TUNNEL_PREAMBLE_LEN);
	for (size_t k = 0; k < TUNNEL_PREAMBLE_LEN; k++) {
		char	label[32];

		snprintf(label, sizeof(label), "%zu of 70 bytes", k);
		buf = dup_exact(out, k);
		memset(&req, 0xa5, sizeof(req));
		CHECK_EQ(label, tunnel_parse_request(buf, k, &req),
		    PARSE_NEED_MORE);
		CHECK_EQ(label, req.used, 0);
		free(buf);
	}
	memcpy(out + TUNNEL_PREAMBLE_LEN, "\x16\x03\x01\x02\x00", 5);
	buf = dup_exact(out, TUNNEL_PREAMBLE_LEN + 5);
	assert_int_equal(tunnel_parse_request(buf, TUNNEL_PREAMBLE_LEN + 5,
	    &req), PARSE_OK);
	assert_int_equal(req.used, TUNNEL_PREAMBLE_LEN);
	assert_true(tunnel_verify_request(buf, &req, &ka));
	assert_int_equal(req.body_status, REPLY_OK);
	free(buf);
}

/*
 * No flipped bit comes through authenticated. Outside version and
 * hdr_len the structure is unchanged, so the parse must succeed and the
 * MAC fail; a flipped version makes hdr_len 70 too short (ERROR); a
 * flipped hdr_len is ERROR, waits for more, or (with bytes behind it)
 * parses a longer header whose "MAC" is not one.
 */
static void
test_preamble_every_bit_flip(void **state)
{
	struct tunnel_key	ka;
	uint8_t			out[TUNNEL_PREAMBLE_LEN], work[2048];
	size_t			checked = 0;

	(void)state;
	keys(&ka, NULL);
	tunnel_encode_preamble(&ka, TUNNEL_CMD_CONNECT, NOW, nonce1, out);
	for (size_t byte = 0; byte < TUNNEL_PREAMBLE_LEN; byte++)
	for (int bit = 0; bit < 8; bit++)
	for (size_t tail = 0; tail <= 1024; tail += 1024) {
		struct tunnel_request	req;
		enum parse_result	res;
		char			label[64];

		snprintf(label, sizeof(label), "byte %zu bit %d tail %zu",
		    byte, bit, tail);
		memset(work, 0x5a, sizeof(work));
		memcpy(work, out, TUNNEL_PREAMBLE_LEN);
		work[byte] ^= (uint8_t)(1u << bit);
		res = tunnel_parse_request(work, TUNNEL_PREAMBLE_LEN + tail,
		    &req);
		if (byte == OFF_VERSION) {
			/* another version's short header parses (it may
			 * deserve the list of versions), and fails the MAC */
			CHECK_EQ(label, res, PARSE_OK);
			CHECK(label, req.version != TUNNEL_VERSION_TLS &&
			    req.body_status == REPLY_GENERAL);
			CHECK(label, !tunnel_verify_request(work, &req, &ka));
		}
		else if (byte == OFF_HDR_LEN || byte == OFF_HDR_LEN + 1) {
			if (res == PARSE_OK) {
				CHECK(label, req.used > TUNNEL_PREAMBLE_LEN &&
				    req.used <= TUNNEL_PREAMBLE_LEN + tail);
				CHECK(label, !tunnel_verify_request(work, &req,
				    &ka));
			} else
				CHECK(label, res == PARSE_ERROR ||
				    (tail == 0 && res == PARSE_NEED_MORE));
		} else {
			CHECK_EQ(label, res, PARSE_OK);
			CHECK_EQ(label, req.used, TUNNEL_PREAMBLE_LEN);
			CHECK(label, !tunnel_verify_request(work, &req, &ka));
		}
		checked++;
	}
	assert_int_equal(checked, TUNNEL_PREAMBLE_LEN * 8 * 2);
}

/* Authentic fixed parts with other versions, lengths and commands. */
struct preamble_row {
	const char		*name;
	uint8_t			 version, cmd;
	uint16_t		 hdr_len, flags;
	enum parse_result	 res;
	enum reply_code		 body;	/* if OK */
};

static const struct preamble_row preamble_rows[] = {
	{ "v2 connect", 2, TUNNEL_CMD_CONNECT, 70, 0, PARSE_OK, REPLY_OK },
	{ "v2 flags set: ignored", 2, TUNNEL_CMD_CONNECT, 70, 0x8001,
	    PARSE_OK, REPLY_OK },
	{ "v2 hold", 2, TUNNEL_CMD_HOLD, 70, 0, PARSE_OK,
	    REPLY_CMD_UNSUPPORTED },
	{ "v2 cmd 0", 2, 0, 70, 0, PARSE_OK, REPLY_CMD_UNSUPPORTED },
	{ "v2 cmd 9", 2, 9, 70, 0, PARSE_OK, REPLY_CMD_UNSUPPORTED },
	{ "v2 hdr_len 69", 2, TUNNEL_CMD_CONNECT, 69, 0, PARSE_ERROR, 0 },
	{ "v2 hdr_len 71", 2, TUNNEL_CMD_CONNECT, 71, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v2 hdr_len 72", 2, TUNNEL_CMD_CONNECT, 72, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v2 hdr_len 72 hold", 2, TUNNEL_CMD_HOLD, 72, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v2 hdr_len 73", 2, TUNNEL_CMD_CONNECT, 73, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v2 hdr_len max", 2, TUNNEL_CMD_CONNECT, TUNNEL_MAX_HDR, 0,
	    PARSE_OK, REPLY_GENERAL },
	{ "v2 hdr_len max + 1", 2, TUNNEL_CMD_CONNECT, TUNNEL_MAX_HDR + 1, 0,
	    PARSE_ERROR, 0 },
	{ "v1 hdr_len 70", 1, TUNNEL_CMD_CONNECT, 70, 0, PARSE_ERROR, 0 },
	{ "v1 hdr_len 71", 1, TUNNEL_CMD_CONNECT, 71, 0, PARSE_ERROR, 0 },
	{ "v1 hdr_len 72", 1, TUNNEL_CMD_CONNECT, 72, 0, PARSE_ERROR, 0 },
	/* zeros after the fixed part: ATYP 0, no ext: CONNECT w/o target */
	{ "v1 hdr_len 73", 1, TUNNEL_CMD_CONNECT, 73, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v3 hdr_len 70", 3, TUNNEL_CMD_CONNECT, 70, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v3 hdr_len 73", 3, TUNNEL_CMD_CONNECT, 73, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v0 hdr_len 70", 0, TUNNEL_CMD_CONNECT, 70, 0, PARSE_OK,
	    REPLY_GENERAL },
	{ "v3 hdr_len 69", 3, TUNNEL_CMD_CONNECT, 69, 0, PARSE_ERROR, 0 },
};

static void
test_preamble_versions_lengths(void **state)
{
	struct tunnel_key	ka;

	(void)state;
	keys(&ka, NULL);
	for (size_t i = 0; i < NELEM(preamble_rows); i++) {
		const struct preamble_row	*r = &preamble_rows[i];
		struct tunnel_request		 req;
		uint8_t				 buf[TUNNEL_MAX_HDR + 1], *p;
		size_t				 len;

		memset(buf, 0, sizeof(buf));
		tunnel_encode_preamble(&ka, r->cmd, NOW, nonce1, buf);
		buf[OFF_VERSION] = r->version;
		put_u16be(buf + OFF_HDR_LEN, r->hdr_len);
		put_u16be(buf + 4, r->flags);
		memset(buf + TUNNEL_FIXED_LEN, 0, TUNNEL_MAC_LEN);
		len = MIN(r->hdr_len, sizeof(buf));
		if (len >= TUNNEL_PREAMBLE_LEN)
			resign_request(key_a, buf, len);
		/* ERROR as soon as the length is known */
		CHECK_EQ(r->name, tunnel_parse_request(buf, 4, &req),
		    r->res == PARSE_ERROR ? PARSE_ERROR : PARSE_NEED_MORE);
		p = dup_exact(buf, len);
		CHECK_EQ(r->name, tunnel_parse_request(p, len, &req), r->res);
		if (r->res == PARSE_OK) {
			CHECK_EQ(r->name, req.used, r->hdr_len);
			CHECK(r->name, tunnel_verify_request(p, &req, &ka));
			CHECK_EQ(r->name, req.version, r->version);
			CHECK_EQ(r->name, req.cmd, r->cmd);
			CHECK_EQ(r->name, req.flags, r->flags);
			CHECK_EQ(r->name, req.timestamp_ms, NOW);
			CHECK_MEM(r->name, req.key_id, ka.id, 8);
			CHECK_EQ(r->name, req.body_status, r->body);
			CHECK_EQ(r->name, tunnel_parse_request(p, len - 1,
			    &req), PARSE_NEED_MORE);
		} else
			CHECK_EQ(r->name, req.used, 0);
		free(p);
	}
}

/* Version 2: the TLS PSK */

/* RFC 5869 by hand with HMAC: one block is the 32 bytes wanted. */
static void
hkdf_by_hand(const uint8_t key[TUNNEL_KEY_LEN], const uint8_t *info,
    size_t info_len, uint8_t okm[32])
{
	static const char	salt[] = "mpsocks v2 psk";
	uint8_t			prk[32], msg[128];
	unsigned		len = sizeof(prk);

	assert_true(info_len + 1 <= sizeof(msg));
	assert_non_null(HMAC(EVP_sha256(), salt, sizeof(salt) - 1, key,
	    TUNNEL_KEY_LEN, prk, &len));		/* extract */
	memcpy(msg, info, info_len);
	msg[info_len] = 0x01;
	len = 32;
	assert_non_null(HMAC(EVP_sha256(), prk, sizeof(prk), msg,
	    info_len + 1, okm, &len));			/* expand, T(1) */
}

static void
test_tls_psk(void **state)
{
	struct tunnel_key	ka, kb;
	uint8_t			pre1[TUNNEL_PREAMBLE_LEN];
	uint8_t			pre2[TUNNEL_PREAMBLE_LEN];
	uint8_t			pre3[TUNNEL_PREAMBLE_LEN];
	uint8_t			psk[TUNNEL_PSK_LEN], again[TUNNEL_PSK_LEN];
	uint8_t			other[TUNNEL_PSK_LEN], want[TUNNEL_PSK_LEN];
	static const uint8_t	zero[TUNNEL_PSK_LEN];

	(void)state;
	keys(&ka, &kb);
	tunnel_encode_preamble(&ka, TUNNEL_CMD_CONNECT, NOW, nonce1, pre1);
	tunnel_encode_preamble(&ka, TUNNEL_CMD_CONNECT, NOW, nonce2, pre2);
	tunnel_encode_preamble(&ka, TUNNEL_CMD_CONNECT, NOW + 1, nonce1, pre3);
	assert_true(tunnel_tls_psk(&ka, pre1, psk));
	/* known answer: an independent HKDF, and a vector from Python */
	hkdf_by_hand(key_a, pre1, TUNNEL_FIXED_LEN, want);
	assert_memory_equal(psk, want, TUNNEL_PSK_LEN);
	assert_int_equal(hex_decode("2bd5be7ef65a06249266eddd76d6526c"
	    "7f8c9f41ed111a3beb382cf9db5e79de", want, sizeof(want)), 32);
	assert_memory_equal(psk, want, TUNNEL_PSK_LEN);
	/* deterministic */
	assert_true(tunnel_tls_psk(&ka, pre1, again));
	assert_memory_equal(psk, again, TUNNEL_PSK_LEN);
	/* never the raw key, never nothing */
	assert_memory_not_equal(psk, key_a, TUNNEL_PSK_LEN);
	assert_memory_not_equal(psk, zero, TUNNEL_PSK_LEN);
	/* new for another nonce, timestamp or key */
	assert_true(tunnel_tls_psk(&ka, pre2, other));
	assert_memory_not_equal(psk, other, TUNNEL_PSK_LEN);
	hkdf_by_hand(key_a, pre2, TUNNEL_FIXED_LEN, want);
	assert_memory_equal(other, want, TUNNEL_PSK_LEN);
	assert_true(tunnel_tls_psk(&ka, pre3, other));
	assert_memory_not_equal(psk, other, TUNNEL_PSK_LEN);
	assert_true(tunnel_tls_psk(&kb, pre1, other));
	assert_memory_not_equal(psk, other, TUNNEL_PSK_LEN);
	hkdf_by_hand(key_b, pre1, TUNNEL_FIXED_LEN, want);
	assert_memory_equal(other, want, TUNNEL_PSK_LEN);
	/* info is the first 38 bytes only: the MAC does not enter it */
	memcpy(pre2, pre1, sizeof(pre1));
	pre2[TUNNEL_PREAMBLE_LEN - 1] ^= 0x01;
	assert_true(tunnel_tls_psk(&ka, pre2, other));
	assert_memory_equal(psk, other, TUNNEL_PSK_LEN);
	/* ... but every byte of those 38 does */
	for (size_t i = 0; i < TUNNEL_FIXED_LEN; i++) {
		char	label[32];

		snprintf(label, sizeof(label), "byte %zu", i);
		memcpy(pre2, pre1, sizeof(pre1));
		pre2[i] ^= 0x80;
		CHECK(label, tunnel_tls_psk(&ka, pre2, other));
		CHECK(label, memcmp(psk, other, TUNNEL_PSK_LEN) != 0);
	}
}

/* Version 2: the request inside TLS */

struct inner_row {
	const char		*name;
	const struct target	*t;
	size_t			 len;
};

static const struct inner_row inner_rows[] = {
	{ "ipv4", &t_v4, 2 + 1 + 7 + 2 },
	{ "ipv6", &t_v6, 2 + 1 + 19 + 2 },
	{ "domain", &t_dom, 2 + 1 + 1 + 1 + 15 + 2 + 2 },
};

static void
test_inner_request_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(inner_rows); i++) {
		const struct inner_row	*r = &inner_rows[i];
		struct tunnel_request	 req;
		uint8_t			 out[TUNNEL_INNER_MAX + 32], *buf;
		int			 n;

		n = tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, r->t, out,
		    TUNNEL_INNER_MAX);
		CHECK_EQ(r->name, n, r->len);
		CHECK_EQ(r->name, out[0] << 8 | out[1], n - 2);
		CHECK_EQ(r->name, out[2], TUNNEL_CMD_CONNECT);
		CHECK_EQ(r->name, out[3], r->t->atyp);
		CHECK_EQ(r->name, out[n - 2] << 8 | out[n - 1], 0);
		buf = dup_exact(out, (size_t)n);
		memset(&req, 0xa5, sizeof(req));
		CHECK_EQ(r->name, tunnel_parse_inner_request(buf, (size_t)n,
		    &req), PARSE_OK);
		CHECK_EQ(r->name, req.used, n);
		CHECK_EQ(r->name, req.version, TUNNEL_VERSION_TLS);
		CHECK_EQ(r->name, req.cmd, TUNNEL_CMD_CONNECT);
		CHECK_EQ(r->name, req.body_status, REPLY_OK);
		CHECK_EQ(r->name, req.target.atyp, r->t->atyp);
		CHECK_EQ(r->name, req.target.port, r->t->port);
		CHECK_MEM(r->name, req.target.addr, r->t->addr, 16);
		CHECK_STR(r->name, req.target.name, r->t->name);
		free(buf);
		for (size_t k = 0; k < (size_t)n; k++) {
			char	label[64];

			snprintf(label, sizeof(label), "%s, %zu of %d bytes",
			    r->name, k, n);
			buf = dup_exact(out, k);
			memset(&req, 0xa5, sizeof(req));
			CHECK_EQ(label, tunnel_parse_inner_request(buf, k,
			    &req), PARSE_NEED_MORE);
			CHECK_EQ(label, req.used, 0);
			free(buf);
		}
		/* the app's first bytes ride in the same record */
		memcpy(out + n, "GET / HTTP/1.1\r\n", 16);
		buf = dup_exact(out, (size_t)n + 16);
		CHECK_EQ(r->name, tunnel_parse_inner_request(buf,
		    (size_t)n + 16, &req), PARSE_OK);
		CHECK_EQ(r->name, req.used, n);
		CHECK_EQ(r->name, req.body_status, REPLY_OK);
		free(buf);
		/* and a second request behind the first */
		memcpy(out + n, out, (size_t)n);
		CHECK_EQ(r->name, tunnel_parse_inner_request(out,
		    2 * (size_t)n, &req), PARSE_OK);
		CHECK_EQ(r->name, req.used, n);
	}
}

struct inner_hex_row {
	const char		*name, *hex;
	enum parse_result	 res;
	enum reply_code		 body;	/* if OK */
};

#define IN_V4	"01 5db8d822 01bb"		/* 93.184.216.34:443 */

static const struct inner_hex_row inner_hex_rows[] = {
	{ "ipv4", "000a 01 " IN_V4 " 0000", PARSE_OK, REPLY_OK },
	{ "length 0", "0000", PARSE_ERROR, 0 },
	{ "length 1", "0001 01", PARSE_ERROR, 0 },
	{ "length 2", "0002 0100", PARSE_ERROR, 0 },
	{ "length 3", "0003 010000", PARSE_ERROR, 0 },
	{ "length 4: connect, no target", "0004 01 00 0000", PARSE_OK,
	    REPLY_GENERAL },
	{ "length at the cap", "0205 01", PARSE_NEED_MORE, 0 },
	{ "length cap + 1", "0206 01", PARSE_ERROR, 0 },
	{ "length 65535", "ffff 01", PARSE_ERROR, 0 },
	{ "length, one byte", "00", PARSE_NEED_MORE, 0 },
	{ "atyp 9", "000a 01 09 5db8d822 01bb 0000", PARSE_OK,
	    REPLY_ATYP_UNSUPPORTED },
	{ "atyp 2", "000a 01 02 5db8d822 01bb 0000", PARSE_OK,
	    REPLY_ATYP_UNSUPPORTED },
	{ "cmd 2 (hold)", "000a 02 " IN_V4 " 0000", PARSE_OK,
	    REPLY_CMD_UNSUPPORTED },
	{ "cmd 0", "000a 00 " IN_V4 " 0000", PARSE_OK,
	    REPLY_CMD_UNSUPPORTED },
	{ "trailing byte inside the length", "000b 01 " IN_V4 " 0000 ff",
	    PARSE_OK, REPLY_GENERAL },
	{ "target cut by the length", "0006 01 01 5db8d822", PARSE_OK,
	    REPLY_GENERAL },
	{ "ext_len cut by the length", "0009 01 " IN_V4 " 00", PARSE_OK,
	    REPLY_GENERAL },
	{ "port 0", "000a 01 01 5db8d822 0000 0000", PARSE_OK,
	    REPLY_GENERAL },
	{ "name length 0", "0007 01 03 00 0050 0000", PARSE_OK,
	    REPLY_GENERAL },
	{ "name with a space", "000a 01 03 03 612062 0050 0000", PARSE_OK,
	    REPLY_GENERAL },
	{ "name", "000a 01 03 03 616263 0050 0000", PARSE_OK, REPLY_OK },
	{ "skippable ext", "000d 01 " IN_V4 " 0003 050100", PARSE_OK,
	    REPLY_OK },
	{ "critical ext", "000c 01 " IN_V4 " 0002 8500", PARSE_OK,
	    REPLY_GENERAL },
	{ "critical after skipped", "000f 01 " IN_V4 " 0005 0501ff 8000",
	    PARSE_OK, REPLY_GENERAL },
	{ "ext past ext_len", "000c 01 " IN_V4 " 0002 0501", PARSE_OK,
	    REPLY_GENERAL },
	{ "ext_len past the length", "000c 01 " IN_V4 " 0003 0500",
	    PARSE_OK, REPLY_GENERAL },
	{ "ext type without length", "000b 01 " IN_V4 " 0001 05", PARSE_OK,
	    REPLY_GENERAL },
	{ "atyp 9 and cmd 2: atyp first", "000a 02 09 5db8d822 01bb 0000",
	    PARSE_OK, REPLY_ATYP_UNSUPPORTED },
};

static void
test_inner_request_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(inner_hex_rows); i++) {
		const struct inner_hex_row	*r = &inner_hex_rows[i];
		struct tunnel_request		 req;
		uint8_t				 raw[64], *buf;
		size_t				 n = hex_decode(r->hex, raw,
						    sizeof(raw));

		buf = dup_exact(raw, n);
		memset(&req, 0xa5, sizeof(req));
		CHECK_EQ(r->name, tunnel_parse_inner_request(buf, n, &req),
		    r->res);
		if (r->res == PARSE_OK) {
			CHECK_EQ(r->name, req.used, n);
			CHECK_EQ(r->name, req.cmd, raw[2]);
			CHECK_EQ(r->name, req.body_status, r->body);
		} else
			CHECK_EQ(r->name, req.used, 0);
		free(buf);
	}
}

static void
test_inner_request_encoder_refuses(void **state)
{
	uint8_t		out[TUNNEL_INNER_MAX];
	struct target	t;
	int		n;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.atyp = TARGET_DOMAIN;
	t.port = 80;
	memset(t.name, 'a', TARGET_MAX_NAME);
	n = tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t, out,
	    sizeof(out));
	assert_int_equal(n, 2 + 1 + 2 + 255 + 2 + 2);
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t,
	    out, (size_t)n - 1), -1);
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t,
	    out, (size_t)n - 2), -1);
	t.name[0] = '\0';
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t,
	    out, sizeof(out)), -1);
	strcpy(t.name, "evil\r\nname");
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t,
	    out, sizeof(out)), -1);
	t = t_v4;
	t.port = 0;
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t,
	    out, sizeof(out)), -1);
	t.atyp = 9;
	t.port = 80;
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t,
	    out, sizeof(out)), -1);
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, NULL,
	    out, sizeof(out)), -1);
	assert_int_equal(tunnel_encode_inner_request(TUNNEL_CMD_CONNECT, &t_v4,
	    out, 2), -1);
}

/* Version 2: the reply inside TLS */

static void
test_inner_reply_round_trip(void **state)
{
	(void)state;
	for (int st = 0; st < REPLY_CODES; st++)
	for (int mismatch = 0; mismatch <= 1; mismatch++) {
		struct tunnel_reply	rep;
		uint8_t			out[TUNNEL_INNER_REPLY_MAX + 16], *buf;
		char			label[48];
		int			n;
		size_t			want = mismatch ? 3 + 4 : 3;

		snprintf(label, sizeof(label), "status %d mismatch %d", st,
		    mismatch);
		n = tunnel_encode_inner_reply((enum reply_code)st, mismatch,
		    out, TUNNEL_INNER_REPLY_MAX);
		CHECK_EQ(label, n, want);
		CHECK_EQ(label, out[0], st);
		CHECK_EQ(label, out[1] << 8 | out[2], want - 3);
		if (mismatch)
			CHECK_MEM(label, out + 3, "\x01\x02\x01\x02", 4);
		buf = dup_exact(out, (size_t)n);
		memset(&rep, 0xa5, sizeof(rep));
		CHECK_EQ(label, tunnel_parse_inner_reply(buf, (size_t)n, &rep),
		    PARSE_OK);
		CHECK_EQ(label, rep.used, n);
		CHECK_EQ(label, rep.status, st);
		CHECK_EQ(label, rep.n_server_versions, mismatch ? 2 : 0);
		if (mismatch) {
			CHECK_EQ(label, rep.server_versions[0], TUNNEL_VERSION);
			CHECK_EQ(label, rep.server_versions[1],
			    TUNNEL_VERSION_TLS);
		}
		free(buf);
		for (size_t k = 0; k < (size_t)n; k++) {
			char	l2[96];

			snprintf(l2, sizeof(l2), "%s, %zu of %d", label, k, n);
			buf = dup_exact(out, k);
			memset(&rep, 0xa5, sizeof(rep));
			CHECK_EQ(l2, tunnel_parse_inner_reply(buf, k, &rep),
			    PARSE_NEED_MORE);
			CHECK_EQ(l2, rep.used, 0);
			free(buf);
		}
		memcpy(out + n, "HTTP/1.1 200 OK\r\n", 16);
		buf = dup_exact(out, (size_t)n + 16);
		CHECK_EQ(label, tunnel_parse_inner_reply(buf, (size_t)n + 16,
		    &rep), PARSE_OK);
		CHECK_EQ(label, rep.used, n);
		CHECK_EQ(label, rep.status, st);
		free(buf);
	}
}

struct inner_reply_row {
	const char		*name, *hex;
	enum parse_result	 res;
	enum reply_code		 status;
	size_t			 n_versions;
	uint8_t			 first;
};

static const struct inner_reply_row inner_reply_rows[] = {
	{ "ok", "00 0000", PARSE_OK, REPLY_OK, 0, 0 },
	{ "refused", "05 0000", PARSE_OK, REPLY_REFUSED, 0, 0 },
	{ "status 9: general", "09 0000", PARSE_OK, REPLY_GENERAL, 0, 0 },
	{ "status 0xff: general", "ff 0000", PARSE_OK, REPLY_GENERAL, 0, 0 },
	{ "ext_len at the cap", "00 00ff", PARSE_NEED_MORE, 0, 0, 0 },
	{ "ext_len cap + 1", "00 0100", PARSE_ERROR, 0, 0, 0 },
	{ "ext_len 65535", "00 ffff", PARSE_ERROR, 0, 0, 0 },
	{ "status only", "00", PARSE_NEED_MORE, 0, 0, 0 },
	{ "critical ext", "00 0002 8100", PARSE_ERROR, 0, 0, 0 },
	{ "critical versions", "00 0004 8102 0102", PARSE_ERROR, 0, 0, 0 },
	{ "ext past ext_len", "00 0003 0105 01", PARSE_ERROR, 0, 0, 0 },
	{ "ext type without length", "00 0001 01", PARSE_ERROR, 0, 0, 0 },
	{ "unknown ext, skipped", "00 0003 0701 00", PARSE_OK, REPLY_OK,
	    0, 0 },
	{ "versions 2", "01 0003 0101 02", PARSE_OK, REPLY_GENERAL, 1, 2 },
	{ "versions, 10 listed, 8 kept", "01 000c 010a 0102030405060708090a",
	    PARSE_OK, REPLY_GENERAL, 8, 1 },
	{ "versions, empty", "01 0002 0100", PARSE_OK, REPLY_GENERAL, 0, 0 },
};

static void
test_inner_reply_table(void **state)
{
	uint8_t	out[8];

	(void)state;
	for (size_t i = 0; i < NELEM(inner_reply_rows); i++) {
		const struct inner_reply_row	*r = &inner_reply_rows[i];
		struct tunnel_reply		 rep;
		uint8_t				 raw[64], *buf;
		size_t				 n = hex_decode(r->hex, raw,
						    sizeof(raw));

		buf = dup_exact(raw, n);
		memset(&rep, 0xa5, sizeof(rep));
		CHECK_EQ(r->name, tunnel_parse_inner_reply(buf, n, &rep),
		    r->res);
		if (r->res == PARSE_OK) {
			CHECK_EQ(r->name, rep.used, n);
			CHECK_EQ(r->name, rep.status, r->status);
			CHECK_EQ(r->name, rep.n_server_versions,
			    r->n_versions);
			if (r->n_versions > 0)
				CHECK_EQ(r->name, rep.server_versions[0],
				    r->first);
		} else
			CHECK_EQ(r->name, rep.used, 0);
		free(buf);
	}
	/* the encoder needs room for all of it */
	assert_int_equal(tunnel_encode_inner_reply(REPLY_GENERAL, true, out,
	    6), -1);
	assert_int_equal(tunnel_encode_inner_reply(REPLY_GENERAL, true, out,
	    7), 7);
	assert_int_equal(tunnel_encode_inner_reply(REPLY_OK, false, out, 2),
	    -1);
	assert_int_equal(tunnel_encode_inner_reply(REPLY_OK, false, out, 3),
	    3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preamble_round_trip),
		cmocka_unit_test(test_preamble_truncated_and_followed),
		cmocka_unit_test(test_preamble_every_bit_flip),
		cmocka_unit_test(test_preamble_versions_lengths),
		cmocka_unit_test(test_tls_psk),
		cmocka_unit_test(test_inner_request_round_trip),
		cmocka_unit_test(test_inner_request_table),
		cmocka_unit_test(test_inner_request_encoder_refuses),
		cmocka_unit_test(test_inner_reply_round_trip),
		cmocka_unit_test(test_inner_reply_table),
	};

	return cmocka_run_group_tests_name("tunnel_v2", tests, NULL, NULL);
}
