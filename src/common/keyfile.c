/* Pre-shared key files; see keyfile.h for the format. */

#include "common/keyfile.h"
#include "common/secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
errf(keyfile_err_cb *cb, void *arg, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
errf(keyfile_err_cb *cb, void *arg, unsigned line, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cb(arg, line, msg);
}

/*
 * Room for one more key. The array grows by doubling rather than being
 * sized for KEYFILE_MAX_KEYS up front: a home's file holds one key and a
 * concentrator's a few, and the set lives as long as the daemon. Not
 * realloc(): the old array holds keys, and is wiped before it is freed.
 */
static bool
keyset_grow(struct keyset *ks)
{
	size_t			 cap = ks->cap ? ks->cap * 2 : 4;
	struct tunnel_key	*keys;

	if (cap > KEYFILE_MAX_KEYS)
		cap = KEYFILE_MAX_KEYS;
	if ((keys = calloc(cap, sizeof(*keys))) == NULL)
		return false;
	if (ks->keys != NULL) {
		memcpy(keys, ks->keys, ks->n * sizeof(*keys));
		util_wipe(ks->keys, ks->cap * sizeof(*ks->keys));
		free(ks->keys);
	}
	ks->keys = keys;
	ks->cap = cap;
	return true;
}

/* Parses one line that holds something; returns false on error. */
static bool
parse_line(char *line, unsigned lineno, struct keyset *ks,
    keyfile_err_cb *cb, void *arg)
{
	char		*first, *b64, *flag, *extra, *save = NULL;
	const char	*name;
	uint8_t		 raw[64];
	int		 n;
	bool		 ok = false;

	first = strtok_r(line, " \t", &save);
	b64 = strtok_r(NULL, " \t", &save);
	flag = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	name = first;
	if (b64 == NULL) {
		b64 = first;
		name = "default";
	}
	/* The flag in the wrong place: say so without quoting the line,
	 * which holds the key. */
	if (strcmp(b64, KEYFILE_FLAG_REQUIRE_TLS) == 0 ||
	    strcmp(name, KEYFILE_FLAG_REQUIRE_TLS) == 0) {
		cb(arg, lineno, KEYFILE_FLAG_REQUIRE_TLS " goes after a named "
		    "key: \"NAME KEY " KEYFILE_FLAG_REQUIRE_TLS "\"");
		return false;
	}
	if (extra != NULL || (flag != NULL &&
	    strcmp(flag, KEYFILE_FLAG_REQUIRE_TLS) != 0)) {
		cb(arg, lineno, "expected \"NAME KEY [" KEYFILE_FLAG_REQUIRE_TLS
		    "]\" or \"KEY\"");
		return false;
	}
	if (!tunnel_key_name_valid(name)) {
		/* a key in the name's place (44 characters of base64)
		 * must not be printed: long names are not quoted */
		if (strlen(name) >= 40)
			errf(cb, arg, lineno, "bad key name of %zu characters "
			    "(letters, digits, - _ . @; up to 63)",
			    strlen(name));
		else
			errf(cb, arg, lineno, "bad key name \"%s\" (letters, "
			    "digits, - _ . @; up to 63)", name);
		return false;
	}
	n = util_base64_decode(b64, raw, sizeof(raw));
	if (n != TUNNEL_KEY_LEN) {
		errf(cb, arg, lineno, "key %s: not 32 bytes of base64 "
		    "(make one with mpsocks-server --genkey)", name);
		goto out;
	}
	for (size_t i = 0; i < ks->n; i++) {
		if (strcmp(ks->keys[i].name, name) == 0) {
			errf(cb, arg, lineno, "duplicate key name %s", name);
			goto out;
		}
		if (memcmp(ks->keys[i].key, raw, TUNNEL_KEY_LEN) == 0) {
			errf(cb, arg, lineno, "key %s repeats an earlier key",
			    name);
			goto out;
		}
	}
	if (ks->n >= KEYFILE_MAX_KEYS) {
		cb(arg, lineno, "too many keys");
		goto out;
	}
	if (ks->n == ks->cap && !keyset_grow(ks)) {
		cb(arg, lineno, "out of memory");
		goto out;
	}
	tunnel_key_init(&ks->keys[ks->n], name, raw);
	ks->keys[ks->n++].require_tls = flag != NULL;
	ok = true;
out:
	util_wipe(raw, sizeof(raw));
	return ok;
}

int
keyfile_parse(const char *text, size_t len, struct keyset *out,
    keyfile_err_cb *cb, void *arg)
{
	struct keyset	 ks = { 0 };
	char		 line[KEYFILE_MAX_LINE + 1];
	size_t		 pos = 0;
	unsigned	 lineno = 0;
	int		 errors = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (n > KEYFILE_MAX_LINE) {
			cb(arg, lineno, "line too long");
			errors++;
		} else if (memchr(text + pos, '\0', n) != NULL) {
			cb(arg, lineno, "NUL byte");
			errors++;
		} else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			char *hash = strchr(line, '#');
			if (hash != NULL)
				*hash = '\0';
			if (line[strspn(line, " \t")] != '\0' &&
			    !parse_line(line, lineno, &ks, cb, arg))
				errors++;
		}
		pos += (nl ? (size_t)(nl - (text + pos)) + 1 : len - pos);
	}
	util_wipe(line, sizeof(line));
	if (errors == 0 && ks.n == 0) {
		cb(arg, 0, "no keys");
		errors++;
	}
	if (errors > 0) {
		keyset_free(&ks);
		return errors;
	}
	*out = ks;
	return 0;
}

int
keyfile_load(const char *path, struct keyset *out, keyfile_err_cb *cb,
    void *arg)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, errors;
	char		 msg[300];

	memset(out, 0, sizeof(*out));
	if ((fd = secfile_open(path, SECFILE_SECRET, msg, sizeof(msg))) == -1) {
		cb(arg, 0, msg);
		return 1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(msg, sizeof(msg), "cannot stat: %s", strerror(errno));
		close(fd);
		cb(arg, 0, msg);
		return 1;
	}
	if (st.st_size > KEYFILE_MAX_KEYS * (KEYFILE_MAX_LINE + 1)) {
		close(fd);
		cb(arg, 0, "file too large");
		return 1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		cb(arg, 0, "out of memory");
		return 1;
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	errors = keyfile_parse(buf, len, out, cb, arg);
	util_wipe(buf, len);
	free(buf);
	return errors;
}

void
keyset_free(struct keyset *ks)
{
	if (ks->keys != NULL) {
		util_wipe(ks->keys, ks->cap * sizeof(*ks->keys));
		free(ks->keys);
	}
	ks->keys = NULL;
	ks->n = 0;
	ks->cap = 0;
}

const struct tunnel_key *
keyset_find(const struct keyset *ks, const uint8_t id[TUNNEL_KEYID_LEN])
{
	for (size_t i = 0; i < ks->n; i++)
		if (memcmp(ks->keys[i].id, id, TUNNEL_KEYID_LEN) == 0)
			return &ks->keys[i];
	return NULL;
}
