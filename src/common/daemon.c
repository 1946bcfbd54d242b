/* Process plumbing shared by both daemons. */

#include "common/daemon.h"
#include "common/log.h"
#include "proto/util.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

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
daemon_configure(struct config *cfg, const struct daemon_args *a,
    struct keyset *ks)
{
	int	errors = 0;

	memset(ks, 0, sizeof(*ks));
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
	if (errors == 0)
		errors += config_validate(cfg, daemon_config_err, NULL);
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

void
daemon_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

size_t
daemon_conn_budget(size_t max, unsigned fds_each, const char *what)
{
	struct rlimit	rl;
	size_t		n, reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return max;
	reserve = MIN(DAEMON_FD_RESERVE, (size_t)rl.rlim_cur / 4);
	n = rl.rlim_cur > reserve + fds_each ?
	    (size_t)(rl.rlim_cur - reserve) / fds_each : 1;
	if (n >= max)
		return max;
	log_warnx("event=fd_budget nofile=%llu %s=%zu max_connections=%zu: "
	    "at most %zu %s at once, so that the control port keeps "
	    "descriptors; raise the limit (LimitNOFILE=) for more",
	    (unsigned long long)rl.rlim_cur, what, n, max, n, what);
	return n;
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
