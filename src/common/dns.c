/*
 * evdns wrapper with a cache. evdns gives no TTLs through getaddrinfo, so
 * answers are kept for a fixed time (dns.cache_ttl); failures are not
 * cached. Both families are asked for, always: AI_ADDRCONFIG made libevent
 * skip AAAA (and the hosts file's IPv6 lines) on a host whose IPv6 has no
 * default route, though a unique-local or routed-by-prefix destination is
 * reachable, and a name with only an AAAA record failed with EAI_NODATA.
 * A family this host cannot reach fails at connect(), and the next
 * address is tried at once: the answers alternate families (RFC 8305
 * section 4), and common/dial.c races them.
 */

#include "common/dns.h"
#include "common/log.h"
#include "proto/util.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cache_entry {
	char			name[256];
	uint64_t		expires_ms;
	struct dns_result	res;
};

struct dns {
	struct evdns_base	*evdns;
	struct cache_entry	*cache;
	size_t			 cache_size;
	uint64_t		 ttl_ms;
};

struct dns_req {
	struct dns			*dns;
	struct evdns_getaddrinfo_request *evreq;
	dns_cb				*cb;
	void				*arg;
	char				 name[256];
	bool				 in_call;	/* answered inline */
	bool				 cancelled;
	struct dns_result		 res;
};

struct dns *
dns_new(struct event_base *base, size_t cache_size, unsigned ttl_s)
{
	struct dns	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->evdns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (d->evdns == NULL) {
		/* no usable resolv.conf: still serve hosts and numbers */
		log_warnx("dns: no usable /etc/resolv.conf; only numeric "
		    "targets and /etc/hosts will resolve");
		d->evdns = evdns_base_new(base, 0);
		if (d->evdns != NULL)
			evdns_base_load_hosts(d->evdns, NULL);
	}
	if (d->evdns == NULL ||
	    (cache_size > 0 &&
	    (d->cache = calloc(cache_size, sizeof(*d->cache))) == NULL)) {
		dns_free(d);
		return NULL;
	}
	d->cache_size = cache_size;
	d->ttl_ms = (uint64_t)ttl_s * 1000;
	return d;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	if (d->evdns != NULL)
		evdns_base_free(d->evdns, 1);
	free(d->cache);
	free(d);
}

static struct cache_entry *
cache_slot(struct dns *d, const char *name)
{
	uint64_t	h = 1469598103934665603ULL;	/* FNV-1a */

	if (d->cache_size == 0)
		return NULL;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)(*p | 0x20)) * 1099511628211ULL;
	return &d->cache[h % d->cache_size];
}

static void
cache_put(struct dns *d, const char *name, const struct dns_result *res)
{
	struct cache_entry	*e = cache_slot(d, name);

	if (e == NULL || res->err != 0 || res->n == 0)
		return;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->expires_ms = util_now_ms() + d->ttl_ms;
	e->res = *res;
}

static bool
cache_get(struct dns *d, const char *name, struct dns_result *out)
{
	struct cache_entry	*e = cache_slot(d, name);

	if (e == NULL || strcasecmp(e->name, name) != 0 ||
	    e->expires_ms <= util_now_ms())
		return false;
	*out = e->res;
	return true;
}

void
dns_interleave(struct dns_result *res)
{
	struct sockaddr_storage	v6[DNS_MAX_ADDRS], v4[DNS_MAX_ADDRS];
	size_t			n6 = 0, n4 = 0, i6 = 0, i4 = 0, n = 0;

	for (size_t i = 0; i < res->n && i < DNS_MAX_ADDRS; i++) {
		if (res->addrs[i].ss_family == AF_INET6)
			v6[n6++] = res->addrs[i];
		else
			v4[n4++] = res->addrs[i];
	}
	while (i6 < n6 || i4 < n4) {
		if (i6 < n6)
			res->addrs[n++] = v6[i6++];
		if (i4 < n4)
			res->addrs[n++] = v4[i4++];
	}
}

static void
fill(struct dns_result *res, int err, struct evutil_addrinfo *ai)
{
	memset(res, 0, sizeof(*res));
	res->err = err;
	for (; err == 0 && ai != NULL && res->n < DNS_MAX_ADDRS;
	    ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(res->addrs[0]))
			continue;
		memcpy(&res->addrs[res->n++], ai->ai_addr, ai->ai_addrlen);
	}
	if (err == 0 && res->n == 0)
		res->err = EVUTIL_EAI_NODATA;
	dns_interleave(res);
}

static void
dns_answer_cb(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct dns_req	*q = arg;

	fill(&q->res, err, ai);
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	if (err == EVUTIL_EAI_CANCEL || q->cancelled) {
		if (!q->in_call)
			free(q);
		return;
	}
	cache_put(q->dns, q->name, &q->res);
	if (q->in_call)		/* dns_resolve() hands the answer back */
		return;
	q->cb(q->arg, &q->res);
	free(q);
}

int
dns_resolve(struct dns *d, const char *name, struct dns_result *out,
    dns_cb *cb, void *arg, struct dns_req **reqp)
{
	struct evutil_addrinfo	 hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,	/* no AI_ADDRCONFIG: above */
	};
	struct dns_req		*q;

	*reqp = NULL;
	if (cache_get(d, name, out))
		return 1;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		memset(out, 0, sizeof(*out));
		out->err = EVUTIL_EAI_MEMORY;
		return 1;
	}
	q->dns = d;
	q->cb = cb;
	q->arg = arg;
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->in_call = true;
	q->evreq = evdns_getaddrinfo(d->evdns, name, NULL, &hints,
	    dns_answer_cb, q);
	if (q->evreq == NULL) {		/* answered inline */
		*out = q->res;
		free(q);
		return 1;
	}
	q->in_call = false;
	*reqp = q;
	return 0;
}

void
dns_cancel(struct dns_req *q)
{
	/* the answer callback frees q, with EVUTIL_EAI_CANCEL */
	q->cancelled = true;
	evdns_getaddrinfo_cancel(q->evreq);
}

const char *
dns_strerror(int err)
{
	return evutil_gai_strerror(err);
}
