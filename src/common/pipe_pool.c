/*
 * Empty pipes for the relay's splice() path (docs/relay.md), lent per
 * chunk: pipes cost two descriptors and kernel memory, so no relay owns
 * one. The event loop is single-threaded: one pool serves the process.
 * It closes what it has not lent for a second, and all of it when the
 * last user lets go.
 */

#include "common/pipe_pool.h"
#include "common/log.h"
#include "proto/util.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/*
 * Pipe size asked for: the most one splice moves, and what a spliced
 * direction may hold pending. It holds page references, not copies, so
 * it is larger than the relay's read buffer: with 1 MiB the
 * concentrator spent about a fifth less CPU per GB than with 256 KiB
 * (relay bench).
 */
#define PIPE_POOL_PIPE_SZ	(1024 * 1024)
/* Empty pipes kept for reuse, and for how long unused */
#define PIPE_POOL_MAX		8
#define PIPE_POOL_IDLE_MS	1000

static struct {
	struct pipe_pool_pipe	 free[PIPE_POOL_MAX];
	unsigned		 nfree;
	unsigned		 users;		/* live, to empty it at 0 */
	struct event		*trim_ev;
	uint64_t		 retry_ms;	/* no pipe2() before this */
	struct log_rl		 rl;
} pool;

void
pipe_pool_close(struct pipe_pool_pipe *p)
{
	if (p->rd != -1) {
		close(p->rd);
		close(p->wr);
	}
	p->rd = p->wr = -1;
}

/* Closes the pooled pipes unused since before cutoff_ms (all: UINT64_MAX). */
static void
pool_trim(uint64_t cutoff_ms)
{
	unsigned	i, kept = 0;

	for (i = 0; i < pool.nfree; i++) {
		if (pool.free[i].put_ms < cutoff_ms)
			pipe_pool_close(&pool.free[i]);
		else
			pool.free[kept++] = pool.free[i];
	}
	pool.nfree = kept;
}

static void
pool_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	now = util_now_ms();

	(void)fd;
	(void)what;
	(void)arg;
	pool_trim(now > PIPE_POOL_IDLE_MS ? now - PIPE_POOL_IDLE_MS : 0);
	if (pool.nfree > 0)
		evtimer_add(pool.trim_ev, (&(struct timeval){
		    .tv_sec = PIPE_POOL_IDLE_MS / 1000 }));
}

/* An empty pipe into *p, from the pool or new. false: none to be had. */
bool
pipe_pool_get(struct pipe_pool_pipe *p)
{
	int	fds[2], sz;

	if (pool.nfree > 0) {	/* the most recent: still warm */
		*p = pool.free[--pool.nfree];
		return true;
	}
	/* out of descriptors, do not fail a pipe2() per chunk */
	if (pool.retry_ms > util_now_ms())
		return false;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warnx_rl(&pool.rl, "event=splice_off why=\"pipe: %s\"",
		    strerror(errno));
		pool.retry_ms = util_now_ms() + PIPE_POOL_IDLE_MS;
		return false;
	}
	/* refused past fs.pipe-max-size or the user's pipe quota
	 * (fs.pipe-user-pages-soft): a smaller pipe only means smaller
	 * chunks */
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_POOL_PIPE_SZ);
	sz = fcntl(fds[1], F_GETPIPE_SZ);
	*p = (struct pipe_pool_pipe){ .rd = fds[0], .wr = fds[1],
	    .cap = sz > 0 ? (size_t)sz : 65536 };
	return true;
}

/* Gives back an empty pipe; *p is none afterwards. */
void
pipe_pool_put(struct pipe_pool_pipe *p, struct event_base *base)
{
	if (p->rd == -1)
		return;
	if (pool.nfree == PIPE_POOL_MAX) {
		pipe_pool_close(p);
		return;
	}
	if (pool.trim_ev == NULL &&
	    (pool.trim_ev = evtimer_new(base, pool_trim_cb, NULL)) ==
	    NULL) {
		pipe_pool_close(p);		/* no timer to free it later */
		return;
	}
	p->put_ms = util_now_ms();
	pool.free[pool.nfree++] = *p;
	p->rd = p->wr = -1;
	if (!evtimer_pending(pool.trim_ev, NULL))
		evtimer_add(pool.trim_ev, (&(struct timeval){
		    .tv_sec = PIPE_POOL_IDLE_MS / 1000 }));
}

/* A relay ended: with none left, nothing may stay open or allocated. */
void
pipe_pool_release(void)
{
	if (--pool.users > 0)
		return;
	pool_trim(UINT64_MAX);
	if (pool.trim_ev != NULL) {
		event_free(pool.trim_ev);
		pool.trim_ev = NULL;
	}
}

void
pipe_pool_hold(void)
{
	pool.users++;
}
