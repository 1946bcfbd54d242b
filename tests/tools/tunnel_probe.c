/*
 * tunnel-probe: speaks the tunnel protocol the way an attacker or a broken
 * client would, for the integration tests.
 *
 *   tunnel-probe MODE SERVER_ADDR:PORT KEYFILE TARGET_HOST:PORT
 *
 *   valid    authenticated request + "GET /"; exit 0 on status 0 and a
 *            response
 *   replay   a valid request, then the same bytes on a new connection;
 *            exit 0 if the second got no byte and was closed
 *   wrongkey request with the right key id but MAC'd with another key;
 *            exit 0 if no byte came back and the server closed
 *   garbage  4 KiB of random bytes; exit 0 if no byte came back and the
 *            server closed
 */

#include "common/keyfile.h"
#include "proto/tunnel_proto.h"
#include "proto/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define WAIT_S	30

static void
key_err(void *arg, unsigned line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "key file:%u: %s\n", line, msg);
}

static int
dial(const char *addr)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	struct timeval		tv = { .tv_sec = WAIT_S };
	int			fd;

	if (!util_parse_sockaddr(addr, &ss, &len)) {
		fprintf(stderr, "bad address %s\n", addr);
		exit(2);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&ss, len) == -1) {
		perror("connect");
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads until EOF, reset or timeout; *closed tells whether the server
 * ended it. Returns the bytes received. */
static size_t
drain(int fd, uint8_t *keep, size_t keeplen, bool *closed)
{
	uint8_t	buf[65536];
	size_t	total = 0;
	ssize_t	n;

	*closed = false;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			if (keep != NULL && total < keeplen)
				memcpy(keep + total, buf,
				    MIN((size_t)n, keeplen - total));
			total += (size_t)n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET)
			*closed = true;
		return total;
	}
}

static int
send_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One connection carrying msg; 0 if it got a good reply and data. */
static int
run_valid(const char *server, const struct tunnel_key *k,
    const uint8_t *msg, size_t len, const uint8_t mac[TUNNEL_MAC_LEN])
{
	uint8_t			 reply[TUNNEL_MAX_REPLY];
	struct tunnel_reply	 rep;
	bool			 closed;
	int			 fd = dial(server);
	size_t			 n;

	if (send_all(fd, msg, len) == -1) {
		perror("write");
		return 1;
	}
	n = drain(fd, reply, sizeof(reply), &closed);
	close(fd);
	if (tunnel_parse_reply(reply, MIN(n, sizeof(reply)), k, mac, &rep) !=
	    PARSE_OK) {
		printf("bytes_received=%zu reply=invalid\n", n);
		return 1;
	}
	printf("status=%u bytes_received=%zu response_bytes=%zu\n",
	    rep.status, n, n - rep.used);
	return rep.status == 0 && n > rep.used ? 0 : 1;
}

static int
run_silent(const char *server, const uint8_t *msg, size_t len)
{
	bool	closed;
	int	fd = dial(server);
	size_t	n;

	if (send_all(fd, msg, len) == -1) {
		/* a reset while sending is a close with no byte */
		printf("bytes_received=0 closed=yes (reset while sending)\n");
		return 0;
	}
	n = drain(fd, NULL, 0, &closed);
	close(fd);
	printf("bytes_received=%zu closed=%s\n", n, closed ? "yes" : "no");
	return n == 0 && closed ? 0 : 1;
}

static int	probe(int, char **, struct keyset *);

int
main(int argc, char **argv)
{
	struct keyset	ks = { 0 };
	int		rc = probe(argc, argv, &ks);

	keyset_free(&ks);
	return rc;
}

static int
probe(int argc, char **argv, struct keyset *ksp)
{
	struct keyset		 ks;
	struct tunnel_key	 other;
	struct target		 t = { 0 };
	uint8_t			 msg[TUNNEL_MAX_HDR + 256], nonce[16], mac[32];
	uint8_t			 rnd[32];
	char			 host[256];
	const char		 get[] = "GET / HTTP/1.0\r\n\r\n";
	int			 n;

	if (argc != 5) {
		fprintf(stderr, "usage: tunnel-probe valid|replay|wrongkey|"
		    "garbage SERVER:PORT KEYFILE TARGET:PORT\n");
		return 2;
	}
	if (keyfile_load(argv[3], &ks, key_err, NULL) != 0)
		return 2;
	*ksp = ks;
	if (!util_split_hostport(argv[4], host, sizeof(host), &t.port))
		return 2;
	if (inet_pton(AF_INET, host, t.addr) == 1)
		t.atyp = TARGET_IPV4;
	else if (inet_pton(AF_INET6, host, t.addr) == 1)
		t.atyp = TARGET_IPV6;
	else {
		t.atyp = TARGET_DOMAIN;
		snprintf(t.name, sizeof(t.name), "%s", host);
	}
	util_random(nonce, sizeof(nonce));
	if (strcmp(argv[1], "garbage") == 0) {
		uint8_t junk[4096];

		util_random(junk, sizeof(junk));
		return run_silent(argv[2], junk, sizeof(junk));
	}
	if (strcmp(argv[1], "wrongkey") == 0) {
		util_random(rnd, sizeof(rnd));
		tunnel_key_init(&other, "other", rnd);
		memcpy(other.id, ks.keys[0].id, TUNNEL_KEYID_LEN);
		n = tunnel_encode_request(&other, TUNNEL_CMD_CONNECT, &t,
		    util_wall_ms(), nonce, msg, sizeof(msg), mac);
		memcpy(msg + n, get, sizeof(get) - 1);
		return run_silent(argv[2], msg, (size_t)n + sizeof(get) - 1);
	}
	n = tunnel_encode_request(&ks.keys[0], TUNNEL_CMD_CONNECT, &t,
	    util_wall_ms(), nonce, msg, sizeof(msg), mac);
	if (n < 0)
		return 2;
	memcpy(msg + n, get, sizeof(get) - 1);
	n += (int)sizeof(get) - 1;
	if (strcmp(argv[1], "valid") == 0)
		return run_valid(argv[2], &ks.keys[0], msg, (size_t)n, mac);
	if (strcmp(argv[1], "replay") == 0) {
		if (run_valid(argv[2], &ks.keys[0], msg, (size_t)n, mac) != 0) {
			fprintf(stderr, "the first, valid request failed\n");
			return 1;
		}
		return run_silent(argv[2], msg, (size_t)n);
	}
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
