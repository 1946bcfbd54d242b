#ifndef MPSOCKS_TUNNEL_PROTO_H
#define MPSOCKS_TUNNEL_PROTO_H

/*
 * The tunnel header and reply (docs/protocol.md): encoders, structural
 * parsers and HMAC-SHA256 authenticators for version 1 (everything in
 * one authenticated header), and for version 2 the preamble, the TLS
 * pre-shared key derived from it, and the request and reply that travel
 * inside TLS. Pure: no I/O, no globals.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/reply.h"
#include "proto/target.h"
#include "proto/util.h"

#define TUNNEL_VERSION		0x01	/* encryption = none */
#define TUNNEL_VERSION_TLS	0x02	/* encryption = tls */
#define TUNNEL_KEY_LEN		32
#define TUNNEL_KEYID_LEN	8
#define TUNNEL_NONCE_LEN	16
#define TUNNEL_MAC_LEN		32
#define TUNNEL_REPLY_MAC_LEN	16
/* version, cmd, hdr_len, flags, timestamp, nonce, key id */
#define TUNNEL_FIXED_LEN	(1 + 1 + 2 + 2 + 8 + TUNNEL_NONCE_LEN + \
				    TUNNEL_KEYID_LEN)
/* fixed part, an empty target (one byte), ext_len, MAC */
#define TUNNEL_MIN_HDR		(TUNNEL_FIXED_LEN + 1 + 2 + TUNNEL_MAC_LEN)
/* v2: the fixed part and its MAC, no target (that travels in TLS) */
#define TUNNEL_PREAMBLE_LEN	(TUNNEL_FIXED_LEN + TUNNEL_MAC_LEN)
#define TUNNEL_PSK_LEN		32
/* v2 inside TLS: length, cmd, target, ext_len, extensions */
#define TUNNEL_INNER_MAX	(2 + 1 + 1 + 1 + 255 + 2 + 2 + 255)
#define TUNNEL_INNER_REPLY_MAX	(1 + 2 + 255)
/* Small enough to ride in a SYN with TCP Fast Open. */
#define TUNNEL_MAX_HDR		1024
/* The app's first bytes a client sends right behind its request, before
 * the concentrator's answer; the concentrator holds at least this much
 * for the relay (docs/protocol.md, "Optimistic replies"). */
#define TUNNEL_EARLY_MAX	(16 * 1024)
#define TUNNEL_REPLY_FIXED	4
#define TUNNEL_MAX_REPLY	256

#define TUNNEL_CMD_CONNECT	0x01
#define TUNNEL_CMD_HOLD		0x02	/* reserved: warm pooled connection */

/* Extension types with this bit set must be understood, or the request
 * fails; others may be skipped. */
#define TUNNEL_EXT_CRITICAL	0x80
#define TUNNEL_EXT_VERSIONS	0x01	/* reply: versions the server speaks */


struct tunnel_key {
	char	name[64];		/* for logs; never sent */
	uint8_t	key[TUNNEL_KEY_LEN];
	uint8_t	id[TUNNEL_KEYID_LEN];	/* tunnel_key_init() derives it */
	bool	require_tls;		/* server: refuse v1 for this key */
};

struct tunnel_request {
	size_t			used;	/* header length, MAC included */
	uint8_t			version, cmd;
	uint16_t		flags;
	uint64_t		timestamp_ms;
	uint8_t			nonce[TUNNEL_NONCE_LEN];
	uint8_t			key_id[TUNNEL_KEYID_LEN];
	uint8_t			mac[TUNNEL_MAC_LEN];
	/* Checked only after the MAC: what to answer an authentic request
	 * whose body we cannot serve. REPLY_OK if the body is fine. */
	enum reply_code	body_status;
	struct target		target;
};

struct tunnel_reply {
	size_t			used;
	enum reply_code		status;	/* reply_from_wire() of the byte */
	uint8_t			server_versions[8];	/* from the ext */
	size_t			n_server_versions;
};

/* A key's name, as key files and pairing tokens carry it: 1 to 63 of
 * letters, digits and "-_.@". */
bool	tunnel_key_name_valid(const char *);

/* Derive the key id from the key. */
void	tunnel_key_init(struct tunnel_key *, const char *name,
	    const uint8_t key[TUNNEL_KEY_LEN]);

/*
 * Encode an authenticated request. The caller supplies the clock and a
 * fresh random nonce so that the encoder stays pure. Returns the header
 * length or -1 if the target is invalid or out is too small. The MAC is
 * also copied to mac_out, which the reply is bound to.
 */
int	tunnel_encode_request(const struct tunnel_key *, uint8_t cmd,
	    const struct target *, uint64_t now_ms,
	    const uint8_t nonce[TUNNEL_NONCE_LEN], uint8_t *out, size_t outlen,
	    uint8_t mac_out[TUNNEL_MAC_LEN]);

/*
 * Structural parse, before any key is known. ERROR means the bytes cannot
 * be a header (length out of range); the caller must then drop the
 * connection silently. OK does not mean authentic: call
 * tunnel_verify_request() with the key named by out->key_id, and only then
 * look at out->version, out->cmd and out->body_status.
 */
enum parse_result tunnel_parse_request(const uint8_t *, size_t,
	    struct tunnel_request *);

/* Constant-time check of the MAC over buf[0 .. req->used - MAC_LEN). */
bool	tunnel_verify_request(const uint8_t *buf,
	    const struct tunnel_request *, const struct tunnel_key *);

/* Encode a reply bound to the request's MAC; with REPLY_GENERAL and
 * version_mismatch set, it lists the versions this side speaks. */
int	tunnel_encode_reply(const struct tunnel_key *, enum reply_code,
	    bool version_mismatch, const uint8_t req_mac[TUNNEL_MAC_LEN],
	    uint8_t *out, size_t outlen);

/* ERROR: wrong version, oversized, or a MAC that does not match. */
enum parse_result tunnel_parse_reply(const uint8_t *, size_t,
	    const struct tunnel_key *, const uint8_t req_mac[TUNNEL_MAC_LEN],
	    struct tunnel_reply *);

/*
 * Version 2. The preamble is the fixed part of a v1 header and its MAC
 * (TUNNEL_PREAMBLE_LEN bytes): tunnel_parse_request() and
 * tunnel_verify_request() take it as they take a v1 header, and give
 * version TUNNEL_VERSION_TLS with no target. Returns its length, or -1.
 */
int	tunnel_encode_preamble(const struct tunnel_key *, uint8_t cmd,
	    uint64_t now_ms, const uint8_t nonce[TUNNEL_NONCE_LEN],
	    uint8_t out[TUNNEL_PREAMBLE_LEN]);
/*
 * The TLS 1.3 external PSK for the connection this preamble opens:
 * HKDF-SHA256 of the key, salt "mpsocks v2 psk", info the preamble's
 * first TUNNEL_FIXED_LEN bytes. Never the raw key, and new for every
 * nonce. False if OpenSSL fails.
 */
bool	tunnel_tls_psk(const struct tunnel_key *,
	    const uint8_t preamble[TUNNEL_PREAMBLE_LEN],
	    uint8_t psk[TUNNEL_PSK_LEN]);
/* The request inside TLS: length, cmd, target, no extensions. Returns
 * its length, or -1 if the target is invalid or out too small. */
int	tunnel_encode_inner_request(uint8_t cmd, const struct target *,
	    uint8_t *out, size_t outlen);
/*
 * Parses the request inside TLS. OK: out->used, out->cmd, out->target
 * and out->body_status (what to answer: REPLY_OK, or why not) are set;
 * bytes after out->used are the app's. ERROR: a length out of range.
 */
enum parse_result tunnel_parse_inner_request(const uint8_t *, size_t,
	    struct tunnel_request *);
/* The reply inside TLS; with version_mismatch, the versions we speak. */
int	tunnel_encode_inner_reply(enum reply_code, bool version_mismatch,
	    uint8_t *out, size_t outlen);
enum parse_result tunnel_parse_inner_reply(const uint8_t *, size_t,
	    struct tunnel_reply *);


#endif
