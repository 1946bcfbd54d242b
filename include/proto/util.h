#ifndef MPSOCKS_UTIL_H
#define MPSOCKS_UTIL_H

/*
 * Small helpers shared by every module: a bounded cursor for reading wire
 * fields, address and CIDR parsing, base64, clocks. Pure apart from the
 * clock readers and util_random().
 */

/* sockaddr types only: a proto header pulls in no socket calls */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef MIN
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b)	((a) > (b) ? (a) : (b))
#endif
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

enum parse_result { PARSE_NEED_MORE, PARSE_OK, PARSE_ERROR };

/* A read cursor whose readers fail instead of overrunning. */
struct cursor {
	const uint8_t	*buf;
	size_t		 len, off;
};

void	cur_init(struct cursor *, const uint8_t *, size_t);
bool	cur_u8(struct cursor *, uint8_t *);
bool	cur_u16be(struct cursor *, uint16_t *);
bool	cur_u64be(struct cursor *, uint64_t *);
/* Points *p at the next n bytes without copying. */
bool	cur_bytes(struct cursor *, size_t n, const uint8_t **p);
size_t	cur_left(const struct cursor *);

void	put_u16be(uint8_t *, uint16_t);
void	put_u64be(uint8_t *, uint64_t);

/* "1.2.3.4:80", "[::1]:80", "host:80". host gets the unbracketed host. */
bool	util_split_hostport(const char *, char *host, size_t hostlen,
	    uint16_t *port);
/* Numeric address and port into a sockaddr; false if not numeric. */
bool	util_parse_sockaddr(const char *, struct sockaddr_storage *,
	    socklen_t *);
/*
 * Would a connection to t reach the listener bound to own? Yes if the
 * ports match and either the addresses do, or own is a wildcard (0.0.0.0;
 * :: also takes IPv4) and t_local says t's address is this host's.
 * IPv4-mapped IPv6 addresses count as IPv4. UTIL_REACH_IF_LOCAL: only
 * if t's address is this host's (the caller asks, then calls again).
 */
enum util_reach { UTIL_REACH_NO, UTIL_REACH_YES, UTIL_REACH_IF_LOCAL };
enum util_reach	util_sockaddr_reaches(const struct sockaddr *t,
		    const struct sockaddr *own);
/* "[::1]:80" or "1.2.3.4:80" */
const char *util_sockaddr_str(const struct sockaddr *, char *, size_t);
#define UTIL_ADDRSTRLEN	64

/* An output buffer that appends until full, then only remembers that it
 * was, so a builder checks once at the end. */
struct wbuf {
	char	*p;
	size_t	 len, cap;
	bool	 full;
};

void	wbuf_put(struct wbuf *, const char *, size_t);
void	wbuf_str(struct wbuf *, const char *);
/* The length written, or -1 if anything did not fit. */
int	wbuf_done(const struct wbuf *);

/* Returns bytes written (no NUL) or -1 if out is too small. */
int	util_base64_encode(const uint8_t *, size_t, char *out, size_t outlen);
/* Strict: rejects bad characters and wrong padding. -1 on error. */
int	util_base64_decode(const char *, uint8_t *out, size_t outlen);

/* Copy at most 64 bytes of untrusted data as printable ASCII. */
const char *util_printable(const uint8_t *, size_t, char *, size_t);

uint64_t	util_now_ms(void);		/* monotonic */
uint64_t	util_wall_ms(void);		/* realtime, for the tunnel */
/* Cryptographically strong bytes; false if the kernel refused. */
bool		util_random(void *, size_t);
/* Wipe memory that held a secret, in a way the compiler keeps. */
void		util_wipe(void *, size_t);

#endif
