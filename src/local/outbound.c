/*
 * Where one app connection goes: ask the policy, resolve the
 * name only when a rule needs its address, then bond (a tunnel, carrying
 * the name as the app gave it, never our local answer), connect directly
 * (optionally from one interface or source address), or refuse.
 */

#include "local/outbound.h"
#include "local/tunnel_client.h"
#include "common/dial.h"
#include "common/dns.h"
#include "common/log.h"
#include "proto/cidr.h"
#include "proto/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct outbound {
	struct event_base	*base;
	const struct config	*cfg;
	struct tunnel_client	*tc;
	struct policy		*policy;
	struct dns		*dns;
	struct dial_fds		 dial_fds;	/* for second attempts */
	struct log_rl		 rl_self;
};

struct outbound_req {
	struct outbound		*ob;
	uint32_t		 id;
	struct target		 t;
	outbound_cb		*cb;
	outbound_pending_cb	*pending;	/* optimistic: bonding */
	struct event		*pending_ev;
	void			*arg;
	struct tunnel_open	*topen;		/* bond: the tunnel opening */
	struct dns_req		*dreq;		/* waiting for the resolver */
	struct dial		*dial;		/* direct: connecting */
	struct event		*timer;		/* a deferred answer */
	struct policy_pin	 pin;		/* copied: a reload may free
						 * the policy meanwhile */
	struct sockaddr_storage	 addr;		/* resolved: the first, for
						 * the policy */
	struct dns_result	 addrs;		/* direct: raced, dial.h */
	bool			 have_addr;
	bool			 direct_wait;	/* resolving to connect */
	enum reply_code		 status;	/* deferred answer */
	const char		*why;
};

static void
req_free(struct outbound_req *o)
{
	if (o->topen != NULL)
		tunnel_open_cancel(o->topen);
	if (o->dreq != NULL)
		dns_cancel(o->dreq);
	if (o->dial != NULL)
		dial_cancel(o->dial);
	if (o->timer != NULL)
		event_free(o->timer);
	if (o->pending_ev != NULL)
		event_free(o->pending_ev);
	free(o);
}

/* Reports and frees o. */
static void
req_done(struct outbound_req *o, enum reply_code status, struct bufferevent *bev,
    const char *why)
{
	outbound_cb	*cb = o->cb;
	void		*arg = o->arg;

	req_free(o);
	cb(arg, status, bev, why);
}

static void
deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbound_req	*o = arg;

	(void)fd;
	(void)what;
	req_done(o, o->status, NULL, o->why);
}

/* Answers from the event loop, never inside outbound_connect(). */
static void
req_fail_later(struct outbound_req *o, enum reply_code status, const char *why)
{
	if (o->timer != NULL)
		event_free(o->timer);
	o->status = status;
	o->why = why;
	o->timer = evtimer_new(o->ob->base, deferred_cb, o);
	if (o->timer == NULL) {
		req_done(o, status, NULL, why);	/* XXX inline: no memory */
		return;
	}
	evtimer_add(o->timer, (&(struct timeval){ 0, 0 }));
}

static void
pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbound_req	*o = arg;

	(void)fd;
	(void)what;
	o->pending(o->arg);
}

static void
bond_cb(void *arg, enum reply_code status, struct bufferevent *bev,
    const char *why)
{
	struct outbound_req	*o = arg;

	o->topen = NULL;
	req_done(o, status, bev, why);
}

/* The addresses to try: the target's own, or what the name resolved to
 * (families alternating, dns.h), in that order; each with the target's
 * port. */
static void
direct_addrs(struct outbound_req *o)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&o->addrs.addrs[0];
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)
				    &o->addrs.addrs[0];

	if (o->t.atyp != TARGET_DOMAIN) {
		memset(&o->addrs, 0, sizeof(o->addrs));
		o->addrs.n = 1;
		if (o->t.atyp == TARGET_IPV4) {
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, o->t.addr, 4);
		} else {
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, o->t.addr, 16);
		}
	}
	for (size_t i = 0; i < o->addrs.n; i++) {
		sin = (struct sockaddr_in *)&o->addrs.addrs[i];
		sin6 = (struct sockaddr_in6 *)&o->addrs.addrs[i];
		if (sin->sin_family == AF_INET)
			sin->sin_port = htons(o->t.port);
		else
			sin6->sin6_port = htons(o->t.port);
	}
}

/* Is sa's address this host's: loopback, or an interface's? */
static bool
host_has_addr(const struct sockaddr *sa)
{
	struct ifaddrs	*ifa;
	struct cidr	 lo4, lo6;
	bool		 found = false;

	cidr_parse("127.0.0.0/8", &lo4);
	cidr_parse("::1/128", &lo6);
	if (cidr_contains(&lo4, sa) || cidr_contains(&lo6, sa))
		return true;
	if (getifaddrs(&ifa) == -1)
		return true;	/* cannot tell: refusing is the safe side */
	for (struct ifaddrs *i = ifa; i != NULL && !found; i = i->ifa_next) {
		struct cidr	c = { 0 };
		size_t		len;

		if (i->ifa_addr == NULL)
			continue;
		c.family = i->ifa_addr->sa_family;
		if (c.family == AF_INET) {
			memcpy(c.addr, &((struct sockaddr_in *)(void *)
			    i->ifa_addr)->sin_addr, len = 4);
		} else if (c.family == AF_INET6) {
			memcpy(c.addr, &((struct sockaddr_in6 *)(void *)
			    i->ifa_addr)->sin6_addr, len = 16);
		} else
			continue;
		c.prefix = (unsigned)len * 8;
		found = cidr_contains(&c, sa);
	}
	freeifaddrs(ifa);
	return found;
}

/*
 * Would a connection to sa (address and port) come back into this
 * process, to a proxy listener or the control port? A nested CONNECT to
 * ourselves costs descriptors per hop, and a chain of them only ends at
 * the descriptor limit.
 */
static bool
ob_is_self(const struct outbound *ob, const struct sockaddr *sa)
{
	const struct config	*cfg = ob->cfg;
	int			 local = -1;	/* not asked yet */

	for (size_t i = 0; i <= cfg->n_listen; i++) {
		const char		*own = i < cfg->n_listen ?
					    cfg->listen[i] : cfg->control_listen;
		struct sockaddr_storage	 ss;
		socklen_t		 sl;

		if (own[0] == '\0' || !util_parse_sockaddr(own, &ss, &sl))
			continue;
		switch (util_sockaddr_reaches(sa, (struct sockaddr *)&ss)) {
		case UTIL_REACH_YES:
			return true;
		case UTIL_REACH_IF_LOCAL:
			if (local == -1)
				local = host_has_addr(sa);
			if (local)
				return true;
			break;
		case UTIL_REACH_NO:
			break;
		}
	}
	return false;
}

/* true (o->status, o->why set, logged) if sa is this process. */
static bool
req_refuse_self(struct outbound_req *o, const struct sockaddr *sa)
{
	char	as[UTIL_ADDRSTRLEN];

	if (!ob_is_self(o->ob, sa))
		return false;
	log_warnx_rl(&o->ob->rl_self, "s=%08x event=refuse why=self "
	    "target=%s", o->id, util_sockaddr_str(sa, as, sizeof(as)));
	o->status = REPLY_NOT_ALLOWED;
	o->why = "the target is this proxy itself";
	return true;
}

/* Keeps a resolver's answer: all of it to connect, the first for the
 * policy. */
static void
set_addrs(struct outbound_req *o, const struct dns_result *res)
{
	o->addrs = *res;
	o->addr = res->addrs[0];
	o->have_addr = true;
}

/* dial_ops.prepare: the rule's pin, an interface or a source address. */
static bool
direct_prepare(void *arg, int fd, const struct sockaddr *sa, const char **why)
{
	struct outbound_req	*o = arg;
	const struct policy_pin	*pin = &o->pin;

	if (pin->ifname[0] != '\0' && setsockopt(fd, SOL_SOCKET,
	    SO_BINDTODEVICE, pin->ifname, (socklen_t)strlen(pin->ifname)) ==
	    -1) {
		log_warn("s=%08x event=direct_fail interface=%s", o->id,
		    pin->ifname);
		*why = "cannot bind to the rule's interface";
		return false;
	}
	if (pin->source_len != 0 && pin->source.ss_family != sa->sa_family) {
		*why = "the rule's source address is of the other family";
		return false;
	}
	if (pin->source_len != 0 && bind(fd,
	    (const struct sockaddr *)&pin->source, pin->source_len) == -1) {
		log_warn("s=%08x event=direct_fail why=source", o->id);
		*why = "cannot bind to the rule's source address";
		return false;
	}
	return true;
}

/* dial_ops.done: frees o. */
static void
direct_done(void *arg, struct bufferevent *bev, size_t idx, int err,
    const char *why)
{
	struct outbound_req	*o = arg;

	(void)idx;
	o->dial = NULL;
	if (bev != NULL) {
		log_debug("s=%08x event=direct_connected", o->id);
		req_done(o, REPLY_OK, bev, NULL);
		return;
	}
	req_done(o, reply_from_errno(err), NULL, why != NULL ? why :
	    err == ETIMEDOUT ? "direct connect timed out" :
	    "direct connect failed");
}

static const struct dial_ops direct_dial_ops = {
	.prepare = direct_prepare,
	.done = direct_done,
};

/* Leaves out the addresses that are this process (a name that resolved
 * to us); false if none is left (o->status, o->why set). */
static bool
drop_self(struct outbound_req *o)
{
	size_t	kept = 0;

	for (size_t i = 0; i < o->addrs.n; i++)
		if (!req_refuse_self(o, (const struct sockaddr *)
		    &o->addrs.addrs[i]))
			o->addrs.addrs[kept++] = o->addrs.addrs[i];
	o->addrs.n = kept;
	return kept > 0;
}

/* Connects from here to the target's addresses, racing them (dial.h)
 * for at most connect_timeout. false if every one failed at once
 * (o->status, o->why set). */
static bool
direct_start(struct outbound_req *o)
{
	char			 tag[16];
	const char		*why;
	int			 err;
	struct dial_params	 dp = {
		.base = o->ob->base, .addrs = o->addrs.addrs,
		.timeout_ms = (uint64_t)o->ob->cfg->connect_timeout * 1000,
		.fds = &o->ob->dial_fds, .tag = tag, .ops = &direct_dial_ops,
		.arg = o,
	};

	direct_addrs(o);
	if (!drop_self(o))
		return false;
	dp.n = o->addrs.n;
	snprintf(tag, sizeof(tag), "s=%08x", o->id);
	if ((o->dial = dial_start(&dp, &err, &why)) != NULL)
		return true;
	o->status = reply_from_errno(err);
	o->why = why != NULL ? why : "direct connect failed";
	return false;
}

static bool	direct_resolve(struct outbound_req *);

/*
 * An address rule decided on the name's first address: of the others,
 * try only those the same rule sends direct too, so that a name whose
 * addresses fall under different rules never leaves by the way one of
 * them forbids. (A domain rule decides for every address.)
 */
static void
keep_same_verdict(struct outbound_req *o, const struct policy_verdict *v)
{
	struct policy_verdict	vi;
	size_t			kept = 1;

	for (size_t i = 1; i < o->addrs.n; i++) {
		policy_match(o->ob->policy, &o->t,
		    (struct sockaddr *)&o->addrs.addrs[i], false, &vi);
		if (vi.action == POLICY_DIRECT && strcmp(vi.rule, v->rule) == 0)
			o->addrs.addrs[kept++] = o->addrs.addrs[i];
		else
			log_debug("s=%08x event=direct_skip addr=%zu rule=%s "
			    "action=%s", o->id, i + 1, vi.rule,
			    policy_action_str(vi.action));
	}
	o->addrs.n = kept;
}

/* Acts on a verdict; false (o->status, o->why set) if that failed at
 * once. */
static bool
req_act(struct outbound_req *o, const struct policy_verdict *v)
{
	char	ts[TARGET_STRLEN];

	log_debug("s=%08x event=policy target=%s rule=%s action=%s why=\"%s\""
	    "%s%s", o->id, target_str(&o->t, ts, sizeof(ts)), v->rule,
	    policy_action_str(v->action), v->why,
	    v->country[0] ? " country=" : "", v->country);
	switch (v->action) {
	case POLICY_REJECT:
		o->status = REPLY_NOT_ALLOWED;
		o->why = "refused by the policy";
		return false;
	case POLICY_DIRECT:
		o->pin = *v->pin;
		if (o->t.atyp == TARGET_DOMAIN && !o->have_addr)
			return direct_resolve(o);
		if (o->t.atyp == TARGET_DOMAIN)
			keep_same_verdict(o, v);
		return direct_start(o);
	case POLICY_BOND:
	default:
		o->status = REPLY_GENERAL;
		o->why = "cannot open a tunnel";
		/* optimistic: the request waits for the app's first bytes,
		 * which the driver asks for once it has answered the app */
		if (o->pending != NULL && (o->pending_ev = evtimer_new(
		    o->ob->base, pending_cb, o)) == NULL)
			return false;
		o->topen = tunnel_open(o->ob->tc, &o->t, o->pending != NULL ?
		    TUNNEL_OPEN_HOLD : 0, bond_cb, o);
		if (o->topen != NULL && o->pending_ev != NULL)
			evtimer_add(o->pending_ev, (&(struct timeval){ 0, 0 }));
		return o->topen != NULL;
	}
}

static void
req_decide(struct outbound_req *o, bool resolve_failed);

static void
dns_done_cb(void *arg, const struct dns_result *res)
{
	struct outbound_req	*o = arg;

	o->dreq = NULL;
	if (res->err == 0 && res->n > 0)
		set_addrs(o, res);
	else
		log_debug("s=%08x event=policy_resolve_fail name=%s why=\"%s\"",
		    o->id, o->t.name, dns_strerror(res->err));
	if (!o->direct_wait) {
		req_decide(o, !o->have_addr);
		return;
	}
	/* the rule has decided already: only connect */
	if (!o->have_addr)
		req_done(o, REPLY_HOST_UNREACH, NULL, "direct: the name "
		    "does not resolve here");	/* frees o */
	else if (!direct_start(o))
		req_done(o, o->status, NULL, o->why);	/* frees o */
}

/* A name that goes direct by a domain rule: resolve it, then connect.
 * false (o->status, o->why set) if that failed at once. */
static bool
direct_resolve(struct outbound_req *o)
{
	struct dns_result	res;

	o->direct_wait = true;
	log_debug("s=%08x event=direct_resolve name=%s", o->id, o->t.name);
	if (dns_resolve(o->ob->dns, o->t.name, &res, dns_done_cb, o,
	    &o->dreq) == 0)
		return true;			/* dns_done_cb goes on */
	if (res.err != 0 || res.n == 0) {
		o->status = REPLY_HOST_UNREACH;
		o->why = "direct: the name does not resolve here";
		return false;
	}
	set_addrs(o, &res);
	return direct_start(o);
}

/* Matches; resolves first if the policy asks. May free o (via the
 * deferred answer) only from the event loop. */
static void
req_decide(struct outbound_req *o, bool resolve_failed)
{
	struct policy_verdict	v;
	struct dns_result	res;

	policy_match(o->ob->policy, &o->t, o->have_addr ?
	    (struct sockaddr *)&o->addr : NULL, resolve_failed, &v);
	if (v.need_addr) {
		log_debug("s=%08x event=policy_resolve name=%s why=\"%s\"",
		    o->id, o->t.name, v.why);
		if (dns_resolve(o->ob->dns, o->t.name, &res, dns_done_cb, o,
		    &o->dreq) == 0)
			return;			/* dns_done_cb goes on */
		if (res.err == 0 && res.n > 0)
			set_addrs(o, &res);
		policy_match(o->ob->policy, &o->t, o->have_addr ?
		    (struct sockaddr *)&o->addr : NULL, !o->have_addr, &v);
	}
	if (!req_act(o, &v))
		req_fail_later(o, o->status, o->why);
}

struct outbound_req *
outbound_connect(struct outbound *ob, uint32_t id, const struct target *t,
    outbound_pending_cb *pending, outbound_cb *cb, void *arg)
{
	struct outbound_req	*o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->ob = ob;
	o->id = id;
	o->t = *t;
	o->pending = pending;
	o->cb = cb;
	o->arg = arg;
	if (t->atyp != TARGET_DOMAIN) {
		/* the literal, with its port: what direct_addrs() makes */
		direct_addrs(o);
		if (req_refuse_self(o, (const struct sockaddr *)
		    &o->addrs.addrs[0])) {
			/* bonded too: the concentrator's own address may be
			 * a different host, but no app means it */
			req_fail_later(o, o->status, o->why);
			return o;
		}
	}
	req_decide(o, false);
	return o;
}

bool
outbound_send(struct outbound_req *o, const void *early, size_t len)
{
	return o->topen != NULL && tunnel_open_send(o->topen, early, len);
}

void
outbound_cancel(struct outbound_req *o)
{
	req_free(o);
}

void
outbound_add_own_nets(struct policy *p)
{
	struct ifaddrs	*ifa, *i;

	if (getifaddrs(&ifa) == -1) {
		log_warn("getifaddrs: this host's networks are not known "
		    "to the policy");
		return;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		struct cidr	c = { 0 };
		const uint8_t	*a, *m;
		size_t		 len;

		if (i->ifa_addr == NULL || i->ifa_netmask == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			a = (const uint8_t *)&((struct sockaddr_in *)(void *)
			    i->ifa_addr)->sin_addr;
			m = (const uint8_t *)&((struct sockaddr_in *)(void *)
			    i->ifa_netmask)->sin_addr;
			len = 4;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a = (const uint8_t *)&((struct sockaddr_in6 *)(void *)
			    i->ifa_addr)->sin6_addr;
			m = (const uint8_t *)&((struct sockaddr_in6 *)(void *)
			    i->ifa_netmask)->sin6_addr;
			len = 16;
		} else
			continue;
		c.family = i->ifa_addr->sa_family;
		for (size_t k = 0; k < len; k++) {
			c.addr[k] = a[k] & m[k];
			c.prefix += (unsigned)__builtin_popcount(m[k]);
		}
		if (!policy_add_local_net(p, &c))
			log_warnx("out of memory adding this host's networks");
	}
	freeifaddrs(ifa);
}

struct outbound *
outbound_new(struct event_base *base, const struct config *cfg,
    struct tunnel_client *tc, struct policy *p)
{
	struct outbound	*ob;

	if ((ob = calloc(1, sizeof(*ob))) == NULL)
		return NULL;
	ob->base = base;
	ob->cfg = cfg;
	ob->tc = tc;
	ob->dial_fds.room = SIZE_MAX;	/* until conns_start() */
	ob->dns = dns_new(base, cfg->dns_cache_size, cfg->dns_cache_ttl);
	if (ob->dns == NULL) {
		free(ob);
		return NULL;
	}
	outbound_set_policy(ob, p);
	return ob;
}

void
outbound_set_fd_budget(struct outbound *ob, size_t room, unsigned fds_each,
    const size_t *conns)
{
	ob->dial_fds = (struct dial_fds){ .room = room, .fds_each = fds_each,
	    .conns = conns };
}

void
outbound_set_policy(struct outbound *ob, struct policy *p)
{
	policy_free(ob->policy);
	ob->policy = p;
	if (p != NULL)
		log_info("event=policy rules=%zu", policy_rule_count(p));
}

void
outbound_free(struct outbound *ob)
{
	if (ob == NULL)
		return;
	policy_free(ob->policy);
	dns_free(ob->dns);
	free(ob);
}
