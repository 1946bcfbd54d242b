#ifndef MPSOCKS_REPLAY_H
#define MPSOCKS_REPLAY_H

/*
 * Replay protection for tunnel requests: a timestamp window plus a cache of
 * the nonces seen inside it. Memory is fixed at creation; when the cache is
 * full, requests are refused rather than risk a replay slipping through.
 * Pure: the caller passes the clock.
 */

#include <stddef.h>
#include <stdint.h>

struct replay;

enum replay_result {
	REPLAY_OK,		/* fresh: the nonce is now remembered */
	REPLAY_STALE,		/* timestamp outside now +- window */
	REPLAY_SEEN,		/* nonce already used */
	REPLAY_FULL,		/* too many requests in one window */
};

/* capacity: nonces remembered per window. NULL on allocation failure. */
struct replay	*replay_new(size_t capacity, uint64_t window_ms);
void		 replay_free(struct replay *);
enum replay_result replay_check(struct replay *, const uint8_t nonce[16],
		    uint64_t timestamp_ms, uint64_t now_ms);
const char	*replay_result_str(enum replay_result);

#endif
