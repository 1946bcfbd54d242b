/*
 * Logging. The level and the journald flag are the one piece of global
 * state here: logging is process-wide by nature.
 */

#include "common/log.h"
#include "proto/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level	 log_level = LOG_LVL_INFO;
static bool		 log_journal;
static const char	*log_prog = "mpsocks";

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};
/* syslog priorities: err 3, warning 4, info 6, debug 7 */
static const int journal_prio[] = { 3, 4, 6, 7 };

void
log_init(const char *progname, enum log_level lvl)
{
	log_prog = progname;
	log_level = lvl;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

static void
vlog(enum log_level, bool, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level lvl, bool with_errno, const char *fmt, va_list ap)
{
	char	msg[1024];
	int	saved = errno;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", journal_prio[lvl], msg,
		    with_errno ? ": " : "", with_errno ? strerror(saved) : "");
	else
		fprintf(stderr, "%s: %s: %s%s%s\n", log_prog,
		    level_names[lvl], msg, with_errno ? ": " : "",
		    with_errno ? strerror(saved) : "");
	errno = saved;
}

#define LOGFN(name, lvl, err)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list	ap;					\
	va_start(ap, fmt);				\
	vlog(lvl, err, fmt, ap);			\
	va_end(ap);					\
}
LOGFN(log_warn, LOG_LVL_WARN, true)
LOGFN(log_warnx, LOG_LVL_WARN, false)
LOGFN(log_info, LOG_LVL_INFO, false)
LOGFN(log_debug, LOG_LVL_DEBUG, false)

void
log_warnx_rl(struct log_rl *rl, const char *fmt, ...)
{
	va_list		ap;
	uint64_t	now = util_now_ms();

	if (now - rl->window_start_ms >= 1000) {
		if (rl->dropped > 0)
			log_warnx("event=log_suppressed count=%u",
			    rl->dropped);
		rl->window_start_ms = now;
		rl->in_window = 0;
		rl->dropped = 0;
	}
	if (rl->in_window >= (rl->per_sec != 0 ? rl->per_sec :
	    LOG_RL_PER_SEC)) {
		rl->dropped++;
		return;
	}
	rl->in_window++;
	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, false, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, true, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, false, fmt, ap);
	va_end(ap);
	exit(1);
}
