/*
 * The control port's request rules: the first line is the request-target,
 * the second the Authorization header, the third the configured token.
 * Routing reads only within the length; a token check passes only on the
 * exact "Bearer TOKEN".
 */

#include <string.h>
#include <strings.h>

#include "proto/control_proto.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			buf[4096], *uri, *authz, *tok;
	enum control_route	r;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	r = control_route(size > 0 && (data[0] & 1), (const char *)data, size);
	FUZZ_CHECK(r == CTL_NOT_FOUND || (size > 0 && data[0] == '/'));
	uri = buf;
	authz = strchr(uri, '\n');
	if (authz == NULL)
		return 0;
	*authz++ = '\0';
	tok = strchr(authz, '\n');
	if (tok == NULL)
		return 0;
	*tok++ = '\0';
	(void)control_route(true, uri, strlen(uri));
	if (control_auth_ok(authz, tok) && tok[0] != '\0')
		FUZZ_CHECK(strlen(authz) == strlen(tok) + 7 &&
		    strncasecmp(authz, "bearer ", 7) == 0 &&
		    strcmp(authz + 7, tok) == 0);
	(void)control_token_valid(tok);
	if (control_host_ok(authz))
		FUZZ_CHECK(strlen(authz) < 64);
	return 0;
}
