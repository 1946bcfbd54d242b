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
struct pool;
struct sockaddr_storage;
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
/*
 * Starts opening a tunnel to t: a ready one from the warm pool if there
 * is one (a hit), else a new connection (a miss). With TUNNEL_OPEN_HOLD
 * the request waits for tunnel_open_send(), so that the app's first
 * bytes leave in the same write. NULL if that failed at once.
 */
#define TUNNEL_OPEN_HOLD	0x1
struct tunnel_open	*tunnel_open(struct tunnel_client *,
			    const struct target *, unsigned flags,
			    tunnel_open_cb *, void *arg);
/* A held open's request goes, with early (up to TUNNEL_EARLY_MAX bytes,
 * copied; may be empty) right behind it. False if o was not held, early
 * is longer, or the write failed (the open then fails through its
 * callback or timeout). */
bool			 tunnel_open_send(struct tunnel_open *,
			    const void *early, size_t len);
/* Abandons an open in progress; its callback will not run. */
void			 tunnel_open_cancel(struct tunnel_open *);

/* For the warm pool (pool.h): a new v2 connection, preamble and
 * ClientHello on their way, still handshaking; NULL on failure. */
struct bufferevent	*tunnel_client_dial(struct tunnel_client *,
			    const struct sockaddr_storage *src, bool tfo,
			    bool *mptcp, bool *used_tfo);
/* An address of ifname in family that none of the n in used has. */
bool			 tunnel_uplink_source(const char *ifname, int family,
			    const struct sockaddr_storage *used, size_t n,
			    struct sockaddr_storage *out);
struct pool		*tunnel_client_pool(struct tunnel_client *);
const struct config_uplinks *tunnel_client_uplinks(
			    const struct tunnel_client *);
int			 tunnel_client_family(const struct tunnel_client *);

#endif
