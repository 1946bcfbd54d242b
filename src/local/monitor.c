/*
 * Subflow accounting for mpsocks-local. The kernel forgets a subflow's
 * counters when it closes (docs/kernel-notes.md, "Reading a connection's
 * subflows"), so each tick adds the growth since the last reading to the
 * uplink's totals; a subflow that closes between two ticks loses at most
 * one tick of bytes. A
 * connection that fell back to TCP is read through TCP_INFO as one
 * pseudo-subflow, so its bytes still count for the uplink it used.
 */

#include "local/monitor.h"
#include "local/config_uplink.h"
#include "common/config.h"
#include "common/mptcp.h"
#include "proto/mptcp_uapi.h"
#include "common/stats.h"
#include "local/pool.h"
#include "proto/status.h"
#include "proto/subflow.h"
#include "proto/util.h"

#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define MONITOR_MAX_UPLINKS	16
#define MONITOR_MAX_IFADDRS	64
#define IF_REFRESH_MS		5000

struct sf_seen {
	uint32_t		id;
	bool			seen;
	int			uplink;		/* index in m->up, or -1 */
	struct subflow_info	last;
};

struct monitor_conn {
	TAILQ_ENTRY(monitor_conn) entry;
	struct monitor		*m;
	uint32_t		 id;
	char			 target[STATUS_TARGET_MAX];
	int			 fd;
	unsigned		 refs;	/* holders: see monitor_conn_add */
	bool			 mptcp;
	uint64_t		 start_ms, up, down;
	size_t			 n_sf;
	struct sf_seen		 sf[SUBFLOW_MAX];
};

struct uplink_acc {
	char		ifname[IFNAMSIZ];
	bool		present, running;
	char		addrs[STATUS_MAX_ADDRS][STATUS_ADDR_MAX];
	size_t		n_addrs;
	uint64_t	tx, rx, prev_tx, prev_rx;
	double		rate_tx, rate_rx;
	unsigned	subflows;
	uint64_t	hist[STATUS_HISTORY];	/* ring, bytes/s */
	size_t		hist_head, hist_n;
};

struct ifaddr_ent {
	struct sockaddr_storage	addr;
	int			uplink;
};

struct monitor {
	struct event		*tick;
	TAILQ_HEAD(, monitor_conn) conns;
	size_t			 n_conns;
	struct uplink_acc	 up[MONITOR_MAX_UPLINKS];
	size_t			 n_up;
	struct ifaddr_ent	 ifa[MONITOR_MAX_IFADDRS];
	size_t			 n_ifa;
	uint64_t		 ifa_ms, tick_ms;
	char			 conc[300], conc_addr[UTIL_ADDRSTRLEN];
	unsigned		 conc_fails;	/* in a row */
	bool			 conc_known;
	double			 conc_rtt_ms;
	const struct config_uplinks *ups;
	/* MPTCP_FULL_INFO's arrays, filled by the kernel on each reading */
	uint8_t			 sfbuf[SUBFLOW_MAX * SFINFO_LEN];
	uint8_t			 tibuf[SUBFLOW_MAX * SUBFLOW_TI_LEN];
};

/* The configured [uplink NAME] of an interface, else the interface: the
 * dashboard speaks of "dsl" and "lte" when the user named them so. */
static const char *
uplink_label(const struct monitor *m, const char *ifname)
{
	const struct config_uplink *u = config_uplinks_by_ifname(m->ups,
	    ifname);

	return u != NULL ? u->name : ifname;
}

static int
uplink_index(struct monitor *m, const char *ifname)
{
	for (size_t i = 0; i < m->n_up; i++)
		if (strcmp(m->up[i].ifname, ifname) == 0)
			return (int)i;
	if (m->n_up >= MONITOR_MAX_UPLINKS)
		return -1;
	memset(&m->up[m->n_up], 0, sizeof(m->up[0]));
	snprintf(m->up[m->n_up].ifname, IFNAMSIZ, "%s", ifname);
	return (int)m->n_up++;
}

static bool
link_local(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	return sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr);
}

/* Which interface holds which address: read now and then, not per
 * subflow, as uplinks come and go rarely. */
static void
ifaddrs_refresh(struct monitor *m)
{
	struct ifaddrs	*all, *ifa;

	if (getifaddrs(&all) == -1)
		return;
	m->n_ifa = 0;
	for (size_t i = 0; i < m->n_up; i++) {
		m->up[i].present = m->up[i].running = false;
		m->up[i].n_addrs = 0;
	}
	for (ifa = all; ifa != NULL; ifa = ifa->ifa_next) {
		struct uplink_acc	*u;
		int			 ui;
		char			 a[UTIL_ADDRSTRLEN], *colon;

		if (ifa->ifa_addr == NULL || (ifa->ifa_flags & IFF_LOOPBACK) ||
		    (ifa->ifa_addr->sa_family != AF_INET &&
		    ifa->ifa_addr->sa_family != AF_INET6) ||
		    link_local(ifa->ifa_addr) ||
		    (ui = uplink_index(m, ifa->ifa_name)) == -1)
			continue;
		u = &m->up[ui];
		u->present = true;
		u->running = (ifa->ifa_flags & (IFF_UP | IFF_RUNNING)) ==
		    (IFF_UP | IFF_RUNNING);
		if (m->n_ifa < MONITOR_MAX_IFADDRS) {
			memcpy(&m->ifa[m->n_ifa].addr, ifa->ifa_addr,
			    ifa->ifa_addr->sa_family == AF_INET ?
			    sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6));
			m->ifa[m->n_ifa++].uplink = ui;
		}
		if (u->n_addrs < STATUS_MAX_ADDRS) {
			util_sockaddr_str(ifa->ifa_addr, a, sizeof(a));
			/* "10.1.1.2:0" -> "10.1.1.2", "[fd00::2]:0" kept */
			if (a[0] != '[' && (colon = strrchr(a, ':')) != NULL)
				*colon = '\0';
			snprintf(u->addrs[u->n_addrs++], STATUS_ADDR_MAX, "%s",
			    a);
		}
	}
	freeifaddrs(all);
	m->ifa_ms = util_now_ms();
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return a->ss_family == AF_INET6 &&
	    memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static int
uplink_for_addr(struct monitor *m, const struct sockaddr_storage *local)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->n_ifa; i++)
			if (same_addr(&m->ifa[i].addr, local))
				return m->ifa[i].uplink;
		/* an address we have not seen yet: read again, once */
		if (pass == 0 && util_now_ms() - m->ifa_ms >= 1000)
			ifaddrs_refresh(m);
		else
			break;
	}
	return -1;
}

static int
read_full_info(struct monitor *m, int fd, struct subflow_info *out,
    size_t max)
{
	uint8_t				*sf = m->sfbuf, *ti = m->tibuf;
	uint8_t				buf[sizeof(struct mptcp_full_info_hdr) +
					    256];
	struct mptcp_full_info_hdr	h = {
		.size_tcpinfo_user = SUBFLOW_TI_LEN,
		.size_sfinfo_user = SFINFO_LEN,
		.size_arrays_user = SUBFLOW_MAX,
		.subflow_info = (uintptr_t)sf, .tcp_info = (uintptr_t)ti,
	};
	socklen_t			len = sizeof(buf);

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO_OPT, buf, &len) == -1)
		return -1;
	return subflow_decode(buf, len, sf, sizeof(m->sfbuf), ti,
	    sizeof(m->tibuf), out, max);
}

/* A plain TCP socket as one subflow, through TCP_INFO. */
static int
read_tcp_info(int fd, struct subflow_info *out)
{
	uint8_t		ti[SUBFLOW_TI_LEN];
	socklen_t	len = sizeof(ti), sl = sizeof(out->local);

	memset(out, 0, sizeof(*out));
	memset(ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) == -1 ||
	    len < TCPI_BYTES_RECV_OFF + 8 ||
	    getsockname(fd, (struct sockaddr *)&out->local, &sl) == -1)
		return -1;
	sl = sizeof(out->remote);
	(void)getpeername(fd, (struct sockaddr *)&out->remote, &sl);
	out->tcp_state = ti[TCPI_STATE_OFF];
	memcpy(&out->rtt_us, ti + TCPI_RTT_OFF, 4);
	memcpy(&out->bytes_sent, ti + TCPI_BYTES_ACKED_OFF, 8);
	memcpy(&out->bytes_received, ti + TCPI_BYTES_RECV_OFF, 8);
	return 1;
}

static const char *
uplink_name(const struct monitor *m, int ui)
{
	return ui >= 0 ? uplink_label(m, m->up[ui].ifname) :
	    "unknown";
}

static void
account(struct monitor_conn *c, struct sf_seen *s,
    const struct subflow_info *now)
{
	struct monitor	*m = c->m;
	uint64_t	tx = 0, rx = 0;

	if (now->bytes_sent >= s->last.bytes_sent)
		tx = now->bytes_sent - s->last.bytes_sent;
	if (now->bytes_received >= s->last.bytes_received)
		rx = now->bytes_received - s->last.bytes_received;
	s->last = *now;
	if (tx == 0 && rx == 0)
		return;
	c->up += tx;
	c->down += rx;
	if (s->uplink >= 0) {
		m->up[s->uplink].tx += tx;
		m->up[s->uplink].rx += rx;
	}
	stats_uplink_bytes(uplink_name(m, s->uplink), tx, rx);
	stats_concentrator_bytes(m->conc, tx, rx);
}

static void
conn_sample(struct monitor_conn *c, bool closing)
{
	struct monitor		*m = c->m;
	struct subflow_info	now[SUBFLOW_MAX];
	int			n = -1;

	if (c->mptcp)
		n = read_full_info(c->m, c->fd, now, SUBFLOW_MAX);
	/* TCP, or a kernel before 6.7 (no MPTCP_FULL_INFO): TCP_INFO, which
	 * on MPTCP gives the first subflow only */
	if (n == -1)
		n = read_tcp_info(c->fd, &now[0]);
	if (n == -1)
		return;
	for (size_t j = 0; j < c->n_sf; j++)
		c->sf[j].seen = false;
	for (int i = 0; i < n; i++) {
		struct sf_seen	*s = NULL;

		for (size_t j = 0; j < c->n_sf && s == NULL; j++)
			if (c->sf[j].id == now[i].id)
				s = &c->sf[j];
		if (s == NULL) {
			if (c->n_sf >= SUBFLOW_MAX)
				continue;
			s = &c->sf[c->n_sf++];
			memset(s, 0, sizeof(*s));
			s->id = now[i].id;
			s->uplink = uplink_for_addr(m, &now[i].local);
			if (m->conc_addr[0] == '\0')
				util_sockaddr_str((struct sockaddr *)
				    &now[i].remote, m->conc_addr,
				    sizeof(m->conc_addr));
		}
		s->seen = true;
		account(c, s, &now[i]);
	}
	/* gone between two readings: lost while the connection lives on */
	for (size_t j = 0; j < c->n_sf;) {
		if (c->sf[j].seen) {
			j++;
			continue;
		}
		if (!closing)
			stats_subflow_failed(uplink_name(m, c->sf[j].uplink));
		c->sf[j] = c->sf[--c->n_sf];
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct monitor_conn	*c;
	uint64_t		 now = util_now_ms(), dt;
	double			 rtt = 0;
	unsigned		 n_rtt = 0;

	struct monitor		*m = arg;

	(void)fd;
	(void)what;
	if (now - m->ifa_ms >= IF_REFRESH_MS)
		ifaddrs_refresh(m);
	TAILQ_FOREACH(c, &m->conns, entry)
		conn_sample(c, false);
	dt = now - m->tick_ms;
	m->tick_ms = now;
	stats_subflows_open_reset();
	for (size_t i = 0; i < m->n_up; i++) {
		struct uplink_acc *u = &m->up[i];

		u->rate_tx = dt ? (double)(u->tx - u->prev_tx) * 1000 / dt : 0;
		u->rate_rx = dt ? (double)(u->rx - u->prev_rx) * 1000 / dt : 0;
		u->prev_tx = u->tx;
		u->prev_rx = u->rx;
		u->subflows = 0;
		u->hist[u->hist_head] = (uint64_t)(u->rate_tx + u->rate_rx);
		u->hist_head = (u->hist_head + 1) % STATUS_HISTORY;
		u->hist_n = MIN(u->hist_n + 1, STATUS_HISTORY);
	}
	TAILQ_FOREACH(c, &m->conns, entry)
		for (size_t j = 0; j < c->n_sf; j++) {
			if (c->sf[j].uplink >= 0)
				m->up[c->sf[j].uplink].subflows++;
			if (c->sf[j].last.tcp_state == 1 &&
			    c->sf[j].last.rtt_us > 0) {
				rtt += c->sf[j].last.rtt_us / 1000.0;
				n_rtt++;
			}
		}
	for (size_t i = 0; i < m->n_up; i++)
		stats_subflows_open(uplink_label(m, m->up[i].ifname),
		    m->up[i].subflows);
	if (n_rtt > 0)
		m->conc_rtt_ms = m->conc_rtt_ms > 0 ? 0.8 * m->conc_rtt_ms +
		    0.2 * rtt / n_rtt : rtt / n_rtt;
}

struct monitor *
monitor_new(struct event_base *base, const struct config *cfg,
    const struct config_uplinks *ups)
{
	struct monitor	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	TAILQ_INIT(&m->conns);
	m->ups = ups;
	snprintf(m->conc, sizeof(m->conc), "%s", cfg->server);
	/* configured uplinks are listed before they carry a byte */
	for (size_t i = 0; ups != NULL && i < ups->n; i++)
		(void)uplink_index(m, ups->v[i].ifname);
	m->conc_rtt_ms = -1;
	m->tick_ms = util_now_ms();
	ifaddrs_refresh(m);
	m->tick = event_new(base, -1, EV_PERSIST, tick_cb, m);
	if (m->tick == NULL) {
		free(m);
		return NULL;
	}
	evtimer_add(m->tick, (&(struct timeval){ MONITOR_TICK_MS / 1000,
	    MONITOR_TICK_MS % 1000 * 1000 }));
	return m;
}

void
monitor_free(struct monitor *m)
{
	struct monitor_conn	*c;

	if (m == NULL)
		return;
	while ((c = TAILQ_FIRST(&m->conns)) != NULL) {
		c->refs = 1;
		monitor_conn_end(c, false);
	}
	event_free(m->tick);
	free(m);
}

struct monitor_conn *
monitor_conn_add(struct monitor *m, uint32_t id, const char *target, int fd)
{
	struct monitor_conn	*c;

	if (m == NULL)
		return NULL;
	/* A socket handed from one holder to another (an HTTP exchange
	 * upgraded to a tunnel) keeps its counters: counting it again from
	 * zero would count its bytes twice. */
	TAILQ_FOREACH(c, &m->conns, entry)
		if (c->fd == fd) {
			c->refs++;
			c->id = id;
			snprintf(c->target, sizeof(c->target), "%s", target);
			return c;
		}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->refs = 1;
	c->m = m;
	c->id = id;
	snprintf(c->target, sizeof(c->target), "%s", target);
	c->fd = fd;
	c->mptcp = mptcp_is_active(fd) == 1;
	c->start_ms = util_now_ms();
	TAILQ_INSERT_TAIL(&m->conns, c, entry);
	m->n_conns++;
	conn_sample(c, false);
	return c;
}

void
monitor_conn_sample(struct monitor_conn *c)
{
	if (c != NULL)
		conn_sample(c, false);
}

void
monitor_conn_end(struct monitor_conn *c, bool fd_open)
{
	struct monitor	*m;

	if (c == NULL)
		return;
	m = c->m;
	if (fd_open)
		conn_sample(c, true);
	if (--c->refs > 0)
		return;
	TAILQ_REMOVE(&m->conns, c, entry);
	m->n_conns--;
	free(c);
}

void
monitor_tunnel_result(struct monitor *m, bool reached, uint64_t ms)
{
	if (m == NULL)
		return;
	m->conc_known = true;
	if (!reached) {
		m->conc_fails++;
		return;
	}
	m->conc_fails = 0;
	stats_connect_latency(ms);
}

static void
fill_conn(const struct monitor *m, struct status_conn *o,
    const struct monitor_conn *c, uint64_t now)
{
	o->id = c->id;
	o->target_len = strlen(c->target);
	memcpy(o->target, c->target, o->target_len);
	o->mptcp = c->mptcp;
	o->age_ms = now - c->start_ms;
	o->up = c->up;
	o->down = c->down;
	o->n_subflows = c->n_sf;
	for (size_t j = 0; j < c->n_sf; j++) {
		struct status_subflow	*sf = &o->subflows[j];
		const struct sf_seen	*s = &c->sf[j];

		sf->id = s->id;
		util_sockaddr_str((const struct sockaddr *)&s->last.local,
		    sf->local, sizeof(sf->local));
		util_sockaddr_str((const struct sockaddr *)&s->last.remote,
		    sf->remote, sizeof(sf->remote));
		snprintf(sf->uplink, sizeof(sf->uplink), "%s",
		    uplink_name(m, s->uplink));
		snprintf(sf->state, sizeof(sf->state), "%s",
		    subflow_state_str(s->last.tcp_state));
		sf->bytes_sent = s->last.bytes_sent;
		sf->bytes_received = s->last.bytes_received;
		sf->rtt_us = s->last.rtt_us;
	}
}

static void
fill_uplink(const struct monitor *m, struct status_uplink *o,
    const struct uplink_acc *u)
{
	snprintf(o->name, sizeof(o->name), "%s",
	    uplink_label(m, u->ifname));
	snprintf(o->ifname, sizeof(o->ifname), "%s", u->ifname);
	snprintf(o->state, sizeof(o->state), "%s",
	    !u->present ? "gone" : u->running ? "up" : "down");
	memcpy(o->addrs, u->addrs, sizeof(o->addrs));
	o->n_addrs = u->n_addrs;
	o->bytes_up = u->tx;
	o->bytes_down = u->rx;
	o->rate_up = u->rate_tx;
	o->rate_down = u->rate_rx;
	o->subflows = u->subflows;
	for (size_t k = 0; k < u->hist_n; k++)	/* oldest first */
		o->history[k] = u->hist[(u->hist_head + STATUS_HISTORY -
		    u->hist_n + k) % STATUS_HISTORY];
	o->n_history = u->hist_n;
}

static void
fill_pool(struct status_pool *o, const struct pool *p)
{
	struct pool_status	st;

	memset(o, 0, sizeof(*o));
	if (p == NULL)
		return;
	pool_get_status(p, &st);
	o->enabled = true;
	o->ready = st.ready;
	o->opening = st.opening;
	o->target = st.target;
	o->subflows = st.subflows;
	o->hits = st.hits;
	o->misses = st.misses;
	o->opened = st.opened;
	o->failed = st.failed;
	o->retry_in_ms = st.retry_in_ms;
	o->n_tunnels = MIN(st.n_tunnels, (size_t)STATUS_POOL_TUNNELS);
	for (size_t i = 0; i < o->n_tunnels; i++) {
		snprintf(o->tunnels[i].uplink, sizeof(o->tunnels[i].uplink),
		    "%s", st.tunnels[i].uplink);
		o->tunnels[i].subflows = st.tunnels[i].subflows;
		o->tunnels[i].idle_ms = st.tunnels[i].idle_ms;
	}
}

char *
monitor_status_json(const struct monitor *m, const char *version,
    const struct pool *pool)
{
	struct status_uplink		*ups;
	struct status_concentrator	 conc;
	struct status_pool		 sp;
	struct status_conn		*conns;
	const struct monitor_conn	*c;
	struct status_snapshot		 s = { .version = version,
					    .role = "local" };
	uint64_t			 now = util_now_ms();
	size_t				 n = 0;
	char				*out;

	if ((conns = calloc(m->n_conns + 1, sizeof(*conns))) == NULL)
		return NULL;
	if ((ups = calloc(MONITOR_MAX_UPLINKS, sizeof(*ups))) == NULL) {
		free(conns);
		return NULL;
	}
	TAILQ_FOREACH(c, &m->conns, entry)
		fill_conn(m, &conns[n++], c, now);
	for (size_t i = 0; i < m->n_up; i++)
		fill_uplink(m, &ups[i], &m->up[i]);
	memset(&conc, 0, sizeof(conc));
	snprintf(conc.name, sizeof(conc.name), "%s", m->conc);
	snprintf(conc.addr, sizeof(conc.addr), "%s", m->conc_addr);
	snprintf(conc.health, sizeof(conc.health), "%s", !m->conc_known ?
	    "unknown" : m->conc_fails >= 3 ? "failing" : "ok");
	conc.rtt_ms = m->conc_rtt_ms;
	for (size_t i = 0; i < m->n_up; i++) {
		conc.bytes_up += m->up[i].tx;
		conc.bytes_down += m->up[i].rx;
	}
	s.uptime_s = stats_uptime_s();
	s.n_uplinks = m->n_up;
	s.uplinks = ups;
	s.n_concentrators = 1;
	s.concentrators = &conc;
	s.n_conns = n;
	s.conns = conns;
	fill_pool(&sp, pool);
	s.pool = &sp;
	out = status_json_render(&s);
	free(ups);
	free(conns);
	return out;
}
