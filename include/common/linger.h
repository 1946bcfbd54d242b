#ifndef MPSOCKS_LINGER_H
#define MPSOCKS_LINGER_H

/*
 * The end of a connection that got a last answer (an error reply, a
 * final response) or none (a failed authentication). Closing while the
 * peer's bytes sit unread makes the kernel reset the connection, which
 * can destroy the answer just written; so the answer is flushed, a FIN
 * follows it, and the peer's bytes are read and dropped until it closes.
 */

#include <event2/bufferevent.h>

/*
 * Flushes bev's output, then shuts its sending side; reads and discards
 * until event_cb(bev, EOF or ERROR, arg) reports the peer gone. The
 * caller's timer bounds the wait.
 */
void	linger_start(struct bufferevent *, bufferevent_event_cb, void *arg);
/* Reads and discards, sending nothing, until event_cb fires. */
void	linger_drain(struct bufferevent *, bufferevent_event_cb, void *arg);

#endif
