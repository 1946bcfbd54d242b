/*
 * Origin response heads. Beyond "no crash, no read past size" (ASan): OK
 * consumes at most size, and what the client gets is exactly one
 * well-formed head: CRLF lines only, no control bytes, one empty line at
 * its very end, our Via and exactly one Connection, a status line with
 * our reason phrase, and it reads back (as the next hop would) to the
 * same status and the same framing.
 */

#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "proto/http_response.h"

static void
check_head(const char *out, size_t outn, const struct http_response_info *in,
    unsigned flags)
{
	static char			again[70000];
	char				sl[64];
	size_t				againn, conns = 0, lines;
	struct http_response_info	info;
	const char			*p;

	FUZZ_CHECK(outn >= 4 && memcmp(out + outn - 4, "\r\n\r\n", 4) == 0);
	FUZZ_CHECK(memmem(out, outn, "\r\n\r\n", 4) == out + outn - 4);
	for (size_t i = 0; i < outn; i++) {
		unsigned char ch = (unsigned char)out[i];

		if (ch == '\n')
			FUZZ_CHECK(i > 0 && out[i - 1] == '\r');
		else if (ch == '\r')
			FUZZ_CHECK(i + 1 < outn && out[i + 1] == '\n');
		else
			FUZZ_CHECK(ch >= 0x20 || ch == '\t');
	}
	snprintf(sl, sizeof(sl), "HTTP/1.1 %d %s\r\n", in->status,
	    http_status_reason(in->status));
	FUZZ_CHECK(strncmp(out, sl, strlen(sl)) == 0);
	FUZZ_CHECK(memmem(out, outn, "\r\nVia: 1.1 mpsocks\r\n", 20) != NULL);
	for (p = out; (p = memmem(p, outn - (size_t)(p - out),
	    "\r\nConnection:", 13)) != NULL; p++)
		conns++;
	FUZZ_CHECK(conns == 1);
	/* the client's reading: the same head, the same framing; except
	 * that an origin's 127 or 128 fields come out as 129 or 130, past
	 * our own limit (a client's is far higher) */
	for (p = out, lines = 0; (p = memmem(p, outn - (size_t)(p - out),
	    "\r\n", 2)) != NULL; p++)
		lines++;
	if (lines - 2 > HTTP_RESP_MAX_FIELDS)	/* status and empty lines */
		return;
	FUZZ_CHECK(http_response_rewrite((const uint8_t *)out, outn, 65536,
	    flags | HTTP_RESP_UPGRADE, again, sizeof(again), &againn, &info)
	    == PARSE_OK);
	FUZZ_CHECK(info.used == outn && info.status == in->status);
	FUZZ_CHECK(info.body == in->body || (in->body == HTTP_BODY_CLOSE &&
	    info.body == HTTP_BODY_CLOSE));
	if (in->body == HTTP_BODY_LENGTH)
		FUZZ_CHECK(info.length == in->length);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char			out[70000];
	size_t				outn;
	struct http_response_info	info;

	for (unsigned variant = 0; variant < 8; variant++) {
		if (http_response_rewrite(data, size, 65536, variant, out,
		    sizeof(out), &outn, &info) != PARSE_OK)
			continue;
		FUZZ_CHECK(info.used <= size && outn <= sizeof(out));
		FUZZ_CHECK(info.status >= 100 && info.status <= 599);
		FUZZ_CHECK(!info.upgrade || (variant & HTTP_RESP_UPGRADE));
		check_head(out, outn, &info, variant & HTTP_RESP_HEAD);
	}
	return 0;
}
