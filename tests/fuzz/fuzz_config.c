/*
 * Configuration text for both roles, through config_load_string() (the
 * input up to its first NUL), config_validate(), and config_set() with
 * the first two lines as key and value. Every error is reported through
 * the callback and counted in the return value, names a line that exists,
 * and whatever was loaded stays within the table's bounds. mpsocks-local
 * reads [uplink] sections through their section handler, as it does.
 */

#include <string.h>

#include "common/config.h"
#include "local/config_uplink.h"
#include "proto/control_proto.h"
#include "proto/util.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT	(64 * 1024)

struct count {
	int		n;
	unsigned	max_line;
};

static void
count_cb(void *arg, const char *file, unsigned line, const char *msg)
{
	struct count	*c = arg;

	FUZZ_CHECK(file != NULL && msg != NULL && msg[0] != '\0');
	FUZZ_CHECK(strlen(msg) < 1024);
	FUZZ_CHECK(line <= c->max_line);
	c->n++;
}

static void
check_bounds(const struct config *c, const struct config_uplinks *u)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;

	FUZZ_CHECK(c->n_listen <= CONFIG_MAX_LISTEN);
	FUZZ_CHECK(c->n_users <= CONFIG_MAX_USERS);
	FUZZ_CHECK(c->allow.n <= CIDR_LIST_MAX && c->allow_clients.n <= CIDR_LIST_MAX);
	for (size_t i = 0; i < c->n_listen; i++)
		FUZZ_CHECK(util_parse_sockaddr(c->listen[i], &ss, &sl));
	for (size_t i = 0; i < c->n_users; i++)
		FUZZ_CHECK(strlen(c->users[i].name) >= 1 &&
		    strlen(c->users[i].name) <= 255 &&
		    strlen(c->users[i].pass) >= 1 &&
		    strlen(c->users[i].pass) <= 255);
	FUZZ_CHECK(strnlen(c->server, sizeof(c->server)) < sizeof(c->server));
	FUZZ_CHECK(strnlen(c->key_file, sizeof(c->key_file)) <
	    sizeof(c->key_file));
	FUZZ_CHECK(c->handshake_timeout >= 1 && c->handshake_timeout <= 300);
	FUZZ_CHECK(c->idle_timeout >= 1 && c->idle_timeout <= 86400);
	FUZZ_CHECK(c->connect_timeout >= 1 && c->connect_timeout <= 300);
	FUZZ_CHECK(c->replay_window >= 5 && c->replay_window <= 3600);
	FUZZ_CHECK(c->replay_cache >= 1024 && c->replay_cache <= 1u << 24);
	FUZZ_CHECK(c->dns_cache_size <= 65536);
	FUZZ_CHECK(c->dns_cache_ttl >= 1 && c->dns_cache_ttl <= 86400);
	FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= 1000000);
	FUZZ_CHECK(c->log_level <= LOG_LVL_DEBUG);
	FUZZ_CHECK(c->control_listen[0] == '\0' ||
	    util_parse_sockaddr(c->control_listen, &ss, &sl));
	FUZZ_CHECK(c->control_token[0] == '\0' ||
	    control_token_valid(c->control_token));
	FUZZ_CHECK(u->n <= CONFIG_MAX_UPLINKS);
	FUZZ_CHECK(c->uplink_table_base >= 256);
	for (size_t i = 0; i < u->n; i++)
		FUZZ_CHECK(u->v[i].name[0] != '\0' &&
		    strnlen(u->v[i].name, CONFIG_UPLINK_NAME_MAX) <
		    CONFIG_UPLINK_NAME_MAX &&
		    strnlen(u->v[i].ifname, IFNAMSIZ) < IFNAMSIZ &&
		    u->v[i].role <= UPLINK_ROLE_BACKUP);
}

/* config_set() with line 1 as the key and line 2 as the value. */
static void
check_set(struct config *c, const struct config_uplinks *u,
    const char *text)
{
	char		key[64], value[CONFIG_MAX_LINE];
	const char	*nl = strchr(text, '\n'), *v;
	size_t		kl, vl;
	struct count	cnt = { 0, 0 };
	bool		ok;

	if (nl == NULL || (size_t)(nl - text) >= sizeof(key))
		return;
	kl = (size_t)(nl - text);
	memcpy(key, text, kl);
	key[kl] = '\0';
	v = nl + 1;
	vl = strcspn(v, "\n");
	if (vl >= sizeof(value))
		return;
	memcpy(value, v, vl);
	value[vl] = '\0';
	ok = config_set(c, key, value, count_cb, &cnt);
	FUZZ_CHECK(ok == (cnt.n == 0));
	FUZZ_CHECK(cnt.n <= 1);
	check_bounds(c, u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config	c;
	static struct config_uplinks u;
	char			*text;
	struct count		cnt;
	unsigned		lines = 1;
	int			n;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (const char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	for (int role = CONFIG_SERVER; role <= CONFIG_LOCAL; role++) {
		config_defaults(&c, (enum config_role)role);
		memset(&u, 0, sizeof(u));
		if (role == CONFIG_LOCAL)
			FUZZ_CHECK(config_add_section_handler(&c,
			    config_uplinks_section_cb, config_uplinks_done_cb,
			    &u));
		cnt = (struct count){ 0, lines };
		n = config_load_string(&c, "fuzz.conf", text, count_cb, &cnt);
		FUZZ_CHECK(n == cnt.n && n >= 0);
		FUZZ_CHECK(c.role == (enum config_role)role);
		check_bounds(&c, &u);
		cnt = (struct count){ 0, 0 };
		n = config_validate(&c, count_cb, &cnt);
		FUZZ_CHECK(n == cnt.n && n >= 0);
		check_bounds(&c, &u);
		FUZZ_CHECK(c.role == CONFIG_SERVER || c.n_listen >= 1);
		config_defaults(&c, (enum config_role)role);
		check_set(&c, &u, text);
	}
	free(text);
	return 0;
}
