/* Closing a connection without losing its last answer; see linger.h. */

#include "common/linger.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

static void
linger_discard_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The answer is in the kernel: FIN after it. */
static void
linger_flushed_cb(struct bufferevent *bev, void *arg)
{
	SSL	*ssl;

	(void)arg;
	/* a deferred write callback queued before the answer was written
	 * can run now: the FIN must wait for the next one */
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if ((ssl = bufferevent_openssl_get_ssl(bev)) != NULL)
		(void)SSL_shutdown(ssl);	/* close_notify, then the FIN */
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	bufferevent_disable(bev, EV_WRITE);
}

void
linger_start(struct bufferevent *bev, bufferevent_event_cb event_cb,
    void *arg)
{
	bufferevent_setcb(bev, linger_discard_cb, linger_flushed_cb,
	    event_cb, arg);
	/* the write callback then fires only once the output is empty */
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		linger_flushed_cb(bev, arg);
}

void
linger_drain(struct bufferevent *bev, bufferevent_event_cb event_cb,
    void *arg)
{
	bufferevent_setcb(bev, linger_discard_cb, NULL, event_cb, arg);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_enable(bev, EV_READ);
	linger_discard_cb(bev, arg);
}
