/*
 * The control port on evhttp. Request rules (routes, bearer token, Host
 * check) are in control_proto.c; this file glues them to libevent.
 * /metrics and /api/status need the token when one is configured; the
 * dashboard page itself holds no data and is always served, its script
 * then asks for the token.
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
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CONTROL_TIMEOUT_S	10
#define CONTROL_MAX_HEADERS	8192

struct control {
	struct evhttp		*http;
	const struct config	*cfg;
	control_status_fn	*status;
	void			*arg;
	struct log_rl		 rl;
};

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
request_cb(struct evhttp_request *req, void *arg)
{
	struct control		*ctl = arg;
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*uri = evhttp_request_get_uri(req);
	enum control_route	 r;

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
	struct control	*ctl;
	char		 host[256];
	uint16_t	 port;

	if (!util_split_hostport(cfg->control_listen, host, sizeof(host),
	    &port))
		return NULL;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
		return NULL;
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
	if (evhttp_bind_socket(ctl->http, host, port) == -1) {
		log_warn("control port %s", cfg->control_listen);
		goto fail;
	}
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
	if (ctl == NULL)
		return;
	if (ctl->http != NULL)
		evhttp_free(ctl->http);
	free(ctl);
}
