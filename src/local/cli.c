/*
 * mpsocks-local's one-shot commands: each reads the configuration (and,
 * for some, the kernel), prints a report to a FILE and returns the exit
 * code, without starting the daemon. The daemon modules export what a
 * report needs and keep the printing out of their own files.
 */

#include "local/cli.h"

#include <linux/mptcp.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "local/config_uplink.h"
#include "local/netlink.h"
#include "local/uplink.h"
#include "uplink_kernel.h"

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
