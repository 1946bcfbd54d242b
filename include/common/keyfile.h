#ifndef MPSOCKS_KEYFILE_H
#define MPSOCKS_KEYFILE_H

/*
 * Pre-shared key files. One key per line, either bare ("<base64>") or
 * named ("alice <base64>"), a named one optionally followed by the flag
 * "require_tls" (the concentrator refuses protocol v1 for that key);
 * '#' starts a comment. A bare key is named "default". Each key is 32
 * bytes. keyfile_parse() is pure.
 */

#include <stddef.h>

#include "proto/tunnel_proto.h"

#define KEYFILE_MAX_KEYS	4096
#define KEYFILE_MAX_LINE	512
#define KEYFILE_FLAG_REQUIRE_TLS "require_tls"

struct keyset {
	struct tunnel_key	*keys;
	size_t			 n;
	size_t			 cap;	/* slots allocated */
};

/* Called once per error, with the 1-based line (0: the file as a whole). */
typedef void keyfile_err_cb(void *arg, unsigned line, const char *msg);

/* Returns the number of errors; on 0, out holds the keys (keyset_free). */
int	keyfile_parse(const char *text, size_t len, struct keyset *out,
	    keyfile_err_cb *, void *arg);
/* Reads and parses a file; refuses one that others can read, or that
 * secfile_open() refuses (symlink, writable by others, foreign owner). */
int	keyfile_load(const char *path, struct keyset *out, keyfile_err_cb *,
	    void *arg);
void	keyset_free(struct keyset *);
const struct tunnel_key *keyset_find(const struct keyset *,
	    const uint8_t id[TUNNEL_KEYID_LEN]);

#endif
