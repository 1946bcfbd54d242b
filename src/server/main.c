/* mpsocks-server: the concentrator. */

#include "common/config.h"
#include "common/control.h"
#include "common/daemon.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/relay.h"
#include "common/mptcp.h"
#include "common/stats.h"
#include "proto/status.h"
#include "server/add_home.h"
#include "server/tunnel_server.h"
#include "proto/util.h"

#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MPSOCKS_VERSION
#define MPSOCKS_VERSION	"0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
"usage: mpsocks-server --listen ADDR:PORT --key-file FILE [options]\n"
"       mpsocks-server -c FILE [options]\n"
"       mpsocks-server --genkey\n"
"       mpsocks-server --add-home NAME [--public HOST[:PORT]] [-c FILE]\n"
"\n"
"The mpsocks concentrator: terminates MPTCP tunnels from mpsocks-local,\n"
"authenticates them, and connects to the requested destinations.\n"
"\n"
"  -l, --listen ADDR:PORT     listen here (repeatable; [::]:PORT for IPv6)\n"
"  -k, --key-file FILE        client keys: \"NAME BASE64 [require_tls]\"\n"
"                             lines, or one key\n"
"  -a, --allow CIDR           permit destinations in this network although\n"
"                             it is private/loopback/link-local (repeatable)\n"
"      --deny CIDR            refuse destinations in this network, even if\n"
"                             allowed (repeatable)\n"
"      --handshake-timeout S  seconds to authenticate (default 10)\n"
"      --idle-timeout S       close relays idle this long (default 300)\n"
"      --connect-timeout S    seconds to reach a destination (default 10)\n"
"      --max-connections N    concurrent connections (default 65536)\n"
"      --require-tls          refuse protocol v1 (clients with encryption =\n"
"                             none) for every key (docs/security.md)\n"
"      --splice               splice() out of plain TCP sockets\n"
"                             (experimental, docs/relay.md)\n"
"      --run-as NAME          started as root: become this user, with no\n"
"                             capabilities, once the sockets are open\n"
"      --control ADDR:PORT    serve /metrics and /api/status (default off;\n"
"                             docs/metrics.md)\n"
"      --pid-file FILE        write the pid here at start, for --add-home\n"
"                             to signal\n"
"      --add-home NAME        pair a new home: add a key named NAME to the\n"
"                             key file (created if absent), reload the\n"
"                             running concentrator (its pid file), print\n"
"                             the token for the home, then exit. Without\n"
"                             -c and --key-file it reads\n"
"                             " ADD_HOME_DEFAULT_CONF "; with -t it only\n"
"                             checks. With --require-tls the key gets\n"
"                             the require_tls flag\n"
"      --public HOST[:PORT]   with --add-home: where homes reach this\n"
"                             concentrator (default: the first listen\n"
"                             address that is not a wildcard; the port:\n"
"                             the first listen port)\n"
"  -c, --config FILE          INI configuration (see conf/server.conf)\n"
"  -t, --test                 check the configuration and exit\n"
"  -v, --verbose              debug logging\n"
"  -q, --quiet                warnings and errors only\n"
"      --genkey               print a new random key in base64 and exit\n"
"      --version              print the version and exit\n"
"  -h, --help                 this text\n"
"\n"
"Signals: SIGTERM/SIGINT stop; SIGHUP reloads the key file and re-reads\n"
"this host's addresses (refused as destinations).\n"
"Docs: docs/configuration.md, docs/protocol.md, docs/deployment.md\n");
}

static int
genkey(void)
{
	uint8_t	key[32];
	char	b64[64];

	if (!util_random(key, sizeof(key))) {
		perror("getrandom");
		return 1;
	}
	util_base64_encode(key, sizeof(key), b64, sizeof(b64));
	util_wipe(key, sizeof(key));
	printf("%s\n", b64);
	return 0;
}

struct server_ctx {
	struct config		 cfg;
	struct tunnel_server	*srv;
};

/* SIGHUP: the key file, and this host's addresses, so that one just
 * added is refused as a destination at once, not at the next periodic
 * check up to 10 s later. */
static void
reload(void *arg)
{
	struct server_ctx	*ctx = arg;
	struct keyset		 ks;

	log_info("event=reload own_addresses=%zu",
	    tunnel_server_refresh_self(ctx->srv));
	if (keyfile_load(ctx->cfg.key_file, &ks, daemon_key_err,
	    ctx->cfg.key_file) != 0) {
		log_warnx("event=reload result=failed file=%s: keeping the "
		    "old keys", ctx->cfg.key_file);
		return;
	}
	log_info("event=reload result=ok keys=%zu", ks.n);
	tunnel_server_reload_keys(ctx->srv, &ks);
}

enum { OPT_GENKEY = 256, OPT_VERSION, OPT_HS, OPT_IDLE, OPT_CONN, OPT_MAXC,
    OPT_CONTROL, OPT_SPLICE, OPT_REQUIRE_TLS, OPT_RUN_AS, OPT_DENY,
    OPT_ADD_HOME, OPT_PUBLIC, OPT_PID_FILE };

static bool
args_have(const struct daemon_args *a, const char *key)
{
	for (size_t i = 0; i < a->nset; i++)
		if (strcmp(a->set[i].key, key) == 0)
			return true;
	return false;
}

/* --add-home: the config as the daemon would read it, then add_home. */
static int
add_home_main(struct config *cfg, struct daemon_args *args,
    struct add_home *ah)
{
	int	errors;

	if (args->conf == NULL && !args_have(args, "key_file") &&
	    access(ADD_HOME_DEFAULT_CONF, F_OK) == 0) {
		args->conf = ADD_HOME_DEFAULT_CONF;
		fprintf(stderr, "mpsocks-server: reading %s\n", args->conf);
	}
	if ((errors = daemon_load_config(cfg, args)) > 0) {
		daemon_config_summary(args, "mpsocks-server", errors);
		return EX_CONFIG_ERR;
	}
	ah->require_tls = args_have(args, "require_tls");
	ah->dry_run = args->test;
	return add_home_run(cfg, ah);
}

/* The concentrator's /api/status: who it is, how long it has run and
 * how many pooled tunnels wait; its connections are in /metrics. */
static char *
status_json_cb(void *arg)
{
	struct server_ctx	*ctx = arg;
	struct status_snapshot	 s = { .version = MPSOCKS_VERSION,
				    .role = "server", .has_idle = true };

	s.uptime_s = stats_uptime_s();
	s.idle_tunnels = tunnel_server_idle(ctx->srv);
	return status_json_render(&s);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "allow", required_argument, NULL, 'a' },
		{ "deny", required_argument, NULL, OPT_DENY },
		{ "handshake-timeout", required_argument, NULL, OPT_HS },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "connect-timeout", required_argument, NULL, OPT_CONN },
		{ "max-connections", required_argument, NULL, OPT_MAXC },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "run-as", required_argument, NULL, OPT_RUN_AS },
		{ "splice", no_argument, NULL, OPT_SPLICE },
		{ "require-tls", no_argument, NULL, OPT_REQUIRE_TLS },
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "genkey", no_argument, NULL, OPT_GENKEY },
		{ "add-home", required_argument, NULL, OPT_ADD_HOME },
		{ "public", required_argument, NULL, OPT_PUBLIC },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct server_ctx ctx;
	static struct daemon_args args;
	struct keyset		 ks;
	struct event_base	*base;
	struct control		*ctl = NULL;
	struct add_home		 ah = { 0 };
	int			 ch, errors;

	config_defaults(&ctx.cfg, CONFIG_SERVER);
	while ((ch = getopt_long(argc, argv, "l:k:a:c:tvqh", opts, NULL)) !=
	    -1) {
		const char *key = NULL, *val = NULL;

		switch (ch) {
		case 'l': key = "listen"; break;
		case 'k': key = "key_file"; break;
		case 'a': key = "allow"; break;
		case OPT_DENY: key = "deny"; break;
		case OPT_HS: key = "handshake_timeout"; break;
		case OPT_IDLE: key = "idle_timeout"; break;
		case OPT_CONN: key = "connect_timeout"; break;
		case OPT_MAXC: key = "max_connections"; break;
		case OPT_CONTROL: key = "control.listen"; break;
		case OPT_RUN_AS: key = "run_as"; break;
		case OPT_SPLICE: key = "splice"; val = "yes"; break;
		case OPT_REQUIRE_TLS: key = "require_tls"; val = "yes"; break;
		case OPT_PID_FILE: key = "pid_file"; break;
		case OPT_ADD_HOME: ah.name = optarg; break;
		case OPT_PUBLIC: ah.public = optarg; break;
		case 'c': args.conf = optarg; break;
		case 't': args.test = true; break;
		case 'v': args.verbosity++; break;
		case 'q': args.verbosity--; break;
		case OPT_GENKEY: return genkey();
		case OPT_VERSION:
			printf("mpsocks-server %s\n", MPSOCKS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (key != NULL && !daemon_args_add(&args, key,
		    val != NULL ? val : optarg))
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (ah.public != NULL && ah.name == NULL) {
		fprintf(stderr, "--public goes with --add-home NAME\n");
		return 2;
	}
	if (ah.name != NULL)
		return add_home_main(&ctx.cfg, &args, &ah);
	if ((errors = daemon_configure(&ctx.cfg, &args, &ks)) > 0) {
		keyset_free(&ks);
		daemon_config_summary(&args, "mpsocks-server", errors);
		return EX_CONFIG_ERR;
	}
	if (args.test) {
		printf("configuration OK (%zu key%s)\n", ks.n,
		    ks.n == 1 ? "" : "s");
		keyset_free(&ks);
		return 0;
	}
	log_init("mpsocks-server", ctx.cfg.log_level);
	relay_set_splice(ctx.cfg.splice);
	daemon_raise_nofile();
	if ((base = daemon_event_base()) == NULL)
		fatalx("event_base_new failed");
	stats_init(CONFIG_SERVER);
	if ((ctx.srv = tunnel_server_new(base, &ctx.cfg, &ks)) == NULL) {
		keyset_free(&ks);
		event_base_free(base);
		return 1;
	}
	if (!control_start(base, &ctx.cfg, status_json_cb, &ctx, &ctl)) {
		tunnel_server_free(ctx.srv);
		event_base_free(base);
		return 1;
	}
	/* before the drop: a pid file's directory (/run) may be root's */
	if (ctx.cfg.pid_file[0] != '\0' &&
	    !daemon_pidfile_write(ctx.cfg.pid_file)) {
		control_free(ctl);
		tunnel_server_free(ctx.srv);
		event_base_free(base);
		return 1;
	}
	/* listeners open: nothing after needs root or a capability */
	daemon_drop_privileges(&ctx.cfg, 0);
	if (!daemon_signals(base, reload, &ctx))
		fatalx("cannot install signal handlers");
	if ((mptcp_fastopen_sysctl() & 2) == 0)
		log_info("TCP Fast Open is off for servers here "
		    "(net.ipv4.tcp_fastopen lacks 2): tunnel headers wait for "
		    "the handshake; set it to 3 (docs/deployment.md)");
	log_info("event=start version=%s allow=%zu deny=%zu", MPSOCKS_VERSION,
	    ctx.cfg.allow.n, ctx.cfg.deny.n);
	event_base_dispatch(base);
	if (ctx.cfg.pid_file[0] != '\0')
		daemon_pidfile_remove(ctx.cfg.pid_file);
	control_free(ctl);
	tunnel_server_free(ctx.srv);
	daemon_signals_free();
	event_base_free(base);
	stats_free();
	log_info("event=stopped");
	return 0;
}
