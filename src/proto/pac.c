/*
 * The PAC file. It never calls dnsResolve(): that would look up every
 * host name locally, leaking each one to the home's resolver and costing
 * a lookup per request. Only literal addresses are matched against the
 * local networks; names go to the proxy, which the concentrator resolves.
 * There is deliberately no final DIRECT: if the proxy is down, traffic
 * stops instead of leaving unbonded and unnoticed.
 */

#include "proto/pac.h"

#include <stdio.h>

int
pac_build(const char *proxy, char *out, size_t outlen)
{
	int	n;

	n = snprintf(out, outlen,
"// mpsocks proxy auto-config: bonded through %s\n"
"function FindProxyForURL(url, host) {\n"
"\tif (isPlainHostName(host) || host === \"localhost\" ||\n"
"\t    dnsDomainIs(host, \".local\") || host === \"[::1]\" || host === \"::1\")\n"
"\t\treturn \"DIRECT\";\n"
"\tif (/^\\d+\\.\\d+\\.\\d+\\.\\d+$/.test(host) &&\n"
"\t    (isInNet(host, \"127.0.0.0\", \"255.0.0.0\") ||\n"
"\t    isInNet(host, \"10.0.0.0\", \"255.0.0.0\") ||\n"
"\t    isInNet(host, \"172.16.0.0\", \"255.240.0.0\") ||\n"
"\t    isInNet(host, \"192.168.0.0\", \"255.255.0.0\") ||\n"
"\t    isInNet(host, \"169.254.0.0\", \"255.255.0.0\")))\n"
"\t\treturn \"DIRECT\";\n"
"\treturn \"SOCKS5 %s; PROXY %s\";\n"
"}\n", proxy, proxy, proxy);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}
