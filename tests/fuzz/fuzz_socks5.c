/*
 * The three SOCKS5 parsers on the same input. Beyond "no crash, no read
 * past size" (ASan): OK consumes at most size, a message parses the same
 * with nothing behind it, every shorter prefix of it waits for more, and
 * a parsed request encodes back to the bytes it came from.
 */

#include <string.h>

#include "fuzz.h"
#include "proto/socks5.h"

static void
check_greeting(const uint8_t *data, size_t size)
{
	struct socks5_greeting	g, g2;
	enum parse_result	r = socks5_parse_greeting(data, size, &g);

	if (r != PARSE_OK) {
		FUZZ_CHECK(g.used == 0 && !g.offers_none &&
		    !g.offers_userpass);
		if (r == PARSE_ERROR)
			FUZZ_CHECK(size >= 1 && (data[0] != SOCKS5_VERSION ||
			    (size >= 2 && data[1] == 0)));
		return;
	}
	FUZZ_CHECK(size >= 3 && data[0] == SOCKS5_VERSION && data[1] > 0);
	FUZZ_CHECK(g.used == 2 + (size_t)data[1] && g.used <= size);
	FUZZ_CHECK(g.used <= SOCKS5_MAX_GREETING);
	FUZZ_CHECK(g.offers_none == (memchr(data + 2, SOCKS5_METHOD_NONE,
	    data[1]) != NULL));
	FUZZ_CHECK(g.offers_userpass == (memchr(data + 2,
	    SOCKS5_METHOD_USERPASS, data[1]) != NULL));
	FUZZ_CHECK(socks5_parse_greeting(data, g.used, &g2) == PARSE_OK &&
	    g2.used == g.used);
	for (size_t k = 0; k < g.used; k++)
		FUZZ_CHECK(socks5_parse_greeting(data, k, &g2) ==
		    PARSE_NEED_MORE);
	for (int req = 0; req < 2; req++) {
		uint8_t m = socks5_choose_method(&g, req);

		FUZZ_CHECK(m == SOCKS5_METHOD_REFUSED ||
		    (req ? m == SOCKS5_METHOD_USERPASS && g.offers_userpass :
		    m == SOCKS5_METHOD_NONE && g.offers_none));
	}
}

static void
check_userpass(const uint8_t *data, size_t size)
{
	struct socks5_userpass	up, up2;
	enum parse_result	r = socks5_parse_userpass(data, size, &up);

	if (r != PARSE_OK) {
		FUZZ_CHECK(up.used == 0 && up.user_len == 0);
		return;
	}
	FUZZ_CHECK(up.user_len >= 1);
	FUZZ_CHECK(up.used == 3 + (size_t)up.user_len + up.pass_len);
	FUZZ_CHECK(up.used <= size && up.used <= SOCKS5_MAX_USERPASS);
	FUZZ_CHECK(memcmp(up.user, data + 2, up.user_len) == 0);
	FUZZ_CHECK(up.user[up.user_len] == '\0');
	FUZZ_CHECK(memcmp(up.pass, data + 3 + up.user_len, up.pass_len) == 0);
	FUZZ_CHECK(up.pass[up.pass_len] == '\0');
	FUZZ_CHECK(socks5_parse_userpass(data, up.used, &up2) == PARSE_OK &&
	    up2.used == up.used);
	for (size_t k = 0; k < up.used; k++)
		FUZZ_CHECK(socks5_parse_userpass(data, k, &up2) ==
		    PARSE_NEED_MORE);
}

static void
check_request(const uint8_t *data, size_t size)
{
	struct socks5_request	req, req2;
	enum parse_result	r = socks5_parse_request(data, size, &req);
	uint8_t			enc[SOCKS5_MAX_REQUEST], reply[64];
	char			s[TARGET_STRLEN];
	int			n;
	size_t			rl;

	if (r == PARSE_ERROR) {
		FUZZ_CHECK(req.used == 0);
		FUZZ_CHECK(req.rep == REPLY_GENERAL ||
		    req.rep == REPLY_CMD_UNSUPPORTED ||
		    req.rep == REPLY_ATYP_UNSUPPORTED);
		rl = socks5_build_reply(req.rep, NULL, reply);
		FUZZ_CHECK(rl == 10 && reply[1] == req.rep);
		return;
	}
	if (r == PARSE_NEED_MORE) {
		FUZZ_CHECK(req.used == 0 && req.rep == REPLY_OK);
		FUZZ_CHECK(size < SOCKS5_MAX_REQUEST);
		return;
	}
	FUZZ_CHECK(req.used <= size && req.used <= SOCKS5_MAX_REQUEST);
	FUZZ_CHECK(req.rep == REPLY_OK);
	FUZZ_CHECK(req.cmd == SOCKS5_CMD_CONNECT);
	FUZZ_CHECK(req.target.port != 0);
	FUZZ_CHECK(req.target.atyp == TARGET_IPV4 ||
	    req.target.atyp == TARGET_IPV6 || req.target.atyp == TARGET_DOMAIN);
	if (req.target.atyp == TARGET_DOMAIN)
		FUZZ_CHECK(target_name_valid((const uint8_t *)req.target.name,
		    strlen(req.target.name)));
	/* round trip: the target encodes back to bytes 3 .. used */
	n = target_encode(&req.target, enc, sizeof(enc));
	FUZZ_CHECK(n > 0 && (size_t)n == req.used - 3);
	FUZZ_CHECK((size_t)n == target_encoded_len(&req.target));
	FUZZ_CHECK(memcmp(enc, data + 3, (size_t)n) == 0);
	FUZZ_CHECK(strlen(target_str(&req.target, s, sizeof(s))) <
	    sizeof(s));
	rl = socks5_build_reply(REPLY_OK, &req.target, reply);
	FUZZ_CHECK(rl <= SOCKS5_REPLY_MAX);
	FUZZ_CHECK(socks5_parse_request(data, req.used, &req2) == PARSE_OK &&
	    req2.used == req.used);
	for (size_t k = 0; k < req.used; k++)
		FUZZ_CHECK(socks5_parse_request(data, k, &req2) ==
		    PARSE_NEED_MORE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_greeting(data, size);
	check_userpass(data, size);
	check_request(data, size);
	return 0;
}
