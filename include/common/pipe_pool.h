#ifndef MPSOCKS_PIPE_POOL_H
#define MPSOCKS_PIPE_POOL_H

/*
 * The process's pool of empty pipes for splice() (common/relay.c): a
 * relay takes one per chunk and gives it back as soon as the chunk is
 * out. Users hold the pool while they may need it; when the last lets
 * go, every pooled pipe is closed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

struct pipe_pool_pipe {
	int		 rd, wr;	/* -1: none */
	size_t		 cap;		/* what one splice may put in */
	uint64_t	 put_ms;	/* when it went back to the pool */
};

/* An empty pipe into *p, from the pool or new. false: none to be had
 * (out of descriptors: then no new one is tried for a second). */
bool	pipe_pool_get(struct pipe_pool_pipe *p);
/* Gives back an empty pipe (base runs the trim timer); *p is none
 * afterwards. */
void	pipe_pool_put(struct pipe_pool_pipe *p, struct event_base *base);
/* Closes a pipe that is not empty (its bytes are dropped). */
void	pipe_pool_close(struct pipe_pool_pipe *p);
/* A user (a relay) comes and goes. */
void	pipe_pool_hold(void);
void	pipe_pool_release(void);

#endif
