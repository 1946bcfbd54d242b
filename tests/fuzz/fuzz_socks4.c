/*
 * SOCKS4/4a request parser. Beyond "no crash, no read past size" (ASan):
 * OK consumes at most size, the same request parses alone, and every
 * shorter prefix of it waits for more.
 */

#include <string.h>

#include "fuzz.h"
#include "proto/socks4.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks4_request	req, again;

	if (socks4_parse_request(data, size, &req) != PARSE_OK)
		return 0;
	FUZZ_CHECK(req.used <= size && req.used <= SOCKS4_MAX_REQUEST);
	FUZZ_CHECK(req.target.port != 0);
	FUZZ_CHECK(req.target.atyp == TARGET_IPV4 ||
	    (req.target.atyp == TARGET_DOMAIN &&
	    target_name_valid((const uint8_t *)req.target.name,
	    strlen(req.target.name))));
	FUZZ_CHECK(socks4_parse_request(data, req.used, &again) == PARSE_OK &&
	    again.used == req.used);
	for (size_t k = 0; k < req.used; k++)
		FUZZ_CHECK(socks4_parse_request(data, k, &again) ==
		    PARSE_NEED_MORE);
	return 0;
}
