/*
 * The policy loader and matcher. The input is used twice: as mpsocks-local
 * configuration text (up to its first NUL), whose [rule] and [geoip]
 * sections go to policy_section_cb(); and as a list file (all of it, NUL
 * bytes included, through a memfd) read by domains_from and cidrs_from.
 * Every error is reported, names a line, and the count agrees; a policy
 * that loads then matches names and addresses taken from the input.
 */

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"
#include "fuzz.h"
#include "local/policy.h"

#define FUZZ_MAX_INPUT	(64 * 1024)

static void
count_cb(void *arg, const char *file, unsigned line, const char *msg)
{
	int	*n = arg;

	(void)line;
	FUZZ_CHECK(file != NULL && msg != NULL && msg[0] != '\0');
	FUZZ_CHECK(strlen(msg) < 1024);
	(*n)++;
}

static void
match_some(const struct policy *p, const uint8_t *data, size_t size)
{
	struct policy_verdict	v;
	struct target		t = { .atyp = TARGET_DOMAIN, .port = 443 };
	size_t			n = MIN(size, TARGET_MAX_NAME);

	memcpy(t.name, data, n);
	t.name[n] = '\0';
	policy_match(p, &t, NULL, false, &v);
	FUZZ_CHECK(v.need_addr || (v.rule != NULL && v.pin != NULL));
	FUZZ_CHECK(strlen(v.why) < sizeof(v.why));
	t.atyp = size > 0 && data[0] & 1 ? TARGET_IPV6 : TARGET_IPV4;
	memcpy(t.addr, data, MIN(size, sizeof(t.addr)));
	policy_match(p, &t, NULL, false, &v);
	FUZZ_CHECK(!v.need_addr && v.rule != NULL && v.pin != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config	 cfg;
	static struct config_uplinks ups;
	struct policy_builder	*b;
	struct policy		*p;
	char			*text, list[512];
	int			 fd, errs = 0, n, more = 0;

	/* list and database paths of its own could block (/dev/stdin) or
	 * read the machine: only the memfd below is fair game */
	if (size > FUZZ_MAX_INPUT || memmem(data, size, "/dev", 4) != NULL ||
	    memmem(data, size, "/proc", 5) != NULL ||
	    memmem(data, size, "/sys", 4) != NULL)
		return 0;
	if ((fd = memfd_create("fuzz_policy", 0)) == -1)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	if ((text = malloc(size + 1 + sizeof(list) * 2)) == NULL) {
		close(fd);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	/* the list rules first, then the input's own sections */
	snprintf(list, sizeof(list), "[rule fd]\n"
	    "domains_from = /proc/self/fd/%d\ncidrs_from = /proc/self/fd/%d\n"
	    "action = direct\n", fd, fd);
	memmove(text + strlen(list), text, strlen(text) + 1);
	memcpy(text, list, strlen(list));
	b = policy_builder_new();
	FUZZ_CHECK(b != NULL);
	config_defaults(&cfg, CONFIG_LOCAL);
	memset(&ups, 0, sizeof(ups));
	(void)config_add_section_handler(&cfg, policy_section_cb, NULL, b);
	(void)config_add_section_handler(&cfg, config_uplinks_section_cb,
	    config_uplinks_done_cb, &ups);
	n = config_load_string(&cfg, "fuzz.conf", text, count_cb, &errs);
	FUZZ_CHECK(n == errs);
	p = policy_builder_finish(b, &ups, count_cb, &errs, &more);
	FUZZ_CHECK((p == NULL) == (more > 0));
	if (p != NULL) {
		FUZZ_CHECK(policy_rule_count(p) <= POLICY_MAX_RULES);
		match_some(p, data, size);
		policy_free(p);
	}
	free(text);
	close(fd);
	return 0;
}
