/* Process plumbing shared by both daemons. */

#include "common/daemon.h"
#include "common/log.h"
#include "common/secfile.h"
#include "proto/util.h"

#include <event2/event.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct event	*sig_ev[3];
static void		(*hup_fn)(void *);
static void		*hup_arg;

void
daemon_config_err(void *arg, const char *file, unsigned line,
    const char *msg)
{
	int	*count = arg;

	if (count != NULL)
		(*count)++;
	if (line > 0)
		fprintf(stderr, "%s:%u: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

void
daemon_key_err(void *arg, unsigned line, const char *msg)
{
	daemon_config_err(NULL, arg, line, msg);
}

bool
daemon_args_add(struct daemon_args *a, const char *key, const char *val)
{
	if (a->nset >= DAEMON_MAX_ARGS) {
		fprintf(stderr, "too many options\n");
		return false;
	}
	a->set[a->nset].key = key;
	a->set[a->nset++].val = val;
	return true;
}

int
daemon_load_config(struct config *cfg, const struct daemon_args *a)
{
	int	errors = 0;

	if (a->conf != NULL)
		errors += config_load_file(cfg, a->conf, daemon_config_err,
		    NULL);
	for (size_t i = 0; i < a->nset; i++)
		if (strcmp(a->set[i].key, "listen") == 0) {
			cfg->n_listen = 0;	/* the command line replaces */
			break;
		}
	for (size_t i = 0; i < a->nset; i++)
		if (!config_set(cfg, a->set[i].key, a->set[i].val,
		    daemon_config_err, NULL))
			errors++;
	return errors;
}

int
daemon_configure(struct config *cfg, const struct daemon_args *a,
    struct keyset *ks)
{
	int	errors;

	memset(ks, 0, sizeof(*ks));
	errors = daemon_load_config(cfg, a);
	if (errors == 0)
		errors += config_validate(cfg, daemon_config_err, NULL);
	if (errors == 0 && cfg->run_as[0] != '\0' &&
	    getpwnam(cfg->run_as) == NULL) {
		fprintf(stderr, "%s: run_as: no user \"%s\" on this host\n",
		    a->conf ? a->conf : "command line", cfg->run_as);
		errors++;
	}
	if (errors == 0 && keyfile_load(cfg->key_file, ks, daemon_key_err,
	    cfg->key_file) != 0)
		errors++;
	if (a->verbosity > 0)
		cfg->log_level = LOG_LVL_DEBUG;
	else if (a->verbosity < 0)
		cfg->log_level = LOG_LVL_WARN;
	return errors;
}

void
daemon_config_summary(const struct daemon_args *a, const char *progname,
    int errors)
{
	fprintf(stderr, "%s: %d error%s\n", a->conf ? a->conf : progname,
	    errors, errors == 1 ? "" : "s");
}

bool
daemon_pidfile_write(const char *path)
{
	struct secfile_owner	own = { geteuid(), getegid(), 0644 };
	char			buf[32], why[512];
	int			n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (!secfile_write(path, buf, (size_t)n, &own, true, why,
	    sizeof(why))) {
		fprintf(stderr, "%s: pid file: %s\n", path, why);
		return false;
	}
	return true;
}

void
daemon_pidfile_remove(const char *path)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strtol(buf, NULL, 10) != (long)getpid())
		return;		/* a later start's: not ours to remove */
	if (unlink(path) == -1)
		log_debug("event=pid_file_kept file=%s why=\"%s\"", path,
		    strerror(errno));
}

void
daemon_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The capability sets, as the raw syscall takes them (no libcap). */
static bool
caps_set(uint64_t keep)
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct	data[2];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	return syscall(SYS_capset, &hdr, data) == 0;
}

/* Drops from the bounding set every capability not in keep, so that no
 * exec (there is none) and no later setuid can get them back. */
static bool
caps_bound(uint64_t keep)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;	/* absent, or beyond this kernel */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return false;
	}
	return true;
}

void
daemon_drop_privileges(const struct config *cfg, uint64_t keep)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	if (geteuid() != 0) {
		if (cfg->run_as[0] != '\0')
			log_info("event=privileges run_as=%s result=ignored "
			    "why=not_root uid=%u", cfg->run_as,
			    (unsigned)geteuid());
		(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		return;
	}
	if (cfg->run_as[0] == '\0') {
		log_warnx("event=privileges user=root: running as root for its "
		    "whole life; set run_as to a system user "
		    "(docs/deployment.md)");
		return;
	}
	if ((pw = getpwnam(cfg->run_as)) == NULL)
		fatalx("run_as: no user \"%s\"", cfg->run_as);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx("run_as: \"%s\" is root", cfg->run_as);
	if (!caps_bound(keep))
		fatal("run_as: cannot drop the bounding set");
	if (keep != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		fatal("run_as: PR_SET_KEEPCAPS");
	if (initgroups(pw->pw_name, gid) == -1)
		fatal("run_as: setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("run_as: setgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("run_as: setuid %u", (unsigned)uid);
	if (setuid(0) != -1 || errno != EPERM)
		fatalx("run_as: could get root back after the switch");
	/* permitted survived the setuid (KEEPCAPS): cut it to keep and
	 * make that effective; inheritable and ambient stay empty */
	if (!caps_set(keep))
		fatal("run_as: capset");
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("run_as: PR_SET_NO_NEW_PRIVS");
	log_info("event=privileges run_as=%s uid=%u gid=%u caps=%#llx",
	    pw->pw_name, (unsigned)uid, (unsigned)gid,
	    (unsigned long long)keep);
}

/* The descriptor limit less the reserve; false without a limit. */
static bool
fd_room(size_t *room, struct rlimit *rl)
{
	size_t	reserve;

	if (getrlimit(RLIMIT_NOFILE, rl) == -1 || rl->rlim_cur == RLIM_INFINITY)
		return false;
	reserve = MIN(DAEMON_FD_RESERVE, (size_t)rl->rlim_cur / 4);
	*room = rl->rlim_cur > reserve ? (size_t)(rl->rlim_cur - reserve) : 0;
	return true;
}

size_t
daemon_conn_budget(size_t max, unsigned fds_each, const char *what)
{
	struct rlimit	rl;
	size_t		n, room;

	if (!fd_room(&room, &rl))
		return max;
	n = room > fds_each ? room / fds_each : 1;
	if (n >= max)
		return max;
	log_warnx("event=fd_budget nofile=%llu %s=%zu max_connections=%zu: "
	    "at most %zu %s at once, so that the control port keeps "
	    "descriptors; raise the limit (LimitNOFILE=) for more",
	    (unsigned long long)rl.rlim_cur, what, n, max, n, what);
	return n;
}

size_t
daemon_fd_room(void)
{
	struct rlimit	rl;
	size_t		room;

	return fd_room(&room, &rl) ? room : SIZE_MAX;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base	*base = arg;

	(void)what;
	if (sig == SIGHUP) {
		if (hup_fn != NULL)
			hup_fn(hup_arg);
		return;
	}
	log_info("event=stop signal=%d", (int)sig);
	event_base_loopexit(base, NULL);
}

bool
daemon_signals(struct event_base *base, void (*hup)(void *), void *arg)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	signal(SIGPIPE, SIG_IGN);
	hup_fn = hup;
	hup_arg = arg;
	for (size_t i = 0; i < 3; i++) {
		sig_ev[i] = evsignal_new(base, sigs[i], signal_cb, base);
		if (sig_ev[i] == NULL || evsignal_add(sig_ev[i], NULL) == -1)
			return false;
	}
	return true;
}

void
daemon_signals_free(void)
{
	for (size_t i = 0; i < 3; i++) {
		if (sig_ev[i] != NULL)
			event_free(sig_ev[i]);
		sig_ev[i] = NULL;
	}
}

struct event_base *
daemon_event_base(void)
{
	struct event_config	*ec = event_config_new();
	struct event_base	*base = NULL;

	if (ec == NULL)
		return NULL;
	if (event_config_set_flag(ec, EVENT_BASE_FLAG_NO_CACHE_TIME) == 0)
		base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}
