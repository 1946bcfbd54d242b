#ifndef MPSOCKS_SUBFLOW_H
#define MPSOCKS_SUBFLOW_H

/*
 * Decoding what getsockopt(SOL_MPTCP, MPTCP_FULL_INFO) returned into one
 * plain record per subflow. Pure: the getsockopt itself is in
 * src/local/monitor.c.
 */

/* sockaddr types only: a proto header pulls in no socket calls */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define SUBFLOW_MAX	8	/* subflows of one connection we read */
#define SUBFLOW_TI_LEN	512	/* room for a tcp_info that grows */

struct subflow_info {
	uint32_t		id;
	struct sockaddr_storage	local, remote;
	uint8_t			tcp_state;	/* TCP_ESTABLISHED, ... */
	uint32_t		rtt_us;
	uint64_t		bytes_sent;	/* acked by the peer */
	uint64_t		bytes_received;
};

/*
 * hdr: the struct mptcp_full_info header as the kernel filled it (hlen
 * bytes). sf, ti: the arrays it points at, sflen and tilen bytes, of
 * elements of size_sfinfo_user and size_tcpinfo_user bytes. Fills up to
 * max records; returns how many, or -1 if the header is short or its
 * sizes do not fit the arrays.
 */
int		subflow_decode(const uint8_t *hdr, size_t hlen,
		    const uint8_t *sf, size_t sflen, const uint8_t *ti,
		    size_t tilen, struct subflow_info *out, size_t max);
/* "established", "syn_sent", ... for a tcp_info state. */
const char	*subflow_state_str(uint8_t);

#endif
