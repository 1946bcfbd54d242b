/*
 * Key files through keyfile_parse() (length-delimited: NULs and all).
 * The error count equals the callbacks, each on a line that exists; on
 * success the keys are distinct, valid, and found by their ids.
 */

#include <string.h>

#include "fuzz.h"
#include "common/keyfile.h"

#define FUZZ_MAX_INPUT	(256 * 1024)

struct count {
	int		n;
	unsigned	max_line;
};

static void
count_cb(void *arg, unsigned line, const char *msg)
{
	struct count	*c = arg;

	FUZZ_CHECK(msg != NULL && msg[0] != '\0' && strlen(msg) < 256);
	FUZZ_CHECK(line <= c->max_line);
	c->n++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyset		ks;
	struct count		cnt = { 0, 1 };
	struct tunnel_key	t;
	int			n;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	for (size_t i = 0; i < size; i++)
		cnt.max_line += data[i] == '\n';
	n = keyfile_parse((const char *)data, size, &ks, count_cb, &cnt);
	FUZZ_CHECK(n == cnt.n && n >= 0);
	if (n > 0) {
		FUZZ_CHECK(ks.keys == NULL && ks.n == 0);
		return 0;
	}
	FUZZ_CHECK(ks.keys != NULL && ks.n >= 1 && ks.n <= KEYFILE_MAX_KEYS);
	for (size_t i = 0; i < ks.n; i++) {
		const struct tunnel_key	*k = &ks.keys[i];
		size_t			 nl = strnlen(k->name, sizeof(k->name));

		FUZZ_CHECK(nl >= 1 && nl < sizeof(k->name));
		FUZZ_CHECK(strcspn(k->name, " \t#\r\n") == nl);
		tunnel_key_init(&t, k->name, k->key);
		FUZZ_CHECK(memcmp(t.id, k->id, TUNNEL_KEYID_LEN) == 0);
		FUZZ_CHECK(keyset_find(&ks, k->id) == k);
		for (size_t j = 0; j < i; j++) {
			FUZZ_CHECK(strcmp(ks.keys[j].name, k->name) != 0);
			FUZZ_CHECK(memcmp(ks.keys[j].key, k->key,
			    TUNNEL_KEY_LEN) != 0);
		}
	}
	keyset_free(&ks);
	FUZZ_CHECK(ks.keys == NULL && ks.n == 0);
	return 0;
}
