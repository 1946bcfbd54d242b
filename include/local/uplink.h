#ifndef MPSOCKS_UPLINK_H
#define MPSOCKS_UPLINK_H

/*
 * Uplinks that set themselves up (docs/uplinks.md). With CAP_NET_ADMIN
 * and manage_uplinks = yes, mpsocks-local gives each [uplink] a routing
 * table with a default route, a source rule per address and an MPTCP
 * endpoint per address, raises the MPTCP limits, follows the kernel's
 * changes, and removes what it made on exit. Otherwise it changes
 * nothing and logs what bonding lacks. How it recognises its own
 * entries (UPLINK_RTPROT, UPLINK_EP_ID_*): src/local/uplink_kernel.h.
 */

#include <stdio.h>

struct config;
struct config_uplinks;
struct event_base;
struct uplinks;		/* opaque */

/*
 * Sets up (or, unprivileged, checks) cfg's uplinks and follows changes on
 * base. NULL when cfg has no uplinks or netlink is unusable (logged).
 * cfg must outlive the result.
 */
struct uplinks	*uplinks_start(struct event_base *, const struct config *,
		    const struct config_uplinks *);
/* Removes what was set up (never anything else) and frees. NULL is ok. */
void		 uplinks_stop(struct uplinks *);
/* One-shot status for --uplinks, read from the kernel. Returns 0, or 1
 * if the kernel could not be asked. */
int		 uplinks_print_status(const struct config *,
		    const struct config_uplinks *, FILE *);

#endif
