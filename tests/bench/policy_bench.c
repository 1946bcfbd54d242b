/*
 * Policy match cost: loads N_DOMAINS domain entries and N_CIDRS networks
 * from list files (as users keep them), then times policy_match() over a
 * mix of targets: names that hit, names that miss (the matcher answers
 * "need an address"), the same names with their address, and IPv4 and
 * IPv6 addresses that hit or miss. Prints one line per figure:
 *   load_ms=... memory_bytes=... rss_kb=... ns_per_match=... (median)
 * Usage: policy_bench [RUNS] [N_DOMAINS] [N_CIDRS]
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "local/policy.h"

#define N_TARGETS	4096
#define N_MATCHES	2000000

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kb(void)
{
	long	pages = 0, rss = 0;
	FILE	*f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
err_cb(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s:%u: %s\n", file, line, msg);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* name i of the domain list: every other one a suffix entry */
static void
domain_name(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "host%u.zone%u.example%u.com", i * 7919u % 1000003u,
	    i % 997u, i % 89u);
}

int
main(int argc, char **argv)
{
	int			 runs = argc > 1 ? atoi(argv[1]) : 5;
	unsigned		 nd = argc > 2 ? (unsigned)atoi(argv[2]) : 100000;
	unsigned		 nc = argc > 3 ? (unsigned)atoi(argv[3]) : 10000;
	char			 dir[] = "/tmp/policy_bench.XXXXXX", dpath[64],
				 cpath[64], conf[512], name[128];
	static struct target	 tg[N_TARGETS];
	static struct sockaddr_in sa[N_TARGETS];
	static struct config	 cfg;
	static struct config_uplinks ups;
	struct policy_builder	*b;
	struct policy		*p;
	struct policy_verdict	 v;
	double			 t0, load_ms, *ns;
	long			 rss0, rss1;
	int			 errors = 0, more = 0;
	unsigned		 hits = 0;
	FILE			*f;

	if (runs < 1 || mkdtemp(dir) == NULL)
		return 1;
	snprintf(dpath, sizeof(dpath), "%s/domains", dir);
	snprintf(cpath, sizeof(cpath), "%s/cidrs", dir);
	if ((f = fopen(dpath, "w")) == NULL)
		return 1;
	for (unsigned i = 0; i < nd; i++) {
		domain_name(i, name, sizeof(name));
		fprintf(f, "%s%s\n", i % 2 ? "." : "", name);
	}
	fclose(f);
	if ((f = fopen(cpath, "w")) == NULL)
		return 1;
	for (unsigned i = 0; i < nc; i++) {
		uint32_t a = rnd();

		if (i % 4 == 3)
			fprintf(f, "2001:db8:%x:%x::/64\n", a >> 16, a & 0xffff);
		else
			fprintf(f, "%u.%u.%u.0/24\n", 1 + a % 223,
			    (a >> 8) & 255, (a >> 16) & 255);
	}
	fclose(f);
	snprintf(conf, sizeof(conf),
	    "[rule lists]\ndomains_from = %s\naction = reject\n"
	    "[rule nets]\ncidrs_from = %s\naction = direct\n"
	    "[rule web]\nport = 8000-8999\naction = direct\n", dpath, cpath);

	rss0 = rss_kb();
	t0 = now_s();
	b = policy_builder_new();
	config_defaults(&cfg, CONFIG_LOCAL);
	memset(&ups, 0, sizeof(ups));
	(void)config_add_section_handler(&cfg, policy_section_cb, NULL, b);
	(void)config_add_section_handler(&cfg, config_uplinks_section_cb,
	    config_uplinks_done_cb, &ups);
	errors = config_load_string(&cfg, "bench.conf", conf, err_cb, NULL);
	p = policy_builder_finish(b, &ups, err_cb, NULL, &more);
	load_ms = (now_s() - t0) * 1000;
	rss1 = rss_kb();
	unlink(dpath);
	unlink(cpath);
	rmdir(dir);
	if (errors > 0 || p == NULL)
		return 1;

	/* a quarter each: listed names (exact or below a suffix), unlisted
	 * names, IPv4, IPv6; names half with their resolved address */
	for (unsigned i = 0; i < N_TARGETS; i++) {
		struct target	*t = &tg[i];
		uint32_t	 r = rnd();

		t->port = i % 16 == 0 ? 8080 : 443;
		switch (i % 4) {
		case 0:
			t->atyp = TARGET_DOMAIN;
			domain_name(r % nd, name, sizeof(name));
			snprintf(t->name, sizeof(t->name), "%s%s",
			    r % nd % 2 ? "www.cdn." : "", name);
			break;
		case 1:
			t->atyp = TARGET_DOMAIN;
			snprintf(t->name, sizeof(t->name),
			    "a%u.b.unlisted%u.example.org", r, r % 1000);
			break;
		case 2:
			t->atyp = TARGET_IPV4;
			memcpy(t->addr, &r, 4);
			break;
		default:
			t->atyp = TARGET_IPV6;
			t->addr[0] = 0x20;
			t->addr[1] = 0x01;
			t->addr[2] = 0x0d;
			t->addr[3] = 0xb8;
			memcpy(t->addr + 4, &r, 4);
		}
		sa[i].sin_family = AF_INET;
		memcpy(&sa[i].sin_addr, &r, 4);
	}
	if ((ns = calloc((size_t)runs, sizeof(*ns))) == NULL)
		return 1;
	printf("domains=%u cidrs=%u rules=%zu\n", nd, nc, policy_rule_count(p));
	printf("load_ms=%.0f\n", load_ms);
	printf("memory_bytes=%zu\n", policy_memory(p));
	printf("rss_kb=%ld\n", rss1 - rss0);
	/* kind 4: the mix of all; 0..3: one quarter alone */
	for (unsigned kind = 0; kind <= 4; kind++) {
		static const char *const names[] = { "listed_name",
		    "unlisted_name", "ipv4", "ipv6", "mix" };

		for (int k = 0; k < runs; k++) {
			t0 = now_s();
			for (unsigned i = 0; i < N_MATCHES; i++) {
				unsigned j = kind == 4 ? i % N_TARGETS :
				    (i * 4 + kind) % N_TARGETS;

				policy_match(p, &tg[j], tg[j].atyp ==
				    TARGET_DOMAIN && (i / N_TARGETS) % 2 ?
				    (struct sockaddr *)&sa[j] : NULL, false,
				    &v);
				hits += v.rule != NULL && v.rule[0] != 'd';
			}
			ns[k] = (now_s() - t0) * 1e9 / N_MATCHES;
		}
		qsort(ns, (size_t)runs, sizeof(*ns), cmp_double);
		printf("ns_per_match_%s=%.0f (median of %d runs of %d; min "
		    "%.0f, max %.0f)\n", names[kind], ns[runs / 2], runs,
		    N_MATCHES, ns[0], ns[runs - 1]);
	}
	printf("decided_by_a_rule=%u\n", hits);
	free(ns);
	policy_free(p);
	return 0;
}
