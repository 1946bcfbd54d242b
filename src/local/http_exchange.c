/*
 * One HTTP exchange through the proxy (http_session_int.h): the request
 * body framed and passed on, the origin's response head rewritten
 * (proto/http_response.h), its body framed, and what the end of either
 * side means for the session: the next request, a close, or a 502.
 */

#include "local/http_session_int.h"
#include "local/monitor.h"
#include "proto/http_proxy.h"
#include "proto/http_response.h"
#include "common/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

/* The exchange is over when both messages are. */
static void
hs_check_done(struct http_session *hs)
{
	if (!hs->req_done || !hs->resp_done)
		return;
	hs->requests++;
	log_info("s=%08x event=http status=%d target=%s", hs->id,
	    hs->status, hs->target_str);
	if (!hs->origin_keep)
		hs_drop_up(hs);
	if (!hs->keep_alive || !hs->resp_self_delimited || hs->app_eof) {
		hs_close_after_flush(hs);
		return;
	}
	hs_next(hs);
}

/*
 * Moves what the framing b says is its body from in to out, without
 * linearising in. Returns the framing's verdict; *n: bytes moved.
 */
static enum parse_result
hs_body_move(struct http_body *b, struct evbuffer *in, struct evbuffer *out,
    size_t *n)
{
	struct evbuffer_iovec	 v[16];
	struct evbuffer_ptr	 pos;
	enum parse_result	 r = b->done ? PARSE_OK : PARSE_NEED_MORE;
	size_t			 used;
	int			 nv;

	*n = 0;
	while (r == PARSE_NEED_MORE && *n < evbuffer_get_length(in)) {
		evbuffer_ptr_set(in, &pos, *n, EVBUFFER_PTR_SET);
		nv = evbuffer_peek(in, -1, &pos, v, (int)NELEM(v));
		for (int i = 0; i < MIN(nv, (int)NELEM(v)) &&
		    r == PARSE_NEED_MORE; i++) {
			r = http_body_feed(b, v[i].iov_base, v[i].iov_len,
			    &used);
			*n += used;
		}
	}
	if (*n > 0 && evbuffer_remove_buffer(in, out, *n) != (int)*n)
		return PARSE_ERROR;
	return r;
}

/* Moves request body bytes the framing says are ours to the origin. */
void
hs_pump_request(struct http_session *hs)
{
	struct evbuffer	*in = bufferevent_get_input(hs->app);
	size_t		 n;
	enum parse_result r;

	if (hs->req_done || evbuffer_get_length(in) == 0)
		return;
	r = hs_body_move(&hs->reqb, in, bufferevent_get_output(hs->up), &n);
	if (r == PARSE_ERROR) {
		hs_fail(hs, 400, hs->reqb.why != NULL ? hs->reqb.why :
		    "out of memory");
		return;
	}
	hs->req_done = r == PARSE_OK;
	if (hs->req_done)
		bufferevent_disable(hs->app, EV_READ);	/* next one waits */
	else if (evbuffer_get_length(bufferevent_get_output(hs->up)) >=
	    HS_HIGH_WM)
		bufferevent_disable(hs->app, EV_READ);
	hs_check_done(hs);
}

/*
 * Feeds the bytes of in not yet seen to the head seeker: true when a
 * head parser should look (a head may be complete, or is malformed, or
 * max bytes are in). Each byte is looked at once however the head
 * trickles in; nothing is linearised or allocated before that.
 */
bool
hs_head_ready(struct http_head_seek *s, struct evbuffer *in, size_t max)
{
	struct evbuffer_iovec	v[16];
	struct evbuffer_ptr	pos;
	size_t			len = MIN(evbuffer_get_length(in), max);
	int			nv;

	while (s->off < len) {
		evbuffer_ptr_set(in, &pos, s->off, EVBUFFER_PTR_SET);
		nv = evbuffer_peek(in, (ssize_t)(len - s->off), &pos, v,
		    (int)NELEM(v));
		for (int i = 0; i < MIN(nv, (int)NELEM(v)); i++)
			if (http_head_seek(s, v[i].iov_base,
			    MIN(v[i].iov_len, len - s->off)))
				return true;
	}
	return len >= max;
}

/* The origin's response head: rewritten, then the body is relayed. */
static bool
hs_response_head(struct http_session *hs, struct evbuffer *in)
{
	size_t				 len = MIN(evbuffer_get_length(in),
					    HS_RESP_HEAD_MAX), outn;
	char				*out;
	struct http_response_info	 info;
	enum parse_result		 r;
	const uint8_t			*buf;

	if (!hs_head_ready(&hs->rseek, in, HS_RESP_HEAD_MAX))
		return false;
	buf = evbuffer_pullup(in, (ssize_t)len);
	if ((out = malloc(len + 256)) == NULL) {
		hs_fail(hs, 502, "out of memory");
		return false;
	}
	r = http_response_rewrite(buf, len, HS_RESP_HEAD_MAX,
	    (hs->is_head ? HTTP_RESP_HEAD : 0) |
	    (hs->keep_alive ? HTTP_RESP_KEEP : 0) |
	    (hs->upgrade_asked ? HTTP_RESP_UPGRADE : 0), out, len + 256,
	    &outn, &info);
	if (r == PARSE_NEED_MORE) {
		free(out);
		return false;
	}
	if (r != PARSE_OK) {
		free(out);
		hs_fail(hs, 502, "bad response head from the origin");
		return false;
	}
	hs->status = info.status;
	hs->answered = true;
	if (bufferevent_write(hs->app, out, outn) == -1) {
		free(out);
		hs_free(hs, "out of memory", true);
		return false;
	}
	free(out);
	hs->down_bytes += info.used;
	if (info.upgrade) {		/* a WebSocket: now a plain tunnel */
		struct bufferevent *up = hs->up;

		evbuffer_drain(in, info.used);
		hs->up = NULL;		/* the relay's, record and all */
		hs->requests++;
		hs_hand_over(hs, hs->app, up);
		return false;
	}
	evbuffer_drain(in, info.used);
	memset(&hs->rseek, 0, sizeof(hs->rseek));	/* offsets moved */
	if (info.informational)		/* 100 Continue: the real one follows */
		return true;
	hs->resp_head_done = true;
	hs->resp_self_delimited = info.self_delimited;
	hs->origin_keep = info.origin_keep_alive;
	http_body_init(&hs->respb, info.body, info.length);
	hs->resp_done = hs->respb.done;
	return true;
}

static void
hs_pump_response(struct http_session *hs)
{
	struct evbuffer	*in = bufferevent_get_input(hs->up);
	size_t		 n;

	while (!hs->resp_head_done && evbuffer_get_length(in) > 0)
		if (!hs_response_head(hs, in))
			return;		/* needs more, or hs is gone */
	if (!hs->resp_done && evbuffer_get_length(in) > 0) {
		enum parse_result r = hs_body_move(&hs->respb, in,
		    bufferevent_get_output(hs->app), &n);

		hs->down_bytes += n;
		if (r == PARSE_ERROR) {	/* the head is out: only a close */
			log_info("s=%08x event=http_fail target=%s why=\"%s\"",
			    hs->id, hs->target_str, hs->respb.why != NULL ?
			    hs->respb.why : "out of memory");
			hs_free(hs, "bad response body", true);
			return;
		}
		hs->resp_done = r == PARSE_OK;
	}
	if (hs->resp_done && evbuffer_get_length(in) > 0)
		hs->origin_keep = false;	/* bytes beyond the response */
	if (evbuffer_get_length(bufferevent_get_output(hs->app)) >=
	    HS_HIGH_WM)
		bufferevent_disable(hs->up, EV_READ);
	hs_check_done(hs);
}

static void
hs_up_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	hs_arm(hs, hs->cfg->idle_timeout);
	if (hs->state != HS_EXCHANGE) {	/* an idle origin said something */
		hs_drop_up(hs);
		return;
	}
	hs_pump_response(hs);
}

static void
hs_up_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	if (hs->state == HS_EXCHANGE && !hs->req_done && !hs->app_eof)
		bufferevent_enable(hs->app, EV_READ);
}

void
hs_app_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	if (hs->state == HS_EXCHANGE && hs->up != NULL && !hs->resp_done)
		bufferevent_enable(hs->up, EV_READ);
}

static void
hs_up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_session	*hs = arg;

	(void)bev;
	if (hs->state != HS_EXCHANGE) {	/* an idle origin went away */
		hs_drop_up(hs);
		return;
	}
	if ((what & BEV_EVENT_EOF) && hs->resp_head_done && !hs->resp_done) {
		/* a body that ends with the connection */
		hs->origin_keep = false;
		hs_drop_up(hs);
		if (hs->respb.kind == HTTP_BODY_CLOSE) {
			hs->resp_done = true;
			hs->req_done = true;	/* nowhere to send */
			hs_check_done(hs);
			return;
		}
		if (hs->answered) {	/* cut short: the app must see it */
			hs_free(hs, "origin closed mid-body", true);
			return;
		}
	}
	hs_fail(hs, 502, what & BEV_EVENT_EOF ? "origin closed early" :
	    "origin connection error");
}

/* Sends the rewritten head, then relays both ways. */
void
hs_start_exchange(struct http_session *hs)
{
	hs_set_state(hs, HS_EXCHANGE);
	bufferevent_setcb(hs->up, hs_up_read_cb, hs_up_write_cb,
	    hs_up_event_cb, hs);
	bufferevent_setwatermark(hs->up, EV_WRITE, HS_LOW_WM, 0);
	/* (gone already if it left with the tunnel's request) */
	if (hs->head != NULL) {
		if (bufferevent_write(hs->up, hs->head, hs->head_len) == -1) {
			hs_fail(hs, 502, "out of memory");
			return;
		}
		hs->up_bytes += hs->head_len;
		free(hs->head);
		hs->head = NULL;
	}
	bufferevent_enable(hs->up, EV_READ | EV_WRITE);
	/* a request without a body is whole: what the app pipelines after it
	 * waits, up to a cap, until this exchange is over */
	bufferevent_setwatermark(hs->app, EV_READ, 0,
	    hs->req_done ? HS_HIGH_WM : 0);
	bufferevent_enable(hs->app, EV_READ | EV_WRITE);
	hs_arm(hs, hs->cfg->idle_timeout);
	/* the origin's first bytes may have come with the tunnel's answer
	 * (the concentrator sends them together): no read event will say
	 * so */
	if (evbuffer_get_length(bufferevent_get_input(hs->up)) > 0)
		bufferevent_trigger(hs->up, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	hs_pump_request(hs);		/* body bytes already here */
}
