#ifndef MPSOCKS_TESTUTIL_H
#define MPSOCKS_TESTUTIL_H

/*
 * Helpers shared by the cmocka unit tests: hex literals for table rows and
 * row-labelled checks, so a failing row names itself.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/util.h"	/* NELEM, MIN */

/* A row check: on failure, names the row, the expression and the line. */
#define CHECK(row, cond) do {						\
	if (!(cond))							\
		fail_msg("row \"%s\": %s (%s:%d)", (row), #cond,	\
		    __FILE__, __LINE__);				\
} while (0)

#define CHECK_EQ(row, a, b) do {					\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_)							\
		fail_msg("row \"%s\": %s == %lld, want %s == %lld "	\
		    "(%s:%d)", (row), #a, a_, #b, b_, __FILE__, __LINE__); \
} while (0)

#define CHECK_STR(row, a, b) do {					\
	const char *a_ = (a), *b_ = (b);				\
	if (strcmp(a_, b_) != 0)					\
		fail_msg("row \"%s\": %s is \"%s\", want \"%s\" (%s:%d)", \
		    (row), #a, a_, b_, __FILE__, __LINE__);		\
} while (0)

#define CHECK_MEM(row, a, b, n) do {					\
	if (memcmp((a), (b), (n)) != 0)					\
		fail_msg("row \"%s\": %s differs from %s (%s:%d)",	\
		    (row), #a, #b, __FILE__, __LINE__);			\
} while (0)

static inline int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "05 01 00" into bytes; spaces are ignored. Fails the test on bad hex. */
static inline size_t
hex_decode(const char *s, uint8_t *out, size_t outlen)
{
	size_t	n = 0;

	while (*s != '\0') {
		int hi, lo;

		if (*s == ' ') {
			s++;
			continue;
		}
		hi = hex_nibble(s[0]);
		lo = hi < 0 ? -1 : hex_nibble(s[1]);
		if (hi < 0 || lo < 0 || n >= outlen)
			fail_msg("bad hex literal near \"%s\"", s);
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

/*
 * Exact-size heap copy, so ASan sees any read past the end (cmocka's
 * test_malloc() pads with guard bytes, which would hide it). free() it.
 */
/*
 * A file as an unsafe-file row sets it up (secfile's checks on key and
 * config files): text written to real with mode, chowned, then placed at
 * path directly or behind a symlink.
 */
struct unsafe_row {
	const char	*name;
	mode_t		 mode;
	bool		 symlink;
	uid_t		 owner;		/* 0: as created; else chown (root) */
	const char	*err;		/* NULL: loads */
};

/* false (said) when the row needs root and this is not. */
static inline bool
unsafe_file_place(const struct unsafe_row *r, const char *real,
    const char *path, const char *text)
{
	FILE	*f;

	print_message("row %s\n", r->name);
	if (r->owner != 0 && geteuid() != 0) {
		print_message("  skipped: chown needs root\n");
		return false;
	}
	assert_non_null(f = fopen(real, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(real, r->mode), 0);
	if (r->owner != 0)
		assert_int_equal(chown(real, r->owner, r->owner), 0);
	if (r->symlink)
		assert_int_equal(symlink(real, path), 0);
	else
		assert_int_equal(rename(real, path), 0);
	return true;
}

static inline uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
	uint8_t	*q = malloc(n);

	if (q == NULL && n > 0)
		fail_msg("out of memory");
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

#endif
