#ifndef MPSOCKS_MPTCP_H
#define MPSOCKS_MPTCP_H

/*
 * MPTCP sockets with fallback to TCP, and the per-connection facts the
 * kernel exposes. Debian 12's <linux/mptcp.h> is from 6.1, so the few
 * constants we need are defined here and every buffer is sized from what
 * the kernel returns.
 */

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
/* TCP_NODELAY (also on MPTCP sockets); failures are ignored. */
void	mptcp_set_nodelay(int fd);

#endif

/*
 * A non-blocking stream socket. With want_mptcp, tries IPPROTO_MPTCP first
 * and falls back to TCP when the kernel refuses it (EPROTONOSUPPORT,
 * ENOPROTOOPT, EINVAL); *got_mptcp tells which. -1 with errno on failure.
 */
int	mptcp_socket(int family, bool want_mptcp, bool *got_mptcp);
/* A listener: with want_mptcp, MPTCP if the kernel allows, else TCP. */
int	mptcp_listen(const struct sockaddr *, socklen_t, bool want_mptcp,
	    bool *got_mptcp);
/* Pending Fast Open requests a listener keeps (the kernel's TFO queue). */
#define MPTCP_TFO_QLEN	4096
/*
 * TCP_FASTOPEN_CONNECT on a socket not yet connected: connect() then
 * returns at once and the first write() leaves in the SYN (with a cookie
 * from an earlier connection; without one the SYN asks for a cookie and
 * the write fails with EINPROGRESS, nothing queued). False if refused
 * (net.ipv4.tcp_fastopen lacks the client bit).
 */
bool	mptcp_fastopen_connect(int fd);
/* net.ipv4.tcp_fastopen of this namespace (bit 1 client, bit 2 server);
 * -1 if unreadable. */
int	mptcp_fastopen_sysctl(void);
/*
 * Has the peer's MPTCP key arrived (the client's third ACK, or its first
 * data after the handshake)? 1 also for TCP and fallen-back sockets.
 * A Fast Open server socket is accepted, and readable, before that; data
 * it sends then is never delivered to an MPTCP client on 6.18 (measured:
 * docs/protocol.md), so the concentrator waits for this before writing.
 */
int	mptcp_peer_keyed(int fd);
/* 1 if the connection runs MPTCP, 0 if it fell back to TCP, -1 unknown. */
int	mptcp_is_active(int fd);
/* Arrange for close() to reset the connection (MP_FASTCLOSE on MPTCP):
 * without it a peer holding unread data waits a minute in CLOSE-WAIT. */
void	mptcp_set_abortive(int fd);

struct mptcp_subflow_stats {
	unsigned	n;		/* subflows listed, the initial too */
	unsigned	alive;		/* of them, not closed: the initial
					 * one stays listed after a reset */
	uint64_t	bytes_sent, bytes_received;	/* summed */
};
/* Subflow totals from MPTCP_TCPINFO; false on a TCP socket. */
bool	mptcp_subflow_stats(int fd, struct mptcp_subflow_stats *);

/* TCP_NODELAY (also on MPTCP sockets); failures are ignored. */
void	mptcp_set_nodelay(int fd);

#endif
