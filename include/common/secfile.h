#ifndef MPSOCKS_SECFILE_H
#define MPSOCKS_SECFILE_H

/*
 * Opening the files a daemon trusts: its config and its key file. A file
 * someone else could have written (a symlink, group- or other-writable, or
 * owned by a user other than the daemon's effective user or root) would
 * let that someone choose the keys or the destinations the concentrator
 * may reach; a key file others can read gives the key away. The checks
 * are made with fstat() on the descriptor that is then read, so the file
 * cannot be swapped between check and use.
 */

#include <stdbool.h>
#include <stddef.h>

/* What the file holds: a secret must also not be readable by others
 * (documented modes: 600 or 640). */
enum secfile_kind { SECFILE_CONFIG, SECFILE_SECRET };

/*
 * Opens path read-only (O_NOFOLLOW) and checks it. Returns the descriptor,
 * or -1 with why (one sentence, no path) written into why[0..len).
 */
int	secfile_open(const char *path, enum secfile_kind, char *why,
	    size_t len);

#endif
