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
#include <sys/types.h>

/* What the file holds: a secret must also not be readable by others
 * (documented modes: 600 or 640). */
enum secfile_kind { SECFILE_CONFIG, SECFILE_SECRET };

/*
 * Opens path read-only (O_NOFOLLOW) and checks it. Returns the descriptor,
 * or -1 with why (one sentence, no path) written into why[0..len).
 */
int	secfile_open(const char *path, enum secfile_kind, char *why,
	    size_t len);

/* Who owns a file, and its permission bits. */
struct secfile_owner {
	uid_t	uid;
	gid_t	gid;
	mode_t	mode;
};

/* "root:mpsocks 0640": names where the system has them. */
const char	*secfile_owner_str(const struct secfile_owner *, char *buf,
		    size_t len);

/*
 * Reads a file secfile_open() accepts, at most max bytes, into a
 * NUL-terminated heap copy (*buf, *len: the caller wipes and frees it),
 * and its owner and mode into own. Returns 1; 0 if the file does not
 * exist (*buf NULL); -1 with why.
 */
int	secfile_read(const char *path, enum secfile_kind, size_t max,
	    char **buf, size_t *len, struct secfile_owner *own, char *why,
	    size_t whylen);
/*
 * The owner and mode of a new file at path. A secret gets 0600 and this
 * process's user and group; a config 0644. When this process is root and
 * a daemon will read the file as another user, the file goes to that
 * user's group instead, mode 0640: the group of run_as (a user name, may
 * be NULL or ""), else the group of path's directory when that directory
 * is made for the service: owned by root, of another group, closed to
 * others (/etc/mpsocks as root:mpsocks 0750, docs/deployment.md).
 */
void	secfile_owner_new(const char *path, enum secfile_kind,
	    const char *run_as, struct secfile_owner *own);
/*
 * Writes n bytes to path in one step, never through an existing file or
 * link: a temp file beside it (O_EXCL), given own's owner and mode,
 * written and synced, then renamed over path (replace) or linked to path
 * only if path does not exist yet (!replace: fails with "exists"). The
 * directory is synced after. false with why, nothing left behind.
 */
bool	secfile_write(const char *path, const void *data, size_t n,
	    const struct secfile_owner *own, bool replace, char *why,
	    size_t whylen);
/*
 * An exclusive lock on path's directory, held until the returned
 * descriptor is closed: two read-modify-writes of one file (two
 * --add-home at once) cannot lose each other's change. -1 with why.
 */
int	secfile_lock_dir(const char *path, char *why, size_t whylen);

#endif
