#ifndef MPSOCKS_TLS_TESTUTIL_H
#define MPSOCKS_TLS_TESTUTIL_H

/*
 * TLS pairs of tls.c for the unit tests (test_tls.c, test_relay_tls.c):
 * random keys, a server that first reads and checks the client's
 * prefix, and a handshake driven step by step on non-blocking sockets.
 */

#include "testutil.h"

#include <errno.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "common/tls.h"
#include "proto/util.h"

#ifndef DEADLINE_MS
#define DEADLINE_MS	20000
#endif
#define PREFIX_LEN	70
#define REC_HDR		5	/* TLS record header after the prefix */

struct keys {
	uint8_t	psk[TUNNEL_PSK_LEN], id[TUNNEL_KEYID_LEN];
	uint8_t	prefix[PREFIX_LEN];
};

static inline void
keys_new(struct keys *k)
{
	assert_int_equal(RAND_bytes(k->psk, sizeof(k->psk)), 1);
	assert_int_equal(RAND_bytes(k->id, sizeof(k->id)), 1);
	assert_int_equal(RAND_bytes(k->prefix, sizeof(k->prefix)), 1);
}

static inline void
sleep_short(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
}

/*
 * The server's first step: exactly the prefix, then the header of the
 * first record, which must be a handshake record (0x16): the prefix
 * arrived whole and ahead of the ClientHello. The header is handed to
 * tls_server_new() as rx, as tunnel_server.c does with what followed
 * the preamble. base: run while waiting (a bufferevent client).
 */
static inline SSL *
server_after_prefix(SSL_CTX *sctx, int fd, const struct keys *k,
    struct event_base *base)
{
	uint8_t		buf[PREFIX_LEN + REC_HDR];
	size_t		got = 0;
	uint64_t	end_ms = util_now_ms() + DEADLINE_MS;

	while (got < sizeof(buf)) {
		ssize_t	n = read(fd, buf + got, sizeof(buf) - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		assert_true(n == -1 && errno == EAGAIN);
		assert_true(util_now_ms() < end_ms);
		if (base != NULL)
			event_base_loop(base, EVLOOP_NONBLOCK);
		sleep_short();
	}
	CHECK_MEM("prefix", buf, k->prefix, PREFIX_LEN);
	CHECK_EQ("first record after the prefix", buf[PREFIX_LEN], 0x16);
	return tls_server_new(sctx, fd, k->psk, k->id, buf + PREFIX_LEN,
	    REC_HDR);
}

/* 1: done, 0: again, -1: failed (err: SSL_get_error). */
static inline int
hs_step(SSL *ssl, int *err)
{
	int	r = SSL_do_handshake(ssl);

	if (r == 1)
		return 1;
	*err = SSL_get_error(ssl, r);
	if (*err == SSL_ERROR_WANT_READ || *err == SSL_ERROR_WANT_WRITE)
		return 0;
	return -1;
}

struct hs_result {
	bool		ok;
	int		cerr, serr;		/* SSL_get_error on failure */
	unsigned long	serr_code;		/* the server's ERR code */
};

/* A handshake between client c and a server made on sfd once the
 * client's prefix was read and checked. *sslp: the server's SSL. */
static inline struct hs_result
handshake_raw(SSL *c, SSL_CTX *sctx, int sfd, const struct keys *sk,
    SSL **sslp)
{
	struct hs_result	res = { 0 };
	int			cdone = 0, sdone = 0;
	uint64_t		end_ms = util_now_ms() + DEADLINE_MS;
	SSL			*s;

	/* the client's first flight: prefix and ClientHello in one write */
	cdone = hs_step(c, &res.cerr);
	assert_int_equal(cdone, 0);
	s = server_after_prefix(sctx, sfd, sk, NULL);
	assert_non_null(s);
	*sslp = s;
	while (cdone != 1 || sdone != 1) {
		if (sdone == 0)
			sdone = hs_step(s, &res.serr);
		if (sdone == -1 && res.serr_code == 0)
			res.serr_code = ERR_peek_error();
		if (cdone == 0)
			cdone = hs_step(c, &res.cerr);
		if (cdone == -1 || sdone == -1) {
			/* let the other side see the alert, then stop */
			if (cdone == 0)
				cdone = hs_step(c, &res.cerr);
			if (sdone == 0)
				sdone = hs_step(s, &res.serr);
			if (cdone != 0 && sdone != 0)
				break;
		}
		assert_true(util_now_ms() < end_ms);
		sleep_short();
	}
	ERR_clear_error();
	res.ok = cdone == 1 && sdone == 1;
	return res;
}

#endif
