#ifndef MPSOCKS_CONTROL_PROTO_H
#define MPSOCKS_CONTROL_PROTO_H

/*
 * The control port's request rules, apart from the HTTP server that
 * applies them (control.c), so they can be tested and fuzzed: which
 * resource a request-target names, and the bearer token check. Pure.
 */

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_TOKEN_MAX	128
#define CONTROL_URI_MAX		2048

enum control_route {
	CTL_NOT_FOUND, CTL_METHOD, CTL_METRICS, CTL_STATUS, CTL_DASHBOARD,
};

/*
 * uri: the request-target as received (origin-form "/path?query"; an
 * absolute-form proxy request "http://host/" is CTL_NOT_FOUND, so the
 * control port never acts as a proxy). read_method: GET or HEAD. A
 * known path with another method is CTL_METHOD (405).
 */
enum control_route	control_route(bool read_method, const char *uri,
			    size_t len);
/*
 * token "" means none is required. Otherwise authz must be exactly
 * "Bearer TOKEN" (scheme case-insensitive, RFC 7235); the token part is
 * compared in constant time for a given token length.
 */
bool			control_auth_ok(const char *authz, const char *token);
/*
 * Without a token, only a Host header naming loopback (127.x.y.z,
 * [::1], localhost, with or without a port) is served: a web page whose
 * name an attacker re-points at 127.0.0.1 (DNS rebinding) would
 * otherwise read the status, and with it the user's browsing.
 */
bool			control_host_ok(const char *host);
/* A token as configured: 16..CONTROL_TOKEN_MAX bytes of RFC 6750
 * b64token characters. */
bool			control_token_valid(const char *token);

#endif
