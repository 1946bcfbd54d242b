/*
 * The warm pool (pool.h). Two facts of the kernel's default scheduler
 * shape it, both measured on the test bed: it sends a short answer in one
 * burst on one subflow, so tunnels that all start on the same uplink put
 * nearly every short fetch there even with both subflows joined; and it
 * sends a small write on another subflow while the previous one is
 * unacknowledged. So pooled tunnels start on the uplinks in turn (their
 * initial subflow, bound to each uplink's address), and tunnel_open()
 * sends the request and the app's first bytes in one write.
 */

#include "local/pool.h"
#include "common/config.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "common/stats.h"
#include "local/config_uplink.h"
#include "local/tunnel_client.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define POOL_MAX_OPENING	4	/* handshakes in flight at once */
#define POOL_WINDOW_S		60	/* the size follows this last minute */
#define POOL_BACKOFF_MIN_MS	500
#define POOL_BACKOFF_MAX_MS	60000
/* A ready tunnel the concentrator closes sooner than this was refused
 * (its pool_max_per_key, or pooling off there): counted as a failure,
 * so that the pool backs off instead of reopening in a loop. One opened
 * after the last failure that lives this long ends the backing off: a
 * handshake that succeeds proves nothing when the concentrator then
 * closes the tunnel at once. */
#define POOL_SHORT_LIFE_MS	5000
#define POOL_RENEW_PER_TICK	2	/* renewals spread out */

_Static_assert(CONFIG_UPLINK_NAME_MAX <=
    sizeof(((struct pool_tunnel_status *)0)->uplink),
    "pool_tunnel_status.uplink holds an [uplink] name");

struct member {
	TAILQ_ENTRY(member)	 entry;
	struct pool		*p;
	struct bufferevent	*bev;
	uint64_t		 born_ms, ready_ms, renew_ms;
	bool			 ready, mptcp;
	unsigned		 subflows;	/* at the last reading */
	bool			 stale;		/* due for renewal: goes
						 * once a new one is ready */
	struct sockaddr_storage	 src;
	const char		*uplink;	/* its initial subflow's, or
						 * NULL: the default route */
};

TAILQ_HEAD(members, member);

struct pool {
	struct event_base		*base;
	struct tunnel_client		*tc;
	const struct config		*cfg;
	const struct config_uplinks	*ups;
	struct members			 ready, opening;	/* oldest first */
	unsigned			 n_ready, n_opening, target;
	unsigned			 n_stale;	/* of n_ready */
	unsigned			 subflows;	/* sum of ready ones' */
	/* takes per second, the last POOL_WINDOW_S seconds */
	unsigned			 per_sec[POOL_WINDOW_S];
	size_t				 sec;
	uint64_t			 sec_start_ms;
	unsigned			 fails;		/* in a row */
	uint64_t			 fail_ms;	/* the last one */
	uint64_t			 retry_ms;	/* backing off until */
	size_t				 next_uplink;
	struct event			*tick, *kick;
	uint64_t			 hits, misses, opened, failed;
	struct log_rl			 rl;
};

static const struct timeval	tick_tv = { 1, 0 };

static void	pool_refill(struct pool *);

static void
pool_publish(struct pool *p)
{
	stats_pool(p->n_ready, p->n_opening, p->target, p->subflows);
}

/* Subflows alive on m's socket now; a TCP one has one. */
static unsigned
member_subflows(const struct member *m)
{
	struct mptcp_subflow_stats	st;

	return mptcp_subflow_stats(bufferevent_getfd(m->bev), &st) ?
	    st.alive : 1;
}

static void
member_free(struct member *m, bool abortive)
{
	struct pool	*p = m->p;

	if (m->ready) {
		TAILQ_REMOVE(&p->ready, m, entry);
		p->n_ready--;
		p->subflows -= MIN(m->subflows, p->subflows);
		if (m->stale)
			p->n_stale--;
	} else {
		TAILQ_REMOVE(&p->opening, m, entry);
		p->n_opening--;
	}
	if (m->bev != NULL) {
		if (abortive)
			mptcp_set_abortive(bufferevent_getfd(m->bev));
		bufferevent_free(m->bev);
	}
	free(m);
}

/* Refills soon, from the event loop (never inside a caller's call). */
static void
pool_kick(struct pool *p)
{
	event_active(p->kick, EV_TIMEOUT, 0);
}

static void
pool_failed(struct pool *p, const char *why)
{
	uint64_t	delay;

	p->failed++;
	p->fails++;
	p->fail_ms = util_now_ms();
	delay = POOL_BACKOFF_MIN_MS << MIN(p->fails - 1, 10u);
	delay = MIN(delay, (uint64_t)POOL_BACKOFF_MAX_MS);
	p->retry_ms = p->fail_ms + delay;
	log_warnx_rl(&p->rl, "event=pool_fail why=\"%s\" fails=%u "
	    "retry_ms=%llu: app connections open tunnels cold meanwhile",
	    why, p->fails, (unsigned long long)delay);
}

/* A ready tunnel opened since the last failure that the concentrator
 * kept for POOL_SHORT_LIFE_MS: the backing off is over. */
static void
member_proved(struct pool *p, const struct member *m, uint64_t now)
{
	if (p->fails > 0 && m->born_ms > p->fail_ms &&
	    now - m->ready_ms >= POOL_SHORT_LIFE_MS)
		p->fails = 0;
}

/* Make before break: a stale tunnel goes once the pool holds its size
 * without it, so that renewing never leaves fewer ready than that. */
static void
drop_stale(struct pool *p)
{
	struct member	*m, *next;
	uint64_t	 now = util_now_ms();

	for (m = TAILQ_FIRST(&p->ready); m != NULL && p->n_stale > 0 &&
	    p->n_ready > p->target; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (!m->stale)
			continue;
		log_debug("event=pool_renewed uplink=%s idle_ms=%llu",
		    m->uplink != NULL ? m->uplink : "-",
		    (unsigned long long)(now - m->ready_ms));
		member_free(m, false);
	}
}

static void
member_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct member	*m = arg;
	struct pool	*p = m->p;
	unsigned long	 tls_err;
	char		 why[160];
	uint64_t	 now = util_now_ms();
	uint32_t	 rnd = 0;
	int		 fd = bufferevent_getfd(bev);

	if (what & BEV_EVENT_CONNECTED) {	/* TLS is up */
		TAILQ_REMOVE(&p->opening, m, entry);
		p->n_opening--;
		m->ready = true;
		m->ready_ms = now;
		/* renewed at 75-100 % of pool_refresh: not all at once */
		(void)util_random(&rnd, sizeof(rnd));
		m->renew_ms = now + (uint64_t)p->cfg->pool_refresh * 750 +
		    rnd % ((uint64_t)p->cfg->pool_refresh * 250 + 1);
		/* counted now, not at the next tick: the total and the
		 * per-tunnel figures of pool_get_status always agree */
		m->subflows = member_subflows(m);
		p->subflows += m->subflows;
		TAILQ_INSERT_TAIL(&p->ready, m, entry);
		p->n_ready++;
		p->opened++;
		if (m->mptcp && mptcp_is_active(fd) == 0) {
			stats_mptcp_fallback();
			log_warnx_rl(&p->rl, "event=no_mptcp pool=yes: a "
			    "pooled tunnel fell back to TCP; it uses one path");
		}
		log_debug("event=pool_ready uplink=%s ms=%llu ready=%u",
		    m->uplink != NULL ? m->uplink : "-",
		    (unsigned long long)(now - m->born_ms), p->n_ready);
		drop_stale(p);
		pool_publish(p);
		return;
	}
	tls_err = bufferevent_get_openssl_error(bev);
	if (!m->ready) {
		snprintf(why, sizeof(why), "%s", tls_err != 0 &&
		    ERR_reason_error_string(tls_err) != NULL ?
		    ERR_reason_error_string(tls_err) : (what & BEV_EVENT_EOF) ?
		    "concentrator closed without a reply (key not accepted?)" :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		member_free(m, true);
		pool_failed(p, why);
	} else {
		bool	refused = now - m->ready_ms < POOL_SHORT_LIFE_MS;

		log_debug("event=pool_closed uplink=%s idle_ms=%llu",
		    m->uplink != NULL ? m->uplink : "-",
		    (unsigned long long)(now - m->ready_ms));
		member_proved(p, m, now);
		member_free(m, true);
		if (refused)
			pool_failed(p, "the concentrator closed a pooled tunnel "
			    "at once (its pool_max_per_key, or pooling off)");
	}
	pool_publish(p);
	pool_kick(p);
}

/* An idle tunnel has nothing to say before its request. */
static void
member_read_cb(struct bufferevent *bev, void *arg)
{
	struct member	*m = arg;
	struct pool	*p = m->p;

	(void)bev;
	log_warnx_rl(&p->rl, "event=pool_unexpected: the concentrator sent "
	    "data on an idle tunnel; closing it");
	member_free(m, true);
	pool_publish(p);
	pool_kick(p);
}

/* The next active uplink's address for a new tunnel's initial subflow,
 * in turn; false: none has one (the default route decides). */
static bool
pick_source(struct pool *p, struct sockaddr_storage *src, const char **name)
{
	const struct config_uplinks	*ups = p->ups;

	if (ups == NULL || ups->n < 2)
		return false;
	for (size_t k = 0; k < ups->n; k++) {
		const struct config_uplink *u =
		    &ups->v[(p->next_uplink + k) % ups->n];

		if (u->role == UPLINK_ROLE_BACKUP || !tunnel_uplink_source(
		    u->ifname, tunnel_client_family(p->tc), NULL, 0, src))
			continue;
		p->next_uplink = (p->next_uplink + k + 1) % ups->n;
		*name = u->name;
		return true;
	}
	return false;
}

static bool
member_open(struct pool *p)
{
	struct member	*m;
	bool		 tfo_used = false, bound;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return false;
	m->p = p;
	m->born_ms = util_now_ms();
	bound = pick_source(p, &m->src, &m->uplink);
	m->bev = tunnel_client_dial(p->tc, bound ? &m->src : NULL, false,
	    &m->mptcp, &tfo_used);
	if (m->bev == NULL) {
		free(m);
		pool_failed(p, "cannot start a connection to the concentrator");
		return false;
	}
	TAILQ_INSERT_TAIL(&p->opening, m, entry);
	p->n_opening++;
	bufferevent_setcb(m->bev, member_read_cb, NULL, member_event_cb, m);
	bufferevent_enable(m->bev, EV_READ | EV_WRITE);
	return true;
}

static void
pool_refill(struct pool *p)
{
	uint64_t	now = util_now_ms();

	if (now < p->retry_ms)
		return;		/* the tick comes back */
	/* stale ones count as gone: their replacements open now */
	while (p->n_ready - p->n_stale + p->n_opening < p->target &&
	    p->n_opening < POOL_MAX_OPENING)
		if (!member_open(p))
			break;
	pool_publish(p);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_refill(arg);
}

/* The size: the busiest second of the last minute, within bounds. */
static unsigned
pool_wanted(const struct pool *p)
{
	unsigned	peak = 0;

	for (size_t i = 0; i < POOL_WINDOW_S; i++)
		peak = MAX(peak, p->per_sec[i]);
	return MIN(MAX(peak, p->cfg->pool_min), p->cfg->pool_max);
}

static void
roll_window(struct pool *p, uint64_t now)
{
	while (now - p->sec_start_ms >= 1000) {
		p->sec = (p->sec + 1) % POOL_WINDOW_S;
		p->per_sec[p->sec] = 0;
		p->sec_start_ms += 1000;
		if (now - p->sec_start_ms > 1000ull * POOL_WINDOW_S) {
			memset(p->per_sec, 0, sizeof(p->per_sec));
			p->sec_start_ms = now;
		}
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*p = arg;
	struct member	*m, *next;
	uint64_t	 now = util_now_ms();
	unsigned	 renewed = 0, sf = 0;

	(void)fd;
	(void)what;
	roll_window(p, now);
	p->target = pool_wanted(p);
	/* shed what the size no longer needs, stale ones first, then the
	 * oldest; mark the old ones for renewal, a few per second (each
	 * goes once its replacement is ready) */
	drop_stale(p);
	for (m = TAILQ_FIRST(&p->ready); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (p->n_ready > p->target) {
			member_free(m, false);
			continue;
		}
		if (!m->stale && now >= m->renew_ms &&
		    renewed < POOL_RENEW_PER_TICK) {
			m->stale = true;
			p->n_stale++;
			renewed++;
		}
		member_proved(p, m, now);
		m->subflows = member_subflows(m);
		sf += m->subflows;
	}
	p->subflows = sf;
	pool_refill(p);
}

struct pool *
pool_new(struct event_base *base, struct tunnel_client *tc,
    const struct config *cfg, const struct config_uplinks *ups)
{
	struct pool	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = base;
	p->tc = tc;
	p->cfg = cfg;
	p->ups = ups;
	TAILQ_INIT(&p->ready);
	TAILQ_INIT(&p->opening);
	p->rl.per_sec = 1;
	p->sec_start_ms = util_now_ms();
	p->target = pool_wanted(p);
	p->tick = event_new(base, -1, EV_PERSIST, tick_cb, p);
	p->kick = event_new(base, -1, 0, kick_cb, p);
	if (p->tick == NULL || p->kick == NULL) {
		pool_free(p);
		return NULL;
	}
	evtimer_add(p->tick, &tick_tv);
	log_info("warm pool: %u to %u tunnels, renewed every %u s",
	    cfg->pool_min, cfg->pool_max, cfg->pool_refresh);
	pool_kick(p);
	return p;
}

void
pool_free(struct pool *p)
{
	struct member	*m;

	if (p == NULL)
		return;
	while ((m = TAILQ_FIRST(&p->ready)) != NULL)
		member_free(m, false);
	while ((m = TAILQ_FIRST(&p->opening)) != NULL)
		member_free(m, true);
	if (p->tick != NULL)
		event_free(p->tick);
	if (p->kick != NULL)
		event_free(p->kick);
	free(p);
}

/* Still open? A FIN, a reset or a TLS alert that came while it sat idle
 * and that the loop has not seen yet. */
static bool
member_alive(const struct member *m)
{
	char	c;
	ssize_t	n = recv(bufferevent_getfd(m->bev), &c, 1,
		    MSG_PEEK | MSG_DONTWAIT);

	return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct bufferevent *
pool_take(struct pool *p, struct sockaddr_storage *src, bool *mptcp)
{
	struct member			*m, *best = NULL;
	struct bufferevent		*bev;
	unsigned			 best_sf = 0;
	uint64_t			 now = util_now_ms();

	/* the oldest of those with the most subflows joined: the oldest
	 * keeps the initial uplinks taking turns */
	for (m = TAILQ_FIRST(&p->ready); m != NULL; ) {
		struct member	*next = TAILQ_NEXT(m, entry);
		unsigned	 sf;

		if (!member_alive(m)) {
			member_free(m, true);
			m = next;
			continue;
		}
		if ((sf = member_subflows(m)) == 0) {	/* every subflow reset */
			member_free(m, true);
			m = next;
			continue;
		}
		if (best == NULL || sf > best_sf) {
			best = m;
			best_sf = sf;
		}
		m = next;
	}
	if (best == NULL) {
		pool_kick(p);
		return NULL;
	}
	bev = best->bev;
	best->bev = NULL;
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	*src = best->src;
	*mptcp = best->mptcp;
	log_debug("event=pool_take uplink=%s subflows=%u idle_ms=%llu",
	    best->uplink != NULL ? best->uplink : "-", best_sf,
	    (unsigned long long)(now - best->ready_ms));
	member_proved(p, best, now);
	member_free(best, false);
	pool_kick(p);
	return bev;
}

void
pool_dead(struct pool *p, uint64_t taken_ms)
{
	struct member	*m, *next;
	unsigned	 n = 0;

	for (m = TAILQ_FIRST(&p->ready); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (m->ready_ms > taken_ms)
			break;		/* oldest first: the rest are newer */
		member_free(m, true);
		n++;
	}
	if (n > 0)
		log_debug("event=pool_flush dropped=%u: ready before a taken "
		    "one that was dead", n);
	pool_publish(p);
	pool_kick(p);
}

void
pool_count_take(struct pool *p, bool hit)
{
	roll_window(p, util_now_ms());
	p->per_sec[p->sec]++;
	if (hit)
		p->hits++;
	else
		p->misses++;
	stats_pool_take(hit);
	/* a burst grows the pool at once, not at the next tick */
	if (p->per_sec[p->sec] > p->target && p->target < p->cfg->pool_max) {
		p->target = pool_wanted(p);
		pool_kick(p);
	}
}

void
pool_get_status(const struct pool *p, struct pool_status *st)
{
	const struct member	*m;
	uint64_t		 now = util_now_ms();

	memset(st, 0, sizeof(*st));
	st->ready = p->n_ready;
	st->opening = p->n_opening;
	st->target = p->target;
	st->subflows = p->subflows;
	st->hits = p->hits;
	st->misses = p->misses;
	st->opened = p->opened;
	st->failed = p->failed;
	st->retry_in_ms = p->retry_ms > now ? p->retry_ms - now : 0;
	TAILQ_FOREACH(m, &p->ready, entry) {
		struct pool_tunnel_status	*t;

		if (st->n_tunnels >= POOL_STATUS_TUNNELS)
			break;
		t = &st->tunnels[st->n_tunnels++];
		snprintf(t->uplink, sizeof(t->uplink), "%s",
		    m->uplink != NULL ? m->uplink : "");
		t->subflows = m->subflows;
		t->idle_ms = now - m->ready_ms;
	}
}
