/* Trusted files: see secfile.h for the rules and why. */

#include "common/secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* "uid 1000 (alice)" */
static void
uid_str(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "uid %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

/* true if st is fine for kind, else false and the reason in why. */
static bool
check(const struct stat *st, enum secfile_kind kind, char *why, size_t len)
{
	char	owner[96], me[96];

	if (!S_ISREG(st->st_mode)) {
		snprintf(why, len, "not a regular file");
		return false;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		uid_str(st->st_uid, owner, sizeof(owner));
		uid_str(geteuid(), me, sizeof(me));
		snprintf(why, len, "owned by %s, not by this daemon's %s or "
		    "root; chown it", owner, me);
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, len, "writable by %s; chmod go-w it",
		    (st->st_mode & S_IWOTH) ? "others" : "its group");
		return false;
	}
	if (kind == SECFILE_SECRET && (st->st_mode & S_IRWXO)) {
		snprintf(why, len, "readable by others; chmod 600 (or 640) it");
		return false;
	}
	return true;
}

int
secfile_open(const char *path, enum secfile_kind kind, char *why,
    size_t len)
{
	struct stat	st;
	int		fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK);	/* a FIFO must not hang the start */
	if (fd == -1) {
		int saved = errno;	/* secfile_read() tells ENOENT */

		if (errno == ELOOP)
			snprintf(why, len, "is a symbolic link; name the file "
			    "itself");
		else
			snprintf(why, len, "cannot open: %s", strerror(errno));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, len, "cannot stat: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (!check(&st, kind, why, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

const char *
secfile_owner_str(const struct secfile_owner *o, char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(o->uid);
	struct group	*gr = getgrgid(o->gid);
	char		 u[16], g[16];

	snprintf(u, sizeof(u), "%u", (unsigned)o->uid);
	snprintf(g, sizeof(g), "%u", (unsigned)o->gid);
	snprintf(buf, len, "%s:%s %04o", pw ? pw->pw_name : u,
	    gr ? gr->gr_name : g, (unsigned)o->mode);
	return buf;
}

int
secfile_read(const char *path, enum secfile_kind kind, size_t max,
    char **buf, size_t *len, struct secfile_owner *own, char *why,
    size_t whylen)
{
	struct stat	 st;
	char		*b;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;

	*buf = NULL;
	*len = 0;
	if ((fd = secfile_open(path, kind, why, whylen)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "cannot stat: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size > max) {
		snprintf(why, whylen, "file too large");
		close(fd);
		return -1;
	}
	if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size &&
	    (r = read(fd, b + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)r;
	close(fd);
	b[n] = '\0';
	own->uid = st.st_uid;
	own->gid = st.st_gid;
	own->mode = st.st_mode & 07777;
	*buf = b;
	*len = n;
	return 1;
}

/* The directory part of path: "." for a bare name, "/" for "/x". */
static void
dir_of(const char *path, char *dir, size_t len)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

void
secfile_owner_new(const char *path, enum secfile_kind kind,
    const char *run_as, struct secfile_owner *own)
{
	char		 dir[PATH_MAX];
	struct stat	 st;
	struct passwd	*pw;

	own->uid = geteuid();
	own->gid = getegid();
	own->mode = kind == SECFILE_SECRET ? 0600 : 0644;
	if (geteuid() != 0)
		return;		/* another group needs root's chown */
	if (run_as != NULL && run_as[0] != '\0' &&
	    (pw = getpwnam(run_as)) != NULL && pw->pw_uid != 0) {
		own->gid = pw->pw_gid;
		own->mode = 0640;
		return;
	}
	dir_of(path, dir, sizeof(dir));
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
	    st.st_gid != 0 && (st.st_mode & S_IRWXO) == 0) {
		own->gid = st.st_gid;
		own->mode = 0640;
	}
}

static bool
write_all(int fd, const void *data, size_t n)
{
	const char	*p = data;
	ssize_t		 r;

	while (n > 0) {
		if ((r = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void
sync_dir(const char *path)
{
	char	dir[PATH_MAX];
	int	fd;

	dir_of(path, dir, sizeof(dir));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);	/* the rename is done; this makes it last */
	close(fd);
}

bool
secfile_write(const char *path, const void *data, size_t n,
    const struct secfile_owner *own, bool replace, char *why,
    size_t whylen)
{
	char		 dir[PATH_MAX], tmp[PATH_MAX];
	const char	*base = strrchr(path, '/');
	int		 fd, saved;

	base = base ? base + 1 : path;
	dir_of(path, dir, sizeof(dir));
	if (base[0] == '\0' || snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX",
	    dir, base) >= (int)sizeof(tmp)) {
		snprintf(why, whylen, "not a file name");
		return false;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		return false;
	}
	if ((own->uid != geteuid() || own->gid != getegid()) &&
	    fchown(fd, own->uid, own->gid) == -1) {
		snprintf(why, whylen, "cannot give it owner %u:%u: %s",
		    (unsigned)own->uid, (unsigned)own->gid, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, own->mode) == -1 || !write_all(fd, data, n) ||
	    fsync(fd) == -1) {
		snprintf(why, whylen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(why, whylen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (replace ? rename(tmp, path) == -1 : link(tmp, path) == -1) {
		if (errno == EEXIST)
			snprintf(why, whylen, "exists");
		else
			snprintf(why, whylen, "cannot %s it: %s", replace ?
			    "replace" : "create", strerror(errno));
		goto fail;
	}
	if (!replace)
		(void)unlink(tmp);
	sync_dir(path);
	return true;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	errno = saved;
	return false;
}

int
secfile_lock_dir(const char *path, char *why, size_t whylen)
{
	char	dir[PATH_MAX];
	int	fd;

	dir_of(path, dir, sizeof(dir));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "cannot open the directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) == -1) {
		snprintf(why, whylen, "cannot lock the directory %s: %s", dir,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
