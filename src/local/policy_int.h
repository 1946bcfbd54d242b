#ifndef MPSOCKS_POLICY_INT_H
#define MPSOCKS_POLICY_INT_H

/*
 * The policy's tables, shared by its matcher (policy.c) and its loader
 * (policy_load.c) only. Everyone else uses policy.h.
 */

#include <maxminddb.h>
#include <stdbool.h>
#include <stdint.h>

#include "local/policy.h"

enum {
	K_DOMAIN = 1, K_CIDR = 2, K_PORT = 4, K_COUNTRY = 8, K_ASN = 16,
	K_ANY = 32,
};

struct port_range {
	uint16_t	lo, hi;
};

struct prule {
	char			 name[POLICY_MAX_NAME];
	const char		*file;		/* the config's name */
	unsigned		 line;		/* of its [rule NAME] */
	unsigned		 kinds;		/* K_*: present kinds, ANDed */
	enum policy_action	 action;
	bool			 action_set;
	struct port_range	*ports;
	size_t			 n_ports;
	char			(*countries)[2];
	size_t			 n_countries;
	uint32_t		*asns;
	size_t			 n_asns;
	char			 uplink[POLICY_MAX_NAME];
	struct policy_pin	 pin;
};

/* Open addressing, linear probing; names live in one arena. */
struct dom_ent {
	uint64_t	hash;		/* 0: empty slot */
	uint32_t	off;
	uint16_t	len;
	uint64_t	exact, suffix;	/* rule bitmaps */
};

struct dom_table {
	struct dom_ent	*v;
	size_t		 cap, n;	/* cap: a power of two */
	char		*names;
	size_t		 names_len, names_cap;
	uint64_t	 labels[4];	/* bit k: an entry has k labels */
};

/* Binary prefix tree; node 0 roots IPv4, node 1 IPv6; child 0: none. */
struct tnode {
	uint32_t	child[2];
	uint64_t	rules;		/* rules whose network ends here */
};

struct trie {
	struct tnode	*v;
	size_t		 n, cap;
};

struct policy {
	struct prule		rules[POLICY_MAX_RULES];
	size_t			n_rules;
	struct dom_table	dom;
	struct trie		trie;		/* the rules' networks */
	struct trie		local;		/* built-in direct ranges */
	MMDB_s			country_db, asn_db;
	bool			have_country_db, have_asn_db;
	struct policy_pin	no_pin;
	char			file[256];	/* for prule.file */
};

bool	policy_dom_add(struct dom_table *, const char *name, bool suffix,
	    unsigned rule);
bool	policy_trie_add(struct trie *, const struct cidr *, unsigned rule);
/* Lays the tree out in depth-first order, so that a walk down a chain
 * reads neighbouring memory. false (tree unchanged) without memory. */
bool	policy_trie_compact(struct trie *);

#endif
