#ifndef MPSOCKS_DIAL_H
#define MPSOCKS_DIAL_H

/*
 * Connecting to a destination that has several addresses, in the order
 * given (dns.h: families alternating, IPv6 first), Happy Eyeballs style
 * (RFC 8305 section 5): the first attempt starts at once; while it has
 * not connected after DIAL_DELAY_MS, the next address starts too, the
 * first staying pending. The first to connect wins and every other
 * attempt is closed at once. An attempt that fails moves on to the next
 * address without waiting. At most DIAL_MAX_INFLIGHT attempts are open
 * at a time: with that many pending, the oldest is given up once it has
 * had its share of the time left (the time left over the addresses from
 * it on, at least DIAL_MIN_SHARE_MS), so a run of dead addresses cannot
 * hide a live one behind them. The whole lasts at most timeout_ms. When
 * every address fails, the failure reported is the most telling
 * (dial_err_rank()), the later one of equal rank.
 *
 * Both daemons use it: mpsocks-local for direct connections, the
 * concentrator for its destinations. The plan (struct dial_plan) is the
 * decision alone, pure, for the unit tests; struct dial does the I/O.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct bufferevent;			/* forward, no event2 include */
struct event_base;
struct dial;				/* opaque: use dial_*() */

#define DIAL_MAX_ADDRS		8	/* DNS_MAX_ADDRS */
#define DIAL_MAX_INFLIGHT	2
#define DIAL_DELAY_MS		250	/* RFC 8305's Connection Attempt
					 * Delay, its recommended value */
#define DIAL_MIN_SHARE_MS	1000

/* --- the plan: pure ------------------------------------------------------ */

struct dial_plan {			/* plain data: the decision's input */
	size_t		n;		/* addresses, in the order to try */
	size_t		next;		/* the first not started yet */
	size_t		max_inflight;	/* 1..DIAL_MAX_INFLIGHT */
	uint64_t	deadline_ms;
	uint64_t	ready_ms;	/* the next may start from then */
	uint64_t	start_ms[DIAL_MAX_ADDRS];
	bool		pending[DIAL_MAX_ADDRS];
};

enum dial_step {
	DIAL_WAIT,		/* nothing to do before wake_ms */
	DIAL_START,		/* start address idx */
	DIAL_ABANDON,		/* give up on pending idx: its share is up */
	DIAL_FAIL,		/* the deadline, or nothing pending or left */
};

struct dial_next {
	enum dial_step	step;
	size_t		idx;
	uint64_t	wake_ms;	/* DIAL_WAIT */
};

/* n addresses (at most DIAL_MAX_ADDRS), none started, from now on. */
void	dial_plan_init(struct dial_plan *, size_t n, uint64_t now_ms,
	    uint64_t timeout_ms, size_t max_inflight);
/* What to do at now_ms. Pure. */
struct dial_next dial_plan_next(const struct dial_plan *, uint64_t now_ms);
/* Address p->next has started: it is pending, and the one after it may
 * start DIAL_DELAY_MS from now. */
void	dial_plan_started(struct dial_plan *, uint64_t now_ms);
/* Pending attempt idx has ended without connecting (failed or given
 * up): the next address may start at once. */
void	dial_plan_ended(struct dial_plan *, size_t idx, uint64_t now_ms);
/*
 * How much a failure says about the destination, higher is more: 0 this
 * host's own trouble (err 0: a rule's bind, no descriptors, no memory);
 * 1 no route from here, told by connect() itself (at_once); 2 timed
 * out, nothing heard; 3 any other answer from the network (ICMP
 * unreachable, a neighbour that never answered); 4 refused by the
 * destination host itself. Pure.
 */
int	dial_err_rank(int err, bool at_once);

struct dial_failure {			/* plain data: the one to report */
	int		 err;
	int		 rank;		/* -1: none yet */
	const char	*why;
};

/* Keeps err and why if they tell at least as much as the failure kept:
 * of equal rank, the later. Pure. */
void	dial_failure_note(struct dial_failure *, int err, bool at_once,
	    const char *why);

/* --- the dialer ---------------------------------------------------------- */

/*
 * The descriptors a daemon has for attempts beyond each connection's
 * first. daemon_conn_budget() counts fds_each per connection (an app
 * connection or a tunnel, and its one leg), so a second attempt in
 * flight starts only while conns * fds_each + used < room, and otherwise
 * waits (the addresses are then tried one at a time, each for its
 * share). Owned by the daemon's context; conns points at its count of
 * live connections. room SIZE_MAX or conns NULL: no limit.
 */
struct dial_fds {
	size_t		 room;		/* daemon_fd_room() */
	unsigned	 fds_each;
	const size_t	*conns;
	size_t		 used;		/* second attempts open now */
};

struct dial_ops {
	/* Optional: readies a new socket for sa before its connect() (a
	 * bind, a device). false fails that address, with *why a static
	 * string. */
	bool	(*prepare)(void *arg, int fd, const struct sockaddr *sa,
		    const char **why);
	/*
	 * Once, from the event loop, after the dial has freed itself.
	 * Connected: bev (the caller's now, no callbacks set, reading not
	 * enabled) to addrs[idx]. Else bev NULL, err the most telling
	 * failure's errno (0 for a local one) and why its text from
	 * prepare, or NULL (then strerror(err) tells it).
	 */
	void	(*done)(void *arg, struct bufferevent *bev, size_t idx,
		    int err, const char *why);
};

struct dial_params {
	struct event_base		*base;
	const struct sockaddr_storage	*addrs;		/* with their ports */
	size_t				 n;		/* 1..DIAL_MAX_ADDRS */
	uint64_t			 timeout_ms;
	struct dial_fds			*fds;		/* NULL: no budget */
	const char			*tag;		/* log prefix "s=..." */
	const struct dial_ops		*ops;
	void				*arg;
};

/*
 * Starts connecting; the addresses are copied. NULL when every address
 * failed at once (or no memory), with *err and *why as done() would have
 * them; done() is then never called. Else done() is called later, once,
 * unless dial_cancel() comes first.
 */
struct dial	*dial_start(const struct dial_params *, int *err,
		    const char **why);
/* Closes every attempt and frees the dial; done() is not called. */
void		 dial_cancel(struct dial *);

#endif
