/*
 * mpsocks-local's one-shot commands: each reads the configuration (and,
 * for some, the kernel), prints a report to a FILE and returns the exit
 * code, without starting the daemon. The daemon modules export what a
 * report needs and keep the printing out of their own files.
 */

#include "local/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/mptcp.h>
#include <linux/rtnetlink.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/daemon.h"
#include "local/config_uplink.h"
#include "local/policy.h"
#include "proto/status.h"
#include "proto/target.h"
#include "proto/util.h"
#include "local/netlink.h"
#include "local/uplink.h"
#include "uplink_kernel.h"

#define CLI_STATUS_TIMEOUT_S	10
#define CLI_STATUS_MAX		(8 * 1024 * 1024)	/* JSON we read */

/* --- --uplinks ------------------------------------------------------------ */

static void
print_uplink(FILE *f, const struct config *cfg,
    const struct config_uplinks *ups, const struct uplink_kstate *ks,
    size_t i)
{
	const struct config_uplink	*u = &ups->v[i];
	const struct netlink_link	*l =
	    uplink_kstate_find_link(ks, u->ifname);
	char				 ip[INET6_ADDRSTRLEN];
	struct netlink_ip		 gw;
	bool				 learned;

	fprintf(f, "uplink %s\n  interface  %s", u->name, u->ifname);
	if (l == NULL) {
		fprintf(f, " (missing)\n  role       %s\n",
		    config_uplink_role_name(u->role));
		return;
	}
	fprintf(f, " (index %d, %s)\n  role       %s\n  table      %u\n",
	    l->ifindex, uplink_kstate_link_usable(l) ? "up" : "down",
	    config_uplink_role_name(u->role), uplinks_table_of(cfg, i));
	for (int fam = AF_INET; fam != 0; fam = fam == AF_INET ? AF_INET6 : 0)
		if (uplink_kstate_gateway_of(ks, u, l->ifindex, fam, &gw,
		    &learned))
			fprintf(f, "  gateway    %s (%s)\n", netlink_ip_str(&gw,
			    ip, sizeof(ip)), learned ? "learned" :
			    "configured");
	for (size_t j = 0; j < ks->n_addrs; j++) {
		const struct netlink_ifaddr	*a = &ks->addrs[j];
		const struct netlink_endpoint	*e;
		uint32_t			 t;

		if (a->ifindex != l->ifindex || a->scope != RT_SCOPE_UNIVERSE)
			continue;
		fprintf(f, "  address    %s/%u", netlink_ip_str(&a->ip, ip,
		    sizeof(ip)), a->prefixlen);
		if ((e = uplink_kstate_ep_for(ks, &a->ip)) != NULL)
			fprintf(f, " endpoint %u %s%s%s", e->id,
			    (e->flags & MPTCP_PM_ADDR_FLAG_SUBFLOW) ?
			    "subflow" : "no-subflow",
			    (e->flags & MPTCP_PM_ADDR_FLAG_BACKUP) ?
			    ",backup" : "", uplink_kstate_ep_ours(e) ?
			    " (mpsocks)" : "");
		else
			fprintf(f, " endpoint none");
		if (uplink_kstate_rule_for(ks, &a->ip, &t))
			fprintf(f, " rule table %u%s", t,
			    uplink_kstate_table_has_default(ks,
			    a->ip.family, t) ? "" : " (no default route)");
		else
			fprintf(f, " rule none");
		fprintf(f, "\n");
	}
}

int
cli_uplinks(const struct config *cfg, const struct config_uplinks *ups,
    FILE *f)
{
	struct uplink_kstate	*ks;
	char			 text[4096], *line, *save = NULL;
	int			 rc = 1;

	if (ups->n == 0) {
		fprintf(f, "no uplinks configured ([uplink NAME] sections)\n");
		return 0;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return 1;
	if (!uplink_kernel_snapshot(ks)) {
		fprintf(f, "cannot read the kernel's state over netlink\n");
		goto out;
	}
	for (size_t i = 0; i < ups->n; i++)
		print_uplink(f, cfg, ups, ks, i);
	if (ks->have_mptcp)
		fprintf(f, "mptcp limits: subflows %u add_addr_accepted %u\n",
		    ks->limits.subflows, ks->limits.add_addr_accepted);
	if (uplinks_gaps(ups, ks, text, sizeof(text)) == 0)
		fprintf(f, "ready for bonding\n");
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		fprintf(f, "missing: %s\n", line);
	rc = 0;
out:
	free(ks);
	return rc;
}

/* --- --explain ----------------------------------------------------------- */

/* HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address. */
static bool
explain_target(const char *hp, struct target *t)
{
	char		host[256];
	uint16_t	port = 443;

	memset(t, 0, sizeof(*t));
	if (!util_split_hostport(hp, host, sizeof(host), &port)) {
		if (strlen(hp) >= sizeof(host))
			return false;
		snprintf(host, sizeof(host), "%s", hp);
		port = 443;
	}
	t->port = port;
	if (inet_pton(AF_INET, host, t->addr) == 1)
		t->atyp = TARGET_IPV4;
	else if (inet_pton(AF_INET6, host, t->addr) == 1)
		t->atyp = TARGET_IPV6;
	else if (target_name_valid((const uint8_t *)host, strlen(host))) {
		t->atyp = TARGET_DOMAIN;
		snprintf(t->name, sizeof(t->name), "%s", host);
	} else
		return false;
	return true;
}

int
cli_explain(const struct policy *p, const char *hp, FILE *out)
{
	struct target		 t;
	struct policy_verdict	 v;
	struct addrinfo		 hints = { .ai_socktype = SOCK_STREAM },
				*ai = NULL;
	char			 ts[TARGET_STRLEN];
	bool			 failed = false;
	int			 rc;

	if (!explain_target(hp, &t)) {
		fprintf(stderr, "--explain %s: not HOST[:PORT]\n", hp);
		return 2;
	}
	fprintf(out, "target:  %s\n", target_str(&t, ts, sizeof(ts)));
	policy_match(p, &t, NULL, false, &v);
	if (v.need_addr) {
		fprintf(out, "resolve: %s (%s)\n", t.name, v.why);
		if ((rc = getaddrinfo(t.name, NULL, &hints, &ai)) != 0) {
			fprintf(out, "resolve: failed: %s\n", gai_strerror(rc));
			failed = true;
		}
		policy_match(p, &t, ai ? ai->ai_addr : NULL, failed, &v);
		if (ai != NULL)
			freeaddrinfo(ai);
	}
	fprintf(out, "rule:    %s\nwhy:     %s\n", v.rule, v.why);
	if (v.country[0] != '\0')
		fprintf(out, "country: %s\n", v.country);
	if (v.asn != 0)
		fprintf(out, "asn:     AS%u\n", v.asn);
	fprintf(out, "action:  %s", policy_action_str(v.action));
	if (v.action == POLICY_DIRECT && v.pin->ifname[0] != '\0')
		fprintf(out, " via interface %s", v.pin->ifname);
	if (v.action == POLICY_DIRECT && v.pin->source_len != 0) {
		char s[UTIL_ADDRSTRLEN];

		util_sockaddr_str((const struct sockaddr *)&v.pin->source, s,
		    sizeof(s));
		fprintf(out, " from %s", s);
	}
	if (v.action == POLICY_BOND && t.atyp == TARGET_DOMAIN)
		fprintf(out, " (the concentrator resolves %s)", t.name);
	fprintf(out, "\n");
	return 0;
}

/* --- --status ------------------------------------------------------------ */

static int
connect_to(const char *addr)
{
	struct addrinfo	 hints = { .ai_socktype = SOCK_STREAM }, *ai, *p;
	char		 host[256], port[8];
	uint16_t	 pn;
	int		 fd = -1;
	struct timeval	 tv = { CLI_STATUS_TIMEOUT_S, 0 };

	if (!util_split_hostport(addr, host, sizeof(host), &pn))
		return -1;
	snprintf(port, sizeof(port), "%u", pn);
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	for (p = ai; p != NULL && fd == -1; p = p->ai_next) {
		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, p->ai_addr, p->ai_addrlen) == -1) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* GETs /api/status over fd; the whole answer, malloc'd and
 * NUL-terminated, or NULL with errno. */
static char *
fetch_status(int fd, const char *addr, const char *token, size_t *lenp)
{
	char	 req[512], *resp = NULL, *p;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 rl;

	rl = snprintf(req, sizeof(req), "GET /api/status HTTP/1.0\r\n"
	    "Host: %s\r\n%s%s%sConnection: close\r\n\r\n", addr,
	    token[0] ? "Authorization: Bearer " : "", token,
	    token[0] ? "\r\n" : "");
	if (rl < 0 || (size_t)rl >= sizeof(req) ||
	    write(fd, req, (size_t)rl) != rl)
		return NULL;
	do {
		if (len + 65536 + 1 > cap) {
			if (cap >= CLI_STATUS_MAX ||
			    (p = realloc(resp, cap + 65536 + 1)) == NULL) {
				free(resp);
				errno = cap ? EFBIG : ENOMEM;
				return NULL;
			}
			resp = p;
			cap += 65536 + 1;
		}
		if ((n = read(fd, resp + len, cap - len - 1)) > 0)
			len += (size_t)n;
	} while (n > 0);
	if (n == -1) {
		free(resp);
		return NULL;
	}
	resp[len] = '\0';
	*lenp = len;
	return resp;
}

static int
print_status(const char *addr, const char *token)
{
	char	*resp, *body, *table;
	size_t	 len = 0;
	int	 fd, code = 0;

	if ((fd = connect_to(addr)) == -1) {
		fprintf(stderr, "mpsocks-local --status: cannot reach the "
		    "control port %s: %s (is mpsocks-local running? "
		    "[control] listen)\n", addr, strerror(errno));
		return 1;
	}
	resp = fetch_status(fd, addr, token, &len);
	close(fd);
	if (resp == NULL) {
		fprintf(stderr, "mpsocks-local --status: %s: %s\n", addr,
		    strerror(errno ? errno : EIO));
		return 1;
	}
	if (sscanf(resp, "HTTP/1.%*1[01] %3d", &code) != 1 ||
	    (body = strstr(resp, "\r\n\r\n")) == NULL) {
		fprintf(stderr, "mpsocks-local --status: %s did not answer "
		    "HTTP\n", addr);
		free(resp);
		return 1;
	}
	body += 4;
	if (code != 200) {
		fprintf(stderr, "mpsocks-local --status: %s answered %d%s\n",
		    addr, code, code == 401 ? " (set [control] token in the "
		    "file given with -c)" : "");
		free(resp);
		return 1;
	}
	table = status_table_render(body, len - (size_t)(body - resp));
	free(resp);
	if (table == NULL) {
		fprintf(stderr, "mpsocks-local --status: the answer is not "
		    "a status\n");
		return 1;
	}
	fputs(table, stdout);
	free(table);
	return 0;
}

int
cli_status(struct config *cfg, const char *conf, const char *control_arg)
{
	if (conf != NULL && config_load_file(cfg, conf, daemon_config_err,
	    NULL) > 0)
		return EX_CONFIG_ERR;
	if (control_arg != NULL && !config_set(cfg, "control.listen",
	    control_arg, daemon_config_err, NULL))
		return EX_CONFIG_ERR;
	if (cfg->control_listen[0] == '\0') {
		fprintf(stderr, "mpsocks-local --status: the control port is "
		    "off ([control] listen = off)\n");
		return 1;
	}
	return print_status(cfg->control_listen, cfg->control_token);
}
