/*
 * Happy Eyeballs connecting (RFC 8305 section 5) for both daemons: the
 * plan decides, pure; the dialer opens and closes the sockets it says.
 * Deviations from the RFC: attempts in flight are capped (descriptors
 * are the budget of a daemon that runs for months), and a pending one is
 * given up once its share of the time is over, if that frees a place for
 * an address not tried yet. Sorting by past round trips (section 4's
 * "historical RTT data") is not done: the resolver's order stands.
 */

#include "common/dial.h"
#include "common/dns.h"
#include "common/log.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(DNS_MAX_ADDRS <= DIAL_MAX_ADDRS, "dial takes what dns gives");

/* --- the plan --------------------------------------------------------- */

void
dial_plan_init(struct dial_plan *p, size_t n, uint64_t now_ms,
    uint64_t timeout_ms, size_t max_inflight)
{
	memset(p, 0, sizeof(*p));
	p->n = MIN(n, DIAL_MAX_ADDRS);
	p->max_inflight = MAX(MIN(max_inflight, DIAL_MAX_INFLIGHT), 1);
	p->deadline_ms = now_ms + timeout_ms;
	p->ready_ms = now_ms;
}

/* When pending attempt i has had its share: an equal part of what was
 * left at its start for each address from it on, at least a second. */
static uint64_t
share_end(const struct dial_plan *p, size_t i)
{
	uint64_t	start = p->start_ms[i], share;

	share = p->deadline_ms > start ?
	    (p->deadline_ms - start) / (p->n - i) : 0;
	return start + MAX(share, DIAL_MIN_SHARE_MS);
}

struct dial_next
dial_plan_next(const struct dial_plan *p, uint64_t now_ms)
{
	struct dial_next	 nx = { DIAL_WAIT, 0, p->deadline_ms };
	size_t			 inflight = 0, oldest = p->n;
	uint64_t		 end;

	for (size_t i = 0; i < p->next; i++)
		if (p->pending[i]) {
			if (inflight++ == 0)
				oldest = i;	/* started first: lowest */
		}
	if (now_ms >= p->deadline_ms || (inflight == 0 && p->next >= p->n)) {
		nx.step = DIAL_FAIL;
		return nx;
	}
	if (p->next >= p->n)
		return nx;		/* the last are pending: wait */
	if (inflight < p->max_inflight) {
		if (inflight == 0 || now_ms >= p->ready_ms) {
			nx.step = DIAL_START;
			nx.idx = p->next;
		} else
			nx.wake_ms = MIN(p->ready_ms, p->deadline_ms);
		return nx;
	}
	/* full: the oldest makes room once its share is over */
	end = share_end(p, oldest);
	if (now_ms >= end) {
		nx.step = DIAL_ABANDON;
		nx.idx = oldest;
	} else
		nx.wake_ms = MIN(end, p->deadline_ms);
	return nx;
}

void
dial_plan_started(struct dial_plan *p, uint64_t now_ms)
{
	if (p->next >= p->n)
		return;
	p->start_ms[p->next] = now_ms;
	p->pending[p->next++] = true;
	p->ready_ms = now_ms + DIAL_DELAY_MS;
}

void
dial_plan_ended(struct dial_plan *p, size_t idx, uint64_t now_ms)
{
	if (idx >= p->next || !p->pending[idx])
		return;
	p->pending[idx] = false;
	p->ready_ms = now_ms;
}

int
dial_err_rank(int err, bool at_once)
{
	switch (err) {
	case 0:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case ENOBUFS:
		return 0;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EAFNOSUPPORT:
	case EADDRNOTAVAIL:
		return at_once ? 1 : 3;
	case ETIMEDOUT:
		return 2;
	case ECONNREFUSED:
		return 4;
	default:
		return 3;
	}
}

void
dial_failure_note(struct dial_failure *f, int err, bool at_once,
    const char *why)
{
	int	rank = dial_err_rank(err, at_once);

	if (rank < f->rank)
		return;
	f->rank = rank;
	f->err = err;
	f->why = why;
}

/* --- the dialer ------------------------------------------------------- */

struct dial_att {
	struct dial		*d;
	struct bufferevent	*bev;		/* NULL: the slot is free */
	size_t			 idx;		/* into d->addrs */
	bool			 extra;		/* holds one of d->fds */
};

struct dial {
	struct event_base	*base;
	const struct dial_ops	*ops;
	void			*arg;
	struct dial_fds		*fds;
	struct event		*timer;
	struct dial_plan	 plan;
	struct dial_att		 att[DIAL_MAX_INFLIGHT];
	struct sockaddr_storage	 addrs[DIAL_MAX_ADDRS];
	uint64_t		 start_ms;
	struct dial_failure	 fail;		/* the most telling so far */
	char			 tag[24];
};

static bool	dial_run(struct dial *);

static const char *
addr_str(const struct dial *d, size_t idx, char *buf, size_t len)
{
	return util_sockaddr_str((const struct sockaddr *)&d->addrs[idx], buf,
	    len);
}

static size_t
att_count(const struct dial *d)
{
	size_t	n = 0;

	for (size_t i = 0; i < DIAL_MAX_INFLIGHT; i++)
		n += d->att[i].bev != NULL;
	return n;
}

/* Closes the slot's socket and gives back its descriptor. */
static void
att_close(struct dial_att *a)
{
	struct dial	*d = a->d;

	if (a->bev == NULL)
		return;
	bufferevent_free(a->bev);
	a->bev = NULL;
	if (a->extra && d->fds != NULL && d->fds->used > 0)
		d->fds->used--;
	a->extra = false;
}

static void
note_fail(struct dial *d, size_t idx, int err, bool at_once, const char *why)
{
	char	as[UTIL_ADDRSTRLEN];

	log_debug("%s event=connect_fail addr=%s attempt=%zu/%zu why=\"%s\"",
	    d->tag, addr_str(d, idx, as, sizeof(as)), idx + 1, d->plan.n,
	    why != NULL ? why : evutil_socket_error_to_string(err));
	dial_failure_note(&d->fail, err, at_once, why);
}

/* Pending attempt a has failed (err) or is given up (ETIMEDOUT). */
static void
att_end(struct dial_att *a, int err, const char *why)
{
	struct dial	*d = a->d;
	size_t		 idx = a->idx;

	att_close(a);
	note_fail(d, idx, err, false, why);
	dial_plan_ended(&d->plan, idx, util_now_ms());
}

static void
dial_free(struct dial *d)
{
	for (size_t i = 0; i < DIAL_MAX_INFLIGHT; i++)
		att_close(&d->att[i]);
	if (d->timer != NULL)
		event_free(d->timer);
	free(d);
}

/* The end, connected (a) or not (NULL): frees d, then reports. The
 * caller's last act. */
static void
dial_end(struct dial *d, struct dial_att *a)
{
	const struct dial_ops	*ops = d->ops;
	void			*arg = d->arg;
	struct bufferevent	*bev = NULL;
	size_t			 idx = 0;
	int			 err = d->fail.err;
	const char		*why = d->fail.why;
	char			 as[UTIL_ADDRSTRLEN];

	if (a != NULL) {
		bev = a->bev;
		idx = a->idx;
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
		a->bev = NULL;	/* the caller's now */
		if (a->extra && d->fds != NULL && d->fds->used > 0)
			d->fds->used--;
		a->extra = false;
		log_debug("%s event=connect_won addr=%s attempt=%zu/%zu "
		    "ms=%llu", d->tag, addr_str(d, idx, as, sizeof(as)),
		    idx + 1, d->plan.n,
		    (unsigned long long)(util_now_ms() - d->start_ms));
	}
	for (size_t i = 0; i < DIAL_MAX_INFLIGHT; i++)
		if (d->att[i].bev != NULL)
			log_debug("%s event=connect_cancel addr=%s "
			    "attempt=%zu/%zu", d->tag,
			    addr_str(d, d->att[i].idx, as, sizeof(as)),
			    d->att[i].idx + 1, d->plan.n);
	dial_free(d);
	ops->done(arg, bev, idx, err, why);
}

static void
dial_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dial_att	*a = arg;
	struct dial	*d = a->d;
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		dial_end(d, a);		/* frees d */
		return;
	}
	att_end(a, err != 0 ? err : ECONNRESET, NULL);
	if (!dial_run(d))
		dial_end(d, NULL);	/* frees d */
}

static void
dial_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dial	*d = arg;

	(void)fd;
	(void)what;
	if (!dial_run(d))
		dial_end(d, NULL);	/* frees d */
}

/* A new socket for address idx, readied by ops->prepare. -1 with *err
 * (0 for prepare's own failure) and *why. */
static int
att_socket(struct dial *d, size_t idx, int *err, const char **why)
{
	const struct sockaddr	*sa = (const struct sockaddr *)&d->addrs[idx];
	int			 fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		*err = errno;
		*why = NULL;
		return -1;
	}
	if (d->ops->prepare != NULL && !d->ops->prepare(d->arg, fd, sa, why)) {
		*err = 0;
		close(fd);
		return -1;
	}
	return fd;
}

/* May one more second attempt open a descriptor? */
static bool
fds_room(const struct dial_fds *f)
{
	size_t	budgeted;

	if (f == NULL || f->room == SIZE_MAX || f->conns == NULL)
		return true;
	if (__builtin_mul_overflow(*f->conns, (size_t)f->fds_each,
	    &budgeted) || budgeted >= f->room)
		return false;
	return f->room - budgeted > f->used;
}

/*
 * Starts address d->plan.next in a free slot. false: this dial races no
 * more (no spare descriptor), and the address waits for a free slot.
 * Otherwise true, whether it started or failed at once (noted).
 */
static bool
att_start(struct dial *d)
{
	size_t			 idx = d->plan.next, slot;
	const struct sockaddr	*sa = (const struct sockaddr *)&d->addrs[idx];
	socklen_t		 sl = sa->sa_family == AF_INET ?
				    sizeof(struct sockaddr_in) :
				    sizeof(struct sockaddr_in6);
	bool			 extra = att_count(d) > 0;
	struct dial_att		*a;
	const char		*why = NULL;
	char			 as[UTIL_ADDRSTRLEN];
	int			 fd, err = 0;

	for (slot = 0; slot < DIAL_MAX_INFLIGHT; slot++)
		if (d->att[slot].bev == NULL)
			break;
	if (slot == DIAL_MAX_INFLIGHT)
		return false;	/* not while the plan caps at this many */
	a = &d->att[slot];
	if (extra && !fds_room(d->fds)) {
		log_debug("%s event=connect_norace why=fd_budget", d->tag);
		return false;
	}
	fd = att_socket(d, idx, &err, &why);
	if (fd == -1 && extra && (err == EMFILE || err == ENFILE)) {
		log_debug("%s event=connect_norace why=no_fds", d->tag);
		return false;	/* not the address's fault: after the other */
	}
	log_debug("%s event=connect addr=%s attempt=%zu/%zu pending=%zu",
	    d->tag, addr_str(d, idx, as, sizeof(as)), idx + 1, d->plan.n,
	    att_count(d));
	dial_plan_started(&d->plan, util_now_ms());
	if (fd == -1)
		goto fail;
	a->bev = bufferevent_socket_new(d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (a->bev == NULL) {
		close(fd);
		err = ENOMEM;
		goto fail;
	}
	a->idx = idx;
	a->extra = extra && d->fds != NULL;
	if (a->extra)
		d->fds->used++;
	bufferevent_setcb(a->bev, NULL, NULL, dial_event_cb, a);
	if (bufferevent_socket_connect(a->bev, sa, (int)sl) == -1) {
		err = EVUTIL_SOCKET_ERROR();
		att_close(a);
		goto fail;
	}
	return true;
fail:
	note_fail(d, idx, err, true, why);
	dial_plan_ended(&d->plan, idx, util_now_ms());
	return true;
}

/* Does what the plan says until it says wait (true, the timer armed)
 * or fail (false: every pending attempt is closed as timed out). */
static bool
dial_run(struct dial *d)
{
	for (;;) {
		uint64_t	 now = util_now_ms(), ms;
		struct dial_next nx = dial_plan_next(&d->plan, now);

		switch (nx.step) {
		case DIAL_START:
			if (!att_start(d))
				d->plan.max_inflight = 1;
			break;
		case DIAL_ABANDON:
			for (size_t i = 0; i < DIAL_MAX_INFLIGHT; i++)
				if (d->att[i].bev != NULL &&
				    d->att[i].idx == nx.idx)
					att_end(&d->att[i], ETIMEDOUT,
					    NULL);
			break;
		case DIAL_WAIT:
			ms = nx.wake_ms > now ? nx.wake_ms - now : 0;
			evtimer_add(d->timer, (&(struct timeval){
			    .tv_sec = (time_t)(ms / 1000),
			    .tv_usec = (suseconds_t)(ms % 1000 * 1000) }));
			return true;
		case DIAL_FAIL:
		default:
			for (size_t i = 0; i < DIAL_MAX_INFLIGHT; i++)
				if (d->att[i].bev != NULL)
					att_end(&d->att[i], ETIMEDOUT,
					    NULL);
			return false;
		}
	}
}

struct dial *
dial_start(const struct dial_params *dp, int *err, const char **why)
{
	struct dial	*d;

	*err = ENOMEM;
	*why = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->base = dp->base;
	d->ops = dp->ops;
	d->arg = dp->arg;
	d->fds = dp->fds;
	d->fail.rank = -1;
	d->fail.err = ENOMEM;	/* no address: nothing was tried */
	d->start_ms = util_now_ms();
	snprintf(d->tag, sizeof(d->tag), "%s", dp->tag);
	for (size_t i = 0; i < DIAL_MAX_INFLIGHT; i++)
		d->att[i].d = d;
	dial_plan_init(&d->plan, dp->n, d->start_ms, dp->timeout_ms,
	    DIAL_MAX_INFLIGHT);
	memcpy(d->addrs, dp->addrs, d->plan.n * sizeof(d->addrs[0]));
	if ((d->timer = evtimer_new(d->base, dial_timer_cb, d)) == NULL ||
	    !dial_run(d)) {
		*err = d->fail.err;
		*why = d->fail.why;
		dial_free(d);
		return NULL;
	}
	return d;
}

void
dial_cancel(struct dial *d)
{
	dial_free(d);
}
