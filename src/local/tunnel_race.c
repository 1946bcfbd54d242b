/*
 * The home end's second chances (tunnel_client_int.h): when an open has
 * had no answer after TUNNEL_RACE_MS and [uplink] sections name other
 * uplinks, another attempt starts from the next uplink's address (its
 * source rule sends it out there); a pooled tunnel waiting for its
 * answer is watched instead, and sent again cold if its subflows die.
 */

#include "local/tunnel_client_int.h"
#include "common/mptcp.h"
#include "local/config_uplink.h"
#include "local/monitor.h"
#include "local/pool.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#define TUNNEL_RACE_MS		1000
static const struct timeval	race_tv = { TUNNEL_RACE_MS / 1000,
				    TUNNEL_RACE_MS % 1000 * 1000 };
/* A pooled tunnel waiting for its answer is looked at this often: one
 * whose concentrator went away unseen (no FIN reached us) has its
 * subflows reset by the request, but the kernel keeps the MPTCP
 * connection open and tells us nothing. */
#define TUNNEL_POOL_CHECK_MS	500
static const struct timeval	pool_check_tv = { 0,
				    TUNNEL_POOL_CHECK_MS * 1000 };

/*
 * A pooled tunnel that ends before its answer, or whose every subflow
 * was reset, was most likely closed by the concentrator while it sat
 * idle (a restart, its idle timeout) just as we took it: the pool drops
 * the ones as old, and the request goes once more, on a cold tunnel,
 * rather than failing the app. False if no retry started (a was
 * dropped all the same, if pooled).
 */
bool
pooled_retry(struct tunnel_open *o, struct attempt *a, const char *why)
{
	if (!a->pooled || o->cold_retried)
		return false;
	attempt_drop(a, true);
	o->cold_retried = true;
	log_debug("event=pool_dead server=%s why=\"%s\": request sent again "
	    "on a new tunnel", o->tc->server_str, why);
	pool_dead(o->tc->pool, o->start_ms);	/* taken then */
	if (!open_attempt(o, false, NULL))
		return false;
	if (o->race != NULL)		/* now racing, as a cold open does */
		evtimer_add(o->race, &race_tv);
	return true;
}

static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

/* An address of ifname in family, none of the n in used. */
bool
tunnel_uplink_source(const char *ifname, int family,
    const struct sockaddr_storage *used, size_t n,
    struct sockaddr_storage *out)
{
	struct ifaddrs	*ifa0, *ifa;
	bool		 found = false;

	if (getifaddrs(&ifa0) == -1)
		return false;
	for (ifa = ifa0; ifa != NULL && !found; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family !=
		    family || strcmp(ifa->ifa_name, ifname) != 0 ||
		    !(ifa->ifa_flags & IFF_UP))
			continue;
		if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(
		    &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr))
			continue;
		found = true;
		for (size_t i = 0; i < n; i++)
			if (same_host(&used[i], ifa->ifa_addr))
				found = false;
		if (found) {
			memset(out, 0, sizeof(*out));
			memcpy(out, ifa->ifa_addr, family == AF_INET ?
			    sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6));
		}
	}
	freeifaddrs(ifa0);
	return found;
}

static bool
uplink_source(const struct tunnel_open *o, const char *ifname, int family,
    struct sockaddr_storage *out)
{
	struct sockaddr_storage	used[TUNNEL_MAX_ATTEMPTS];

	for (size_t i = 0; i < o->n_att; i++)
		used[i] = o->att[i].src;
	return tunnel_uplink_source(ifname, family, used, o->n_att, out);
}

/*
 * Starts one more attempt from an uplink no attempt uses yet: active
 * uplinks first, then backups. False if there is none (or no room).
 */
bool
race_next(struct tunnel_open *o)
{
	const struct config_uplinks	*ups = o->tc->ups;
	struct sockaddr_storage		 src;

	if (o->n_att >= TUNNEL_MAX_ATTEMPTS || ups == NULL)
		return false;
	for (int backup = 0; backup <= 1; backup++)
		for (size_t i = 0; i < ups->n; i++) {
			const struct config_uplink *u = &ups->v[i];

			if ((u->role == UPLINK_ROLE_BACKUP) != backup ||
			    !uplink_source(o, u->ifname,
			    o->tc->server.ss_family, &src))
				continue;
			log_info("event=race server=%s uplink=%s after_ms=%llu",
			    o->tc->server_str, u->name, (unsigned long long)
			    (util_now_ms() - o->start_ms));
			if (open_attempt(o, o->tc->cfg->tfo, &src)) {
				o->att[o->n_att - 1].raced = true;
				return true;
			}
		}
	return false;
}

/* Still waiting for its SYN-ACK? (A concentrator that answered the SYN
 * but not yet the header is slow, not cut off: no race for that.) */
static bool
attempt_in_syn_sent(const struct attempt *a)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	if (a->bev == NULL || getsockopt(bufferevent_getfd(a->bev), SOL_TCP,
	    TCP_INFO, &ti, &len) == -1 || len < 1)
		return false;
	return ti.tcpi_state == TCP_SYN_SENT;
}

/* The pooled attempt still has a subflow the peer has not reset (or it
 * is plain TCP, where a reset is reported). */
static bool
pooled_alive(const struct attempt *a)
{
	struct mptcp_subflow_stats	st;

	return !mptcp_subflow_stats(bufferevent_getfd(a->bev), &st) ||
	    st.alive > 0;
}

static void
open_race_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel_open	*o = arg;
	struct attempt		*a = &o->att[0];

	(void)fd;
	(void)what;
	if (a->pooled && a->bev != NULL) {	/* watched, not raced */
		if (pooled_alive(a)) {
			evtimer_add(o->race, &pool_check_tv);
			return;
		}
		if (!pooled_retry(o, a, "every subflow reset")) {
			monitor_tunnel_result(o->tc->mon, false, 0);
			open_done(o, NULL, REPLY_GENERAL, "the pooled tunnel "
			    "lost its subflows and no new one could be "
			    "opened");
		}
		return;
	}
	for (size_t i = 0; i < o->n_att; i++)
		if (o->att[i].bev != NULL && !attempt_in_syn_sent(&o->att[i]))
			return;
	if (race_next(o))
		evtimer_add(o->race, &race_tv);
}

bool
tunnel_race_start(struct tunnel_open *o, bool hit)
{
	const struct config_uplinks	*ups = o->tc->ups;

	/* racing needs other uplinks to race on; a pooled tunnel, whose
	 * subflows are up already, is watched instead (pooled_alive) */
	if (!hit && (ups == NULL || ups->n <= 1))
		return true;
	if ((o->race = evtimer_new(o->tc->base, open_race_cb, o)) == NULL)
		return false;
	evtimer_add(o->race, hit ? &pool_check_tv : &race_tv);
	return true;
}
