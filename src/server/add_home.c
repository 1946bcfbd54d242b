/*
 * mpsocks-server --add-home NAME (add_home.h): one new key line, written
 * the way the daemons read key files (secfile: no link followed, no
 * group or other writing), in one rename, under a lock on the key
 * file's directory so that two at once do not lose one.
 */

#include "server/add_home.h"
#include "common/keyfile.h"
#include "common/secfile.h"
#include "proto/pairing.h"
#include "proto/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG		"mpsocks-server"
/* what conf/local.conf names, and mpsocks-local --pair writes by default */
#define HOME_KEY_FILE	"/etc/mpsocks/client.key"
#define KEYFILE_MAX_BYTES	(KEYFILE_MAX_KEYS * (KEYFILE_MAX_LINE + 1))

/* keyfile_parse's errors: line ones printed; "no keys" (line 0) only
 * means an empty file, which is where a first home goes. */
struct parse_errs {
	const char	*path;
	int		 lines;
};

static void
parse_err_cb(void *arg, unsigned line, const char *msg)
{
	struct parse_errs	*e = arg;

	if (line == 0)
		return;
	fprintf(stderr, "%s:%u: %s\n", e->path, line, msg);
	e->lines++;
}

static bool
is_wildcard_or_loopback(const char *listen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	if (!util_parse_sockaddr(listen, &ss, &sl))
		return true;
	if (ss.ss_family == AF_INET) {
		uint32_t a = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);

		return a == INADDR_ANY || (a >> 24) == 127;
	}
	const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	return IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_LOOPBACK(a6) ||
	    (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

/* The concentrator's address as homes reach it, into p. */
static bool
public_address(const struct config *cfg, const char *public,
    struct pairing *p)
{
	char		host[256], scratch[256];
	uint16_t	port = 0;

	if (public != NULL && !util_split_hostport(public, host,
	    sizeof(host), &port)) {
		/* HOST alone, or [v6]: the port is the listen port */
		size_t n = strlen(public);

		if (n >= 2 && public[0] == '[' && public[n - 1] == ']')
			snprintf(host, sizeof(host), "%.*s", (int)n - 2,
			    public + 1);
		else
			snprintf(host, sizeof(host), "%s", public);
		if (cfg->n_listen == 0 || !util_split_hostport(cfg->listen[0],
		    scratch, sizeof(scratch), &port)) {
			fprintf(stderr, "%s: --public %s has no port and there "
			    "is no listen address to take it from: give "
			    "HOST:PORT\n", PROG, public);
			return false;
		}
	} else if (public == NULL) {
		size_t i;

		for (i = 0; i < cfg->n_listen; i++)
			if (!is_wildcard_or_loopback(cfg->listen[i]))
				break;
		if (i == cfg->n_listen) {
			fprintf(stderr, "%s: %s: give --public HOST or "
			    "HOST:PORT, the name or address homes reach this "
			    "concentrator at\n", PROG, cfg->n_listen == 0 ?
			    "no listen address" : "every listen address is a "
			    "wildcard or loopback");
			return false;
		}
		util_split_hostport(cfg->listen[i], host, sizeof(host),
		    &port);
	}
	if (strlen(host) > PAIRING_HOST_MAX || !pairing_host_valid(host)) {
		fprintf(stderr, "%s: \"%.64s\" is not a host name or an "
		    "address\n", PROG, host);
		return false;
	}
	strcpy(p->host, host);
	p->port = port;
	return true;
}

/*
 * SIGHUP to the concentrator whose pid is in pidfile, once /proc says
 * that pid is an mpsocks-server (a stale file may name anything). The
 * file is the daemon's, perhaps written as its run_as user: read with
 * no owner check, since all it can make us do is signal an
 * mpsocks-server. 1: sent; 0: none runs; -1: why says.
 */
static int
reload_server(const char *pidfile, long *pid, char *why, size_t len)
{
	struct stat	 st;
	char		 buf[32], path[64], comm[32], *end;
	ssize_t		 r;
	int		 fd;

	fd = open(pidfile, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, len, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (r = read(fd, buf, sizeof(buf) - 1)) <= 0) {
		close(fd);
		snprintf(why, len, "holds no pid");
		return -1;
	}
	close(fd);
	buf[r] = '\0';
	*pid = strtol(buf, &end, 10);
	if (*pid <= 1 || (*end != '\n' && *end != '\0')) {
		snprintf(why, len, "holds no pid");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", *pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;			/* gone: a stale file */
	r = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	comm[r > 0 ? r : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, PROG) != 0) {
		snprintf(why, len, "pid %ld is not %s but \"%.16s\" (a stale "
		    "pid file?)", *pid, PROG, comm);
		return -1;
	}
	if (kill((pid_t)*pid, SIGHUP) == -1) {
		snprintf(why, len, "cannot signal pid %ld: %s", *pid,
		    strerror(errno));
		return -1;
	}
	return 1;
}

static void
print_pairing(const struct pairing *p, const char *token, const char *b64)
{
	char	hp[PAIRING_HOSTPORT_MAX];

	pairing_hostport(p, hp, sizeof(hp));
	printf("# Pair the home \"%s\" with this concentrator (%s).\n"
	    "# On the home, as root: mpsocks-local --pair TOKEN (or --pair -\n"
	    "# and paste it), TOKEN being the next line. It holds the key:\n"
	    "# carry it like a password, over SSH (docs/security.md).\n"
	    "%s\n"
	    "#\n"
	    "# Or by hand: a key file, mode 0600, of one line\n"
	    "#   %s %s\n"
	    "# and a config naming it (everything else has defaults):\n"
	    "#   [local]\n"
	    "#   server = %s\n"
	    "#   key_file = %s\n", p->name, hp, token, p->name, b64, hp,
	    HOME_KEY_FILE);
	if (p->require_tls)
		printf("#   encryption = tls\n");
}

/* The file's new text: the old one, then the new line. */
static char *
new_text(const char *old, size_t oldlen, const char *line, size_t *len)
{
	size_t	 ll = strlen(line), sep = oldlen > 0 && old[oldlen - 1] != '\n';
	char	*t = malloc(oldlen + sep + ll + 1);

	if (t == NULL)
		return NULL;
	if (oldlen > 0)		/* old is NULL for a new file */
		memcpy(t, old, oldlen);
	if (sep)
		t[oldlen] = '\n';
	memcpy(t + oldlen + sep, line, ll + 1);
	*len = oldlen + sep + ll;
	return t;
}

static void
free_secret(char *p, size_t n)
{
	if (p != NULL) {
		util_wipe(p, n);
		free(p);
	}
}

/* Reads, checks and extends the key file; writes it unless dry_run. */
static int
add_key(const struct config *cfg, const struct add_home *ah,
    struct pairing *p, char *b64, size_t b64len, size_t *nkeys,
    struct secfile_owner *own, bool *created)
{
	struct parse_errs	 pe = { cfg->key_file, 0 };
	struct keyset		 ks = { 0 };
	char			*old = NULL, *text = NULL, line[200], why[512];
	size_t			 oldlen = 0, len = 0;
	int			 r, rc = 1;

	r = secfile_read(cfg->key_file, SECFILE_SECRET, KEYFILE_MAX_BYTES,
	    &old, &oldlen, own, why, sizeof(why));
	if (r == -1) {
		fprintf(stderr, "%s: %s\n", cfg->key_file, why);
		return 1;
	}
	*created = r == 0;
	if (r == 0)
		secfile_owner_new(cfg->key_file, SECFILE_SECRET, cfg->run_as,
		    own);
	else if (keyfile_parse(old, oldlen, &ks, parse_err_cb, &pe) > 0 &&
	    pe.lines > 0) {
		fprintf(stderr, "%s: %d error%s: fix the file first\n",
		    cfg->key_file, pe.lines, pe.lines == 1 ? "" : "s");
		goto out;
	}
	for (size_t i = 0; i < ks.n; i++)
		if (strcmp(ks.keys[i].name, ah->name) == 0) {
			fprintf(stderr, "%s: already has a key named %s: pick "
			    "another name, or revoke that one first (delete "
			    "its line, then reload)\n", cfg->key_file,
			    ah->name);
			goto out;
		}
	if (ks.n >= KEYFILE_MAX_KEYS) {
		fprintf(stderr, "%s: holds %d keys, the most a key file "
		    "may\n", cfg->key_file, KEYFILE_MAX_KEYS);
		goto out;
	}
	/* a repeat of 32 random bytes would be a broken generator */
	for (size_t i = 0; i < ks.n; i++)
		if (memcmp(ks.keys[i].key, p->key, TUNNEL_KEY_LEN) == 0) {
			fprintf(stderr, "%s: the random key repeats one in the "
			    "file: not adding it\n", PROG);
			goto out;
		}
	util_base64_encode(p->key, sizeof(p->key), b64, b64len);
	snprintf(line, sizeof(line), "%s %s%s\n", ah->name, b64,
	    ah->require_tls ? " " KEYFILE_FLAG_REQUIRE_TLS : "");
	if ((text = new_text(old, oldlen, line, &len)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		goto out;
	}
	keyset_free(&ks);
	/* what the daemon will read: the new file must parse, whole */
	pe.lines = 0;
	if (keyfile_parse(text, len, &ks, parse_err_cb, &pe) != 0) {
		fprintf(stderr, "%s: the new key file would not parse: not "
		    "written\n", cfg->key_file);
		goto out;
	}
	*nkeys = ks.n;
	if (!ah->dry_run && !secfile_write(cfg->key_file, text, len, own,
	    r == 1, why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", cfg->key_file, why);
		goto out;
	}
	rc = 0;
out:
	util_wipe(line, sizeof(line));
	keyset_free(&ks);
	free_secret(old, oldlen);
	free_secret(text, len);
	return rc;
}

static void
report_reload(const struct config *cfg, const struct add_home *ah)
{
	char	why[512];
	long	pid = 0;
	int	r;

	if (ah->dry_run)
		return;
	if (cfg->pid_file[0] == '\0') {
		fprintf(stderr, "%s: no pid_file: if a concentrator runs, "
		    "reload it so that it takes the key:\n"
		    "  systemctl reload mpsocks-server   (or: kill -HUP "
		    "PID)\n", PROG);
		return;
	}
	r = reload_server(cfg->pid_file, &pid, why, sizeof(why));
	if (r == 1)
		fprintf(stderr, "%s: sent SIGHUP to the concentrator (pid %ld): "
		    "it reloads the key file and takes %s at once\n", PROG,
		    pid, ah->name);
	else if (r == 0)
		fprintf(stderr, "%s: no concentrator runs (%s): it takes the "
		    "key when it starts\n", PROG, cfg->pid_file);
	else
		fprintf(stderr, "%s: %s: %s; reload the concentrator by hand "
		    "(systemctl reload mpsocks-server, or kill -HUP PID)\n",
		    PROG, cfg->pid_file, why);
}

int
add_home_run(const struct config *cfg, const struct add_home *ah)
{
	struct pairing		p;
	struct secfile_owner	own;
	char			token[PAIRING_TOKEN_MAX + 1], b64[64];
	char			why[512], ostr[128];
	size_t			nkeys = 0;
	bool			created = false;
	int			lock, rc;

	memset(&p, 0, sizeof(p));
	if (!pairing_name_valid(ah->name)) {
		fprintf(stderr, "%s: --add-home \"%.64s\": a name is 1..%d of "
		    "letters, digits, - _ . @\n", PROG, ah->name,
		    PAIRING_NAME_MAX);
		return EX_CONFIG_ERR;
	}
	if (cfg->key_file[0] == '\0') {
		fprintf(stderr, "%s: no key file: give --key-file FILE, or "
		    "-c FILE with key_file\n", PROG);
		return EX_CONFIG_ERR;
	}
	if (!public_address(cfg, ah->public, &p))
		return EX_CONFIG_ERR;
	snprintf(p.name, sizeof(p.name), "%s", ah->name);
	p.require_tls = ah->require_tls || cfg->require_tls;
	if (!util_random(p.key, sizeof(p.key))) {
		perror("getrandom");
		return 1;
	}
	if ((lock = secfile_lock_dir(cfg->key_file, why, sizeof(why))) ==
	    -1) {
		fprintf(stderr, "%s: %s\n", cfg->key_file, why);
		util_wipe(&p, sizeof(p));
		return 1;
	}
	rc = add_key(cfg, ah, &p, b64, sizeof(b64), &nkeys, &own, &created);
	close(lock);
	if (rc != 0 || pairing_encode(&p, token, sizeof(token)) < 0) {
		util_wipe(&p, sizeof(p));
		util_wipe(b64, sizeof(b64));
		return rc != 0 ? rc : 1;
	}
	secfile_owner_str(&own, ostr, sizeof(ostr));
	if (ah->dry_run)
		fprintf(stderr, "%s: -t: %s can be added to %s (%zu key%s, %s)"
		    "; nothing written\n", PROG, ah->name, cfg->key_file,
		    nkeys, nkeys == 1 ? "" : "s", ostr);
	else
		fprintf(stderr, "%s: added the home %s to %s (%s; %zu key%s, "
		    "%s)\n", PROG, ah->name, cfg->key_file, created ?
		    "created" : "extended", nkeys, nkeys == 1 ? "" : "s", ostr);
	report_reload(cfg, ah);
	if (!ah->dry_run)
		print_pairing(&p, token, b64);
	fflush(stdout);
	util_wipe(&p, sizeof(p));
	util_wipe(token, sizeof(token));
	util_wipe(b64, sizeof(b64));
	return 0;
}
