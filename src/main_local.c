/* mpsocks-local: the home-side proxy. */

#include "config.h"
#include "daemon.h"
#include "frontend.h"
#include "keyfile.h"
#include "log.h"
#include "tunnel_client.h"
#include "uplink.h"
#include "util.h"

#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef MPSOCKS_VERSION
#define MPSOCKS_VERSION	"0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mpsocks-local --server HOST:PORT --key-file FILE [options]\n"
"       mpsocks-local -c FILE [options]\n"
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
"      --handshake-timeout S  seconds for an app's SOCKS handshake\n"
"                             (default 10)\n"
"      --idle-timeout S       close relays idle this long (default 300)\n"
"      --connect-timeout S    seconds for the concentrator to reach the\n"
"                             destination (default 10)\n"
"      --max-connections N    concurrent connections (default 65536)\n"
"      --uplinks              print each [uplink] as the kernel has it\n"
"                             (addresses, gateway, endpoint, rule) and\n"
"                             what bonding lacks, then exit\n"
"  -c, --config FILE          INI configuration (see conf/local.conf)\n"
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
    OPT_NOMPTCP, OPT_UPLINKS };

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
		{ "handshake-timeout", required_argument, NULL, OPT_HS },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "connect-timeout", required_argument, NULL, OPT_CONN },
		{ "max-connections", required_argument, NULL, OPT_MAXC },
		{ "uplinks", no_argument, NULL, OPT_UPLINKS },
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config	 cfg;
	static struct daemon_args args;
	struct keyset		 ks;
	struct event_base	*base;
	struct tunnel_client	*tc;
	struct frontend		*fe;
	struct uplinks		*ul;
	int			 ch, errors;
	bool			 uplinks = false;

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
		case OPT_HS: key = "handshake_timeout"; break;
		case OPT_IDLE: key = "idle_timeout"; break;
		case OPT_CONN: key = "connect_timeout"; break;
		case OPT_MAXC: key = "max_connections"; break;
		case OPT_UPLINKS: uplinks = true; break;
		case 'c': args.conf = optarg; break;
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
	if (uplinks) {		/* needs only the [uplink] sections */
		if (args.conf != NULL && config_load_file(&cfg, args.conf,
		    daemon_config_err, NULL) > 0)
			return EX_CONFIG_ERR;
		return uplinks_print_status(&cfg, stdout);
	}
	errors = daemon_configure(&cfg, &args, &ks);
	if (errors == 0 && ks.n != 1) {
		fprintf(stderr, "%s: holds %zu keys; mpsocks-local needs "
		    "exactly one\n", cfg.key_file, ks.n);
		errors++;
	}
	if (errors > 0) {
		keyset_free(&ks);
		daemon_config_summary(&args, "mpsocks-local", errors);
		return EX_CONFIG_ERR;
	}
	if (args.test) {
		keyset_free(&ks);
		printf("configuration OK\n");
		return 0;
	}
	log_init("mpsocks-local", cfg.log_level);
	daemon_raise_nofile();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	/* before the tunnel: its first connections find the endpoints */
	ul = uplinks_start(base, &cfg);
	tc = tunnel_client_new(base, &cfg, &ks.keys[0]);
	keyset_free(&ks);
	if (tc == NULL) {
		uplinks_stop(ul);
		return 1;
	}
	if ((fe = frontend_new(base, &cfg, tc)) == NULL) {
		uplinks_stop(ul);
		tunnel_client_free(tc);
		event_base_free(base);
		return 1;
	}
	if (!daemon_signals(base, NULL, NULL))
		fatalx("cannot install signal handlers");
	log_info("event=start version=%s server=%s", MPSOCKS_VERSION,
	    cfg.server);
	event_base_dispatch(base);
	frontend_free(fe);
	tunnel_client_free(tc);
	uplinks_stop(ul);
	daemon_signals_free();
	event_base_free(base);
	log_info("event=stopped");
	return 0;
}
