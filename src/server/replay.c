/*
 * Nonce cache in three generations of one window each, cleared wholesale
 * as they age. A request is accepted only if its timestamp is within the
 * window of now, so a replay is possible for at most 2 windows after the
 * nonce was first seen; three generations keep every nonce at least that
 * long. Open addressing with linear probing; an all-zero slot is empty.
 */

#include "server/replay.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define GENS	3

struct gen {
	uint64_t	 id;		/* now_ms / window when filled */
	size_t		 count;
	uint8_t		(*slots)[16];
};

struct replay {
	uint64_t	window_ms;
	size_t		capacity, nslots;	/* nslots: power of two */
	struct gen	gen[GENS];
};

struct replay *
replay_new(size_t capacity, uint64_t window_ms)
{
	struct replay	*r;
	size_t		 nslots = 16;

	if (capacity == 0 || capacity > (1u << 26) || window_ms == 0)
		return NULL;
	while (nslots < capacity * 2)
		nslots <<= 1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->window_ms = window_ms;
	r->capacity = capacity;
	r->nslots = nslots;
	for (int i = 0; i < GENS; i++) {
		r->gen[i].id = UINT64_MAX;
		if ((r->gen[i].slots = calloc(nslots, 16)) == NULL) {
			replay_free(r);
			return NULL;
		}
	}
	return r;
}

void
replay_free(struct replay *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < GENS; i++)
		free(r->gen[i].slots);
	free(r);
}

static size_t
slot_of(const struct replay *r, const uint8_t nonce[16])
{
	uint64_t	h;

	/* Nonces are random and only looked at after the MAC checked. */
	memcpy(&h, nonce, sizeof(h));
	return (size_t)(h ^ h >> 29) & (r->nslots - 1);
}

/* Returns true if found; else *free_slot is where it would go. */
static bool
gen_find(const struct replay *r, const struct gen *g, const uint8_t n[16],
    size_t *free_slot)
{
	static const uint8_t	zero[16];
	size_t			i = slot_of(r, n);

	for (;;) {
		if (memcmp(g->slots[i], zero, 16) == 0) {
			*free_slot = i;
			return false;
		}
		if (memcmp(g->slots[i], n, 16) == 0)
			return true;
		i = (i + 1) & (r->nslots - 1);
	}
}

enum replay_result
replay_check(struct replay *r, const uint8_t nonce[16],
    uint64_t timestamp_ms, uint64_t now_ms)
{
	static const uint8_t	 zero[16];
	uint64_t		 cur = now_ms / r->window_ms;
	struct gen		*g;
	size_t			 slot;

	if (timestamp_ms + r->window_ms < now_ms ||
	    timestamp_ms > now_ms + r->window_ms)
		return REPLAY_STALE;
	if (memcmp(nonce, zero, 16) == 0)	/* our "empty" marker */
		return REPLAY_SEEN;
	for (uint64_t k = 0; k < GENS && k <= cur; k++) {
		g = &r->gen[(cur - k) % GENS];
		if (g->id != cur - k)
			continue;	/* stale or never filled */
		if (gen_find(r, g, nonce, &slot))
			return REPLAY_SEEN;
	}
	g = &r->gen[cur % GENS];
	if (g->id != cur) {
		memset(g->slots, 0, r->nslots * 16);
		g->count = 0;
		g->id = cur;
	}
	if (g->count >= r->capacity)
		return REPLAY_FULL;
	gen_find(r, g, nonce, &slot);
	memcpy(g->slots[slot], nonce, 16);
	g->count++;
	return REPLAY_OK;
}

const char *
replay_result_str(enum replay_result res)
{
	switch (res) {
	case REPLAY_OK:
		return "ok";
	case REPLAY_STALE:
		return "stale_timestamp";
	case REPLAY_SEEN:
		return "replay";
	case REPLAY_FULL:
		return "replay_cache_full";
	}
	return "?";
}
