/*
 * The control port on evhttp. Request rules (routes, bearer token, Host
 * check) are in control_proto.c; this file glues them to libevent.
 * /metrics and /api/status need the token when one is configured; the
 * dashboard page itself holds no data and is always served, its script
 * then asks for the token.
 *
 * evhttp guards itself poorly against a hostile or starved host, so
 * three limits sit around it (docs/metrics.md): out of descriptors the
 * listener pauses for a second instead of spinning on accept(); at most
 * CONTROL_MAX_CONNS connections are open, beyond which a new one is
 * closed at once; and each request must arrive whole within
 * CONTROL_DEADLINE_S of the connection's accept (or of the previous
 * answer), since evhttp's own timeout restarts on every byte.
 *
 * evhttp (2.1) has no hook per connection but the bufferevent factory:
 * control_bev_cb() makes each connection's bufferevent and holds a
 * reference on it until the next turn of the loop, when the connection
 * evhttp built around it can be read off its callback argument, given a
 * close callback and a deadline, or refused.
 */

#include "common/control.h"
#include "proto/control_proto.h"
#include "common/daemon.h"
#include "common/dashboard.h"
#include "common/log.h"
#include "proto/metrics.h"
#include "common/stats.h"
#include "proto/status.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define CONTROL_TIMEOUT_S	10	/* evhttp's, restarted by each byte */
#define CONTROL_DEADLINE_S	10	/* a whole request, from accept */
#define CONTROL_MAX_CONNS	64
#define CONTROL_MAX_HEADERS	8192

struct control;

/* One control connection, from its bufferevent's making to its close. */
struct ctl_conn {
	struct control			*ctl;
	struct bufferevent		*bev;	/* held until adopted */
	struct evhttp_connection	*evcon;	/* NULL until adopted */
	struct event			*timer;	/* adopt, then the deadline */
	bool				 refuse; /* over the cap */
	TAILQ_ENTRY(ctl_conn)		 entry;
};

struct control {
	struct evhttp		*http;
	struct evconnlistener	*lev;
	struct event		*resume_ev;
	struct event_base	*base;
	const struct config	*cfg;
	control_status_fn	*status;
	void			*arg;
	TAILQ_HEAD(, ctl_conn)	 conns;
	size_t			 n;
	struct log_rl		 rl, rl_accept;
	SLIST_ENTRY(control)	 next;
};

/*
 * evhttp makes itself the listener's callback argument, so the accept
 * error callback finds its control here. XXX a registry, not state: one
 * entry per control port (one per process).
 */
static SLIST_HEAD(, control)	controls = SLIST_HEAD_INITIALIZER(controls);

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evhttp_request_get_output_buffer(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	if (code == 401)
		evhttp_add_header(h, "WWW-Authenticate",
		    "Bearer realm=\"mpsocks\"");
	if (code == 405)
		evhttp_add_header(h, "Allow", "GET, HEAD");
	if (body != NULL)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, reason, NULL);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason)
{
	char	msg[64];
	int	n = snprintf(msg, sizeof(msg), "%d %s\n", code, reason);

	reply(req, code, reason, "text/plain; charset=utf-8", msg, (size_t)n);
}

static void
serve_metrics(struct evhttp_request *req)
{
	struct metrics	*m = stats_metrics();
	size_t		 len = 0;
	char		*t = m ? metrics_render(m, &len) : NULL;

	if (t == NULL) {
		reply_text(req, 503, "Service Unavailable");
		return;
	}
	reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", t,
	    len);
	free(t);
}

static void
serve_status(struct control *ctl, struct evhttp_request *req)
{
	char	*j = ctl->status(ctl->arg);

	if (j == NULL) {
		reply_text(req, 503, "Service Unavailable");
		return;
	}
	reply(req, 200, "OK", "application/json", j, strlen(j));
	free(j);
}

static void
conn_free(struct ctl_conn *cc)
{
	struct control	*ctl = cc->ctl;

	TAILQ_REMOVE(&ctl->conns, cc, entry);
	ctl->n--;
	if (cc->bev != NULL)
		bufferevent_decref(cc->bev);	/* may close its fd */
	event_free(cc->timer);
	free(cc);
}

/* evhttp is freeing the connection: forget it. */
static void
conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	conn_free(arg);
}

static void
conn_deadline(struct ctl_conn *cc)
{
	log_warnx_rl(&cc->ctl->rl, "event=control_timeout why=deadline "
	    "seconds=%d", CONTROL_DEADLINE_S);
	evhttp_connection_free(cc->evcon);	/* frees cc */
}

/* The next turn after the accept: evhttp has built the connection. */
static void
conn_adopt(struct ctl_conn *cc)
{
	struct evhttp_connection	*evcon;
	bufferevent_event_cb		 ecb = NULL;
	void				*cbarg = NULL;

	/* evhttp sets its connection as the callback argument, and
	 * bufferevent_free() clears the callbacks: gone already if NULL */
	bufferevent_getcb(cc->bev, NULL, NULL, &ecb, &cbarg);
	evcon = ecb != NULL ? cbarg : NULL;
	if (evcon == NULL || cc->refuse) {
		if (evcon != NULL)
			evhttp_connection_free(evcon);	/* keeps our ref */
		conn_free(cc);		/* drops it: the fd closes */
		return;
	}
	bufferevent_decref(cc->bev);
	cc->bev = NULL;
	cc->evcon = evcon;
	evhttp_connection_set_closecb(evcon, conn_closed_cb, cc);
	evtimer_add(cc->timer, (&(struct timeval){ CONTROL_DEADLINE_S, 0 }));
}

/* First the adoption, then the deadline. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*cc = arg;

	(void)fd;
	(void)what;
	if (cc->evcon == NULL)
		conn_adopt(cc);		/* may free cc */
	else
		conn_deadline(cc);	/* frees cc */
}

/* evhttp's bufferevent factory, called once per accepted connection. */
static struct bufferevent *
control_bev_cb(struct event_base *base, void *arg)
{
	struct control		*ctl = arg;
	struct ctl_conn		*cc;

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;		/* XXX evhttp's own: untracked */
	cc->ctl = ctl;
	cc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	cc->timer = evtimer_new(base, conn_timer_cb, cc);
	if (cc->bev == NULL || cc->timer == NULL) {
		if (cc->bev != NULL)
			bufferevent_free(cc->bev);
		if (cc->timer != NULL)
			event_free(cc->timer);
		free(cc);
		return NULL;
	}
	if (ctl->n >= CONTROL_MAX_CONNS) {
		log_warnx_rl(&ctl->rl_accept, "event=control_refused "
		    "why=max_connections max=%d", CONTROL_MAX_CONNS);
		cc->refuse = true;
	}
	bufferevent_incref(cc->bev);	/* evhttp's, and ours till adopted */
	TAILQ_INSERT_TAIL(&ctl->conns, cc, entry);
	ctl->n++;
	evtimer_add(cc->timer, (&(struct timeval){ 0, 0 }));
	return cc->bev;
}

/* A request has arrived whole: the next one gets its own deadline. */
static void
control_conn_rearm(struct control *ctl, struct evhttp_connection *evcon)
{
	struct ctl_conn	*cc;

	TAILQ_FOREACH(cc, &ctl->conns, entry)
		if (cc->evcon != NULL && cc->evcon == evcon) {
			evtimer_add(cc->timer,
			    (&(struct timeval){ CONTROL_DEADLINE_S, 0 }));
			return;
		}
}

static void
control_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control	*ctl = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(ctl->lev);
}

/* Out of descriptors, pause for a second instead of spinning. */
static void
control_accept_error_cb(struct evconnlistener *lev, void *http)
{
	struct control	*ctl;
	int		 err = EVUTIL_SOCKET_ERROR();

	SLIST_FOREACH(ctl, &controls, next)
		if (ctl->http == http)
			break;
	if (ctl == NULL)
		return;
	if (err == EMFILE || err == ENFILE) {
		log_warnx_rl(&ctl->rl_accept, "event=accept_pause "
		    "why=no_fds port=control");
		evconnlistener_disable(lev);
		evtimer_add(ctl->resume_ev, (&(struct timeval){ 1, 0 }));
		return;
	}
	log_warnx_rl(&ctl->rl_accept, "event=accept_error port=control "
	    "err=\"%s\"", evutil_socket_error_to_string(err));
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct control		*ctl = arg;
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*uri = evhttp_request_get_uri(req);
	enum control_route	 r;

	control_conn_rearm(ctl, evhttp_request_get_connection(req));
	r = control_route(cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD,
	    uri, uri ? strlen(uri) : 0);
	if (r == CTL_NOT_FOUND) {
		reply_text(req, 404, "Not Found");
		return;
	}
	if (r == CTL_METHOD) {
		reply_text(req, 405, "Method Not Allowed");
		return;
	}
	if (ctl->cfg->control_token[0] == '\0' &&
	    !control_host_ok(evhttp_find_header(in, "Host"))) {
		log_warnx_rl(&ctl->rl, "event=control_refused why=host");
		reply_text(req, 403, "Forbidden");
		return;
	}
	if (r == CTL_DASHBOARD) {
		/* the page needs nothing but itself and /api/status */
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Security-Policy", "default-src 'none'; "
		    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
		    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
		    "frame-ancestors 'none'");
		reply(req, 200, "OK", "text/html; charset=utf-8",
		    dashboard_html, strlen(dashboard_html));
		return;
	}
	if (!control_auth_ok(evhttp_find_header(in, "Authorization"),
	    ctl->cfg->control_token)) {
		log_warnx_rl(&ctl->rl, "event=control_refused why=token");
		reply_text(req, 401, "Unauthorized");
		return;
	}
	if (r == CTL_METRICS)
		serve_metrics(req);
	else
		serve_status(ctl, req);
}

struct control *
control_new(struct event_base *base, const struct config *cfg,
    control_status_fn *status, void *arg)
{
	struct control		*ctl;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	if (!util_parse_sockaddr(cfg->control_listen, &ss, &sl))
		return NULL;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
		return NULL;
	TAILQ_INIT(&ctl->conns);
	SLIST_INSERT_HEAD(&controls, ctl, next);
	ctl->base = base;
	ctl->cfg = cfg;
	ctl->status = status;
	ctl->arg = arg;
	if ((ctl->http = evhttp_new(base)) == NULL)
		goto fail;
	/* every method reaches request_cb, which answers 405 itself */
	evhttp_set_allowed_methods(ctl->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(ctl->http, CONTROL_MAX_HEADERS);
	evhttp_set_max_body_size(ctl->http, 4096);
	evhttp_set_timeout(ctl->http, CONTROL_TIMEOUT_S);
	evhttp_set_gencb(ctl->http, request_cb, ctl);
	evhttp_set_bevcb(ctl->http, control_bev_cb, ctl);
	if ((ctl->resume_ev = evtimer_new(base, control_resume_cb, ctl)) ==
	    NULL)
		goto fail;
	/* our own listener, for its error callback */
	ctl->lev = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    -1, (struct sockaddr *)&ss, (int)sl);
	if (ctl->lev == NULL) {
		log_warn("control port %s", cfg->control_listen);
		goto fail;
	}
	if (evhttp_bind_listener(ctl->http, ctl->lev) == NULL) {
		evconnlistener_free(ctl->lev);	/* not evhttp's yet */
		ctl->lev = NULL;
		goto fail;
	}
	evconnlistener_set_error_cb(ctl->lev, control_accept_error_cb);
	log_info("event=control_listen addr=%s token=%s",
	    cfg->control_listen, cfg->control_token[0] ? "yes" : "no");
	return ctl;
fail:
	control_free(ctl);
	return NULL;
}

bool
control_start(struct event_base *base, const struct config *cfg,
    control_status_fn *status, void *arg, struct control **out)
{
	*out = NULL;
	if (cfg->control_listen[0] == '\0')
		return true;
	if ((*out = control_new(base, cfg, status, arg)) != NULL)
		return true;
	if (strcmp(cfg->control_listen, CONFIG_CONTROL_DEFAULT) == 0) {
		log_warnx("no control port: %s is taken; set [control] listen "
		    "to another port, or off", cfg->control_listen);
		return true;
	}
	return false;
}

void
control_free(struct control *ctl)
{
	struct ctl_conn	*cc;

	if (ctl == NULL)
		return;
	if (ctl->http != NULL)
		evhttp_free(ctl->http);	/* frees lev; conn_closed_cb each */
	while ((cc = TAILQ_FIRST(&ctl->conns)) != NULL)
		conn_free(cc);		/* not adopted yet */
	if (ctl->resume_ev != NULL)
		event_free(ctl->resume_ev);
	SLIST_REMOVE(&controls, ctl, control, next);
	free(ctl);
}
