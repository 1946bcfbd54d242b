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
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTROL_TIMEOUT_S	10
#define CONTROL_MAX_HEADERS	8192
#define CONTROL_MAX_RESPONSE	(8 * 1024 * 1024)	/* --status reads */

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

/* --- mpsocks-local --status ------------------------------------------ */

static int
connect_to(const char *addr)
{
	struct addrinfo	 hints = { .ai_socktype = SOCK_STREAM }, *ai, *p;
	char		 host[256], port[8];
	uint16_t	 pn;
	int		 fd = -1;
	struct timeval	 tv = { CONTROL_TIMEOUT_S, 0 };

	if (!util_split_hostport(addr, host, sizeof(host), &pn))
		return -1;
	snprintf(port, sizeof(port), "%u", pn);
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	for (p = ai; p != NULL && fd == -1; p = p->ai_next) {
		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, p->ai_addr, p->ai_addrlen) == -1) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* GETs /api/status over fd; the whole answer, malloc'd and
 * NUL-terminated, or NULL with errno. */
static char *
fetch_status(int fd, const char *addr, const char *token, size_t *lenp)
{
	char	 req[512], *resp = NULL, *p;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 rl;

	rl = snprintf(req, sizeof(req), "GET /api/status HTTP/1.0\r\n"
	    "Host: %s\r\n%s%s%sConnection: close\r\n\r\n", addr,
	    token[0] ? "Authorization: Bearer " : "", token,
	    token[0] ? "\r\n" : "");
	if (rl < 0 || (size_t)rl >= sizeof(req) ||
	    write(fd, req, (size_t)rl) != rl)
		return NULL;
	do {
		if (len + 65536 + 1 > cap) {
			if (cap >= CONTROL_MAX_RESPONSE ||
			    (p = realloc(resp, cap + 65536 + 1)) == NULL) {
				free(resp);
				errno = cap ? EFBIG : ENOMEM;
				return NULL;
			}
			resp = p;
			cap += 65536 + 1;
		}
		if ((n = read(fd, resp + len, cap - len - 1)) > 0)
			len += (size_t)n;
	} while (n > 0);
	if (n == -1) {
		free(resp);
		return NULL;
	}
	resp[len] = '\0';
	*lenp = len;
	return resp;
}

int
control_print_status(const char *addr, const char *token)
{
	char	*resp, *body, *table;
	size_t	 len = 0;
	int	 fd, code = 0;

	if ((fd = connect_to(addr)) == -1) {
		fprintf(stderr, "mpsocks-local --status: cannot reach the "
		    "control port %s: %s (is mpsocks-local running? "
		    "[control] listen)\n", addr, strerror(errno));
		return 1;
	}
	resp = fetch_status(fd, addr, token, &len);
	close(fd);
	if (resp == NULL) {
		fprintf(stderr, "mpsocks-local --status: %s: %s\n", addr,
		    strerror(errno ? errno : EIO));
		return 1;
	}
	if (sscanf(resp, "HTTP/1.%*1[01] %3d", &code) != 1 ||
	    (body = strstr(resp, "\r\n\r\n")) == NULL) {
		fprintf(stderr, "mpsocks-local --status: %s did not answer "
		    "HTTP\n", addr);
		free(resp);
		return 1;
	}
	body += 4;
	if (code != 200) {
		fprintf(stderr, "mpsocks-local --status: %s answered %d%s\n",
		    addr, code, code == 401 ? " (set [control] token in the "
		    "file given with -c)" : "");
		free(resp);
		return 1;
	}
	table = status_table_render(body, len - (size_t)(body - resp));
	free(resp);
	if (table == NULL) {
		fprintf(stderr, "mpsocks-local --status: the answer is not "
		    "a status\n");
		return 1;
	}
	fputs(table, stdout);
	free(table);
	return 0;
}

int
control_status_command(struct config *cfg, const char *conf,
    const char *control_arg)
{
	if (conf != NULL && config_load_file(cfg, conf, daemon_config_err,
	    NULL) > 0)
		return EX_CONFIG_ERR;
	if (control_arg != NULL && !config_set(cfg, "control.listen",
	    control_arg, daemon_config_err, NULL))
		return EX_CONFIG_ERR;
	if (cfg->control_listen[0] == '\0') {
		fprintf(stderr, "mpsocks-local --status: the control port is "
		    "off ([control] listen = off)\n");
		return 1;
	}
	return control_print_status(cfg->control_listen, cfg->control_token);
}
