/*
 * mpsocks-local --pair TOKEN (pair.h). Both files are written as the
 * daemons read them (secfile): never through a link or over a file
 * another user owns, in one rename each; a new key file is created only
 * if none appeared meanwhile (link(2), the O_EXCL of a rename). The key
 * goes first, so that the config never names a key file that is not
 * there.
 */

#include "local/pair.h"
#include "common/keyfile.h"
#include "common/secfile.h"
#include "proto/pairing.h"
#include "proto/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG		"mpsocks-local"
#define CONF_MAX	(1024 * 1024)	/* a config is a few KB */
#define KEY_MAX		(64 * 1024)

struct files {
	char			 conf[PATH_MAX], key[PATH_MAX];
	char			 hostport[PAIRING_HOSTPORT_MAX];
	char			*text;		/* the config as it is */
	size_t			 len;
	bool			 conf_exists;
	struct secfile_owner	 conf_own;
};

/* The token from the command line or, for "-", from the first stdin
 * line that is neither blank nor a "#" comment (so that --add-home's
 * whole output can be piped in), white space around it cut. */
static bool
read_token(const char *arg, char *tok, size_t len)
{
	size_t		 n;
	const char	*p;

	if (strcmp(arg, "-") == 0) {
		for (;;) {
			if (fgets(tok, (int)len, stdin) == NULL) {
				fprintf(stderr, "%s: --pair -: no token on "
				    "stdin\n", PROG);
				return false;
			}
			p = tok + strspn(tok, " \t\r\n");
			if (*p != '\0' && *p != '#')
				break;
		}
	} else
		p = arg;
	n = strlen(p);
	while (n > 0 && strchr(" \t\r\n", p[n - 1]) != NULL)
		n--;
	while (n > 0 && strchr(" \t\r\n", *p) != NULL)
		p++, n--;
	if (n >= len) {
		fprintf(stderr, "%s: --pair: the token is not valid: it is "
		    "longer than any token\n", PROG);
		return false;
	}
	memmove(tok, p, n);
	tok[n] = '\0';
	return true;
}

/* path made absolute (against the working directory), and safe as an
 * INI value: inih would cut it at " ;" or trim its ends. */
static bool
abs_path(const char *what, const char *path, char *out, size_t len)
{
	char	cwd[PATH_MAX];
	size_t	n = strlen(path);
	int	w;

	if (n == 0 || strpbrk(path, "\r\n") != NULL || strstr(path, " ;") ||
	    strstr(path, "\t;") || strchr(" \t", path[0]) ||
	    strchr(" \t", path[n - 1]) || path[n - 1] == '/') {
		fprintf(stderr, "%s: %s \"%.64s\": not a file name a config "
		    "can hold (no newline, no \" ;\", no space at either "
		    "end)\n", PROG, what, path);
		return false;
	}
	if (path[0] == '/')
		w = snprintf(out, len, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		w = -1;
	else
		w = snprintf(out, len, "%s/%s", strcmp(cwd, "/") ? cwd : "",
		    path);
	if (w < 0 || (size_t)w >= len) {
		fprintf(stderr, "%s: %s \"%.64s\": path too long\n", PROG,
		    what, path);
		return false;
	}
	return true;
}

/* Where the key goes: --key-file, the config's key_file, or beside
 * the config. */
static bool
key_path(const struct pair *pr, struct files *f)
{
	char	v[PATH_MAX];
	char	*slash;

	if (pr->key_file != NULL)
		return abs_path("--key-file", pr->key_file, f->key,
		    sizeof(f->key));
	if (f->text != NULL && pairing_ini_get(f->text, f->len, "local",
	    "key_file", v, sizeof(v)) && v[0] != '\0')
		return abs_path("key_file", v, f->key, sizeof(f->key));
	snprintf(v, sizeof(v), "%s", f->conf);
	slash = strrchr(v, '/');	/* f->conf is absolute */
	slash[1] = '\0';
	if (strlen(v) + strlen(PAIR_KEY_NAME) >= sizeof(f->key))
		return false;
	snprintf(f->key, sizeof(f->key), "%s%s", v, PAIR_KEY_NAME);
	return true;
}

/* The directory of path, created (one level, mode) if it is absent:
 * a home without the package has no /etc/mpsocks. true if it is there
 * (or, dry_run, would be). */
static bool
make_dir(const char *path, mode_t mode, bool dry_run, bool *absent)
{
	char		 dir[PATH_MAX];
	const char	*slash = strrchr(path, '/');
	struct stat	 st;

	*absent = false;
	if (slash == NULL || slash == path)
		return true;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) == 0)
		return true;
	*absent = true;
	if (dry_run) {
		printf("-t: would create the directory %s\n", dir);
		return true;
	}
	if (mkdir(dir, mode) == -1) {
		fprintf(stderr, "%s: cannot create the directory %s: %s\n",
		    PROG, dir, strerror(errno));
		return false;
	}
	printf("created the directory %s (mode %04o)\n", dir, (unsigned)mode);
	return true;
}

static bool
same_dir(const char *a, const char *b)
{
	const char	*sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	return sa != NULL && sb != NULL && sa - a == sb - b &&
	    strncmp(a, b, (size_t)(sa - a)) == 0;
}

enum key_state { KEY_NEW, KEY_SAME, KEY_REPLACE };

/* Errors of a key file being compared are not shown: its line could
 * quote a key. */
static void
quiet_cb(void *arg, unsigned line, const char *msg)
{
	(void)arg;
	(void)line;
	(void)msg;
}

/* Compares the key file with the token's key: new, the same, or to be
 * replaced (with force only). false if refused, said why. */
static bool
check_key(const struct pair *pr, const struct files *f,
    const struct pairing *p, enum key_state *st, struct secfile_owner *own,
    const char *run_as)
{
	struct keyset	 ks;
	char		*buf, why[512];
	size_t		 len;
	int		 r;
	bool		 same = false;

	r = secfile_read(f->key, SECFILE_SECRET, KEY_MAX, &buf, &len, own,
	    why, sizeof(why));
	if (r == 0) {
		*st = KEY_NEW;
		secfile_owner_new(f->key, SECFILE_SECRET, run_as, own);
		return true;
	}
	if (r == 1) {
		if (keyfile_parse(buf, len, &ks, quiet_cb, NULL) == 0) {
			same = ks.n == 1 && memcmp(ks.keys[0].key, p->key,
			    PAIRING_KEY_LEN) == 0;
			keyset_free(&ks);
		}
		util_wipe(buf, len);
		free(buf);
		snprintf(why, sizeof(why), "holds another key");
	}
	if (same) {
		*st = KEY_SAME;
		return true;
	}
	if (!pr->force) {
		fprintf(stderr, "%s: %s: %s; not touching it, nor %s. "
		    "--force replaces it (the key in it is then lost)\n",
		    PROG, f->key, why, f->conf);
		return false;
	}
	*st = KEY_REPLACE;
	if (r == -1)		/* unreadable or unsafe: start afresh */
		secfile_owner_new(f->key, SECFILE_SECRET, run_as, own);
	return true;
}

/* The config's new text into *out (heap); its length, or -1. */
static int
edit_conf(struct files *f, const struct pairing *p,
    struct pairing_ini_set *set, size_t *nset, char **out)
{
	const char	*hp = f->hostport;
	size_t		 cap = f->len + 2048;
	int		 n;

	pairing_hostport(p, f->hostport, sizeof(f->hostport));
	*nset = 0;
	set[(*nset)++] = (struct pairing_ini_set){ .key = "server",
	    .value = hp };
	set[(*nset)++] = (struct pairing_ini_set){ .key = "key_file",
	    .value = f->key };
	if (p->require_tls)
		set[(*nset)++] = (struct pairing_ini_set){ .key = "encryption",
		    .value = "tls" };
	if ((*out = malloc(cap)) == NULL)
		return -1;
	n = pairing_ini_edit(f->text ? f->text : "", f->len, "local", set,
	    *nset, *out, cap);
	if (n < 0) {
		free(*out);
		*out = NULL;
	}
	return n;
}

/* What changed in the config, one line. */
static void
say_settings(const struct pairing_ini_set *set, size_t nset)
{
	for (size_t i = 0; i < nset; i++) {
		if (set[i].found && strcmp(set[i].old, set[i].value) == 0)
			printf("  %s = %s (as it was)\n", set[i].key,
			    set[i].value);
		else if (set[i].found)
			printf("  %s = %s (was %s)\n", set[i].key,
			    set[i].value, set[i].old);
		else
			printf("  %s = %s\n", set[i].key, set[i].value);
	}
}

/* Reads what is there, checks, then writes key and config. */
static int
pair_files(const struct pair *pr, struct files *f, const struct pairing *p)
{
	struct pairing_ini_set	 set[3];
	struct secfile_owner	 kown;
	enum key_state		 ks;
	char			 why[512], ostr[96], run_as[64] = "", line[160];
	char			 b64[64], *text = NULL;
	size_t			 nset;
	int			 n, r;
	bool			 absent;

	r = secfile_read(f->conf, SECFILE_CONFIG, CONF_MAX, &f->text, &f->len,
	    &f->conf_own, why, sizeof(why));
	if (r == -1) {
		fprintf(stderr, "%s: %s: %s\n", PROG, f->conf, why);
		return 1;
	}
	f->conf_exists = r == 1;
	if (!f->conf_exists)
		secfile_owner_new(f->conf, SECFILE_CONFIG, NULL, &f->conf_own);
	else
		(void)pairing_ini_get(f->text, f->len, "local", "run_as",
		    run_as, sizeof(run_as));
	if (!key_path(pr, f) || (!same_dir(f->key, f->conf) &&
	    !make_dir(f->key, 0700, pr->dry_run, &absent)) ||
	    !check_key(pr, f, p, &ks, &kown, run_as))
		return 1;
	if ((n = edit_conf(f, p, set, &nset, &text)) < 0) {
		fprintf(stderr, "%s: %s: cannot edit it (out of memory)\n",
		    PROG, f->conf);
		return 1;
	}
	if (pr->dry_run) {
		printf("-t: would %s %s (the key %s, %s)\n", ks == KEY_SAME ?
		    "keep" : ks == KEY_NEW ? "create" : "replace", f->key,
		    p->name, secfile_owner_str(&kown, ostr, sizeof(ostr)));
		printf("-t: would %s %s:\n", f->conf_exists ? "set in" :
		    "create", f->conf);
		say_settings(set, nset);
		free(text);
		return 0;
	}
	if (ks != KEY_SAME) {
		util_base64_encode(p->key, PAIRING_KEY_LEN, b64, sizeof(b64));
		snprintf(line, sizeof(line), "%s %s\n", p->name, b64);
		r = secfile_write(f->key, line, strlen(line), &kown,
		    ks == KEY_REPLACE, why, sizeof(why));
		util_wipe(line, sizeof(line));
		util_wipe(b64, sizeof(b64));
		if (!r) {
			fprintf(stderr, "%s: %s: %s\n", PROG, f->key, why);
			free(text);
			return 1;
		}
	}
	printf("%s %s: the key %s (%s)\n", ks == KEY_SAME ? "kept" :
	    ks == KEY_NEW ? "wrote" : "replaced", f->key, p->name,
	    secfile_owner_str(&kown, ostr, sizeof(ostr)));
	if (f->conf_exists && (size_t)n == f->len &&
	    memcmp(text, f->text, f->len) == 0)
		printf("kept %s:\n", f->conf);
	else if (!secfile_write(f->conf, text, (size_t)n, &f->conf_own,
	    f->conf_exists, why, sizeof(why))) {
		fprintf(stderr, "%s: %s: %s\n", PROG, f->conf, why);
		free(text);
		return 1;
	} else
		printf("%s %s (%s):\n", f->conf_exists ? "set in" : "wrote",
		    f->conf, secfile_owner_str(&f->conf_own, ostr, sizeof(ostr)));
	say_settings(set, nset);
	free(text);
	return 0;
}

int
pair_run(const struct pair *pr, char *conf, size_t conflen)
{
	struct files	 f;
	struct pairing	 p;
	char		 tok[PAIRING_TOKEN_MAX + 2], why[512];
	enum pairing_error e;
	int		 lock = -1, rc;
	bool		 absent;

	memset(&f, 0, sizeof(f));
	if (!read_token(pr->token, tok, sizeof(tok)))
		return 1;
	e = pairing_parse(tok, strlen(tok), &p);
	util_wipe(tok, sizeof(tok));
	if (e != PAIRING_OK) {
		fprintf(stderr, "%s: --pair: the token is not valid: %s\n",
		    PROG, pairing_strerror(e));
		return 1;
	}
	if (!abs_path("--config", pr->conf ? pr->conf : PAIR_DEFAULT_CONF,
	    f.conf, sizeof(f.conf))) {
		util_wipe(&p, sizeof(p));
		return 2;
	}
	snprintf(conf, conflen, "%s", f.conf);
	if (!make_dir(f.conf, 0755, pr->dry_run, &absent)) {
		util_wipe(&p, sizeof(p));
		return 1;
	}
	/* a dry run's absent directory has nothing to lock or read */
	if (!(absent && pr->dry_run) &&
	    (lock = secfile_lock_dir(f.conf, why, sizeof(why))) == -1) {
		fprintf(stderr, "%s: %s: %s\n", PROG, f.conf, why);
		util_wipe(&p, sizeof(p));
		return 1;
	}
	rc = pair_files(pr, &f, &p);
	if (lock != -1)
		close(lock);
	util_wipe(&p, sizeof(p));
	free(f.text);
	if (rc == 0 && !pr->dry_run)
		printf("Start the home side with\n"
		    "  mpsocks-local -c %s\n"
		    "or, installed as a service: systemctl restart "
		    "mpsocks-local\n", f.conf);
	return rc;
}
