#ifndef MPSOCKS_PREAUTH_H
#define MPSOCKS_PREAUTH_H

/*
 * Admission control for connections that have not authenticated yet, so
 * that silent sockets from a prober cannot use up max_connections. A
 * budget, separate from max_connections: a total cap with random early
 * drop below it (OpenSSH's MaxStartups start:rate:full), and a cap per
 * source, an IPv4 /32 (IPv4-mapped IPv6 counts as IPv4) or an IPv6 /64.
 * Pure: the caller passes the random number; no allocation after
 * preauth_new().
 *
 * The caller admits on accept and releases exactly once per ADMIT, with
 * the same address, when the connection authenticates or closes.
 *
 * Per-source counts live in an open-addressing table of 2 * sources
 * slots (power of two, 16 bytes each), rounded up: 64 KiB by default.
 * A source with no connection left has no entry. When `sources`
 * distinct sources hold connections, a new source is refused
 * (PREAUTH_DROP_TABLE: fail closed, no eviction); with sources >= total,
 * the default, that cannot happen before the total cap is reached.
 * Slots are placed by a hash mixed with the caller's secret seed, so a
 * prober cannot easily choose addresses that pile into one run of slots;
 * at worst a look-up walks the table once.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct preauth;

/* Defaults, the same as the config keys' (common/config.c): a home's
 * burst of new tunnels, pre-auth for a round trip, must fit one source's
 * share (the conns bench opens 200 at once). */
#define PREAUTH_TOTAL		2048	/* pre-auth connections in all */
#define PREAUTH_EARLY_START	1024	/* random early drop from here */
#define PREAUTH_EARLY_RATE	30	/* % dropped at early_start */
#define PREAUTH_PER_V4		256	/* per source IPv4 address */
#define PREAUTH_PER_V6		256	/* per source IPv6 /64 */
#define PREAUTH_SOURCES		PREAUTH_TOTAL	/* distinct sources */

#define PREAUTH_MAX		(1u << 20)	/* bound of total, sources */

struct preauth_limits {
	/* 1..PREAUTH_MAX; at `total` every new connection is dropped */
	unsigned	total;
	/* 0..total: below, admit all; from it to total, drop with a
	 * probability rising linearly from early_rate % to 100 %;
	 * early_start == total turns early drop off */
	unsigned	early_start;
	unsigned	early_rate;	/* 0..100 */
	unsigned	per_v4, per_v6;	/* 1..total */
	unsigned	sources;	/* 1..PREAUTH_MAX */
};

enum preauth_verdict {
	PREAUTH_ADMIT,
	PREAUTH_DROP_TOTAL,	/* the total cap is reached */
	PREAUTH_DROP_EARLY,	/* random early drop near it */
	PREAUTH_DROP_SOURCE,	/* this /32 or /64 is at its cap, or the
				 * address is neither IPv4 nor IPv6 */
	PREAUTH_DROP_TABLE,	/* a new source, and the table is full */
};

/* The defaults above. */
void		 preauth_limits_default(struct preauth_limits *);

/*
 * Copies the limits. seed keys the table's hash (util_random() it).
 * NULL if a limit is out of its range or on allocation failure.
 */
struct preauth	*preauth_new(const struct preauth_limits *, uint64_t seed);
void		 preauth_free(struct preauth *);

/*
 * Counts a new connection from sa against the budget, or refuses it.
 * random: uniform over 0..UINT32_MAX, used only for early drop. Checks
 * in order: family (SOURCE), total, source cap, table, early drop.
 * Nothing is counted unless the verdict is PREAUTH_ADMIT.
 */
enum preauth_verdict preauth_admit(struct preauth *, const struct sockaddr *sa,
		    uint32_t random);

/*
 * Gives back what preauth_admit() counted for sa. Returns false, and
 * changes nothing, if sa's source holds no connection (never admitted,
 * released twice, or not IPv4/IPv6): counts never go below 0.
 */
bool		 preauth_release(struct preauth *, const struct sockaddr *sa);

/* Connections counted now, in all. */
unsigned	 preauth_count(const struct preauth *);

/* For the logs: "admit", "preauth_total", "preauth_early",
 * "preauth_source", "preauth_table_full". */
const char	*preauth_verdict_str(enum preauth_verdict);

#endif
