/*
 * Origin response heads. Beyond "no crash, no read past size" (ASan): OK
 * consumes at most size, the head written for the client fits and ends
 * with an empty line, and carries our Via and exactly one Connection.
 */

#include <string.h>

#include "fuzz.h"
#include "proto/http_response.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char			out[70000];
	size_t				outn;
	struct http_response_info	info;

	for (int variant = 0; variant < 4; variant++) {
		if (http_response_rewrite(data, size, 65536, variant & 1,
		    variant & 2, out, sizeof(out), &outn, &info) != PARSE_OK)
			continue;
		FUZZ_CHECK(info.used <= size && outn <= sizeof(out));
		FUZZ_CHECK(outn >= 4 && memcmp(out + outn - 4, "\r\n\r\n",
		    4) == 0);
		FUZZ_CHECK(memmem(out, outn, "\r\nVia: 1.1 mpsocks\r\n",
		    20) != NULL);
		FUZZ_CHECK(info.status >= 100 && info.status <= 999);
	}
	return 0;
}
