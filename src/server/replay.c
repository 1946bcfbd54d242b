/*
 * Nonce cache in three generations of one window of monotonic time each,
 * cleared wholesale as they age, and the freshness floor that makes
 * forgetting safe (the argument is in replay.h). A nonce is kept from the
 * moment it is accepted to the start of the third generation after its
 * own: at least two windows. Open addressing with linear probing; an
 * all-zero slot is empty. The table has twice the capacity's slots and a
 * generation never holds more than the capacity, so a probe ends.
 */

#include "server/replay.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/keyfile.h"
#include "proto/util.h"

_Static_assert(REPLAY_MAX_KEYS >= KEYFILE_MAX_KEYS,
    "every key of a key file needs a share");

#define GENS		3
#define GEN_EMPTY	UINT64_MAX

struct gen {
	uint64_t	 id;		/* monotonic windows since start */
	uint64_t	 max_ts;	/* highest timestamp accepted in it */
	size_t		 total;		/* nonces in it */
	size_t		 reserved_used;	/* of those, from the reserves */
	uint32_t	*count;		/* per key, REPLAY_MAX_KEYS */
	uint8_t		(*slots)[16];
};

struct replay {
	uint64_t	window_ms;
	size_t		capacity, nslots;	/* nslots: power of two */
	size_t		n_keys, reserve, pool;	/* per key; shared */
	uint64_t	start_mono, last_gen;
	uint64_t	floor_start;		/* wall time at start */
	uint64_t	floor_forgot;		/* max forgotten ts + 1 */
	uint64_t	high_wall;		/* highest now_wall seen */
	struct gen	gen[GENS];
};

static void
replay_shares(struct replay *r, size_t n_keys)
{
	r->n_keys = n_keys;
	r->reserve = r->capacity / (2 * n_keys);
	r->pool = r->capacity - r->reserve * n_keys;
}

struct replay *
replay_new(size_t capacity, uint64_t window_ms, size_t n_keys,
    uint64_t start_wall_ms, uint64_t start_mono_ms)
{
	struct replay	*r;
	size_t		 nslots = 16;

	if (capacity == 0 || capacity > REPLAY_MAX_CAPACITY ||
	    window_ms == 0 || n_keys == 0 || n_keys > REPLAY_MAX_KEYS)
		return NULL;
	while (nslots < capacity * 2)
		nslots <<= 1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->window_ms = window_ms;
	r->capacity = capacity;
	r->nslots = nslots;
	replay_shares(r, n_keys);
	r->start_mono = start_mono_ms;
	r->floor_start = start_wall_ms;
	r->high_wall = start_wall_ms;
	for (int i = 0; i < GENS; i++) {
		r->gen[i].id = GEN_EMPTY;
		r->gen[i].slots = calloc(nslots, 16);
		r->gen[i].count = calloc(REPLAY_MAX_KEYS, sizeof(uint32_t));
		if (r->gen[i].slots == NULL || r->gen[i].count == NULL) {
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
	for (int i = 0; i < GENS; i++) {
		free(r->gen[i].slots);
		free(r->gen[i].count);
	}
	free(r);
}

int
replay_set_keys(struct replay *r, size_t n_keys)
{
	if (n_keys == 0 || n_keys > REPLAY_MAX_KEYS)
		return -1;
	replay_shares(r, n_keys);
	for (int i = 0; i < GENS; i++) {
		memset(r->gen[i].count, 0, REPLAY_MAX_KEYS * sizeof(uint32_t));
		r->gen[i].reserved_used = 0;	/* all now counts as pool */
	}
	return 0;
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

/*
 * Moves to the generation of now_mono (never backwards) and forgets the
 * generations that are more than two behind it, raising the floor past
 * their timestamps first. Returns the current generation's id.
 */
static uint64_t
replay_age(struct replay *r, uint64_t now_mono)
{
	uint64_t	 cur = 0;
	struct gen	*g;

	if (now_mono > r->start_mono)
		cur = (now_mono - r->start_mono) / r->window_ms;
	if (cur < r->last_gen)
		cur = r->last_gen;	/* a caller's clock went back */
	r->last_gen = cur;
	for (int i = 0; i < GENS; i++) {
		g = &r->gen[i];
		if (g->id == GEN_EMPTY || g->id + GENS > cur)
			continue;
		if (g->total > 0 && g->max_ts + 1 > r->floor_forgot)
			r->floor_forgot = g->max_ts + 1;
		memset(g->slots, 0, r->nslots * 16);
		memset(g->count, 0, REPLAY_MAX_KEYS * sizeof(uint32_t));
		g->total = g->reserved_used = 0;
		g->max_ts = 0;
		g->id = GEN_EMPTY;
	}
	return cur;
}

static uint64_t
replay_floor(const struct replay *r)
{
	uint64_t	f = r->floor_start;

	if (r->high_wall >= r->window_ms)
		f = MAX(f, r->high_wall - r->window_ms);
	return MAX(f, r->floor_forgot);
}

/* Whether key k may add a nonce to g: its reserve, else the pool. */
static bool
gen_admit(const struct replay *r, const struct gen *g, size_t k)
{
	if (g->total >= r->capacity)	/* whatever the shares say */
		return false;
	if (g->count[k] < r->reserve)
		return true;
	return g->total - g->reserved_used < r->pool;
}

static void
gen_add(struct replay *r, struct gen *g, size_t k, size_t slot,
    const uint8_t nonce[16], uint64_t ts)
{
	if (g->count[k] < r->reserve)
		g->reserved_used++;
	g->count[k]++;
	g->total++;
	if (ts > g->max_ts)
		g->max_ts = ts;
	memcpy(g->slots[slot], nonce, 16);
}

enum replay_result
replay_check(struct replay *r, size_t key_index, const uint8_t nonce[16],
    uint64_t timestamp_ms, uint64_t now_wall_ms, uint64_t now_mono_ms)
{
	static const uint8_t	 zero[16];
	uint64_t		 cur = replay_age(r, now_mono_ms);
	uint64_t		 d;
	struct gen		*g;
	size_t			 slot;

	if (now_wall_ms > r->high_wall)
		r->high_wall = now_wall_ms;
	d = timestamp_ms > now_wall_ms ? timestamp_ms - now_wall_ms :
	    now_wall_ms - timestamp_ms;
	if (d > r->window_ms)
		return REPLAY_STALE;
	if (timestamp_ms < replay_floor(r))
		return REPLAY_FLOOR;
	if (memcmp(nonce, zero, 16) == 0)	/* our "empty" marker */
		return REPLAY_SEEN;
	for (uint64_t k = 0; k < GENS && k <= cur; k++) {
		g = &r->gen[(cur - k) % GENS];
		if (g->id == cur - k && gen_find(r, g, nonce, &slot))
			return REPLAY_SEEN;
	}
	if (key_index >= r->n_keys)
		return REPLAY_FULL;
	g = &r->gen[cur % GENS];
	g->id = cur;	/* empty, or already cur: replay_age() cleared it */
	if (!gen_admit(r, g, key_index))
		return REPLAY_FULL;
	gen_find(r, g, nonce, &slot);
	gen_add(r, g, key_index, slot, nonce, timestamp_ms);
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
	case REPLAY_FLOOR:
		return "before_floor";
	}
	return "?";
}
