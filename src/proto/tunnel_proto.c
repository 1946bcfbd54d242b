/*
 * Tunnel header and reply codec, versions 1 and 2; docs/protocol.md is
 * the spec. Pure: no I/O, no globals. The caller passes the clock and
 * the nonce.
 *
 * The first TUNNEL_FIXED_LEN bytes and the trailing MAC keep their places
 * in every version, so a server can authenticate a header of a version it
 * does not speak and answer with the versions it does.
 */

#include "proto/tunnel_proto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <string.h>

static const char key_id_label[] = "mpsocks key id v1";
static const char psk_salt[] = "mpsocks v2 psk";

/* The versions this side speaks, as the versions extension lists them. */
static const uint8_t versions[] = { TUNNEL_VERSION, TUNNEL_VERSION_TLS };

static void
hmac256(const uint8_t key[TUNNEL_KEY_LEN], const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, uint8_t out[TUNNEL_MAC_LEN])
{
	uint8_t		buf[TUNNEL_MAX_HDR + TUNNEL_MAC_LEN];
	unsigned	outlen = TUNNEL_MAC_LEN;

	/* Both callers pass at most TUNNEL_MAX_HDR bytes in total. */
	memcpy(buf, a, alen);
	if (blen > 0)
		memcpy(buf + alen, b, blen);
	if (HMAC(EVP_sha256(), key, TUNNEL_KEY_LEN, buf, alen + blen, out,
	    &outlen) == NULL)
		memset(out, 0, TUNNEL_MAC_LEN);	/* verifies against nothing */
}

void
tunnel_key_init(struct tunnel_key *k, const char *name,
    const uint8_t key[TUNNEL_KEY_LEN])
{
	uint8_t	mac[TUNNEL_MAC_LEN];

	memset(k, 0, sizeof(*k));
	strncpy(k->name, name, sizeof(k->name) - 1);
	memcpy(k->key, key, TUNNEL_KEY_LEN);
	hmac256(key, (const uint8_t *)key_id_label, sizeof(key_id_label) - 1,
	    NULL, 0, mac);
	memcpy(k->id, mac, TUNNEL_KEYID_LEN);
}

/* The fixed part every version shares; returns TUNNEL_FIXED_LEN. */
static size_t
put_fixed(uint8_t *out, uint8_t version, uint8_t cmd, uint16_t hdr_len,
    const struct tunnel_key *k, uint64_t now_ms,
    const uint8_t nonce[TUNNEL_NONCE_LEN])
{
	size_t	o = 0;

	out[o++] = version;
	out[o++] = cmd;
	put_u16be(out + o, hdr_len);
	o += 2;
	put_u16be(out + o, 0);				/* flags */
	o += 2;
	put_u64be(out + o, now_ms);
	o += 8;
	memcpy(out + o, nonce, TUNNEL_NONCE_LEN);
	o += TUNNEL_NONCE_LEN;
	memcpy(out + o, k->id, TUNNEL_KEYID_LEN);
	o += TUNNEL_KEYID_LEN;
	return o;
}

int
tunnel_encode_request(const struct tunnel_key *k, uint8_t cmd,
    const struct target *t, uint64_t now_ms,
    const uint8_t nonce[TUNNEL_NONCE_LEN], uint8_t *out, size_t outlen,
    uint8_t mac_out[TUNNEL_MAC_LEN])
{
	size_t	o = 0, tlen, total;
	int	n;

	tlen = t != NULL ? target_encoded_len(t) : 1;
	total = TUNNEL_FIXED_LEN + tlen + 2 + TUNNEL_MAC_LEN;
	if (total > TUNNEL_MAX_HDR || total > outlen)
		return -1;
	o = put_fixed(out, TUNNEL_VERSION, cmd, (uint16_t)total, k, now_ms,
	    nonce);
	if (t != NULL) {
		if (t->port == 0)
			return -1;
		if (t->atyp == TARGET_DOMAIN &&
		    !target_name_valid((const uint8_t *)t->name,
		    strlen(t->name)))
			return -1;
		if ((n = target_encode(t, out + o, outlen - o)) < 0)
			return -1;
		o += (size_t)n;
	} else
		out[o++] = 0;				/* no target */
	put_u16be(out + o, 0);				/* no extensions */
	o += 2;
	hmac256(k->key, out, o, NULL, 0, out + o);
	if (mac_out != NULL)
		memcpy(mac_out, out + o, TUNNEL_MAC_LEN);
	return (int)(o + TUNNEL_MAC_LEN);
}

/* Returns the status an authentic request with this body deserves. */
static enum reply_code
parse_body(struct cursor *c, struct tunnel_request *out)
{
	uint8_t		 atyp, nlen, type, elen;
	uint16_t	 port, ext_len;
	const uint8_t	*p;
	struct cursor	 ext;

	if (!cur_u8(c, &atyp))
		return REPLY_GENERAL;
	out->target.atyp = atyp;
	switch (atyp) {
	case 0:
		break;
	case TARGET_IPV4:
	case TARGET_IPV6:
		if (!cur_bytes(c, atyp == TARGET_IPV4 ? 4 : 16, &p))
			return REPLY_GENERAL;
		memcpy(out->target.addr, p, atyp == TARGET_IPV4 ? 4 : 16);
		break;
	case TARGET_DOMAIN:
		if (!cur_u8(c, &nlen) || !cur_bytes(c, nlen, &p) ||
		    !target_name_valid(p, nlen))
			return REPLY_GENERAL;
		memcpy(out->target.name, p, nlen);
		out->target.name[nlen] = '\0';
		break;
	default:
		return REPLY_ATYP_UNSUPPORTED;
	}
	if (atyp != 0) {
		if (!cur_u16be(c, &port) || port == 0)
			return REPLY_GENERAL;
		out->target.port = port;
	}
	if (!cur_u16be(c, &ext_len) || !cur_bytes(c, ext_len, &p) ||
	    cur_left(c) != 0)
		return REPLY_GENERAL;
	cur_init(&ext, p, ext_len);
	while (cur_left(&ext) > 0) {
		if (!cur_u8(&ext, &type) || !cur_u8(&ext, &elen) ||
		    !cur_bytes(&ext, elen, &p))
			return REPLY_GENERAL;
		if (type & TUNNEL_EXT_CRITICAL)	/* v1 knows none */
			return REPLY_GENERAL;
	}
	if (out->cmd != TUNNEL_CMD_CONNECT)
		return REPLY_CMD_UNSUPPORTED;
	if (atyp == 0)
		return REPLY_GENERAL;
	return REPLY_OK;
}

enum parse_result
tunnel_parse_request(const uint8_t *buf, size_t len,
    struct tunnel_request *out)
{
	struct cursor	 c;
	uint16_t	 hdr_len;
	const uint8_t	*p;

	memset(out, 0, sizeof(*out));
	cur_init(&c, buf, len);
	if (!cur_u8(&c, &out->version) || !cur_u8(&c, &out->cmd) ||
	    !cur_u16be(&c, &hdr_len))
		return PARSE_NEED_MORE;
	/* a v2 preamble is the shortest header there is; only v1 must hold
	 * a target, so a later version's short header still authenticates
	 * and gets the list of versions we speak */
	if (hdr_len < TUNNEL_PREAMBLE_LEN || hdr_len > TUNNEL_MAX_HDR ||
	    (hdr_len < TUNNEL_MIN_HDR && out->version == TUNNEL_VERSION))
		return PARSE_ERROR;
	if (len < hdr_len)
		return PARSE_NEED_MORE;
	cur_init(&c, buf, hdr_len - TUNNEL_MAC_LEN);
	c.off = 4;
	if (!cur_u16be(&c, &out->flags) || !cur_u64be(&c, &out->timestamp_ms))
		return PARSE_ERROR;	/* unreachable: MIN_HDR covers it */
	if (!cur_bytes(&c, TUNNEL_NONCE_LEN, &p))
		return PARSE_ERROR;
	memcpy(out->nonce, p, TUNNEL_NONCE_LEN);
	if (!cur_bytes(&c, TUNNEL_KEYID_LEN, &p))
		return PARSE_ERROR;
	memcpy(out->key_id, p, TUNNEL_KEYID_LEN);
	memcpy(out->mac, buf + hdr_len - TUNNEL_MAC_LEN, TUNNEL_MAC_LEN);
	if (out->version == TUNNEL_VERSION)
		out->body_status = parse_body(&c, out);
	else if (out->version == TUNNEL_VERSION_TLS)	/* body: in TLS */
		out->body_status = hdr_len != TUNNEL_PREAMBLE_LEN ?
		    REPLY_GENERAL : out->cmd != TUNNEL_CMD_CONNECT ?
		    REPLY_CMD_UNSUPPORTED : REPLY_OK;
	else
		out->body_status = REPLY_GENERAL;
	out->used = hdr_len;
	return PARSE_OK;
}

bool
tunnel_verify_request(const uint8_t *buf, const struct tunnel_request *req,
    const struct tunnel_key *k)
{
	uint8_t	mac[TUNNEL_MAC_LEN];

	if (req->used < TUNNEL_PREAMBLE_LEN || req->used > TUNNEL_MAX_HDR)
		return false;
	hmac256(k->key, buf, req->used - TUNNEL_MAC_LEN, NULL, 0, mac);
	return CRYPTO_memcmp(mac, buf + req->used - TUNNEL_MAC_LEN,
	    TUNNEL_MAC_LEN) == 0;
}

/* The versions extension, which the caller has room for; its length. */
static size_t
put_versions_ext(uint8_t *out)
{
	out[0] = TUNNEL_EXT_VERSIONS;
	out[1] = sizeof(versions);
	memcpy(out + 2, versions, sizeof(versions));
	return 2 + sizeof(versions);
}

/* A reply's extensions: false for a malformed or critical one (we know
 * none); the versions extension fills out->server_versions. */
static bool
reply_exts(const uint8_t *p, size_t len, struct tunnel_reply *out)
{
	struct cursor	ext;
	uint8_t		type, elen;

	cur_init(&ext, p, len);
	while (cur_left(&ext) > 0) {
		if (!cur_u8(&ext, &type) || !cur_u8(&ext, &elen) ||
		    !cur_bytes(&ext, elen, &p))
			return false;
		if (type & TUNNEL_EXT_CRITICAL)
			return false;
		if (type == TUNNEL_EXT_VERSIONS) {
			out->n_server_versions = MIN(elen,
			    sizeof(out->server_versions));
			memcpy(out->server_versions, p,
			    out->n_server_versions);
		}
	}
	return true;
}

int
tunnel_encode_reply(const struct tunnel_key *k, enum reply_code status,
    bool version_mismatch, const uint8_t req_mac[TUNNEL_MAC_LEN],
    uint8_t *out, size_t outlen)
{
	uint8_t	mac[TUNNEL_MAC_LEN];
	size_t	o = 0, ext = version_mismatch ? 2 + sizeof(versions) : 0;

	if (TUNNEL_REPLY_FIXED + ext + TUNNEL_REPLY_MAC_LEN > outlen)
		return -1;
	out[o++] = TUNNEL_VERSION;
	out[o++] = (uint8_t)status;	/* the wire carries our codes */
	put_u16be(out + o, (uint16_t)ext);
	o += 2;
	if (version_mismatch)
		o += put_versions_ext(out + o);
	hmac256(k->key, out, o, req_mac, TUNNEL_MAC_LEN, mac);
	memcpy(out + o, mac, TUNNEL_REPLY_MAC_LEN);
	return (int)(o + TUNNEL_REPLY_MAC_LEN);
}

enum parse_result
tunnel_parse_reply(const uint8_t *buf, size_t len, const struct tunnel_key *k,
    const uint8_t req_mac[TUNNEL_MAC_LEN], struct tunnel_reply *out)
{
	struct cursor	 c;
	uint8_t		 ver, st, mac[TUNNEL_MAC_LEN];
	uint16_t	 ext_len;
	const uint8_t	*p, *m;

	memset(out, 0, sizeof(*out));
	cur_init(&c, buf, len);
	if (!cur_u8(&c, &ver))
		return PARSE_NEED_MORE;
	if (ver != TUNNEL_VERSION)
		return PARSE_ERROR;
	if (!cur_u8(&c, &st) || !cur_u16be(&c, &ext_len))
		return PARSE_NEED_MORE;
	out->status = reply_from_wire(st);
	if (TUNNEL_REPLY_FIXED + (size_t)ext_len + TUNNEL_REPLY_MAC_LEN >
	    TUNNEL_MAX_REPLY)
		return PARSE_ERROR;
	if (!cur_bytes(&c, ext_len, &p) ||
	    !cur_bytes(&c, TUNNEL_REPLY_MAC_LEN, &m))
		return PARSE_NEED_MORE;
	hmac256(k->key, buf, TUNNEL_REPLY_FIXED + ext_len, req_mac,
	    TUNNEL_MAC_LEN, mac);
	if (CRYPTO_memcmp(mac, m, TUNNEL_REPLY_MAC_LEN) != 0)
		return PARSE_ERROR;
	if (!reply_exts(p, ext_len, out))
		return PARSE_ERROR;
	out->used = c.off;
	return PARSE_OK;
}

int
tunnel_encode_preamble(const struct tunnel_key *k, uint8_t cmd,
    uint64_t now_ms, const uint8_t nonce[TUNNEL_NONCE_LEN],
    uint8_t out[TUNNEL_PREAMBLE_LEN])
{
	size_t	o = 0;

	o = put_fixed(out, TUNNEL_VERSION_TLS, cmd, TUNNEL_PREAMBLE_LEN, k,
	    now_ms, nonce);
	hmac256(k->key, out, o, NULL, 0, out + o);
	return (int)(o + TUNNEL_MAC_LEN);
}

bool
tunnel_tls_psk(const struct tunnel_key *k,
    const uint8_t preamble[TUNNEL_PREAMBLE_LEN], uint8_t psk[TUNNEL_PSK_LEN])
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx = NULL;
	OSSL_PARAM	 params[5];
	bool		 ok = false;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return false;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)k->key, TUNNEL_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)psk_salt, sizeof(psk_salt) - 1);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)(uintptr_t)preamble, TUNNEL_FIXED_LEN);
	params[4] = OSSL_PARAM_construct_end();
	if ((kctx = EVP_KDF_CTX_new(kdf)) != NULL &&
	    EVP_KDF_derive(kctx, psk, TUNNEL_PSK_LEN, params) == 1)
		ok = true;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	if (!ok)
		memset(psk, 0, TUNNEL_PSK_LEN);
	return ok;
}

int
tunnel_encode_inner_request(uint8_t cmd, const struct target *t,
    uint8_t *out, size_t outlen)
{
	size_t	o = 2;
	int	n;

	if (outlen < 2 + 1 || t == NULL || t->port == 0 ||
	    (t->atyp == TARGET_DOMAIN && !target_name_valid(
	    (const uint8_t *)t->name, strlen(t->name))))
		return -1;
	out[o++] = cmd;
	if ((n = target_encode(t, out + o, outlen - o)) < 0)
		return -1;
	o += (size_t)n;
	if (o + 2 > outlen)
		return -1;
	put_u16be(out + o, 0);				/* no extensions */
	o += 2;
	put_u16be(out, (uint16_t)(o - 2));
	return (int)o;
}

enum parse_result
tunnel_parse_inner_request(const uint8_t *buf, size_t len,
    struct tunnel_request *out)
{
	struct cursor	c;
	uint16_t	body_len;

	memset(out, 0, sizeof(*out));
	out->version = TUNNEL_VERSION_TLS;
	cur_init(&c, buf, len);
	if (!cur_u16be(&c, &body_len))
		return PARSE_NEED_MORE;
	/* cmd, the shortest target (ATYP 0) and ext_len */
	if (body_len < 1 + 1 + 2 || 2 + (size_t)body_len > TUNNEL_INNER_MAX)
		return PARSE_ERROR;
	if (len < 2 + (size_t)body_len)
		return PARSE_NEED_MORE;
	cur_init(&c, buf + 2, body_len);
	(void)cur_u8(&c, &out->cmd);		/* body_len >= 1 */
	out->body_status = parse_body(&c, out);
	out->used = 2 + (size_t)body_len;
	return PARSE_OK;
}

int
tunnel_encode_inner_reply(enum reply_code status, bool version_mismatch,
    uint8_t *out, size_t outlen)
{
	size_t	o = 0, ext = version_mismatch ? 2 + sizeof(versions) : 0;

	if (3 + ext > outlen)
		return -1;
	out[o++] = (uint8_t)status;	/* the wire carries our codes */
	put_u16be(out + o, (uint16_t)ext);
	o += 2;
	if (version_mismatch)
		o += put_versions_ext(out + o);
	return (int)o;
}

enum parse_result
tunnel_parse_inner_reply(const uint8_t *buf, size_t len,
    struct tunnel_reply *out)
{
	struct cursor	 c;
	uint8_t		 st;
	uint16_t	 ext_len;
	const uint8_t	*p;

	memset(out, 0, sizeof(*out));
	cur_init(&c, buf, len);
	if (!cur_u8(&c, &st) || !cur_u16be(&c, &ext_len))
		return PARSE_NEED_MORE;
	if (3 + (size_t)ext_len > TUNNEL_INNER_REPLY_MAX)
		return PARSE_ERROR;
	if (!cur_bytes(&c, ext_len, &p))
		return PARSE_NEED_MORE;
	out->status = reply_from_wire(st);
	if (!reply_exts(p, ext_len, out))
		return PARSE_ERROR;
	out->used = 3 + (size_t)ext_len;
	return PARSE_OK;
}

bool
tunnel_key_name_valid(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n >= sizeof(((struct tunnel_key *)0)->name))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.' || s[i] == '@'))
			return false;
	return true;
}
