/* Trusted files: see secfile.h for the rules and why. */

#include "common/secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
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
		if (errno == ELOOP)
			snprintf(why, len, "is a symbolic link; name the file "
			    "itself");
		else
			snprintf(why, len, "cannot open: %s", strerror(errno));
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
