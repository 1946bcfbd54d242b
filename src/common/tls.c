/*
 * TLS 1.3 with an external PSK for the tunnel (docs/protocol.md, v2).
 * The PSK for a connection comes from tunnel_tls_psk(): derived from the
 * home's key and this connection's preamble, never the raw key. Nothing
 * here holds a certificate: a server that finds no matching PSK has no
 * other way to authenticate, so the handshake fails.
 *
 * Our BIO (a socket BIO with two additions, see tls.h) keeps the PSK and
 * the identity beside the descriptor, so that the PSK callbacks find
 * them from the SSL alone.
 */

#include "common/tls.h"
#include "common/log.h"
#include "proto/util.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

/* Most bytes of records coalescing gathers before a write */
#define TBIO_OUT_MAX		(256 * 1024)

#define TLS_SUITES_AES		"TLS_AES_128_GCM_SHA256:" \
				    "TLS_CHACHA20_POLY1305_SHA256"
#define TLS_SUITES_CHACHA	"TLS_CHACHA20_POLY1305_SHA256:" \
				    "TLS_AES_128_GCM_SHA256"

struct tbio {
	int		fd;
	bool		hidden;		/* BIO_get_fd() says -1 */
	uint8_t		*tx;		/* to send before the first record */
	size_t		 tx_off, tx_len;
	uint8_t		*rx;		/* read before TLS began */
	size_t		 rx_off, rx_len;
	/* tls_coalesce(): records gathered, written by tls_flush() */
	bool		 coalesce;
	uint8_t		*out;
	size_t		 out_len, out_cap;
	uint8_t		 psk[TUNNEL_PSK_LEN];
	uint8_t		 identity[TUNNEL_KEYID_LEN];
};

/* Made once, kept for the process: every BIO of ours points at it. */
static BIO_METHOD	*tbio_method;
static int		 tbio_type;

static bool
again(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS ||
	    err == ENOTCONN;	/* MPTCP before the handshake completes */
}

/* Writes what coalescing gathered: 0 all of it, 1 some is left (the
 * socket is full), -1 an error (errno). */
static int
tbio_flush_out(struct tbio *d)
{
	ssize_t	n;
	size_t	done = 0;

	while (done < d->out_len) {
		do
			n = write(d->fd, d->out + done, d->out_len - done);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (!again(errno))
				return -1;
			break;
		}
		done += (size_t)n;
	}
	memmove(d->out, d->out + done, d->out_len - done);
	d->out_len -= done;
	return d->out_len > 0 ? 1 : 0;
}

static int
tbio_write(BIO *b, const char *buf, int len)
{
	struct tbio	*d = BIO_get_data(b);
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	if (d->coalesce && d->tx_len == 0) {
		if (d->out_len + (size_t)len > TBIO_OUT_MAX) {
			if (tbio_flush_out(d) == -1)
				return -1;
			if (d->out_len + (size_t)len > TBIO_OUT_MAX) {
				BIO_set_retry_write(b);
				return -1;
			}
		}
		if (d->out_len + (size_t)len > d->out_cap) {
			uint8_t *p = realloc(d->out, TBIO_OUT_MAX);

			if (p == NULL)
				return -1;
			d->out = p;
			d->out_cap = TBIO_OUT_MAX;
		}
		memcpy(d->out + d->out_len, buf, (size_t)len);
		d->out_len += (size_t)len;
		return len;
	}
	if (d->tx_len > 0) {		/* the prefix and this record: one write */
		struct iovec	iov[2] = {
			{ d->tx + d->tx_off, d->tx_len },
			{ (void *)(uintptr_t)buf, (size_t)len },
		};

		do
			n = writev(d->fd, iov, 2);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (again(errno))
				BIO_set_retry_write(b);
			return -1;
		}
		if ((size_t)n < d->tx_len) {
			d->tx_off += (size_t)n;
			d->tx_len -= (size_t)n;
			BIO_set_retry_write(b);
			return -1;
		}
		n -= (ssize_t)d->tx_len;
		free(d->tx);
		d->tx = NULL;
		d->tx_len = d->tx_off = 0;
		if (n == 0) {
			BIO_set_retry_write(b);
			return -1;
		}
		return (int)n;
	}
	do
		n = write(d->fd, buf, (size_t)len);
	while (n == -1 && errno == EINTR);
	if (n == -1 && again(errno))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
tbio_read(BIO *b, char *buf, int len)
{
	struct tbio	*d = BIO_get_data(b);
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	if (d->rx_len > 0) {
		n = (ssize_t)MIN((size_t)len, d->rx_len);
		memcpy(buf, d->rx + d->rx_off, (size_t)n);
		d->rx_off += (size_t)n;
		if ((d->rx_len -= (size_t)n) == 0) {
			free(d->rx);
			d->rx = NULL;
			d->rx_off = 0;
		}
		return (int)n;
	}
	do
		n = read(d->fd, buf, (size_t)len);
	while (n == -1 && errno == EINTR);
	if (n == -1 && again(errno))
		BIO_set_retry_read(b);
	return (int)n;
}

static int
tbio_puts(BIO *b, const char *s)
{
	return tbio_write(b, s, (int)strlen(s));
}

static long
tbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tbio	*d = BIO_get_data(b);

	(void)num;
	switch (cmd) {
	case BIO_C_GET_FD:
		if (d->hidden)
			return -1;
		if (ptr != NULL)
			*(int *)ptr = d->fd;
		return d->fd;
	case BIO_CTRL_PENDING:
		return (long)d->rx_len;
	case BIO_CTRL_WPENDING:
		return (long)(d->tx_len + d->out_len);
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_GET_CLOSE:
		return BIO_NOCLOSE;	/* the socket is never the BIO's */
	case BIO_CTRL_SET_CLOSE:
		return 1;
	default:
		return 0;
	}
}

static int
tbio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int
tbio_destroy(BIO *b)
{
	struct tbio	*d = BIO_get_data(b);

	if (d != NULL) {
		free(d->tx);
		free(d->rx);
		free(d->out);
		OPENSSL_cleanse(d, sizeof(*d));
		free(d);
		BIO_set_data(b, NULL);
	}
	return 1;
}

static bool
tbio_method_init(void)
{
	int	type;

	if (tbio_method != NULL)
		return true;
	type = BIO_get_new_index();
	if (type == -1)
		return false;
	tbio_type = type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
	if ((tbio_method = BIO_meth_new(tbio_type, "mpsocks")) == NULL)
		return false;
	BIO_meth_set_write(tbio_method, tbio_write);
	BIO_meth_set_read(tbio_method, tbio_read);
	BIO_meth_set_puts(tbio_method, tbio_puts);
	BIO_meth_set_ctrl(tbio_method, tbio_ctrl);
	BIO_meth_set_create(tbio_method, tbio_create);
	BIO_meth_set_destroy(tbio_method, tbio_destroy);
	return true;
}

static struct tbio *
tbio_of(SSL *ssl)
{
	BIO	*b = SSL_get_rbio(ssl);

	if (b == NULL || tbio_method == NULL ||
	    BIO_method_type(b) != tbio_type)
		return NULL;
	return BIO_get_data(b);
}

/* The session that carries the PSK: TLS 1.3, a SHA-256 suite. */
static SSL_SESSION *
psk_session(SSL *ssl, const uint8_t psk[TUNNEL_PSK_LEN])
{
	static const unsigned char	aes128gcm[2] = { 0x13, 0x01 };
	const SSL_CIPHER		*cipher = SSL_CIPHER_find(ssl,
					    aes128gcm);
	SSL_SESSION			*s;

	if (cipher == NULL || (s = SSL_SESSION_new()) == NULL)
		return NULL;
	if (!SSL_SESSION_set1_master_key(s, psk, TUNNEL_PSK_LEN) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

static int
psk_use_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sessp)
{
	struct tbio	*d = tbio_of(ssl);

	*sessp = NULL;
	*id = NULL;
	*idlen = 0;
	if (d == NULL)
		return 0;
	/* both suites hash with SHA-256: the PSK fits either */
	if (md != NULL && EVP_MD_get_type(md) != NID_sha256)
		return 1;
	if ((*sessp = psk_session(ssl, d->psk)) == NULL)
		return 0;
	*id = d->identity;
	*idlen = TUNNEL_KEYID_LEN;
	return 1;
}

static int
psk_find_cb(SSL *ssl, const unsigned char *id, size_t idlen,
    SSL_SESSION **sessp)
{
	struct tbio	*d = tbio_of(ssl);

	*sessp = NULL;
	/* only the identity the verified preamble named */
	if (d == NULL || idlen != TUNNEL_KEYID_LEN ||
	    CRYPTO_memcmp(id, d->identity, TUNNEL_KEYID_LEN) != 0)
		return 1;		/* no PSK: the handshake fails */
	return (*sessp = psk_session(ssl, d->psk)) != NULL;
}

bool
tls_cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#elif defined(__aarch64__)
	return (getauxval(AT_HWCAP) & HWCAP_AES) != 0;
#else
	return false;
#endif
}

static void
log_ssl_errors(const char *what)
{
	unsigned long	e;
	char		buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_warnx("tls: %s: %s", what, buf);
	}
}

SSL_CTX *
tls_ctx_new(bool server, enum tls_cipher pref)
{
	SSL_CTX	*ctx;
	char	 groups[] = "X25519";	/* the macro takes a char * */
	bool	 aes_first = pref == TLS_CIPHER_AES ||
		    (pref == TLS_CIPHER_AUTO && tls_cpu_has_aes());

	if (!tbio_method_init())
		return NULL;
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, aes_first ? TLS_SUITES_AES :
	    TLS_SUITES_CHACHA) ||
	    !SSL_CTX_set1_groups_list(ctx, groups) ||
	    !SSL_CTX_set_num_tickets(ctx, 0)) {
		log_ssl_errors("context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION |
	    (server ? SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_PRIORITIZE_CHACHA : 0));
	/* psk_ke (no DHE, no forward secrecy) stays off: no
	 * SSL_OP_ALLOW_NO_DHE_KEX */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_max_early_data(ctx, 0);
	/* partial writes for the relay's pending buffer, which may move;
	 * buffers released between records keep idle tunnels small */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (server)
		SSL_CTX_set_psk_find_session_callback(ctx, psk_find_cb);
	else
		SSL_CTX_set_psk_use_session_callback(ctx, psk_use_cb);
	return ctx;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

static SSL *
tls_new(SSL_CTX *ctx, int fd, const uint8_t psk[TUNNEL_PSK_LEN],
    const uint8_t identity[TUNNEL_KEYID_LEN], const uint8_t *tx,
    size_t tx_len, const uint8_t *rx, size_t rx_len, bool server)
{
	SSL		*ssl;
	BIO		*b;
	struct tbio	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->fd = fd;
	memcpy(d->psk, psk, TUNNEL_PSK_LEN);
	memcpy(d->identity, identity, TUNNEL_KEYID_LEN);
	if ((tx_len > 0 && (d->tx = malloc(tx_len)) == NULL) ||
	    (rx_len > 0 && (d->rx = malloc(rx_len)) == NULL) ||
	    (b = BIO_new(tbio_method)) == NULL) {
		free(d->tx);
		free(d->rx);
		OPENSSL_cleanse(d, sizeof(*d));
		free(d);
		return NULL;
	}
	if (tx_len > 0)
		memcpy(d->tx, tx, d->tx_len = tx_len);
	if (rx_len > 0)
		memcpy(d->rx, rx, d->rx_len = rx_len);
	BIO_set_data(b, d);
	if ((ssl = SSL_new(ctx)) == NULL) {
		BIO_free(b);
		return NULL;
	}
	SSL_set_bio(ssl, b, b);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

SSL *
tls_client_new(SSL_CTX *ctx, int fd, const uint8_t psk[TUNNEL_PSK_LEN],
    const uint8_t identity[TUNNEL_KEYID_LEN], const uint8_t *prefix,
    size_t prefix_len)
{
	return tls_new(ctx, fd, psk, identity, prefix, prefix_len, NULL, 0,
	    false);
}

SSL *
tls_server_new(SSL_CTX *ctx, int fd, const uint8_t psk[TUNNEL_PSK_LEN],
    const uint8_t identity[TUNNEL_KEYID_LEN], const uint8_t *rx,
    size_t rx_len)
{
	return tls_new(ctx, fd, psk, identity, NULL, 0, rx, rx_len, true);
}

int
tls_detach_fd(SSL *ssl)
{
	struct tbio	*d = tbio_of(ssl);

	if (d == NULL)
		return -1;
	d->hidden = true;
	return d->fd;
}

bool
tls_has_pending(SSL *ssl)
{
	struct tbio	*d = tbio_of(ssl);

	return SSL_has_pending(ssl) || (d != NULL && d->rx_len > 0);
}

const char *
tls_cipher_name(SSL *ssl)
{
	const SSL_CIPHER	*c = SSL_get_current_cipher(ssl);

	return c != NULL ? SSL_CIPHER_get_name(c) : "-";
}

void
tls_coalesce(SSL *ssl, bool on)
{
	struct tbio	*d = tbio_of(ssl);

	if (d != NULL)
		d->coalesce = on;
}

int
tls_flush(SSL *ssl)
{
	struct tbio	*d = tbio_of(ssl);

	return d == NULL || d->out_len == 0 ? 0 : tbio_flush_out(d);
}
