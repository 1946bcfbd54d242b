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

#include <stddef.h>
#include <stdint.h>

struct config;
struct config_uplinks;
struct event_base;
struct uplink_kstate;	/* src/local/uplink_kernel.h */
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
/* The routing table of the i-th configured uplink. */
uint32_t	 uplinks_table_of(const struct config *, size_t i);
/*
 * What bonding over ups lacks in the kernel state ks: one line per gap,
 * each ending in a newline, into out (NUL-terminated, cut to outlen).
 * Returns the number of gaps, 0 if ready for bonding.
 */
int		 uplinks_gaps(const struct config_uplinks *ups,
		    const struct uplink_kstate *ks, char *out, size_t outlen);

#endif
