/*
 * MPTCP_FULL_INFO decoding (kernel uapi: include/mptcp_uapi.h). Every
 * size is taken as the smaller of what we asked for and what the kernel
 * has, every read is bounded by the buffer it reads from, and addresses
 * are copied only for the families we know, with their own lengths.
 */

#include "proto/subflow.h"
#include "proto/mptcp_uapi.h"
#include "proto/util.h"

#include <netinet/in.h>
#include <string.h>

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t	v;

	memcpy(&v, p, 8);
	return v;
}

static void
rd_addr(const uint8_t *p, struct sockaddr_storage *ss)
{
	sa_family_t	fam;

	memset(ss, 0, sizeof(*ss));
	memcpy(&fam, p, sizeof(fam));
	if (fam == AF_INET)
		memcpy(ss, p, sizeof(struct sockaddr_in));
	else if (fam == AF_INET6)
		memcpy(ss, p, sizeof(struct sockaddr_in6));
	/* anything else stays AF_UNSPEC */
}

int
subflow_decode(const uint8_t *hdr, size_t hlen, const uint8_t *sf,
    size_t sflen, const uint8_t *ti, size_t tilen, struct subflow_info *out,
    size_t max)
{
	struct mptcp_full_info_hdr	h;
	size_t				sfsz, tisz, n;

	if (hlen < sizeof(h))
		return -1;
	memcpy(&h, hdr, sizeof(h));
	sfsz = MIN(h.size_sfinfo_kernel, h.size_sfinfo_user);
	tisz = MIN(h.size_tcpinfo_kernel, h.size_tcpinfo_user);
	n = MIN(h.num_subflows, h.size_arrays_user);
	n = MIN(n, max);
	if (n == 0)
		return 0;
	/* the kernel strides by what we asked for */
	if (sfsz < SFINFO_LEN || tisz < TCPI_BYTES_RECV_OFF + 8 ||
	    h.size_sfinfo_user > sflen / n || h.size_tcpinfo_user > tilen / n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const uint8_t	*s = sf + i * h.size_sfinfo_user;
		const uint8_t	*t = ti + i * h.size_tcpinfo_user;

		out[i].id = rd32(s + SFINFO_ID_OFF);
		rd_addr(s + SFINFO_LOCAL_OFF, &out[i].local);
		rd_addr(s + SFINFO_REMOTE_OFF, &out[i].remote);
		out[i].tcp_state = t[TCPI_STATE_OFF];
		out[i].rtt_us = rd32(t + TCPI_RTT_OFF);
		out[i].bytes_sent = rd64(t + TCPI_BYTES_ACKED_OFF);
		out[i].bytes_received = rd64(t + TCPI_BYTES_RECV_OFF);
	}
	return (int)n;
}

const char *
subflow_state_str(uint8_t st)
{
	static const char *const names[] = {
		"unknown", "established", "syn_sent", "syn_recv", "fin_wait1",
		"fin_wait2", "time_wait", "close", "close_wait", "last_ack",
		"listen", "closing", "new_syn_recv", "bound_inactive",
	};

	return st < NELEM(names) ? names[st] : "unknown";
}
