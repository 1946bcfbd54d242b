/*
 * Protocol v2, inside TLS: the request (length, cmd, target, extensions)
 * and the reply (status, extensions). No MAC here, TLS authenticates
 * them, so every input goes to both parsers straight. The outcome is
 * predicted from the length fields alone; an OK request with a good body
 * re-encodes into the same cmd and target bytes (and the same message
 * when it carried no extensions); replies round-trip through the encoder.
 */

#include <string.h>

#include "fuzz.h"
#include "proto/tunnel_proto.h"

static void
same_request(const struct tunnel_request *a, const struct tunnel_request *b)
{
	FUZZ_CHECK(a->used == b->used && a->version == b->version &&
	    a->cmd == b->cmd && a->body_status == b->body_status);
	FUZZ_CHECK(memcmp(&a->target, &b->target, sizeof(a->target)) == 0);
}

/* A good body: encode cmd and target again, compare with the input. */
static void
reencode_request(const uint8_t *data, const struct tunnel_request *req)
{
	struct tunnel_request	again;
	uint8_t			out[TUNNEL_INNER_MAX];
	size_t			ext_len;
	int			n;

	FUZZ_CHECK(req->cmd == TUNNEL_CMD_CONNECT);
	FUZZ_CHECK(req->target.port != 0);
	FUZZ_CHECK(req->target.atyp == TARGET_IPV4 ||
	    req->target.atyp == TARGET_IPV6 ||
	    req->target.atyp == TARGET_DOMAIN);
	n = tunnel_encode_inner_request(req->cmd, &req->target, out,
	    sizeof(out));
	FUZZ_CHECK(n >= 2 + 1 + 5 + 2 && (size_t)n <= req->used);
	/* cmd and target are the input's bytes, then its ext_len */
	FUZZ_CHECK(memcmp(out + 2, data + 2, (size_t)n - 4) == 0);
	ext_len = (size_t)data[n - 2] << 8 | data[n - 1];
	FUZZ_CHECK((size_t)n + ext_len == req->used);
	if (ext_len == 0)
		FUZZ_CHECK(memcmp(out, data, (size_t)n) == 0);
	FUZZ_CHECK(tunnel_parse_inner_request(out, (size_t)n, &again) ==
	    PARSE_OK);
	FUZZ_CHECK(again.used == (size_t)n && again.body_status == REPLY_OK);
	FUZZ_CHECK(again.cmd == req->cmd);
	FUZZ_CHECK(memcmp(&again.target, &req->target,
	    sizeof(again.target)) == 0);
}

static void
request(const uint8_t *data, size_t size)
{
	struct tunnel_request	req, req2;
	enum parse_result	r;
	size_t			body_len;

	r = tunnel_parse_inner_request(data, size, &req);
	if (size < 2) {
		FUZZ_CHECK(r == PARSE_NEED_MORE && req.used == 0);
		return;
	}
	body_len = (size_t)data[0] << 8 | data[1];
	if (body_len < 1 + 1 + 2 || 2 + body_len > TUNNEL_INNER_MAX) {
		FUZZ_CHECK(r == PARSE_ERROR && req.used == 0);
		return;
	}
	if (size < 2 + body_len) {
		FUZZ_CHECK(r == PARSE_NEED_MORE && req.used == 0);
		return;
	}
	FUZZ_CHECK(r == PARSE_OK && req.used == 2 + body_len);
	FUZZ_CHECK(req.used <= size);
	FUZZ_CHECK(req.version == TUNNEL_VERSION_TLS && req.cmd == data[2]);
	FUZZ_CHECK(req.body_status <= REPLY_ATYP_UNSUPPORTED);
	/* nothing behind the request changes the parse */
	FUZZ_CHECK(tunnel_parse_inner_request(data, req.used, &req2) ==
	    PARSE_OK);
	same_request(&req, &req2);
	for (size_t k = 0; k < req.used; k++)
		FUZZ_CHECK(tunnel_parse_inner_request(data, k, &req2) ==
		    PARSE_NEED_MORE && req2.used == 0);
	if (req.body_status == REPLY_OK)
		reencode_request(data, &req);
}

static void
reply(const uint8_t *data, size_t size)
{
	struct tunnel_reply	rep, rep2;
	enum parse_result	r;
	size_t			ext_len;

	r = tunnel_parse_inner_reply(data, size, &rep);
	if (r != PARSE_OK)
		FUZZ_CHECK(rep.used == 0);
	if (size < 3) {
		FUZZ_CHECK(r == PARSE_NEED_MORE);
		return;
	}
	ext_len = (size_t)data[1] << 8 | data[2];
	if (3 + ext_len > TUNNEL_INNER_REPLY_MAX) {
		FUZZ_CHECK(r == PARSE_ERROR);
		return;
	}
	if (size < 3 + ext_len) {
		FUZZ_CHECK(r == PARSE_NEED_MORE);
		return;
	}
	/* whole: only a malformed extension list can refuse it */
	FUZZ_CHECK(r == PARSE_OK || r == PARSE_ERROR);
	if (r != PARSE_OK)
		return;
	FUZZ_CHECK(rep.used == 3 + ext_len && rep.used <= size);
	FUZZ_CHECK(rep.status == reply_from_wire(data[0]));
	FUZZ_CHECK(rep.n_server_versions <= sizeof(rep.server_versions));
	FUZZ_CHECK(tunnel_parse_inner_reply(data, rep.used, &rep2) ==
	    PARSE_OK);
	FUZZ_CHECK(rep2.used == rep.used && rep2.status == rep.status &&
	    rep2.n_server_versions == rep.n_server_versions);
	FUZZ_CHECK(memcmp(rep2.server_versions, rep.server_versions,
	    rep.n_server_versions) == 0);
	for (size_t k = 0; k < rep.used; k++)
		FUZZ_CHECK(tunnel_parse_inner_reply(data, k, &rep2) ==
		    PARSE_NEED_MORE && rep2.used == 0);
}

/* Encode a status and flag taken from the input; parse it back. */
static void
reply_round_trip(const uint8_t *data, size_t size)
{
	struct tunnel_reply	rep;
	uint8_t			out[TUNNEL_INNER_REPLY_MAX];
	enum reply_code		status = reply_from_wire(size > 0 ? data[0] : 0);
	bool			mismatch = size > 1 && (data[1] & 1);
	int			n;

	n = tunnel_encode_inner_reply(status, mismatch, out, sizeof(out));
	FUZZ_CHECK(n == 3 + (mismatch ? 4 : 0));
	FUZZ_CHECK(tunnel_parse_inner_reply(out, (size_t)n, &rep) ==
	    PARSE_OK);
	FUZZ_CHECK(rep.used == (size_t)n && rep.status == status);
	FUZZ_CHECK(rep.n_server_versions == (mismatch ? 2u : 0u));
	if (mismatch)
		FUZZ_CHECK(rep.server_versions[0] == TUNNEL_VERSION &&
		    rep.server_versions[1] == TUNNEL_VERSION_TLS);
	/* a known status without extensions is exactly what we send */
	if (!mismatch && size >= 3 && data[0] < REPLY_CODES &&
	    data[1] == 0 && data[2] == 0)
		FUZZ_CHECK(memcmp(out, data, 3) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	request(data, size);
	reply(data, size);
	reply_round_trip(data, size);
	return 0;
}
