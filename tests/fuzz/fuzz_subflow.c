/*
 * MPTCP_FULL_INFO decoding over bytes the kernel might return: the input
 * is split into the header, the subflow_info array and the tcp_info array
 * at offsets taken from its first two bytes. Every record decoded has a
 * known or empty address family.
 */

#include <string.h>

#include "fuzz.h"
#include "proto/subflow.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subflow_info	out[SUBFLOW_MAX];
	size_t			a, b;
	int			n;

	if (size < 2)
		return 0;
	a = data[0] * 4u;
	b = data[1] * 8u;
	data += 2;
	size -= 2;
	if (a > size)
		a = size;
	if (b > size - a)
		b = size - a;
	n = subflow_decode(data, a, data + a, b, data + a + b, size - a - b,
	    out, SUBFLOW_MAX);
	FUZZ_CHECK(n >= -1 && n <= SUBFLOW_MAX);
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(out[i].local.ss_family == AF_UNSPEC ||
		    out[i].local.ss_family == AF_INET ||
		    out[i].local.ss_family == AF_INET6);
	return 0;
}
