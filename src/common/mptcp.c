/*
 * MPTCP socket helpers. Kernel facts behind them: docs/kernel-notes.md
 * ("MPTCP sockets and fallback", "Reading a connection's subflows",
 * "Closing", "Fast Open on MPTCP") and docs/troubleshooting.md.
 */

#include "common/mptcp.h"
#include "proto/util.h"

/* <linux/mptcp.h> of Debian 12 lacks these (kernel uapi values) */
#define SOL_MPTCP_	284
#define MPTCP_INFO_	1

#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SOL_MPTCP
#define SOL_MPTCP	284
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP	43
#endif
#define MPTCP_TCPINFO_OPT	2

/* The header of MPTCP_TCPINFO, as in the 6.x uapi. */
struct mptcp_subflow_data_hdr {
	uint32_t	size_subflow_data;
	uint32_t	num_subflows;
	uint32_t	size_kernel;
	uint32_t	size_user;
};

/* Offsets in the kernel's struct tcp_info, stable uapi. */
#define TI_BYTES_ACKED		120	/* __u64 tcpi_bytes_acked */
#define TI_BYTES_RECEIVED	128	/* __u64 tcpi_bytes_received */

static bool
mptcp_refused(int err)
{
	return err == EPROTONOSUPPORT || err == ENOPROTOOPT || err == EINVAL;
}

int
mptcp_socket(int family, bool want_mptcp, bool *got_mptcp)
{
	int	fd;

	*got_mptcp = false;
	if (want_mptcp) {
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_MPTCP);
		if (fd != -1) {
			*got_mptcp = true;
			return fd;
		}
		if (!mptcp_refused(errno))
			return -1;
	}
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
}

int
mptcp_listen(const struct sockaddr *sa, socklen_t salen, bool want_mptcp,
    bool *got_mptcp)
{
	int	fd, saved, one = 1, qlen = MPTCP_TFO_QLEN;

	if ((fd = mptcp_socket(sa->sa_family, want_mptcp, got_mptcp)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	/* [::] takes IPv6 only; listen on 0.0.0.0 as well for IPv4 */
	if (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, sa, salen) == -1 || listen(fd, SOMAXCONN) == -1)
		goto fail;
	/* Fast Open: a client's first bytes (our tunnel header) arrive with
	 * its SYN. Refused only by very old kernels; then plain accepts. */
	(void)setsockopt(fd, SOL_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen));
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

bool
mptcp_fastopen_connect(int fd)
{
	int	one = 1;

	return setsockopt(fd, SOL_TCP, TCP_FASTOPEN_CONNECT, &one,
	    sizeof(one)) == 0;
}

int
mptcp_fastopen_sysctl(void)
{
	FILE	*f = fopen("/proc/sys/net/ipv4/tcp_fastopen", "re");
	int	 v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int
mptcp_peer_keyed(int fd)
{
	/* struct mptcp_info: six __u8, then __u32 mptcpi_flags at 8 */
	enum { FLAGS_OFF = 8, FLAG_FALLBACK = 1, FLAG_REMOTE_KEY = 2 };
	uint8_t		buf[64];
	uint32_t	flags;
	socklen_t	len = sizeof(buf);

	if (getsockopt(fd, SOL_MPTCP_, MPTCP_INFO_, buf, &len) == -1 ||
	    len < FLAGS_OFF + sizeof(flags))
		return 1;	/* plain TCP, or no MPTCP_INFO: no such wait */
	memcpy(&flags, buf + FLAGS_OFF, sizeof(flags));
	return (flags & (FLAG_FALLBACK | FLAG_REMOTE_KEY)) != 0;
}

int
mptcp_is_active(int fd)
{
	int		v = 0;
	socklen_t	len = sizeof(v);

	if (getsockopt(fd, SOL_TCP, TCP_IS_MPTCP, &v, &len) == -1)
		return -1;
	return v != 0;
}

/*
 * A handshake of many small writes (TLS records) must not wait behind
 * Nagle for the ACK of the one before: that cost a cold TLS tunnel
 * round trips, not bytes. Bulk writes fill whole segments anyway.
 */
void
mptcp_set_nodelay(int fd)
{
	int	one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void
mptcp_set_abortive(int fd)
{
	struct linger	l = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

bool
mptcp_subflow_stats(int fd, struct mptcp_subflow_stats *out)
{
	/* room for 8 subflows of a tcp_info larger than today's 280 bytes */
	enum { PER = 512, MAXSF = 8 };
	uint8_t				 buf[sizeof(struct
					    mptcp_subflow_data_hdr) +
					    PER * MAXSF];
	struct mptcp_subflow_data_hdr	 h = {
		.size_subflow_data = sizeof(h), .size_user = PER,
	};
	socklen_t			 len = sizeof(buf);

	memset(out, 0, sizeof(*out));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	if (getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO_OPT, buf, &len) == -1)
		return false;
	memcpy(&h, buf, sizeof(h));
	size_t elem = MIN(h.size_user, h.size_kernel);
	out->n = h.num_subflows;
	for (uint32_t i = 0; i < h.num_subflows && i < MAXSF; i++) {
		const uint8_t	*ti = buf + h.size_subflow_data +
				    (size_t)i * h.size_user;
		uint64_t	 v;

		if (elem < 1 || ti + 1 > buf + len)
			break;
		out->alive += ti[0] != TCP_CLOSE;	/* tcpi_state */
		if (elem < TI_BYTES_RECEIVED + 8 ||
		    ti + TI_BYTES_RECEIVED + 8 > buf + len)
			break;
		memcpy(&v, ti + TI_BYTES_ACKED, 8);
		out->bytes_sent += v;
		memcpy(&v, ti + TI_BYTES_RECEIVED, 8);
		out->bytes_received += v;
	}
	return true;
}
