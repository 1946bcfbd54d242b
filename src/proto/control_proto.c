/*
 * Request rules of the control port: routing by path (RFC 9110 origin-form
 * only) and bearer tokens (RFC 6750 section 2.1). Pure.
 */

#include "proto/control_proto.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum control_route
control_route(bool read_method, const char *uri, size_t len)
{
	static const struct {
		const char		*path;
		enum control_route	 r;
	} routes[] = {
		{ "/metrics", CTL_METRICS },
		{ "/api/status", CTL_STATUS },
		{ "/", CTL_DASHBOARD },
		{ "/index.html", CTL_DASHBOARD },
	};
	size_t	plen;

	if (uri == NULL || len == 0 || len > CONTROL_URI_MAX || uri[0] != '/')
		return CTL_NOT_FOUND;
	for (plen = 0; plen < len; plen++)
		if (uri[plen] == '?' || uri[plen] == '#' || uri[plen] == '\0')
			break;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == plen &&
		    memcmp(routes[i].path, uri, plen) == 0)
			return read_method ? routes[i].r : CTL_METHOD;
	return CTL_NOT_FOUND;
}

bool
control_token_valid(const char *t)
{
	size_t	n = strlen(t);

	if (n < 16 || n > CONTROL_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~+/=", c) != NULL))
			return false;
	}
	return true;
}

bool
control_auth_ok(const char *authz, const char *token)
{
	size_t	tlen = strlen(token), alen;

	if (tlen == 0)
		return true;
	if (authz == NULL)
		return false;
	alen = strlen(authz);
	/* the length of the configured token is not a secret worth a
	 * constant-time length check; its bytes are */
	if (alen != 7 + tlen || strncasecmp(authz, "Bearer ", 7) != 0)
		return false;
	return CRYPTO_memcmp(authz + 7, token, tlen) == 0;
}

bool
control_host_ok(const char *host)
{
	char		h[64];
	const char	*end;
	size_t		 n;
	unsigned	 a, b, c, d;
	char		 tail;

	if (host == NULL)
		return false;
	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return false;
		end++;
	} else
		end = host + strcspn(host, ":");
	if (*end == ':') {
		if (end[1] == '\0' || strspn(end + 1, "0123456789") !=
		    strlen(end + 1) || strlen(end + 1) > 5)
			return false;
	} else if (*end != '\0')
		return false;
	n = (size_t)(end - host);
	if (n == 0 || n >= sizeof(h))
		return false;
	memcpy(h, host, n);
	h[n] = '\0';
	if (strcasecmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0)
		return true;
	return sscanf(h, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4 &&
	    a == 127 && b < 256 && c < 256 && d < 256 &&
	    strspn(h, "0123456789.") == n;
}
