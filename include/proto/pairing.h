#ifndef MPSOCKS_PAIRING_H
#define MPSOCKS_PAIRING_H

/*
 * Pairing a home with a concentrator in one step: the token that
 * `mpsocks-server --add-home` prints and `mpsocks-local --pair` takes,
 * and the edit of mpsocks-local's config file that --pair makes. Pure:
 * no I/O, no globals.
 *
 * A token is one line of printable ASCII:
 *
 *	mpsocks1:<base64url (RFC 4648 section 5), no padding, of:>
 *	u8	flags		bit 0: the concentrator requires TLS; the
 *				others are 0
 *	u8	host_len	1..253
 *	host			a DNS name, or an IPv4 or IPv6 literal
 *				(no brackets)
 *	u16	port		1..65535, big-endian
 *	u8	name_len	1..63
 *	name			the key's name in the concentrator's key
 *				file: A-Z a-z 0-9 - _ . @
 *	u8	key_len		32
 *	key
 *	u8[4]	check		the first 4 bytes of SHA-256 over all of
 *				the above: a token damaged on the way is
 *				refused instead of giving a wrong key
 *
 * The token holds the key: whoever has it can be that home
 * (docs/security.md, "Carrying a pairing token").
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAIRING_PREFIX		"mpsocks1:"
#define PAIRING_PREFIX_LEN	(sizeof(PAIRING_PREFIX) - 1)
#define PAIRING_HOST_MAX	253
#define PAIRING_NAME_MAX	63
#define PAIRING_KEY_LEN		32
#define PAIRING_CHECK_LEN	4
#define PAIRING_FLAG_TLS	0x01
/* the longest payload: every field at its maximum */
#define PAIRING_PAYLOAD_MAX	(1 + 1 + PAIRING_HOST_MAX + 2 + 1 + \
				 PAIRING_NAME_MAX + 1 + PAIRING_KEY_LEN + \
				 PAIRING_CHECK_LEN)
/* characters of the longest token, prefix included, without the NUL */
#define PAIRING_TOKEN_MAX	(PAIRING_PREFIX_LEN + \
				 (PAIRING_PAYLOAD_MAX * 4 + 2) / 3)
/* "[host]:65535" and a NUL */
#define PAIRING_HOSTPORT_MAX	(PAIRING_HOST_MAX + 9)

struct pairing {
	char		host[PAIRING_HOST_MAX + 1];
	uint16_t	port;
	char		name[PAIRING_NAME_MAX + 1];
	uint8_t		key[PAIRING_KEY_LEN];
	bool		require_tls;
};

enum pairing_error {
	PAIRING_OK,
	PAIRING_E_PREFIX,	/* not "mpsocks1:" (another version?) */
	PAIRING_E_LENGTH,	/* longer than PAIRING_TOKEN_MAX */
	PAIRING_E_BASE64,	/* not base64url without padding */
	PAIRING_E_TRUNCATED,	/* ends inside a field */
	PAIRING_E_FLAGS,	/* unknown flag bits */
	PAIRING_E_HOST,
	PAIRING_E_PORT,
	PAIRING_E_NAME,
	PAIRING_E_KEY_LEN,	/* key_len is not 32 */
	PAIRING_E_TRAILING,	/* bytes after the check */
	PAIRING_E_CHECK,	/* damaged: the check does not match */
};

/* One sentence, no token bytes in it: the token is a secret. */
const char	*pairing_strerror(enum pairing_error);

/*
 * Parses len bytes of a token (no NUL needed; surrounding white space is
 * the caller's to strip). On PAIRING_OK out holds it; on an error, out
 * holds no key bytes. Wipe out->key once done with it.
 */
enum pairing_error	pairing_parse(const char *tok, size_t len,
			    struct pairing *out);
/*
 * Writes p as a token and a NUL into out. Returns the token's length, or
 * -1 if a field is invalid (as pairing_parse would refuse it) or out is
 * shorter than PAIRING_TOKEN_MAX + 1 would need.
 */
int	pairing_encode(const struct pairing *p, char *out, size_t outlen);

/* A key name as key files take it: 1..63 of A-Z a-z 0-9 - _ . @, and
 * not the flag "require_tls". */
bool	pairing_name_valid(const char *);
/* A host the token may carry: a DNS name (labels of letters, digits and
 * '-', not at either end), or an IPv4 or IPv6 literal. */
bool	pairing_host_valid(const char *);
/* "host:port", or "[v6]:port" for an IPv6 literal: what a config's
 * server = takes. false if it does not fit. */
bool	pairing_hostport(const struct pairing *, char *out, size_t outlen);

/*
 * Setting keys of one section in an INI file as mpsocks reads it
 * (docs/configuration.md, "File rules"), keeping every other line,
 * comment and section as it was. Each key's first setting line in the
 * section is replaced by "key = value", later ones dropped; keys the
 * section lacks are added right after its first header; a file without
 * the section gets it at the top. A key matches with '-' for '_'. At
 * most 16 keys.
 */
struct pairing_ini_set {
	const char	*key;
	const char	*value;
	/* out: the value it had (comment cut), and whether it had one */
	char		 old[320];
	bool		 found;
};

/*
 * Edits len bytes of text into out (NUL-terminated). Returns the new
 * length, or -1 if out is too small (len plus 400 bytes per key, and
 * the section's header, always suffice) or a value holds a newline, a
 * CR or a NUL.
 */
int	pairing_ini_edit(const char *text, size_t len, const char *section,
	    struct pairing_ini_set *set, size_t nset, char *out,
	    size_t outlen);
/*
 * The value of section.key in text, comment cut, into out; false if the
 * section does not set it (or it does not fit).
 */
bool	pairing_ini_get(const char *text, size_t len, const char *section,
	    const char *key, char *out, size_t outlen);

#endif
