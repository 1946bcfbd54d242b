#ifndef MPSOCKS_RELAY_H
#define MPSOCKS_RELAY_H

/*
 * Moves bytes between two connected bufferevents, both ways, with
 * back-pressure (a side whose peer does not drain is not read), forwarded
 * half-closes, and an idle timeout. What comes from a plain TCP socket is
 * spliced through pipes lent per chunk, the rest read and written (see
 * relay.c and docs/relay.md): a process holds at most a few idle pipes.
 */

#include <stdbool.h>
#include <stdint.h>

struct bufferevent;			/* forward, no event2 include */
struct event_base;
struct relay;				/* opaque: use relay_*() */

struct relay_stats {			/* plain data: read the fields */
	uint64_t	a_to_b, b_to_a, ms;
};

struct relay_ops {
	/* Optional. When either side sends its FIN, before it is forwarded:
	 * the subflows are still up, unlike at close. */
	void	(*half_closed)(void *arg, int fd_a, int fd_b);
	/* Once, before the bufferevents are freed: the owner may still read
	 * socket state (subflow counters) from their descriptors. */
	void	(*closed)(void *arg, const char *reason, int fd_a, int fd_b,
		    const struct relay_stats *);
};

/*
 * Takes ownership of both bufferevents' descriptors and frees the
 * bufferevents; the caller must forget them. Bytes still queued in them
 * (a reply in an output buffer, early data in an input buffer) are
 * delivered first. NULL on allocation failure, with everything closed.
 */
struct relay	*relay_start(struct event_base *, struct bufferevent *a,
		    struct bufferevent *b, unsigned idle_timeout_s,
		    const struct relay_ops *, void *arg);
/*
 * Splicing out of plain TCP sockets (docs/relay.md) is off unless turned
 * on here, before the first relay_start: on kernel 6.18 a splice() into
 * an MPTCP socket that met a full buffer sometimes never got its EPOLLOUT
 * (t_abort and t_bonded_transfer stalled for seconds to minutes in
 * make check), so read()/write() is the default.
 */
void		 relay_set_splice(bool on);
/*
 * Right after relay_start: what waits to be written to a (the tunnel's
 * reply) waits up to ms more for b's first bytes, to leave with them in
 * one write; the kernel's scheduler would put a second, separate write
 * on another subflow while the first is unacknowledged, and the answer
 * would cost the slower uplink's round trip. Nothing if nothing waits.
 */
void		 relay_hold_first(struct relay *, unsigned ms);
/* Ends the relay abortively (both connections reset), calling closed. */
void		 relay_stop(struct relay *, const char *reason);

#endif
