/*
 * Configuration: one table of keys, INI files through libinih, the command
 * line through config_set(). Debian's libinih reports no line numbers, so
 * we feed it through a reader that counts lines, rejects over-long ones,
 * and checks each line's shape so that every syntax error is reported,
 * not only the first.
 */

#include "common/config.h"
#include "common/secfile.h"
#include "proto/control_proto.h"
#include "proto/util.h"

#include <errno.h>
#include <ini.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum ck_type {
	CK_UINT, CK_PATH, CK_LISTEN, CK_HOSTPORT, CK_CIDR, CK_USER, CK_BOOL,
	CK_LOGLEVEL, CK_CONTROL, CK_TOKEN, CK_ENUM, CK_ACCOUNT,
};

static const char *const encryption_names[] = {
	[CONFIG_ENC_TLS] = "tls", [CONFIG_ENC_NONE] = "none", NULL,
};
static const char *const cipher_names[] = {
	[CONFIG_CIPHER_AUTO] = "auto", [CONFIG_CIPHER_AES] = "aes-128-gcm",
	[CONFIG_CIPHER_CHACHA] = "chacha20-poly1305", NULL,
};

struct config_key {
	unsigned	 roles;
	const char	*section, *name;
	enum ck_type	 type;
	unsigned	 min, max;
	size_t		 off;
	const char *const *names;	/* CK_ENUM: the values, in order */
};

#define S	CONFIG_SERVER
#define L	CONFIG_LOCAL
#define OFF(f)	offsetof(struct config, f)

static const struct config_key keys[] = {
	{ S, "server", "listen", CK_LISTEN, 0, 0, OFF(listen), NULL },
	{ S, "server", "key_file", CK_PATH, 0, 0, OFF(key_file), NULL },
	{ S, "server", "allow", CK_CIDR, 0, 0, OFF(allow), NULL },
	{ S, "server", "deny", CK_CIDR, 0, 0, OFF(deny), NULL },
	{ S, "server", "handshake_timeout", CK_UINT, 1, 300,
	    OFF(handshake_timeout), NULL },
	{ S, "server", "idle_timeout", CK_UINT, 1, 86400, OFF(idle_timeout), NULL },
	{ S, "server", "connect_timeout", CK_UINT, 1, 300,
	    OFF(connect_timeout), NULL },
	{ S, "server", "replay_window", CK_UINT, 5, 3600, OFF(replay_window), NULL },
	{ S, "server", "replay_cache", CK_UINT, 1024, 1u << 24,
	    OFF(replay_cache), NULL },
	{ S, "server", "max_connections", CK_UINT, 1, 1000000,
	    OFF(max_connections), NULL },
	{ S, "server", "log_level", CK_LOGLEVEL, 0, 0, OFF(log_level), NULL },
	{ S, "server", "splice", CK_BOOL, 0, 0, OFF(splice), NULL },
	{ S, "server", "require_tls", CK_BOOL, 0, 0, OFF(require_tls), NULL },
	{ S, "server", "preauth_max", CK_UINT, 1, 1u << 20, OFF(preauth_max),
	    NULL },
	{ S, "server", "preauth_per_source", CK_UINT, 1, 1u << 20,
	    OFF(preauth_per_source), NULL },
	{ S, "server", "preauth_early_drop", CK_UINT, 0, 1u << 20,
	    OFF(preauth_early_drop), NULL },
	{ S, "server", "tls_cipher", CK_ENUM, 0, 0, OFF(tls_cipher),
	    cipher_names },
	{ S, "server", "run_as", CK_ACCOUNT, 0, 0, OFF(run_as), NULL },
	{ S, "server", "pool_idle_timeout", CK_UINT, 5, 3600,
	    OFF(pool_idle_timeout), NULL },
	{ S, "server", "pool_max_per_key", CK_UINT, 0, 1u << 16,
	    OFF(pool_max_per_key), NULL },
	{ S, "server", "pid_file", CK_PATH, 0, 0, OFF(pid_file), NULL },
	{ S, "dns", "cache_size", CK_UINT, 0, 65536, OFF(dns_cache_size), NULL },
	{ S, "dns", "cache_ttl", CK_UINT, 1, 86400, OFF(dns_cache_ttl), NULL },

	{ L, "local", "listen", CK_LISTEN, 0, 0, OFF(listen), NULL },
	{ L, "local", "server", CK_HOSTPORT, 0, 0, OFF(server), NULL },
	{ L, "local", "key_file", CK_PATH, 0, 0, OFF(key_file), NULL },
	{ L, "local", "allow_client", CK_CIDR, 0, 0, OFF(allow_clients), NULL },
	{ L, "local", "user", CK_USER, 0, 0, OFF(users), NULL },
	{ L, "local", "handshake_timeout", CK_UINT, 1, 300,
	    OFF(handshake_timeout), NULL },
	{ L, "local", "idle_timeout", CK_UINT, 1, 86400, OFF(idle_timeout), NULL },
	{ L, "local", "connect_timeout", CK_UINT, 1, 300,
	    OFF(connect_timeout), NULL },
	{ L, "local", "max_connections", CK_UINT, 1, 1000000,
	    OFF(max_connections), NULL },
	{ L, "local", "mptcp", CK_BOOL, 0, 0, OFF(mptcp), NULL },
	{ L, "local", "fast_open", CK_BOOL, 0, 0, OFF(tfo), NULL },
	{ L, "local", "splice", CK_BOOL, 0, 0, OFF(splice), NULL },
	{ L, "local", "encryption", CK_ENUM, 0, 0, OFF(encryption),
	    encryption_names },
	{ L, "local", "tls_cipher", CK_ENUM, 0, 0, OFF(tls_cipher),
	    cipher_names },
	{ L, "local", "http_head_max", CK_UINT, 1024, 65536,
	    OFF(http_head_max), NULL },
	{ L, "local", "log_level", CK_LOGLEVEL, 0, 0, OFF(log_level), NULL },
	{ L, "local", "run_as", CK_ACCOUNT, 0, 0, OFF(run_as), NULL },
	{ L, "local", "pool_min", CK_UINT, 0, 1024, OFF(pool_min), NULL },
	{ L, "local", "pool_max", CK_UINT, 0, 1024, OFF(pool_max), NULL },
	{ L, "local", "pool_refresh", CK_UINT, 5, 3600, OFF(pool_refresh),
	    NULL },
	{ L, "local", "strict_replies", CK_BOOL, 0, 0, OFF(strict_replies),
	    NULL },

	{ S | L, "control", "listen", CK_CONTROL, 0, 0, OFF(control_listen), NULL },
	{ S | L, "control", "token", CK_TOKEN, 0, 0, OFF(control_token), NULL },
	{ L, "local", "manage_uplinks", CK_BOOL, 0, 0, OFF(manage_uplinks), NULL },
	{ L, "local", "uplink_table_base", CK_UINT, 256, 1u << 30,
	    OFF(uplink_table_base), NULL },
};

#undef S
#undef L

void
config_defaults(struct config *c, enum config_role role)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->handshake_timeout = 10;
	c->idle_timeout = 300;
	c->connect_timeout = 10;
	c->replay_window = 30;
	c->replay_cache = 1u << 16;
	c->dns_cache_size = 1024;
	c->dns_cache_ttl = 60;
	c->max_connections = 65536;
	/* A home's burst of new tunnels is pre-auth for a round trip or
	 * so: 200 at once (a browser, the conns bench) must fit one
	 * source's share, while a prober's silent ones hold theirs for
	 * seconds. */
	c->preauth_max = 2048;
	c->preauth_per_source = 256;
	c->preauth_early_drop = 1024;
	c->mptcp = true;
	c->encryption = CONFIG_ENC_TLS;
	c->tls_cipher = CONFIG_CIPHER_AUTO;
	c->tfo = false;	/* 6.18 MPTCP Fast Open stalls: protocol.md */
	c->http_head_max = 65536;
	c->log_level = LOG_LVL_INFO;
	if (role == CONFIG_LOCAL)
		strcpy(c->control_listen, CONFIG_CONTROL_DEFAULT);
	c->manage_uplinks = true;
	c->uplink_table_base = 7100;
	/* The warm pool (docs/protocol.md, "Pooled tunnels"): a home keeps
	 * 2 to 16 tunnels ready and renews each after 30 s, well inside
	 * the concentrator's 90 s wait for a pooled tunnel's request. */
	c->pool_min = 2;
	c->pool_max = 16;
	c->pool_refresh = 30;
	c->pool_idle_timeout = 90;
	c->pool_max_per_key = 64;
	c->strict_replies = false;
}

bool
config_add_section_handler(struct config *c, config_section_cb *cb,
    config_section_done_cb *done, void *arg)
{
	if (c->n_sections >= CONFIG_MAX_SECTION_HANDLERS)
		return false;
	c->sections[c->n_sections++] = (struct config_section_handler){
		.cb = cb, .done = done, .arg = arg,
	};
	return true;
}

struct ctx {
	struct config	*cfg;
	const char	*file;
	unsigned	 line;
	int		 errors;
	config_err_cb	*cb;
	void		*arg;
	/* ini_parse_stream source: a FILE or a string */
	FILE		*f;
	const char	*s;
	char		*buf;		/* the current line */
	size_t		 bufcap;
	/* line of each key's first setting, for "set twice" errors */
	unsigned	 set_at[sizeof(keys) / sizeof(keys[0])];
};

static void
err(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
err(struct ctx *x, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->errors++;
	x->cb(x->arg, x->file, x->line, msg);
}

static bool
parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char		*end;
	unsigned long	 n;

	if (v[0] < '0' || v[0] > '9')
		return false;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || n < min || n > max)
		return false;
	*out = (unsigned)n;
	return true;
}

static bool
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < NELEM(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(v, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

static bool
parse_level(const char *v, enum log_level *out)
{
	static const char *const names[] = {
		[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warn",
		[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
	};

	for (size_t i = 0; i < NELEM(names); i++)
		if (strcasecmp(v, names[i]) == 0)
			return *out = (enum log_level)i, true;
	return false;
}

/* Applies one value; errors are reported against x->file:x->line. */
/* A login name as useradd takes it: run_as names one (daemon.h). */
static bool
account_valid(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n >= CONFIG_ACCOUNT_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

static void
apply(struct ctx *x, size_t ki, const char *value)
{
	const struct config_key	*k = &keys[ki];
	struct config		*c = x->cfg;
	void			*field = (char *)c + k->off;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 host[256];
	uint16_t		 port;

	switch (k->type) {
	case CK_UINT:
		if ((value[0] < '0' || value[0] > '9') &&
		    !(value[0] == '-' && value[1] >= '0' && value[1] <= '9'))
			err(x, "%s.%s: \"%.64s\" is not a number", k->section,
			    k->name, value);
		else if (!parse_uint(value, k->min, k->max, field))
			err(x, "%s.%s: \"%.64s\" is out of range %u..%u",
			    k->section, k->name, value, k->min, k->max);
		break;
	case CK_PATH:
		if (value[0] == '\0' || strlen(value) >= PATH_MAX)
			err(x, "%s.%s: empty or too long", k->section,
			    k->name);
		else
			strcpy(field, value);
		break;
	case CK_LISTEN:
		if (strlen(value) >= CONFIG_ADDR_MAX ||
		    !util_parse_sockaddr(value, &ss, &sl))
			err(x, "%s.%s: \"%.64s\" is not ADDR:PORT (numeric; "
			    "[v6]:PORT for IPv6)", k->section, k->name, value);
		else if (c->n_listen >= CONFIG_MAX_LISTEN)
			err(x, "%s.%s: more than %d addresses", k->section,
			    k->name, CONFIG_MAX_LISTEN);
		else
			snprintf(c->listen[c->n_listen++], CONFIG_ADDR_MAX,
			    "%s", value);
		break;
	case CK_HOSTPORT:
		if (strlen(value) >= CONFIG_ADDR_MAX ||
		    !util_split_hostport(value, host, sizeof(host), &port))
			err(x, "%s.%s: \"%.64s\" is not HOST:PORT", k->section,
			    k->name, value);
		else
			strcpy(field, value);
		break;
	case CK_CIDR:
		if (!cidr_list_add(field, value))
			err(x, "%s.%s: \"%.64s\" is not a network (like "
			    "10.0.0.0/8 or fd00::/8, host bits zero), or the "
			    "list is full", k->section, k->name, value);
		break;
	case CK_USER: {
		const char *colon = strchr(value, ':');
		size_t ulen = colon ? (size_t)(colon - value) : 0;

		if (colon == NULL || ulen == 0 || ulen > 255 ||
		    colon[1] == '\0' || strlen(colon + 1) > 255)
			err(x, "%s.%s: expected NAME:PASSWORD, each 1..255 "
			    "bytes", k->section, k->name);
		else if (c->n_users >= CONFIG_MAX_USERS)
			err(x, "%s.%s: more than %d users", k->section,
			    k->name, CONFIG_MAX_USERS);
		else {
			struct config_user *u = &c->users[c->n_users++];

			memcpy(u->name, value, ulen);
			u->name[ulen] = '\0';
			strcpy(u->pass, colon + 1);
		}
		break;
	}
	case CK_BOOL:
		if (!parse_bool(value, field))
			err(x, "%s.%s: \"%.64s\" is not yes or no", k->section,
			    k->name, value);
		break;
	case CK_CONTROL:
		if (strcmp(value, "off") == 0)
			c->control_listen[0] = '\0';
		else if (strlen(value) >= CONFIG_ADDR_MAX ||
		    !util_parse_sockaddr(value, &ss, &sl))
			err(x, "%s.%s: \"%.64s\" is not ADDR:PORT or off",
			    k->section, k->name, value);
		else
			strcpy(field, value);
		break;
	case CK_ACCOUNT:
		if (!account_valid(value))
			err(x, "%s.%s: \"%.64s\" is not a user name (letters, "
			    "digits, _ . -; up to %d)", k->section, k->name,
			    value, CONFIG_ACCOUNT_MAX - 1);
		else
			strcpy(field, value);
		break;
	case CK_TOKEN:
		if (!control_token_valid(value))
			err(x, "%s.%s: expected 16..%d characters of "
			    "A-Z a-z 0-9 - . _ ~ + / =", k->section, k->name,
			    CONTROL_TOKEN_MAX);
		else
			strcpy(field, value);
		break;
	case CK_ENUM: {
		size_t	i;

		for (i = 0; k->names[i] != NULL; i++)
			if (strcasecmp(value, k->names[i]) == 0)
				break;
		if (k->names[i] != NULL) {
			*(int *)field = (int)i;	/* an enum field */
			break;
		}
		char	list[128];
		struct wbuf w = { list, 0, sizeof(list) - 1, false };

		for (i = 0; k->names[i] != NULL; i++) {
			wbuf_str(&w, i ? ", " : "");
			wbuf_str(&w, k->names[i]);
		}
		list[MIN(w.len, sizeof(list) - 1)] = '\0';
		err(x, "%s.%s: \"%.64s\" is not one of %s", k->section,
		    k->name, value, list);
		break;
	}
	case CK_LOGLEVEL:
		if (!parse_level(value, field))
			err(x, "%s.%s: \"%.64s\" is not one of error, warn, "
			    "info, debug", k->section, k->name, value);
		break;
	}
}

/* Key names compare with '-' and '_' alike: the docs spell keys with '_',
 * users (and issues) often write "manage-uplinks" or "domains-from". */
static bool
key_name_eq(const char *want, const char *got)
{
	for (; *want != '\0' && *got != '\0'; want++, got++)
		if (*want != *got && !(*want == '_' && *got == '-'))
			return false;
	return *want == *got;
}

static bool
repeatable(enum ck_type t)
{
	return t == CK_LISTEN || t == CK_CIDR || t == CK_USER;
}

/* Offers the key to each section handler; false if none knows it. */
static bool
section_handled(struct ctx *x, const char *section, const char *name,
    const char *value)
{
	for (size_t i = 0; i < x->cfg->n_sections; i++) {
		const struct config_section_handler *h = &x->cfg->sections[i];
		int n = h->cb(h->arg, x->file, x->line, section, name, value,
		    x->cb, x->arg);

		if (n >= 0) {
			x->errors += n;
			return true;
		}
	}
	return false;
}

static int
config_ini_cb(void *user, const char *section, const char *name,
    const char *value)
{
	struct ctx	*x = user;
	bool		 section_known = false;

	for (size_t i = 0; i < NELEM(keys); i++) {
		if (!(keys[i].roles & x->cfg->role) ||
		    strcmp(keys[i].section, section) != 0)
			continue;
		section_known = true;
		if (!key_name_eq(keys[i].name, name))
			continue;
		if (!repeatable(keys[i].type) && x->set_at[i] != 0) {
			err(x, "%s.%s: already set at line %u", section, name,
			    x->set_at[i]);
			return 1;
		}
		x->set_at[i] = x->line;
		apply(x, i, value);
		return 1;
	}
	if (section_known)
		err(x, "%s.%s: unknown key", section, name);
	else if (!section_handled(x, section, name, value))
		err(x, "[%.64s]: unknown section", section);
	return 1;	/* keep going: report every error in one run */
}

/* Checks a line's shape; false if it is not blank, comment, section or
 * key = value. */
static bool
line_shape_ok(struct ctx *x, const char *line)
{
	const char	*p = line + strspn(line, " \t");
	size_t		 n = strcspn(p, "\r\n");

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || *p == '#' || *p == ';')
		return true;
	if (*p == '[') {
		const char *close = memchr(p, ']', n);
		const char *rest = close ? close + 1 + strspn(close + 1, " \t")
				    : NULL;

		if (close != NULL && close > p + 1 &&
		    (rest >= p + n || *rest == '#' || *rest == ';'))
			return true;
		err(x, "expected [section]");
		return false;
	}
	const char *eq = memchr(p, '=', n), *colon = memchr(p, ':', n);
	if (eq == NULL || eq == p || (colon != NULL && colon < eq)) {
		err(x, "expected key = value");
		return false;
	}
	return true;
}

/* Takes the next line, newline included, from the file or the string.
 * Returns its length (it may hold NUL bytes), or -1 at the end. */
static ssize_t
next_line(struct ctx *x)
{
	size_t	n;

	if (x->f != NULL)
		return getline(&x->buf, &x->bufcap, x->f);
	if (*x->s == '\0')
		return -1;
	n = strcspn(x->s, "\n");
	n += x->s[n] == '\n';
	if (n + 1 > x->bufcap) {
		char *p = realloc(x->buf, n + 1);

		if (p == NULL)
			return -1;
		x->buf = p;
		x->bufcap = n + 1;
	}
	memcpy(x->buf, x->s, n);
	x->buf[n] = '\0';
	x->s += n;
	return (ssize_t)n;
}

/* ini_reader: hands inih one checked line at a time and counts them. A
 * line that fails a check is reported here and given to inih as blank. */
static char *
reader(char *str, int num, void *stream)
{
	struct ctx	*x = stream;
	ssize_t		 len = next_line(x);
	size_t		 n;

	if (len == -1)
		return NULL;
	x->line++;
	n = (size_t)len;
	while (n > 0 && (x->buf[n - 1] == '\n' || x->buf[n - 1] == '\r'))
		n--;
	if (memchr(x->buf, '\0', n) != NULL)
		err(x, "NUL byte in line");
	else if (n > CONFIG_MAX_LINE)
		err(x, "line longer than %d bytes", CONFIG_MAX_LINE);
	else if (line_shape_ok(x, x->buf)) {
		snprintf(str, (size_t)num, "%.*s\n", (int)n, x->buf);
		return str;
	}
	snprintf(str, (size_t)num, "\n");
	return str;
}

static int
load(struct ctx *x)
{
	/* Debian's libinih takes its settings at run time. The heap buffer
	 * is sized by ini_initial_alloc; the stack one is fixed at build. */
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CONFIG_MAX_LINE + 3;
	ini_max_line = CONFIG_MAX_LINE + 3;
	ini_stop_on_first_error = false;
	int rc = ini_parse_stream(reader, x, config_ini_cb, x);
	if (rc == -2)
		err(x, "out of memory");
	/* rc > 0 is a syntax error that the reader has already reported */
	for (size_t i = 0; i < x->cfg->n_sections; i++) {
		const struct config_section_handler *h = &x->cfg->sections[i];

		if (h->done != NULL)
			x->errors += h->done(h->arg, x->file, x->cb, x->arg);
	}
	free(x->buf);
	x->buf = NULL;
	return x->errors;
}

int
config_load_file(struct config *c, const char *path, config_err_cb *cb,
    void *arg)
{
	struct ctx	x = { .cfg = c, .file = path, .cb = cb, .arg = arg };
	char		why[256];
	int		fd, rc;

	if ((fd = secfile_open(path, SECFILE_CONFIG, why, sizeof(why))) ==
	    -1) {
		err(&x, "%s", why);
		return x.errors;
	}
	if ((x.f = fdopen(fd, "r")) == NULL) {
		err(&x, "cannot open: %s", strerror(errno));
		close(fd);
		return x.errors;
	}
	rc = load(&x);
	fclose(x.f);
	return rc;
}

int
config_load_string(struct config *c, const char *name, const char *text,
    config_err_cb *cb, void *arg)
{
	struct ctx	x = { .cfg = c, .file = name, .s = text, .cb = cb,
			    .arg = arg };

	return load(&x);
}

bool
config_set(struct config *c, const char *key, const char *value,
    config_err_cb *cb, void *arg)
{
	struct ctx	x = { .cfg = c, .file = "command line", .cb = cb,
			    .arg = arg };

	/* "section.key" names a key whose name other sections share */
	const char	*dot = strchr(key, '.');
	size_t		 sl = dot ? (size_t)(dot - key) : 0;

	for (size_t i = 0; i < NELEM(keys); i++) {
		if (!(keys[i].roles & c->role) || (dot != NULL &&
		    (strncmp(keys[i].section, key, sl) != 0 ||
		    keys[i].section[sl] != '\0')) ||
		    !key_name_eq(keys[i].name, dot ? dot + 1 : key))
			continue;
		apply(&x, i, value);
		return x.errors == 0;
	}
	err(&x, "%s: unknown option", key);
	return false;
}

static bool
is_loopback(const char *listen)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	struct cidr		lo4, lo6;

	if (!util_parse_sockaddr(listen, &ss, &sl))
		return false;
	cidr_parse("127.0.0.0/8", &lo4);
	cidr_parse("::1/128", &lo6);
	return cidr_contains(&lo4, (struct sockaddr *)&ss) ||
	    cidr_contains(&lo6, (struct sockaddr *)&ss);
}

int
config_validate(struct config *c, config_err_cb *cb, void *arg)
{
	struct ctx	x = { .cfg = c, .file = "configuration", .cb = cb,
			    .arg = arg };

	if (c->key_file[0] == '\0')
		err(&x, "no key file (--key-file or key_file)");
	if (c->control_listen[0] != '\0' && c->control_token[0] == '\0' &&
	    !is_loopback(c->control_listen))
		err(&x, "control.listen %s is beyond loopback: set "
		    "control.token, or anyone who reaches it sees every "
		    "connection", c->control_listen);
	if (c->role == CONFIG_SERVER) {
		if (c->preauth_early_drop > c->preauth_max ||
		    c->preauth_per_source > c->preauth_max)
			err(&x, "server.preauth_early_drop (%u) and "
			    "server.preauth_per_source (%u) cannot exceed "
			    "server.preauth_max (%u)", c->preauth_early_drop,
			    c->preauth_per_source, c->preauth_max);
		if (c->n_listen == 0)
			err(&x, "no listen address (--listen or "
			    "server.listen)");
		return x.errors;
	}
	if (c->server[0] == '\0')
		err(&x, "no concentrator (--server or local.server)");
	if (c->pool_max > 0 && c->pool_min > c->pool_max)
		err(&x, "local.pool_min (%u) cannot exceed local.pool_max (%u)",
		    c->pool_min, c->pool_max);
	if (c->n_listen == 0)
		snprintf(c->listen[c->n_listen++], CONFIG_ADDR_MAX,
		    "127.0.0.1:1080");
	for (size_t i = 0; i < c->n_listen; i++)
		if (!is_loopback(c->listen[i]) && c->n_users == 0 &&
		    c->allow_clients.n == 0)
			err(&x, "listening on %s, beyond loopback, needs "
			    "users (--user) or client networks "
			    "(--allow-client): an open proxy is abused within "
			    "hours", c->listen[i]);
	return x.errors;
}

bool
config_user_ok(const struct config *c, const char *user, size_t user_len,
    const char *pass, size_t pass_len)
{
	bool	ok = false;

	for (size_t i = 0; i < c->n_users; i++) {
		const struct config_user *u = &c->users[i];

		/* compare every user fully: timing must not tell names */
		if (strlen(u->name) == user_len &&
		    strlen(u->pass) == pass_len &&
		    (CRYPTO_memcmp(u->name, user, user_len) |
		    CRYPTO_memcmp(u->pass, pass, pass_len)) == 0)
			ok = true;
	}
	return ok;
}
