#ifndef MPSOCKS_LOG_H
#define MPSOCKS_LOG_H

/*
 * Logging to stderr. Under systemd (JOURNAL_STREAM set) each line carries
 * a "<N>" priority prefix that journald understands; elsewhere a level
 * word. log_warn and fatal append strerror(errno); the x forms do not.
 */

#include <stdint.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* What a peer can trigger at line rate goes through one of these. */
struct log_rl {
	uint64_t	window_start_ms;
	unsigned	in_window, dropped;
	unsigned	per_sec;	/* 0: LOG_RL_PER_SEC */
};
#define LOG_RL_PER_SEC	10

void	log_init(const char *progname, enum log_level);
void	log_set_level(enum log_level);
enum log_level	log_get_level(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx_rl(struct log_rl *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
