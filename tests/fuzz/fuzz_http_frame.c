/*
 * HTTP/1.x body framing (http_body_feed) and the head-end finder
 * (http_head_seek), each fed the same stream all at once, a byte at a
 * time and in pieces of sizes the input picks. Input: 1 byte kind (low 2
 * bits: LENGTH, CHUNKED, CLOSE, NONE; bit 2: the length counts down from
 * UINT64_MAX), 4 bytes length (big-endian), 3 bytes piece sizes (cycled;
 * 0 is an empty feed), then the stream.
 *
 * Beyond "no crash" (ASan; each piece sits in a block of exactly its
 * size, so a read past the piece is caught, not a read of the next one):
 * - the three feedings end alike: the same result, the body's end at the
 *   same offset, the same why;
 * - used <= len, NEED_MORE used all of it, an empty piece changes
 *   nothing, OK sets done and uses nothing more after, ERROR sets why;
 * - LENGTH ends after exactly length bytes, CLOSE never ends, NONE ends
 *   at once;
 * - CHUNKED agrees with a reference reader written from RFC 9112 7.1
 *   over the whole buffer: what the framer takes, the RFC reading takes
 *   with the same length; what the RFC reading refuses, the framer
 *   refuses at that byte or before; and with the limits http_frame.h
 *   documents added (16 hex digits, 4096-byte lines, 64 trailers, no
 *   framing or routing field in a trailer) the two agree on every result
 *   and offset;
 * - http_head_seek says look at the same offsets however it is fed (fed
 *   on from where it stopped after each look), the first of them where
 *   a line scan of the whole buffer puts it.
 *
 * What follows an ERROR is not checked: http_frame.h promises nothing
 * but that the caller answers and closes, and the callers do.
 */

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "proto/http_frame.h"

#define HDR	8	/* kind, length, piece sizes */

struct frame_in {
	enum http_body_kind	 kind;
	uint64_t		 length;
	const uint8_t		*s;	/* the stream */
	size_t			 n;
};

/* How a feeding cuts the stream. */
struct split {
	const uint8_t	*pat;	/* sizes, cycled; none: all at once */
	size_t		 npat, i;
	size_t		 empty;	/* empty pieces in a row */
};

/* The next piece's size: pieces of 0 are empty feeds, but never a whole
 * round of them, so every feeding ends. */
static size_t
split_next(struct split *sp, size_t left)
{
	size_t	n;

	if (sp->npat == 0 || sp->empty == sp->npat) {
		sp->empty = 0;
		return left;
	}
	n = sp->pat[sp->i++ % sp->npat];
	sp->empty = n == 0 ? sp->empty + 1 : 0;
	return MIN(n, left);
}

/* A copy of a piece in a heap block of exactly its size. */
struct copybuf {
	uint8_t	*p;
	size_t	 n;
};

static const uint8_t *
copy_piece(struct copybuf *cb, const uint8_t *src, size_t n)
{
	if (cb->p == NULL || cb->n != n) {
		free(cb->p);
		cb->n = n;
		if ((cb->p = malloc(n)) == NULL)
			return src;	/* no fence, still a test */
	}
	memcpy(cb->p, src, n);
	return cb->p;
}

struct outcome {
	enum parse_result	 res;
	size_t			 end;	/* bytes used in all */
	const char		*why;
};

/* One feeding of the stream through a fresh framer. */
static void
feed_body(const struct frame_in *in, struct split sp, struct outcome *o)
{
	struct http_body	b;
	struct copybuf		cb = { NULL, 0 };
	enum parse_result	r;
	size_t			pos = 0, n, used;
	bool			done;

	http_body_init(&b, in->kind, in->length);
	do {
		n = split_next(&sp, in->n - pos);
		done = b.done;
		r = http_body_feed(&b, copy_piece(&cb, in->s + pos, n), n,
		    &used);
		FUZZ_CHECK(used <= n);
		FUZZ_CHECK(r != PARSE_NEED_MORE || used == n);
		FUZZ_CHECK(n > 0 || r == (done ? PARSE_OK : PARSE_NEED_MORE));
		FUZZ_CHECK(r == PARSE_OK ? b.done :
		    r == PARSE_NEED_MORE ? !b.done : b.why != NULL);
		pos += used;
	} while (r == PARSE_NEED_MORE && pos < in->n);
	if (r == PARSE_OK) {
		/* the rest is the next message's, and so is the next piece */
		n = in->n - pos;
		FUZZ_CHECK(http_body_feed(&b, copy_piece(&cb, in->s + pos, n),
		    n, &used) == PARSE_OK && used == 0);
		FUZZ_CHECK(http_body_feed(&b, in->s, 0, &used) == PARSE_OK &&
		    used == 0);
	}
	free(cb.p);
	o->res = r;
	o->end = pos;
	o->why = r == PARSE_ERROR ? b.why : NULL;
}

/*
 * The reference chunked reader: RFC 9112 7.1 over the whole buffer.
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *   field-line   = field-name ":" OWS field-value OWS
 *
 * Read as http_frame.c's opening says: no BWS before ';' and no bare LF;
 * an extension is any run of bytes other than controls (HTAB is fine, as
 * in a quoted-string) up to CRLF. caps adds http_frame.h's limits, each
 * at the byte that breaks it.
 */
enum ref_res { REF_GO, REF_OK, REF_BAD, REF_MORE };

#define REF_NOLINE	SIZE_MAX

struct ref {
	const uint8_t	*p;
	size_t		 n, i;
	size_t		 line;	/* this line's start, or REF_NOLINE */
	bool		 caps;
	size_t		 pos;	/* OK: length; BAD: up to the bad byte */
};

/* The verdict once the bytes before end are in; a line over the limit
 * was refused at its first byte too many. */
static enum ref_res
ref_verdict(struct ref *r, enum ref_res res, size_t end)
{
	if (r->caps && r->line != REF_NOLINE &&
	    end - r->line > HTTP_CHUNK_LINE_MAX) {
		r->pos = r->line + HTTP_CHUNK_LINE_MAX + 1;
		return REF_BAD;
	}
	r->pos = end;
	return res;
}

static enum ref_res
ref_bad(struct ref *r)
{
	return ref_verdict(r, REF_BAD, r->i + 1);
}

static enum ref_res
ref_more(struct ref *r)
{
	return ref_verdict(r, REF_MORE, r->n);
}

static bool
ref_ctl(uint8_t ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

static int
ref_hex(uint8_t ch)
{
	static const char	digits[] = "0123456789abcdefABCDEF";
	const char		*h = ch != '\0' ? strchr(digits, ch) : NULL;

	if (h == NULL)
		return -1;
	return h - digits < 16 ? (int)(h - digits) : (int)(h - digits) - 6;
}

/* RFC 9110 5.6.2: visible ASCII but the delimiters */
static bool
ref_tchar(uint8_t ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", ch)
	    == NULL;
}

static bool
ref_framing_name(const uint8_t *p, size_t n)
{
	static const char *const names[] = {
		"Content-Length", "Transfer-Encoding", "Host", "Connection",
		"Trailer", "TE", "Upgrade", "Keep-Alive", "Proxy-Connection",
	};

	for (size_t k = 0; k < NELEM(names); k++)
		if (strlen(names[k]) == n &&
		    strncasecmp(names[k], (const char *)p, n) == 0)
			return true;
	return false;
}

/* CRLF at i, ending a line. */
static enum ref_res
ref_crlf(struct ref *r)
{
	for (int k = 0; k < 2; k++, r->i++) {
		if (r->i == r->n)
			return ref_more(r);
		if (r->p[r->i] != "\r\n"[k])
			return ref_bad(r);
	}
	if (ref_verdict(r, REF_GO, r->i) != REF_GO)
		return REF_BAD;
	r->line = r->i;
	return REF_GO;
}

/* chunk-size [ chunk-ext ] CRLF; *huge: the size is 2^64 or more. */
static enum ref_res
ref_size_line(struct ref *r, uint64_t *size, bool *huge)
{
	size_t	digits = 0;
	int	v;

	*size = 0;
	*huge = false;
	r->line = r->i;
	for (; r->i < r->n && (v = ref_hex(r->p[r->i])) >= 0; r->i++) {
		if (++digits > 16 && r->caps)
			return ref_bad(r);
		*huge |= *size >> 60 != 0;
		*size = *size << 4 | (uint64_t)v;
	}
	if (r->i == r->n)
		return ref_more(r);
	if (digits == 0)
		return ref_bad(r);
	if (r->p[r->i] == ';')
		for (r->i++; r->i < r->n && r->p[r->i] != '\r'; r->i++)
			if (ref_ctl(r->p[r->i]))
				return ref_bad(r);
	return ref_crlf(r);
}

/* trailer-section CRLF */
static enum ref_res
ref_trailers(struct ref *r)
{
	size_t		name, count = 0;
	enum ref_res	res;

	for (;;) {
		r->line = r->i;
		if (r->i == r->n)
			return ref_more(r);
		if (r->p[r->i] == '\r') {
			if ((res = ref_crlf(r)) != REF_GO)
				return res;
			r->pos = r->i;
			return REF_OK;
		}
		if (++count > HTTP_CHUNK_TRAILERS_MAX && r->caps)
			return ref_bad(r);
		for (name = r->i; r->i < r->n && ref_tchar(r->p[r->i]); r->i++)
			;
		if (r->i == r->n)
			return ref_more(r);
		if (r->i == name || r->p[r->i] != ':' || (r->caps &&
		    ref_framing_name(r->p + name, r->i - name)))
			return ref_bad(r);
		for (r->i++; r->i < r->n && r->p[r->i] != '\r'; r->i++)
			if (ref_ctl(r->p[r->i]))
				return ref_bad(r);
		if ((res = ref_crlf(r)) != REF_GO)
			return res;
	}
}

static enum ref_res
ref_chunked(struct ref *r)
{
	uint64_t	size;
	bool		huge;
	enum ref_res	res;

	for (;;) {
		if ((res = ref_size_line(r, &size, &huge)) != REF_GO)
			return res;
		if (size == 0 && !huge)
			return ref_trailers(r);
		if (huge || size > r->n - r->i) {
			r->line = REF_NOLINE;	/* in chunk data */
			return ref_more(r);
		}
		r->i += size;
		r->line = r->i;
		if ((res = ref_crlf(r)) != REF_GO)
			return res;
	}
}

static void
check_chunked(const struct frame_in *in, const struct outcome *o)
{
	struct ref	plain = { in->s, in->n, 0, 0, false, 0 };
	struct ref	capped = { in->s, in->n, 0, 0, true, 0 };
	enum ref_res	rp = ref_chunked(&plain), rc = ref_chunked(&capped);

	/* what we pass on as a whole body is one by the RFC's reading */
	if (o->res == PARSE_OK)
		FUZZ_CHECK(rp == REF_OK && plain.pos == o->end);
	/* and no byte past one the RFC refuses */
	if (rp == REF_BAD)
		FUZZ_CHECK(o->res == PARSE_ERROR && o->end <= plain.pos);
	/* stricter only where the header says, exactly there */
	FUZZ_CHECK(rc == (o->res == PARSE_OK ? REF_OK :
	    o->res == PARSE_ERROR ? REF_BAD : REF_MORE));
	FUZZ_CHECK(capped.pos == o->end);
}

static void
check_kind(const struct frame_in *in, const struct outcome *o)
{
	switch (in->kind) {
	case HTTP_BODY_LENGTH:
		if (in->length <= in->n)
			FUZZ_CHECK(o->res == PARSE_OK &&
			    o->end == in->length);
		else
			FUZZ_CHECK(o->res == PARSE_NEED_MORE &&
			    o->end == in->n);
		break;
	case HTTP_BODY_CLOSE:
		FUZZ_CHECK(o->res == PARSE_NEED_MORE && o->end == in->n);
		break;
	case HTTP_BODY_NONE:
		FUZZ_CHECK(o->res == PARSE_OK && o->end == 0);
		break;
	case HTTP_BODY_CHUNKED:
		check_chunked(in, o);
		break;
	}
}

/*
 * Where http_head_seek first says look, by its header's words: after an
 * empty line that follows a non-empty one, or after a bare LF. 0: never.
 */
static size_t
ref_head_first(const uint8_t *p, size_t n)
{
	bool	content = false;
	size_t	start = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i == start || p[i - 1] != '\r')
			return i + 1;
		if (i - start == 1 && content)
			return i + 1;
		content |= i - start > 1;
		start = i + 1;
	}
	return 0;
}

/* Feeds a head seeker the stream, going on after each look from where
 * it stopped. looks[]: the offsets it said look at; returns how many. */
static size_t
feed_seek(const struct frame_in *in, struct split sp, size_t *looks)
{
	struct http_head_seek	s;
	struct copybuf		cb = { NULL, 0 };
	size_t			pos = 0, n, nl = 0;

	memset(&s, 0, sizeof(s));
	do {
		n = split_next(&sp, in->n - pos);
		if (http_head_seek(&s, copy_piece(&cb, in->s + pos, n), n)) {
			FUZZ_CHECK(s.off > pos && s.off <= pos + n);
			FUZZ_CHECK(in->s[s.off - 1] == '\n');
			looks[nl++] = s.off;
		} else
			FUZZ_CHECK(s.off == pos + n);
		pos = s.off;
	} while (pos < in->n);
	free(cb.p);
	return nl;
}

static void
check_seek(const struct frame_in *in, const struct split *splits,
    size_t nsplits)
{
	size_t	*first, *looks, nfirst, nl;

	if ((first = malloc((in->n + 1) * sizeof(*first))) == NULL ||
	    (looks = malloc((in->n + 1) * sizeof(*looks))) == NULL) {
		free(first);
		return;
	}
	nfirst = feed_seek(in, splits[0], first);
	FUZZ_CHECK(nfirst > 0 ? first[0] == ref_head_first(in->s, in->n) :
	    ref_head_first(in->s, in->n) == 0);
	for (size_t k = 1; k < nsplits; k++) {
		nl = feed_seek(in, splits[k], looks);
		FUZZ_CHECK(nl == nfirst);
		FUZZ_CHECK(memcmp(looks, first, nl * sizeof(*looks)) == 0);
	}
	free(looks);
	free(first);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_body_kind kinds[] = { HTTP_BODY_LENGTH,
	    HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE, HTTP_BODY_NONE };
	static const uint8_t	one = 1;
	struct frame_in		in;
	struct outcome		o[3];
	struct copybuf		cb = { NULL, 0 };
	uint64_t		len;
	const struct split	splits[] = {
		{ NULL, 0, 0, 0 },		/* whole */
		{ &one, 1, 0, 0 },		/* byte by byte */
		{ data + 5, 3, 0, 0 },		/* the input's pieces */
	};

	if (size < HDR)
		return 0;
	len = (uint64_t)data[1] << 24 | (uint64_t)data[2] << 16 |
	    (uint64_t)data[3] << 8 | data[4];
	in.kind = kinds[data[0] & 3];
	in.length = data[0] & 4 ? UINT64_MAX - len : len;
	in.n = size - HDR;
	in.s = copy_piece(&cb, data + HDR, in.n);
	for (size_t k = 0; k < NELEM(splits); k++) {
		feed_body(&in, splits[k], &o[k]);
		FUZZ_CHECK(o[k].res == o[0].res && o[k].end == o[0].end);
		FUZZ_CHECK((o[k].why == NULL) == (o[0].why == NULL));
		FUZZ_CHECK(o[k].why == NULL ||
		    strcmp(o[k].why, o[0].why) == 0);
	}
	check_kind(&in, &o[0]);
	check_seek(&in, splits, NELEM(splits));
	free(cb.p);
	return 0;
}
