#ifndef MPSOCKS_RELAY_TESTUTIL_H
#define MPSOCKS_RELAY_TESTUTIL_H

/*
 * What the relay tests share (test_relay.c, test_relay_tls.c): loopback
 * TCP pairs, a plain end the test drives, the closed callback's record,
 * pattern bytes and a descriptor count.
 */

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/relay.h"

/* One end the test drives: what it sends, what it got back. */
struct end {
	int		 fd;
	const uint8_t	*src;
	size_t		 len, sent;
	bool		 shut_after;	/* FIN once all of src is sent */
	bool		 shut;
	bool		 reading;	/* false: leave bytes in the kernel */
	uint8_t		*got;
	size_t		 cap, rcvd;
	bool		 eof;
	bool		 overflow;	/* more arrived than cap */
};

struct closed {
	int			 calls, half_calls;
	char			 reason[128];
	struct relay_stats	 st;
};

static inline void
half_closed_cb(void *arg, int fd_a, int fd_b)
{
	struct closed	*c = arg;

	(void)fd_a;
	(void)fd_b;
	c->half_calls++;
}

static inline void
closed_cb(void *arg, const char *reason, int fd_a, int fd_b,
    const struct relay_stats *st)
{
	struct closed	*c = arg;

	(void)fd_a;
	(void)fd_b;
	c->calls++;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	c->st = *st;
}

static const struct relay_ops relay_test_ops = {
	.half_closed = half_closed_cb,
	.closed = closed_cb,
};

static inline void
set_nonblock(int fd)
{
	assert_int_not_equal(fcntl(fd, F_SETFL,
	    fcntl(fd, F_GETFL) | O_NONBLOCK), -1);
}

/* A connected TCP pair on 127.0.0.1, both non-blocking. */
static inline void
tcp_pair(int *x, int *y)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t		len = sizeof(sin);
	int			l;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(l, -1);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	*x = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(*x, -1);
	assert_int_equal(connect(*x, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	*y = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_int_not_equal(*y, -1);
	close(l);
	set_nonblock(*x);
	set_nonblock(*y);
}

static inline int
count_fds(bool pipes_only)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;
	char		 path[300], target[64];

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (pipes_only) {
			ssize_t	k;

			snprintf(path, sizeof(path), "/proc/self/fd/%s",
			    e->d_name);
			k = readlink(path, target, sizeof(target) - 1);
			if (k <= 0)
				continue;
			target[k] = '\0';
			if (strncmp(target, "pipe:", 5) != 0)
				continue;
		}
		n++;
	}
	closedir(d);
	return n - (pipes_only ? 0 : 1);	/* the DIR's own */
}

/* Pattern bytes that differ per direction and per offset. */
static inline uint8_t *
pattern(size_t len, unsigned seed)
{
	uint8_t		*p = malloc(len);
	uint32_t	 x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

static inline void
end_init(struct end *e, int fd, const uint8_t *src, size_t len,
    size_t cap)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->src = src;
	e->len = len;
	e->reading = true;
	e->cap = cap;
	e->got = malloc(cap > 0 ? cap : 1);
	assert_non_null(e->got);
}

/* Sends and receives what the kernel takes without blocking. */
static inline bool
end_step(struct end *e)
{
	bool	moved = false;
	ssize_t	n;

	while (e->sent < e->len) {
		n = write(e->fd, e->src + e->sent, e->len - e->sent);
		if (n <= 0)
			break;
		e->sent += (size_t)n;
		moved = true;
	}
	if (e->sent == e->len && e->shut_after && !e->shut) {
		assert_int_equal(shutdown(e->fd, SHUT_WR), 0);
		e->shut = true;
		moved = true;
	}
	while (e->reading && !e->eof) {
		uint8_t	buf[65536];

		n = read(e->fd, buf, sizeof(buf));
		if (n == 0) {
			e->eof = true;
			moved = true;
		}
		if (n <= 0)
			break;
		if (e->rcvd + (size_t)n > e->cap) {
			e->overflow = true;
			n = (ssize_t)(e->cap - e->rcvd);
		}
		memcpy(e->got + e->rcvd, buf, (size_t)n);
		e->rcvd += (size_t)n;
		moved = true;
	}
	return moved;
}

static inline void
check_transfer(const char *row, struct end *to, const uint8_t *want,
    size_t len)
{
	CHECK(row, !to->overflow);
	CHECK_EQ(row, to->rcvd, len);
	CHECK(row, memcmp(to->got, want, len) == 0);
}

#endif
