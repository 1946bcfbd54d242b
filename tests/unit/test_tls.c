/*
 * tls.c alone, over loopback TCP and an AF_UNIX pair: the client's
 * prefix arrives whole ahead of the first handshake record, the suite
 * each preference negotiates, and a server with another PSK or identity
 * fails the handshake cleanly. The relay over TLS: test_relay_tls.c.
 */

#include "relay_testutil.h"
#include "tls_testutil.h"

#include <sys/socket.h>

/*
 * tls.c alone over a pair of fds: the suite the contexts' preferences
 * negotiate, on TCP and on an AF_UNIX socketpair (our BIO is plain
 * read/write). The server's preference decides, except that a client
 * that puts ChaCha first (no AES instructions) gets it.
 */
static void
test_tls_ciphers(void **state)
{
	static const struct {
		const char	*row;
		enum tls_cipher	 c, s;
		bool		 unix_pair;
		const char	*want;
	} rows[] = {
		{ "aes/aes", TLS_CIPHER_AES, TLS_CIPHER_AES, false,
		    "TLS_AES_128_GCM_SHA256" },
		{ "chacha/chacha", TLS_CIPHER_CHACHA, TLS_CIPHER_CHACHA, false,
		    "TLS_CHACHA20_POLY1305_SHA256" },
		{ "client chacha", TLS_CIPHER_CHACHA, TLS_CIPHER_AES, false,
		    "TLS_CHACHA20_POLY1305_SHA256" },
		{ "server chacha", TLS_CIPHER_AES, TLS_CIPHER_CHACHA, false,
		    "TLS_CHACHA20_POLY1305_SHA256" },
		{ "aes, unix", TLS_CIPHER_AES, TLS_CIPHER_AES, true,
		    "TLS_AES_128_GCM_SHA256" },
	};
	int	fds0 = count_fds(false);

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		SSL_CTX			*cctx = tls_ctx_new(false, rows[i].c);
		SSL_CTX			*sctx = tls_ctx_new(true, rows[i].s);
		struct keys		 k;
		struct hs_result	 res;
		SSL			*c, *s = NULL;
		int			 cfd, sfd, sv[2];

		CHECK(rows[i].row, cctx != NULL && sctx != NULL);
		keys_new(&k);
		if (rows[i].unix_pair) {
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM |
			    SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
			cfd = sv[0];
			sfd = sv[1];
		} else
			tcp_pair(&cfd, &sfd);
		c = tls_client_new(cctx, cfd, k.psk, k.id, k.prefix,
		    PREFIX_LEN);
		CHECK(rows[i].row, c != NULL);
		res = handshake_raw(c, sctx, sfd, &k, &s);
		CHECK(rows[i].row, res.ok);
		CHECK_STR(rows[i].row, tls_cipher_name(c), rows[i].want);
		CHECK_STR(rows[i].row, tls_cipher_name(s), rows[i].want);
		SSL_free(c);
		SSL_free(s);
		close(cfd);
		close(sfd);
		tls_ctx_free(cctx);
		tls_ctx_free(sctx);
	}
	CHECK_EQ("fds", count_fds(false), fds0);
}

/*
 * A server whose PSK differs (or that expects another identity) has no
 * other way to authenticate: both sides fail the handshake with an
 * OpenSSL error, no crash, nothing left open or allocated.
 */
static void
test_tls_wrong_psk(void **state)
{
	static const struct {
		const char	*row;
		bool		 other_id;
		int		 reason;	/* the server's */
	} rows[] = {
		{ "other psk", false, SSL_R_BINDER_DOES_NOT_VERIFY },
		/* no PSK, and no certificate to fall back on */
		{ "other identity", true,
		    SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM },
	};
	int	fds0 = count_fds(false);

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		SSL_CTX			*cctx = tls_ctx_new(false,
					    TLS_CIPHER_AUTO);
		SSL_CTX			*sctx = tls_ctx_new(true,
					    TLS_CIPHER_AUTO);
		struct keys		 ck, sk;
		struct hs_result	 res;
		SSL			*c, *s = NULL;
		int			 cfd, sfd;
		char			 why[256];

		keys_new(&ck);
		sk = ck;
		if (rows[i].other_id)
			sk.id[0] ^= 1;
		else
			sk.psk[0] ^= 1;
		tcp_pair(&cfd, &sfd);
		c = tls_client_new(cctx, cfd, ck.psk, ck.id, ck.prefix,
		    PREFIX_LEN);
		CHECK(rows[i].row, c != NULL);
		res = handshake_raw(c, sctx, sfd, &sk, &s);
		CHECK(rows[i].row, !res.ok);
		CHECK_EQ(rows[i].row, res.serr, SSL_ERROR_SSL);
		CHECK_EQ(rows[i].row, ERR_GET_REASON(res.serr_code),
		    rows[i].reason);
		ERR_error_string_n(res.serr_code, why, sizeof(why));
		print_message("%s: server: %s\n", rows[i].row, why);
		CHECK(rows[i].row, SSL_is_init_finished(c) == 0);
		SSL_free(c);
		SSL_free(s);
		close(cfd);
		close(sfd);
		tls_ctx_free(cctx);
		tls_ctx_free(sctx);
	}
	CHECK_EQ("fds", count_fds(false), fds0);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_ciphers),
		cmocka_unit_test(test_tls_wrong_psk),
	};

	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
