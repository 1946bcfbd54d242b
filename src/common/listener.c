/* Listening sockets shared by both daemons. */

#include "common/listener.h"
#include "common/log.h"
#include "common/mptcp.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct listeners {
	struct evconnlistener	*lev[CONFIG_MAX_LISTEN];
	size_t			 n;
	struct event		*resume_ev;
	listeners_accept_cb	*cb;
	void			*arg;
	struct log_rl		 rl;
};

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listeners	*ls = arg;

	(void)lev;
	ls->cb(ls->arg, fd, sa, salen);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listeners	*ls = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < ls->n; i++)
		evconnlistener_enable(ls->lev[i]);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listeners	*ls = arg;
	int			 err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	if (err == EMFILE || err == ENFILE) {
		log_warnx_rl(&ls->rl, "event=accept_pause why=no_fds");
		for (size_t i = 0; i < ls->n; i++)
			evconnlistener_disable(ls->lev[i]);
		evtimer_add(ls->resume_ev, (&(struct timeval){ 1, 0 }));
		return;
	}
	log_warnx_rl(&ls->rl, "event=accept_error err=\"%s\"",
	    evutil_socket_error_to_string(err));
}

struct listeners *
listeners_open(struct event_base *base, const char (*addrs)[CONFIG_ADDR_MAX],
    size_t n, bool want_mptcp, const char *what, listeners_accept_cb *cb,
    void *arg)
{
	struct listeners	*ls;

	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return NULL;
	ls->cb = cb;
	ls->arg = arg;
	if ((ls->resume_ev = evtimer_new(base, resume_cb, ls)) == NULL)
		goto fail;
	for (size_t i = 0; i < n && i < CONFIG_MAX_LISTEN; i++) {
		struct sockaddr_storage	ss;
		socklen_t		sl;
		bool			mptcp;
		int			fd;

		if (!util_parse_sockaddr(addrs[i], &ss, &sl)) {
			log_warnx("listen %s: not ADDR:PORT", addrs[i]);
			goto fail;
		}
		fd = mptcp_listen((struct sockaddr *)&ss, sl, want_mptcp,
		    &mptcp);
		if (fd == -1) {
			log_warn("listen %s", addrs[i]);
			goto fail;
		}
		ls->lev[ls->n] = evconnlistener_new(base, accept_cb, ls,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
		if (ls->lev[ls->n] == NULL) {
			close(fd);
			log_warnx("listen %s: out of memory", addrs[i]);
			goto fail;
		}
		evconnlistener_set_error_cb(ls->lev[ls->n++], accept_error_cb);
		if (want_mptcp && !mptcp)
			log_warnx("%s listening on %s with plain TCP: the "
			    "kernel refused MPTCP (net.mptcp.enabled=0?); "
			    "clients cannot bond", what, addrs[i]);
		else
			log_info("%s listening on %s%s", what, addrs[i],
			    mptcp ? " (MPTCP)" : "");
	}
	return ls;
fail:
	listeners_free(ls);
	return NULL;
}

void
listeners_free(struct listeners *ls)
{
	if (ls == NULL)
		return;
	for (size_t i = 0; i < ls->n; i++)
		evconnlistener_free(ls->lev[i]);
	if (ls->resume_ev != NULL)
		event_free(ls->resume_ev);
	free(ls);
}
