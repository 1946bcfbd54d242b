#ifndef MPSOCKS_TUNNEL_FIXTURES_H
#define MPSOCKS_TUNNEL_FIXTURES_H

/* Keys, nonces and targets shared by test_tunnel_proto.c (v1) and
 * test_tunnel_v2.c; each includes what it uses. */

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto/tunnel_proto.h"

static const __attribute__((unused)) uint8_t key_a[TUNNEL_KEY_LEN] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
	0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
};
static const __attribute__((unused)) uint8_t key_b[TUNNEL_KEY_LEN] = { 0xff, [31] = 0x01 };
static const __attribute__((unused)) uint8_t nonce1[TUNNEL_NONCE_LEN] = {
	0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
};
#define NOW	1700000000123ULL

/* Offsets from docs/protocol.md */
#define OFF_VERSION	0
#define OFF_CMD		1
#define OFF_HDR_LEN	2
#define OFF_TARGET	38

static const __attribute__((unused)) struct target t_v4 = {
	.atyp = TARGET_IPV4, .addr = { 93, 184, 216, 34 }, .port = 443,
};
static const __attribute__((unused)) struct target t_v6 = {
	.atyp = TARGET_IPV6, .addr = { 0x26, 0x06, 0x28, 0x00, [15] = 0x46 },
	.port = 80,
};
static const __attribute__((unused)) struct target t_dom = {
	.atyp = TARGET_DOMAIN, .name = "www.example.org", .port = 8443,
};

struct target_row {
	const char		*name;
	const struct target	*t;
	size_t			 len;	/* expected header length */
};

static const __attribute__((unused)) struct target_row target_rows[] = {
	{ "ipv4", &t_v4, 38 + 7 + 2 + 32 },
	{ "ipv6", &t_v6, 38 + 19 + 2 + 32 },
	{ "domain", &t_dom, 38 + 1 + 1 + 15 + 2 + 2 + 32 },
};

static __attribute__((unused)) void
keys(struct tunnel_key *a, struct tunnel_key *b)
{
	tunnel_key_init(a, "alice", key_a);
	if (b != NULL)
		tunnel_key_init(b, "bob", key_b);
}

/* Recompute the request MAC over buf[0 .. len - 32) with OpenSSL. */
static __attribute__((unused)) void
resign_request(const uint8_t key[TUNNEL_KEY_LEN], uint8_t *buf, size_t len)
{
	unsigned	outlen = TUNNEL_MAC_LEN;

	assert_non_null(HMAC(EVP_sha256(), key, TUNNEL_KEY_LEN, buf,
	    len - TUNNEL_MAC_LEN, buf + len - TUNNEL_MAC_LEN, &outlen));
}

#endif
