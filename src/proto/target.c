/* Destination formatting and the wire form shared by SOCKS5 and the tunnel. */

#include "proto/target.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

const char *
target_str(const struct target *t, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	switch (t->atyp) {
	case TARGET_IPV4:
		inet_ntop(AF_INET, t->addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, t->port);
		break;
	case TARGET_IPV6:
		inet_ntop(AF_INET6, t->addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, t->port);
		break;
	case TARGET_DOMAIN:
		snprintf(buf, len, "%s:%u", t->name, t->port);
		break;
	default:
		snprintf(buf, len, "(atyp %u)", t->atyp);
	}
	return buf;
}

bool
target_name_valid(const uint8_t *p, size_t n)
{
	if (n == 0 || n > TARGET_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.'))
			return false;
	}
	return true;
}

size_t
target_encoded_len(const struct target *t)
{
	switch (t->atyp) {
	case TARGET_IPV4:
		return 1 + 4 + 2;
	case TARGET_IPV6:
		return 1 + 16 + 2;
	default:
		return 1 + 1 + strlen(t->name) + 2;
	}
}

int
target_encode(const struct target *t, uint8_t *out, size_t len)
{
	size_t	need = target_encoded_len(t), o = 0;

	if (need > len)
		return -1;
	out[o++] = t->atyp;
	switch (t->atyp) {
	case TARGET_IPV4:
		memcpy(out + o, t->addr, 4);
		o += 4;
		break;
	case TARGET_IPV6:
		memcpy(out + o, t->addr, 16);
		o += 16;
		break;
	case TARGET_DOMAIN: {
		size_t n = strlen(t->name);

		if (n == 0 || n > TARGET_MAX_NAME)
			return -1;
		out[o++] = (uint8_t)n;
		memcpy(out + o, t->name, n);
		o += n;
		break;
	}
	default:
		return -1;
	}
	out[o++] = (uint8_t)(t->port >> 8);
	out[o++] = (uint8_t)t->port;
	return (int)o;
}
