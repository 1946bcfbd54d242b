/*
 * keyfile.c: the key file format (keyfile.h), its errors and their line
 * numbers, keyset_find(), and keyfile_load()'s checks of the file itself
 * (mode, symlink, owner).
 */

#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/keyfile.h"

#define MAXERR	16

struct errs {
	size_t		n;
	unsigned	line[MAXERR];
	char		msg[MAXERR][256];
};

static void
collect_cb(void *arg, unsigned line, const char *msg)
{
	struct errs	*e = arg;

	if (e->n < MAXERR) {
		e->line[e->n] = line;
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	}
	e->n++;
}

/* Test keys: key N is 32 bytes of N, N+1, ... */
static void
key_bytes(int which, uint8_t k[32])
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(which * 16 + i);
}

static void
key_b64(int which, size_t len, char *out, size_t outlen)
{
	uint8_t	k[64];

	for (size_t i = 0; i < len; i++)
		k[i] = (uint8_t)(which * 16 + (int)i);
	if (util_base64_encode(k, len, out, outlen) < 0)
		fail_msg("base64 buffer too small");
}

/*
 * Expand a template: $1 $2 $3 are keys 1..3, $S a 31-byte key, $L a
 * 33-byte one, $0 a NUL byte. Returns the length.
 */
static size_t
expand(const char *tpl, char *out, size_t outlen)
{
	size_t	o = 0;

	for (const char *p = tpl; *p != '\0'; p++) {
		char	k[128] = "";
		size_t	kl;

		if (p[0] != '$' || p[1] == '\0') {
			if (o + 1 >= outlen)
				fail_msg("template too long");
			out[o++] = *p;
			continue;
		}
		p++;
		switch (*p) {
		case '1': case '2': case '3':
			key_b64(*p - '0', 32, k, sizeof(k));
			break;
		case 'S':
			key_b64(4, 31, k, sizeof(k));
			break;
		case 'L':
			key_b64(5, 33, k, sizeof(k));
			break;
		case '0':
			if (o + 1 >= outlen)
				fail_msg("template too long");
			out[o++] = '\0';
			continue;
		default:
			fail_msg("bad template escape $%c", *p);
		}
		kl = strlen(k);
		if (o + kl >= outlen)
			fail_msg("template too long");
		memcpy(out + o, k, kl);
		o += kl;
	}
	out[o] = '\0';
	return o;
}

#define N8		"nnnnnnnn"
#define N63		N8 N8 N8 N8 N8 N8 N8 "nnnnnnn"
#define NAME_RULE	"(letters, digits, - _ . @; up to 63)"
#define KEYFILE_ERR_LEN \
	"not 32 bytes of base64 (make one with mpsocks-server --genkey)"
#define KEYFILE_ERR_WORDS \
	"expected \"NAME KEY [require_tls]\" or \"KEY\""
#define KEYFILE_ERR_FLAG \
    "require_tls goes after a named key: \"NAME KEY require_tls\""

struct kf_row {
	const char	*name, *tpl;
	int		 errors;
	/* OK: names and key numbers in order; errors: lines and messages */
	const char	*names[3];
	int		 keys[3];
	bool		 tls[3];	/* require_tls of each key */
	unsigned	 lines[4];
	const char	*msgs[4];
};

static const struct kf_row kf_rows[] = {
	{ "bare key", "$1\n", 0, { "default" }, { 1 }, { 0 }, { 0 },
	    { NULL } },
	{ "bare key, no newline", "$1", 0, { "default" }, { 1 }, { 0 }, { 0 },
	    { NULL } },
	{ "named keys", "alice $1\nbob\t$2\n", 0, { "alice", "bob" }, { 1, 2 },
	    { 0 }, { 0 }, { NULL } },
	{ "comments, blanks, CRLF",
	    "# keys\r\n\r\n   \r\nalice $1 # home\r\n\t# x\r\nbob  $2\t\r\n",
	    0, { "alice", "bob" }, { 1, 2 }, { 0 }, { 0 }, { NULL } },
	{ "name characters", "a-b_c.d@e $1\nZ9 $2\n", 0, { "a-b_c.d@e", "Z9" },
	    { 1, 2 }, { 0 }, { 0 }, { NULL } },
	{ "longest name (63)", N63 " $1", 0, { N63 },
	    { 1 }, { 0 }, { 0 }, { NULL } },
	{ "require_tls", "alice $1 require_tls\n", 0, { "alice" }, { 1 },
	    { true }, { 0 }, { NULL } },
	{ "require_tls on one key of three",
	    "alice $1\nbob\t$2\trequire_tls\t# no v1\r\ncarol $3\n", 0,
	    { "alice", "bob", "carol" }, { 1, 2, 3 }, { false, true, false },
	    { 0 }, { NULL } },
	{ "require_tls, no newline", "alice $1 require_tls", 0, { "alice" },
	    { 1 }, { true }, { 0 }, { NULL } },
	{ "duplicate names", "alice $1\nalice $2\n", 1, { NULL }, { 0 },
	    { 0 }, { 2 }, { "duplicate key name alice" } },
	{ "duplicate names, one require_tls", "alice $1 require_tls\n"
	    "alice $2 require_tls\n", 1, { NULL }, { 0 }, { 0 }, { 2 },
	    { "duplicate key name alice" } },
	{ "duplicate keys", "alice $1\nbob $1\n", 1, { NULL }, { 0 }, { 0 },
	    { 2 }, { "key bob repeats an earlier key" } },
	{ "two bare keys", "$1\n$2\n", 1, { NULL }, { 0 }, { 0 }, { 2 },
	    { "duplicate key name default" } },
	{ "31-byte key", "alice $S\n", 1, { NULL }, { 0 }, { 0 }, { 1 },
	    { "key alice: " KEYFILE_ERR_LEN } },
	{ "31-byte key, require_tls", "alice $S require_tls\n", 1, { NULL },
	    { 0 }, { 0 }, { 1 }, { "key alice: " KEYFILE_ERR_LEN } },
	{ "33-byte key", "\n\nalice $L\n", 1, { NULL }, { 0 }, { 0 }, { 3 },
	    { "key alice: " KEYFILE_ERR_LEN } },
	{ "bad base64", "alice Zm9v!!!!\n", 1, { NULL }, { 0 }, { 0 }, { 1 },
	    { "key alice: " KEYFILE_ERR_LEN } },
	{ "bare bad base64", "bob $1\nnot-base64\n", 1, { NULL }, { 0 },
	    { 0 }, { 2 }, { "key default: " KEYFILE_ERR_LEN } },
	{ "three words", "al ice $1\n", 1, { NULL }, { 0 }, { 0 }, { 1 },
	    { KEYFILE_ERR_WORDS } },
	{ "unknown flag", "alice $1 foo\n", 1, { NULL }, { 0 }, { 0 }, { 1 },
	    { KEYFILE_ERR_WORDS } },
	{ "flag is case-sensitive", "alice $1 REQUIRE_TLS\n", 1, { NULL },
	    { 0 }, { 0 }, { 1 }, { KEYFILE_ERR_WORDS } },
	{ "flag before the key", "alice require_tls $1\n", 1, { NULL }, { 0 },
	    { 0 }, { 1 }, { KEYFILE_ERR_FLAG } },
	{ "four words", "alice $1 require_tls extra\n", 1, { NULL }, { 0 },
	    { 0 }, { 1 }, { KEYFILE_ERR_WORDS } },
	{ "flag twice", "alice $1 require_tls require_tls\n", 1, { NULL },
	    { 0 }, { 0 }, { 1 }, { KEYFILE_ERR_WORDS } },
	{ "bad name char", "al/ice $1\n", 1, { NULL }, { 0 }, { 0 }, { 1 },
	    { "bad key name \"al/ice\" " NAME_RULE } },
	{ "name of 64", N63 "n $1\n", 1, { NULL }, { 0 }, { 0 }, { 1 },
	    { "bad key name of 64 characters " NAME_RULE } },
	{ "NUL byte", "alice $1\nx$0y\nbob $2\n", 1, { NULL }, { 0 }, { 0 },
	    { 2 }, { "NUL byte" } },
	{ "empty file", "", 1, { NULL }, { 0 }, { 0 }, { 0 }, { "no keys" } },
	{ "only comments", "# nothing\n\n  # here\n", 1, { NULL }, { 0 },
	    { 0 }, { 0 }, { "no keys" } },
	{ "errors on their lines", "# c\nalice $1\nbad!name $2\n\nalice $2\n"
	    "x y z\n$S\n", 4, { NULL }, { 0 }, { 0 }, { 3, 5, 6, 7 },
	    { "bad key name \"bad!name\" " NAME_RULE,
	    "duplicate key name alice", KEYFILE_ERR_WORDS,
	    "key default: " KEYFILE_ERR_LEN } },
};

static void
test_keyfile_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(kf_rows); i++) {
		const struct kf_row	*r = &kf_rows[i];
		struct keyset		 ks;
		struct errs		 e = { 0 };
		char			 text[2048];
		size_t			 len;
		int			 n;

		len = expand(r->tpl, text, sizeof(text));
		memset(&ks, 0xa5, sizeof(ks));
		n = keyfile_parse(text, len, &ks, collect_cb, &e);
		CHECK_EQ(r->name, n, r->errors);
		CHECK_EQ(r->name, e.n, r->errors);
		if (r->errors > 0) {
			CHECK(r->name, ks.keys == NULL);
			CHECK_EQ(r->name, ks.n, 0);
			for (int k = 0; k < r->errors; k++) {
				CHECK_EQ(r->name, e.line[k], r->lines[k]);
				CHECK_STR(r->name, e.msg[k], r->msgs[k]);
			}
			continue;
		}
		size_t want_n = 0;
		while (want_n < NELEM(r->names) && r->names[want_n] != NULL)
			want_n++;
		CHECK_EQ(r->name, ks.n, want_n);
		for (size_t k = 0; k < want_n; k++) {
			struct tunnel_key	 t;
			uint8_t			 raw[32];

			key_bytes(r->keys[k], raw);
			tunnel_key_init(&t, r->names[k], raw);
			CHECK_STR(r->name, ks.keys[k].name, r->names[k]);
			CHECK_MEM(r->name, ks.keys[k].key, raw, 32);
			CHECK_MEM(r->name, ks.keys[k].id, t.id, 8);
			CHECK_EQ(r->name, ks.keys[k].require_tls, r->tls[k]);
		}
		keyset_free(&ks);
		CHECK(r->name, ks.keys == NULL);
		CHECK_EQ(r->name, ks.n, 0);
	}
}

/*
 * A bare key with the flag ("KEY require_tls") is two words, so
 * parse_line() reads it as NAME KEY: the key becomes the name, refused
 * for its '=' padding (and '+' '/'), and "require_tls" is never decoded.
 * The flag is only for named keys (keyfile.h), so refusing is right.
 * XXX the message quotes the "name", which is 40 of the key's 44 base64
 * characters: a secret in an error line. Only the prefix is pinned here.
 */
/* The flag in the wrong place is an error that never quotes the key:
 * a bare key with the flag, or the flag as a name. */
static void
test_bare_key_with_flag(void **state)
{
	static const char *const texts[] = {
		"$1 require_tls\n", "require_tls $1\n",
	};
	struct keyset		ks;
	char			text[256], b64[64];
	size_t			len;

	(void)state;
	len = expand("$1", b64, sizeof(b64));
	for (size_t i = 0; i < NELEM(texts); i++) {
		struct errs	e = { 0 };

		len = expand(texts[i], text, sizeof(text));
		memset(&ks, 0xa5, sizeof(ks));
		assert_int_equal(keyfile_parse(text, len, &ks, collect_cb, &e),
		    1);
		assert_int_equal(e.n, 1);
		assert_int_equal(e.line[0], 1);
		assert_string_equal(e.msg[0], KEYFILE_ERR_FLAG);
		b64[8] = '\0';		/* not even the key's start */
		assert_null(strstr(e.msg[0], b64));
		len = expand("$1", b64, sizeof(b64));
		assert_null(ks.keys);
		assert_int_equal(ks.n, 0);
	}
}

static void
test_line_length(void **state)
{
	char		text[1200], k[64];
	struct keyset	ks;
	struct errs	e = { 0 };
	size_t		len;

	(void)state;
	key_b64(1, 32, k, sizeof(k));
	/* a comment of exactly KEYFILE_MAX_LINE bytes is fine */
	memset(text, 0, sizeof(text));
	text[0] = '#';
	memset(text + 1, 'x', KEYFILE_MAX_LINE - 1);
	len = KEYFILE_MAX_LINE;
	len += (size_t)snprintf(text + len, sizeof(text) - len, "\r\n%s\n", k);
	assert_int_equal(keyfile_parse(text, len, &ks, collect_cb, &e), 0);
	assert_int_equal(ks.n, 1);
	keyset_free(&ks);
	/* one more byte is too long, comment or not */
	memset(text, 0, sizeof(text));
	text[0] = '#';
	memset(text + 1, 'x', KEYFILE_MAX_LINE);
	len = KEYFILE_MAX_LINE + 1;
	len += (size_t)snprintf(text + len, sizeof(text) - len, "\n%s\n", k);
	assert_int_equal(keyfile_parse(text, len, &ks, collect_cb, &e), 1);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.line[0], 1);
	assert_string_equal(e.msg[0], "line too long");
	assert_null(ks.keys);
}

static void
test_keyset_find(void **state)
{
	struct keyset		 ks;
	struct errs		 e = { 0 };
	char			 text[512];
	size_t			 len = expand("alice $1\nbob $2\ncarol $3\n",
				    text, sizeof(text));
	struct tunnel_key	 t;
	uint8_t			 raw[32], unknown[8] = { 0 };
	const struct tunnel_key	*found;

	(void)state;
	assert_int_equal(keyfile_parse(text, len, &ks, collect_cb, &e), 0);
	assert_int_equal(ks.n, 3);
	for (int i = 1; i <= 3; i++) {
		key_bytes(i, raw);
		tunnel_key_init(&t, "x", raw);
		found = keyset_find(&ks, t.id);
		assert_non_null(found);
		assert_memory_equal(found->key, raw, 32);
		assert_ptr_equal(found, &ks.keys[i - 1]);
	}
	assert_string_equal(keyset_find(&ks, t.id)->name, "carol");
	assert_null(keyset_find(&ks, unknown));
	keyset_free(&ks);
	assert_null(keyset_find(&ks, t.id));
}

/* The array grows as keys come: every key of a long file is kept, in
 * order, and found by its id; one more than the maximum is refused. */
static void
test_many_keys(void **state)
{
	const size_t		 n = KEYFILE_MAX_KEYS;
	size_t			 cap = (n + 1) * 80, len = 0;
	char			*text = malloc(cap), b64[64], name[32];
	uint8_t			 raw[32];
	struct keyset		 ks;
	struct errs		 e = { 0 };
	struct tunnel_key	 t;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i <= n; i++) {
		memset(raw, 0x5a, sizeof(raw));
		raw[0] = (uint8_t)i;
		raw[1] = (uint8_t)(i >> 8);
		assert_true(util_base64_encode(raw, 32, b64, sizeof(b64)) > 0);
		len += (size_t)snprintf(text + len, cap - len, "k%zu %s\n", i,
		    b64);
	}
	/* the first n lines: all kept */
	const char *last = strstr(text, "\nk4096 ");
	assert_non_null(last);
	assert_int_equal(keyfile_parse(text, (size_t)(last - text) + 1, &ks,
	    collect_cb, &e), 0);
	assert_int_equal(ks.n, n);
	assert_true(ks.cap >= ks.n && ks.cap <= KEYFILE_MAX_KEYS);
	for (size_t i = 0; i < n; i += 97) {
		memset(raw, 0x5a, sizeof(raw));
		raw[0] = (uint8_t)i;
		raw[1] = (uint8_t)(i >> 8);
		tunnel_key_init(&t, "x", raw);
		snprintf(name, sizeof(name), "k%zu", i);
		assert_ptr_equal(keyset_find(&ks, t.id), &ks.keys[i]);
		assert_string_equal(ks.keys[i].name, name);
	}
	keyset_free(&ks);
	assert_int_equal(ks.cap, 0);
	/* one more: refused, on its own line */
	assert_int_not_equal(keyfile_parse(text, len, &ks, collect_cb, &e), 0);
	assert_null(ks.keys);
	assert_int_equal(e.line[0], n + 1);
	assert_string_equal(e.msg[0], "too many keys");
	free(text);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_keyfile_load(void **state)
{
	char		dir[] = "/tmp/mpsocks-keyfile-XXXXXX", path[64];
	char		text[256];
	struct keyset	ks;
	struct errs	e = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);
	expand("alice $1\n", text, sizeof(text));

	write_file(path, text, 0600);
	assert_int_equal(keyfile_load(path, &ks, collect_cb, &e), 0);
	assert_int_equal(ks.n, 1);
	assert_string_equal(ks.keys[0].name, "alice");
	keyset_free(&ks);

	write_file(path, text, 0640);
	assert_int_equal(keyfile_load(path, &ks, collect_cb, &e), 0);
	keyset_free(&ks);

	write_file(path, text, 0644);
	assert_int_equal(keyfile_load(path, &ks, collect_cb, &e), 1);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.line[0], 0);
	assert_string_equal(e.msg[0],
	    "readable by others; chmod 600 (or 640) it");
	assert_null(ks.keys);

	unlink(path);
	e.n = 0;
	assert_int_equal(keyfile_load(path, &ks, collect_cb, &e), 1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
	    "cannot open: No such file or directory");
	rmdir(dir);
}

/*
 * Regression: keyfile_load() checked only the "other" bits. A symlink was
 * followed, and a group-writable file or one owned by another user was
 * loaded: whoever could write it chose the concentrator's keys.
 */
static void
test_keyfile_unsafe(void **state)
{
	static const struct unsafe_row rows[] = {
		{ "600", 0600, false, 0, NULL },
		{ "640", 0640, false, 0, NULL },
		{ "symlink", 0600, true, 0,
		    "is a symbolic link; name the file itself" },
		{ "group-writable 660", 0660, false, 0,
		    "writable by its group; chmod go-w it" },
		{ "group-writable 620", 0620, false, 0,
		    "writable by its group; chmod go-w it" },
		{ "other-writable 602", 0602, false, 0,
		    "writable by others; chmod go-w it" },
		{ "other-readable 604", 0604, false, 0,
		    "readable by others; chmod 600 (or 640) it" },
		{ "owned by 65534", 0600, false, 65534,
		    "owned by uid 65534" },
	};
	char		dir[] = "/tmp/mpsocks-keyfile-XXXXXX";
	char		path[64], real[64], text[256];
	struct keyset	ks;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(path, sizeof(path), "%s/keys", dir);
	expand("alice $1\n", text, sizeof(text));
	for (size_t i = 0; i < NELEM(rows); i++) {
		const struct unsafe_row	*r = &rows[i];
		struct errs		 e = { 0 };
		int			 n;

		if (!unsafe_file_place(r, real, path, text))
			continue;
		n = keyfile_load(path, &ks, collect_cb, &e);
		if (r->err == NULL) {
			assert_int_equal(n, 0);
			assert_int_equal(e.n, 0);
			keyset_free(&ks);
		} else {
			assert_int_equal(n, 1);
			assert_int_equal(e.n, 1);
			assert_int_equal(e.line[0], 0);
			assert_non_null(strstr(e.msg[0], r->err));
			assert_null(ks.keys);
		}
		unlink(path);
		unlink(real);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyfile_table),
		cmocka_unit_test(test_bare_key_with_flag),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_keyset_find),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_keyfile_load),
		cmocka_unit_test(test_keyfile_unsafe),
	};

	return cmocka_run_group_tests_name("keyfile", tests, NULL, NULL);
}
