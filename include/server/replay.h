#ifndef MPSOCKS_REPLAY_H
#define MPSOCKS_REPLAY_H

/*
 * Replay protection for tunnel requests: a timestamp window, a freshness
 * floor, and a cache of the nonces seen, with a share of it per key.
 * Pure: the caller passes both clocks (wall time for the timestamps,
 * monotonic time for the cache's ageing) and the key's index.
 *
 * A header is accepted once, and refused at every later moment, by one of:
 *  - REPLAY_SEEN: its nonce is in the cache. The cache ages on the
 *    monotonic clock (three generations of one window each), so a
 *    wall-clock step forgets nothing early: a nonce is kept for at least
 *    two windows of elapsed time.
 *  - REPLAY_FLOOR: its timestamp is below the floor, the largest of
 *     . the wall time at start: nonces seen before a restart are lost,
 *       but their headers were made before the start and are refused;
 *     . the highest wall time seen, less one window: a wall clock set
 *       back does not make old headers fresh again;
 *     . one more than the highest timestamp of any generation forgotten:
 *       a generation is dropped only after the floor has passed every
 *       timestamp in it, so a forgotten nonce can never be accepted
 *       again, whatever the wall clock did meanwhile. (The high-water
 *       mark alone leaves a hole: set the clock back by two windows just
 *       after a header is accepted, and two windows later its nonce is
 *       forgotten while its timestamp is inside both the window and the
 *       high-water floor.)
 *  - REPLAY_STALE: |timestamp - now_wall| > window, as before.
 * Nothing is persisted: the start floor replaces the cache a restart
 * loses. What it relies on: the wall clock at start is not behind the
 * wall clock before the restart (systemd-timesyncd keeps it so across
 * reboots), and client clocks are not ahead of ours by more than the
 * restart took (a header stamped in our future before the restart is
 * above the start floor). Pass start_wall_ms + window_ms to close even
 * that, at the price of refusing clients stamped before it for the first
 * window.
 *
 * Per-key fairness: each generation holds `capacity` nonces. Half of it
 * is reserved, capacity / (2 * n_keys) per key; the rest is a pool that
 * any key draws on, first come first served, once its reserve is used.
 * A key that has used its reserve while the pool is empty gets
 * REPLAY_FULL (fail closed: nothing is evicted) and the other keys keep
 * their reserves. With one key it has the whole capacity. With more
 * than capacity / 2 keys the reserves are 0 and all is pool: raise
 * replay_cache.
 *
 * Memory is fixed at creation: 3 * 2 * capacity * 16 bytes of nonces
 * (96 bytes per unit of capacity; capacity rounded up so the table is a
 * power of two) plus 3 * REPLAY_MAX_KEYS * 4 bytes of counters (48 KiB).
 */

#include <stddef.h>
#include <stdint.h>

#define REPLAY_MAX_KEYS		4096	/* >= KEYFILE_MAX_KEYS, checked */
#define REPLAY_MAX_CAPACITY	(1u << 26)

struct replay;

enum replay_result {
	REPLAY_OK,		/* fresh: the nonce is now remembered */
	REPLAY_STALE,		/* timestamp outside now_wall +- window */
	REPLAY_SEEN,		/* nonce already used */
	REPLAY_FULL,		/* this key's share of this window is used,
				 * or key_index >= n_keys */
	REPLAY_FLOOR,		/* timestamp below the floor (see above) */
};

/*
 * capacity: nonces per window, all keys together (1..REPLAY_MAX_CAPACITY);
 * n_keys: 1..REPLAY_MAX_KEYS; start_*: both clocks when the process
 * started. NULL on a bad argument or allocation failure.
 */
struct replay	*replay_new(size_t capacity, uint64_t window_ms,
		    size_t n_keys, uint64_t start_wall_ms,
		    uint64_t start_mono_ms);
void		 replay_free(struct replay *);

/*
 * After a key reload: key indexes 0..n_keys-1 from now on. Indexes may
 * name other keys than before, so the counts per key restart at 0 and
 * the nonces already remembered count against the pool until they age
 * out; no nonce is forgotten and the total stays within capacity.
 * Returns -1 (nothing changed) if n_keys is 0 or > REPLAY_MAX_KEYS.
 */
int		 replay_set_keys(struct replay *, size_t n_keys);

/*
 * Checks a request whose MAC verified under key key_index and, if it is
 * fresh, remembers its nonce. The order of the checks: STALE, FLOOR,
 * SEEN (the all-zero nonce counts as seen), FULL.
 */
enum replay_result replay_check(struct replay *, size_t key_index,
		    const uint8_t nonce[16], uint64_t timestamp_ms,
		    uint64_t now_wall_ms, uint64_t now_mono_ms);

/* For the logs: "ok", "stale_timestamp", "replay", "replay_cache_full",
 * "before_floor". */
const char	*replay_result_str(enum replay_result);

#endif
