#ifndef MPSOCKS_TUNNEL_CLIENT_H
#define MPSOCKS_TUNNEL_CLIENT_H

/*
 * The home end of the tunnel: one MPTCP connection to the concentrator
 * per proxied connection, carrying an authenticated request header.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "proto/target.h"
#include "proto/tunnel_proto.h"

struct bufferevent;
struct config_uplinks;
struct event_base;
struct monitor;
struct tunnel_client;
struct tunnel_open;

/*
 * Called once with the concentrator's status (the SOCKS5 reply code to
 * give the app). On REPLY_OK, bev is the open tunnel and the callee
 * owns it; otherwise bev is NULL and why says what went wrong.
 */
typedef void tunnel_open_cb(void *arg, enum reply_code status,
	    struct bufferevent *bev, const char *why);

/* Resolves the concentrator's address now (blocking, at start-up). */
/* ups (may be NULL) are the uplinks a stalled open races on; mon (may
 * be NULL) hears how each open went. Both must outlive the client. */
struct tunnel_client	*tunnel_client_new(struct event_base *,
			    const struct config *,
			    const struct config_uplinks *ups,
			    const struct tunnel_key *, struct monitor *mon);
void			 tunnel_client_free(struct tunnel_client *);
/* Starts opening a tunnel to t; NULL if that failed at once. */
struct tunnel_open	*tunnel_open(struct tunnel_client *,
			    const struct target *, tunnel_open_cb *,
			    void *arg);
/* Abandons an open in progress; its callback will not run. */
void			 tunnel_open_cancel(struct tunnel_open *);

#endif
