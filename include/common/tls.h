#ifndef MPSOCKS_TLS_H
#define MPSOCKS_TLS_H

/*
 * TLS 1.3 for the tunnel (protocol v2, docs/protocol.md): OpenSSL
 * contexts with an external pre-shared key and no certificates,
 * psk_dhe_ke over X25519 only, AES-128-GCM or ChaCha20-Poly1305, no
 * tickets and no early data. Each connection's SSL reads and writes its
 * socket through a small BIO of ours, which can send bytes ahead of the
 * first TLS record in the same write (the v2 preamble beside the
 * ClientHello: one flight) and hand OpenSSL bytes that were read before
 * TLS began (what followed the preamble).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/tunnel_proto.h"

struct ssl_ctx_st;
struct ssl_st;

enum tls_cipher {
	TLS_CIPHER_AUTO,		/* by this CPU's AES instructions */
	TLS_CIPHER_AES,			/* TLS_AES_128_GCM_SHA256 first */
	TLS_CIPHER_CHACHA,		/* TLS_CHACHA20_POLY1305_SHA256 first */
};

/* A context for one side; NULL (logged) if OpenSSL refuses a setting. */
struct ssl_ctx_st	*tls_ctx_new(bool server, enum tls_cipher);
void			 tls_ctx_free(struct ssl_ctx_st *);

/*
 * One connection's TLS on fd (which the caller keeps owning): the
 * client side sends prefix (the preamble; copied) with its first
 * record; the server side reads rx (copied) before the socket. psk is
 * TUNNEL_PSK_LEN bytes, identity the key id. NULL on failure.
 */
struct ssl_st	*tls_client_new(struct ssl_ctx_st *, int fd,
		    const uint8_t psk[TUNNEL_PSK_LEN],
		    const uint8_t identity[TUNNEL_KEYID_LEN],
		    const uint8_t *prefix, size_t prefix_len);
struct ssl_st	*tls_server_new(struct ssl_ctx_st *, int fd,
		    const uint8_t psk[TUNNEL_PSK_LEN],
		    const uint8_t identity[TUNNEL_KEYID_LEN],
		    const uint8_t *rx, size_t rx_len);

/*
 * Makes ssl's socket invisible to BIO_get_fd() and returns it: a
 * libevent TLS bufferevent freed afterwards leaves the socket open for
 * the relay that took it over. -1 if ssl has no BIO of ours.
 */
int		 tls_detach_fd(struct ssl_st *);
/*
 * From now on, the records of ssl gather in our BIO (up to 256 KiB) and
 * leave with tls_flush(): one write() for many records, where OpenSSL
 * would make one per record. For the relay, which flushes after each
 * SSL_write() and when the socket takes more.
 */
void		 tls_coalesce(struct ssl_st *, bool on);
/* Writes what gathered: 0 all of it, 1 some is left for when the socket
 * takes more, -1 an error (errno). */
int		 tls_flush(struct ssl_st *);
/* Bytes OpenSSL or our BIO hold that the socket will not signal. */
bool		 tls_has_pending(struct ssl_st *);
/* "TLS_AES_128_GCM_SHA256", ... once the handshake is done. */
const char	*tls_cipher_name(struct ssl_st *);
/* Does this CPU have AES instructions (x86 AES-NI, ARMv8 AES)? */
bool		 tls_cpu_has_aes(void);

#endif
