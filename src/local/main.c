/* mpsocks-local: the home-side proxy. */

#include "common/config.h"
#include "common/control.h"
#include "common/daemon.h"
#include "local/conn.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/relay.h"
#include "common/mptcp.h"
#include "common/stats.h"
#include "local/cli.h"
#include "local/config_uplink.h"
#include "local/monitor.h"
#include "local/policy.h"
#include "local/outbound.h"
#include "local/pair.h"
#include "local/tunnel_client.h"
#include "local/uplink.h"
#include "proto/util.h"

#include <event2/event.h>
#include <getopt.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MPSOCKS_VERSION
#define MPSOCKS_VERSION	"0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mpsocks-local --server HOST:PORT --key-file FILE [options]\n"
"       mpsocks-local -c FILE [options]\n"
"       mpsocks-local --pair TOKEN [-c FILE] [--key-file FILE] [--force]\n"
"\n"
"The mpsocks home-side proxy: a SOCKS5 server that carries every\n"
"connection to the concentrator (mpsocks-server) over MPTCP, so that one\n"
"download uses every uplink at once.\n"
"\n"
"  -l, --listen ADDR:PORT     proxy port (repeatable; default\n"
"                             127.0.0.1:1080). Beyond loopback it needs\n"
"                             --user or --allow-client.\n"
"  -s, --server HOST:PORT     the concentrator\n"
"  -k, --key-file FILE        this client's key (as given by the\n"
"                             concentrator's operator)\n"
"  -u, --user NAME:PASSWORD   require SOCKS5 username/password (repeatable)\n"
"  -a, --allow-client CIDR    accept apps from this network (repeatable)\n"
"      --no-mptcp             use plain TCP to the concentrator\n"
"      --encryption tls|none  the tunnel: TLS 1.3 (default) or protocol v1\n"
"                             in clear (docs/security.md)\n"
"      --strict-replies       answer the app only once the concentrator has\n"
"                             reached the destination, with the real\n"
"                             SOCKS5/HTTP error code; the default answers\n"
"                             at once and resets the app's connection if\n"
"                             the destination fails (docs/protocol.md)\n"
"      --no-pool              no warm pool: every connection opens its\n"
"                             tunnel cold (pool_max = 0)\n"
"      --fast-open            send the tunnel header in the SYN (TCP Fast\n"
"                             Open; experimental, off by default: see\n"
"                             docs/protocol.md)\n"
"      --no-fast-open         no TCP Fast Open (the default)\n"
"      --splice               splice() out of plain TCP sockets\n"
"                             (experimental, docs/relay.md)\n"
"      --handshake-timeout S  seconds for an app's SOCKS handshake\n"
"                             (default 10)\n"
"      --idle-timeout S       close relays idle this long (default 300)\n"
"      --connect-timeout S    seconds for the concentrator to reach the\n"
"                             destination (default 10)\n"
"      --max-connections N    concurrent connections (default 65536)\n"
"      --run-as NAME          started as root: become this user once the\n"
"                             sockets are open, keeping only CAP_NET_ADMIN\n"
"                             for the [uplink] sections\n"
"      --control ADDR:PORT|off\n"
"                             metrics, status API and dashboard (default\n"
"                             127.0.0.1:1081; docs/metrics.md)\n"
"      --status               print the running daemon's status (from\n"
"                             its control port) as a table and exit\n"
"      --uplinks              print each [uplink] as the kernel has it\n"
"                             (addresses, gateway, endpoint, rule) and\n"
"                             what bonding lacks, then exit\n"
"  -c, --config FILE          INI configuration (see conf/local.conf);\n"
"                             [rule NAME] sections choose bond, direct or\n"
"                             reject per destination (docs/policy.md).\n"
"                             SIGHUP re-reads the rules and GeoIP files.\n"
"      --explain HOST[:PORT]  print which rule decides HOST (port 443 if\n"
"                             not given) and why, then exit\n"
"      --pair TOKEN|-         pair this home: from the token that\n"
"                             mpsocks-server --add-home printed (-: read\n"
"                             it from stdin), write the key file and set\n"
"                             server and key_file in the config, then\n"
"                             check it and exit. Default config:\n"
"                             " PAIR_DEFAULT_CONF "; default key file:\n"
"                             its key_file, or " PAIR_KEY_NAME " beside it.\n"
"                             With -t it only checks\n"
"      --force                with --pair: replace a key file that holds\n"
"                             another key\n"
"  -t, --test                 check the configuration and exit\n"
"  -v, --verbose              debug logging\n"
"  -q, --quiet                warnings and errors only\n"
"      --version              print the version and exit\n"
"  -h, --help                 this text\n"
"\n"
"Apps: curl --socks5-hostname 127.0.0.1:1080 URL, or a browser's SOCKS5\n"
"proxy setting with remote DNS. Docs: README.md, docs/.\n");
}

enum { OPT_VERSION = 256, OPT_HS, OPT_IDLE, OPT_CONN, OPT_MAXC,
    OPT_NOMPTCP, OPT_CONTROL, OPT_STATUS, OPT_EXPLAIN, OPT_UPLINKS,
    OPT_NOTFO, OPT_TFO, OPT_SPLICE, OPT_ENCRYPTION, OPT_RUN_AS,
    OPT_STRICT, OPT_NOPOOL, OPT_PAIR, OPT_FORCE };

/* What /api/status reads: the monitor and the tunnel client's pool. */
struct status_ctx {
	struct monitor		*mon;
	struct tunnel_client	*tc;
};

static char *
status_json_cb(void *arg)
{
	struct status_ctx	*sc = arg;

	return monitor_status_json(sc->mon, MPSOCKS_VERSION,
	    tunnel_client_pool(sc->tc));
}

/* The handlers of mpsocks-local's own sections, [rule] and [geoip]
 * into b and [uplink] into ups, on a cfg fresh from config_defaults. */
static void
add_sections(struct config *cfg, struct policy_builder *b,
    struct config_uplinks *ups)
{
	memset(ups, 0, sizeof(*ups));
	if (!config_add_section_handler(cfg, policy_section_cb, NULL, b) ||
	    !config_add_section_handler(cfg, config_uplinks_section_cb,
	    config_uplinks_done_cb, ups))
		fatalx("too many section handlers");
}

/* Reads the rules from the config file (and nothing else from it);
 * NULL, with every error reported, if they do not load. */
static struct policy *
load_rules(const char *conf, struct config *cfg, struct config_uplinks *ups,
    config_err_cb *err, void *arg)
{
	struct policy_builder	*b = policy_builder_new();
	struct policy		*p;
	int			 errors = 0, more = 0;

	if (b == NULL)
		return NULL;
	config_defaults(cfg, CONFIG_LOCAL);
	add_sections(cfg, b, ups);
	if (conf != NULL)
		errors = config_load_file(cfg, conf, err, arg);
	if (errors > 0) {
		policy_builder_free(b);
		return NULL;
	}
	if ((p = policy_builder_finish(b, ups, err, arg, &more)) != NULL)
		outbound_add_own_nets(p);
	return p;
}

/* --explain: needs no key and no concentrator, only the rules. */
static int
explain_main(const char *conf, const char *hostport, struct config *cfg)
{
	static struct config_uplinks	 ups;
	struct policy			*p;
	int				 rc;

	if ((p = load_rules(conf, cfg, &ups, daemon_config_err, NULL)) ==
	    NULL)
		return EX_CONFIG_ERR;
	rc = cli_explain(p, hostport, stdout);
	policy_free(p);
	return rc;
}

static void
reload_err(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	log_warnx("event=reload_error at=%s:%u msg=\"%s\"", file, line, msg);
}

struct reload {
	const char	*conf;
	struct outbound	*ob;
};

/* SIGHUP: new rules and GeoIP databases; open connections keep going. */
static void
reload_cb(void *arg)
{
	static struct config		 scratch;
	static struct config_uplinks	 scratch_ups;
	struct reload			*r = arg;
	struct policy			*p;

	if ((p = load_rules(r->conf, &scratch, &scratch_ups, reload_err,
	    NULL)) == NULL) {
		log_warnx("event=reload_fail file=%s: keeping the rules "
		    "in use", r->conf ? r->conf : "-");
		return;
	}
	outbound_set_policy(r->ob, p);
	log_info("event=reload file=%s", r->conf ? r->conf : "-");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "server", required_argument, NULL, 's' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "allow-client", required_argument, NULL, 'a' },
		{ "no-mptcp", no_argument, NULL, OPT_NOMPTCP },
		{ "no-fast-open", no_argument, NULL, OPT_NOTFO },
		{ "fast-open", no_argument, NULL, OPT_TFO },
		{ "splice", no_argument, NULL, OPT_SPLICE },
		{ "encryption", required_argument, NULL, OPT_ENCRYPTION },
		{ "strict-replies", no_argument, NULL, OPT_STRICT },
		{ "no-pool", no_argument, NULL, OPT_NOPOOL },
		{ "handshake-timeout", required_argument, NULL, OPT_HS },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "connect-timeout", required_argument, NULL, OPT_CONN },
		{ "max-connections", required_argument, NULL, OPT_MAXC },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "run-as", required_argument, NULL, OPT_RUN_AS },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "uplinks", no_argument, NULL, OPT_UPLINKS },
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ "explain", required_argument, NULL, OPT_EXPLAIN },
		{ "pair", required_argument, NULL, OPT_PAIR },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	static struct config	 cfg;
	static struct config_uplinks ups;
	static struct daemon_args args;
	struct monitor		*mon;
	struct keyset		 ks;
	struct event_base	*base;
	struct tunnel_client	*tc;
	struct conns		*conns;
	struct control		*ctl;
	struct status_ctx	 sc;
	bool			 status = false;
	const char		*control_arg = NULL;
	struct outbound		*ob;
	struct policy		*policy;
	static struct reload	 rl;
	const char		*explain = NULL;
	int			 ch, errors, perrors = 0;
	struct policy_builder	*pb;
	struct uplinks		*ul;
	bool			 uplinks = false;
	struct pair		 pair = { 0 };
	char			*pair_token = NULL;
	static char		 pair_conf[PATH_MAX];

	config_defaults(&cfg, CONFIG_LOCAL);
	while ((ch = getopt_long(argc, argv, "l:s:k:u:a:c:tvqh", opts,
	    NULL)) != -1) {
		const char *key = NULL, *val = optarg;

		switch (ch) {
		case 'l': key = "listen"; break;
		case 's': key = "server"; break;
		case 'k': key = "key_file"; break;
		case 'u': key = "user"; break;
		case 'a': key = "allow_client"; break;
		case OPT_NOMPTCP: key = "mptcp"; val = "no"; break;
		case OPT_NOTFO: key = "fast_open"; val = "no"; break;
		case OPT_TFO: key = "fast_open"; val = "yes"; break;
		case OPT_SPLICE: key = "splice"; val = "yes"; break;
		case OPT_ENCRYPTION: key = "encryption"; break;
		case OPT_STRICT: key = "strict_replies"; val = "yes"; break;
		case OPT_NOPOOL: key = "pool_max"; val = "0"; break;
		case OPT_HS: key = "handshake_timeout"; break;
		case OPT_IDLE: key = "idle_timeout"; break;
		case OPT_CONN: key = "connect_timeout"; break;
		case OPT_MAXC: key = "max_connections"; break;
		case OPT_RUN_AS: key = "run_as"; break;
		case OPT_CONTROL:
			key = "control.listen";
			control_arg = optarg;
			break;
		case OPT_STATUS: status = true; break;
		case OPT_UPLINKS: uplinks = true; break;
		case 'c': args.conf = optarg; break;
		case OPT_EXPLAIN: explain = optarg; break;
		case OPT_PAIR:
			/* the token is the key: off the command line that
			 * ps shows, at once */
			free(pair_token);
			if ((pair_token = strdup(optarg)) == NULL)
				fatalx("out of memory");
			util_wipe(optarg, strlen(optarg));
			break;
		case OPT_FORCE: pair.force = true; break;
		case 't': args.test = true; break;
		case 'v': args.verbosity++; break;
		case 'q': args.verbosity--; break;
		case OPT_VERSION:
			printf("mpsocks-local %s\n", MPSOCKS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (key != NULL && !daemon_args_add(&args, key, val))
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (pair.force && pair_token == NULL) {
		fprintf(stderr, "--force goes with --pair TOKEN\n");
		return 2;
	}
	if (pair_token != NULL) {
		int rc;

		pair.token = pair_token;
		pair.conf = args.conf;
		for (size_t i = 0; i < args.nset; i++)
			if (strcmp(args.set[i].key, "key_file") == 0)
				pair.key_file = args.set[i].val;
		pair.dry_run = args.test;
		rc = pair_run(&pair, pair_conf, sizeof(pair_conf));
		util_wipe(pair_token, strlen(pair_token));
		free(pair_token);
		if (rc != 0 || args.test)
			return rc;
		/* what was written must start: the -t check of it */
		args.conf = pair_conf;
		args.test = true;
	}
	if (explain != NULL)
		return explain_main(args.conf, explain, &cfg);
	/* every reading of the file takes the [rule] sections, --status too */
	if ((pb = policy_builder_new()) == NULL)
		fatalx("out of memory");
	add_sections(&cfg, pb, &ups);
	if (status) {
		int rc = cli_status(&cfg, args.conf, control_arg);

		policy_builder_free(pb);
		return rc;
	}
	if (uplinks) {		/* needs only the [uplink] sections */
		int rc = EX_CONFIG_ERR;

		if (args.conf == NULL || config_load_file(&cfg, args.conf,
		    daemon_config_err, NULL) == 0)
			rc = cli_uplinks(&cfg, &ups, stdout);
		policy_builder_free(pb);
		return rc;
	}
	errors = daemon_configure(&cfg, &args, &ks);
	policy = policy_builder_finish(pb, &ups, daemon_config_err, NULL,
	    &perrors);
	errors += perrors;
	if (errors == 0 && ks.n != 1) {
		fprintf(stderr, "%s: holds %zu keys; mpsocks-local needs "
		    "exactly one\n", cfg.key_file, ks.n);
		errors++;
	}
	if (errors > 0) {
		policy_free(policy);
		keyset_free(&ks);
		daemon_config_summary(&args, "mpsocks-local", errors);
		return EX_CONFIG_ERR;
	}
	if (args.test) {
		policy_free(policy);
		keyset_free(&ks);
		printf("configuration OK\n");
		return 0;
	}
	log_init("mpsocks-local", cfg.log_level);
	relay_set_splice(cfg.splice);
	daemon_raise_nofile();
	if ((base = daemon_event_base()) == NULL)
		fatalx("event_base_new failed");
	stats_init(CONFIG_LOCAL);
	if ((mon = monitor_new(base, &cfg, &ups)) == NULL)
		fatalx("cannot start subflow sampling");
	/* before the tunnel: its first connections find the endpoints */
	ul = uplinks_start(base, &cfg, &ups);
	tc = tunnel_client_new(base, &cfg, &ups, &ks.keys[0], mon);
	keyset_free(&ks);
	if (tc == NULL) {
		uplinks_stop(ul);
		return 1;
	}
	outbound_add_own_nets(policy);
	if ((ob = outbound_new(base, &cfg, tc, policy)) == NULL)
		fatalx("cannot start the resolver");
	if ((conns = conns_start(base, &cfg, ob, mon)) == NULL) {
		outbound_free(ob);
		uplinks_stop(ul);
		tunnel_client_free(tc);
		event_base_free(base);
		return 1;
	}
	sc.mon = mon;
	sc.tc = tc;
	if (!control_start(base, &cfg, status_json_cb, &sc, &ctl)) {
		conns_stop(conns);
		outbound_free(ob);
		uplinks_stop(ul);
		tunnel_client_free(tc);
		event_base_free(base);
		return 1;
	}
	/* every socket is open: the uplinks' netlink sockets, listeners
	 * and the control port. What stays needed is CAP_NET_ADMIN, to
	 * follow and restore the uplinks (uplink.c). */
	daemon_drop_privileges(&cfg, cfg.manage_uplinks && ul != NULL ?
	    1ull << CAP_NET_ADMIN : 0);
	rl.conf = args.conf;
	rl.ob = ob;
	if (!daemon_signals(base, reload_cb, &rl))
		fatalx("cannot install signal handlers");
	if (cfg.tfo && (mptcp_fastopen_sysctl() & 1) == 0)
		log_info("TCP Fast Open is off for clients here "
		    "(net.ipv4.tcp_fastopen lacks 1): tunnel headers wait for "
		    "the handshake; set it to 1 or 3 (docs/deployment.md)");
	log_info("event=start version=%s server=%s", MPSOCKS_VERSION,
	    cfg.server);
	event_base_dispatch(base);
	control_free(ctl);
	conns_stop(conns);
	monitor_free(mon);
	outbound_free(ob);
	tunnel_client_free(tc);
	uplinks_stop(ul);
	daemon_signals_free();
	event_base_free(base);
	stats_free();
	log_info("event=stopped");
	return 0;
}
