/* Process plumbing shared by both daemons. */

#include "daemon.h"
#include "log.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
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
daemon_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
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
