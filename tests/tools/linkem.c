/*
 * linkem: a userspace link emulator for the integration test bed. This
 * kernel has no netem, so per-uplink one-way delay and loss come from here:
 *
 *   linkem IF_A IF_B [--delay-ab MS] [--delay-ba MS] [--loss-ab PCT]
 *       [--loss-ba PCT] [--cut-at SEC [--restore-at SEC]] [--seed N]
 *       [--queue-mb MB]
 *
 * It bridges every Ethernet frame between two interfaces of one network
 * namespace (AF_PACKET, ETH_P_ALL). Each direction is a FIFO: a frame
 * leaves at its arrival time plus the delay, so nothing is reordered.
 * Loss is an independent draw per wire frame; from --cut-at to
 * --restore-at seconds after start nothing passes (a dead link). Beyond
 * --queue-mb (default 64) of queued frames per direction, arrivals drop.
 *
 * Offloads: the sockets use PACKET_VNET_HDR, so TSO/GRO frames of up to
 * 64 KiB pass whole with their checksum state (a veth peer leaves TCP
 * checksums to "hardware": without the header they would arrive broken).
 * The interfaces' offload settings are left alone. A GSO frame stands for
 * several wire frames; loss is drawn for each, and only when some are lost
 * is the frame cut into its segments here, so the survivors still pass.
 *
 * SIGUSR1 prints the counters; SIGUSR2 cuts the link now, or restores it
 * if it is cut (for failover tests that cut on demand); SIGTERM or SIGINT
 * prints the counters and exits 0.
 * Output lines start with "linkem:" and hold key=value pairs.
 *
 * XXX VLAN tags the driver stripped (rx-vlan-offload) are not put back;
 * the test bed uses none.
 */

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4	5	/* not in Debian 12's header */
#endif

#define LINKEM_BATCH	64		/* frames per recvmmsg/sendmmsg */
#define LINKEM_VNET	sizeof(struct virtio_net_hdr)
/* a GSO frame is at most 64 KiB of IP packet plus link header */
#define LINKEM_MAX_FRAME	(65536 + 256)
#define LINKEM_SLOT	(LINKEM_VNET + LINKEM_MAX_FRAME)
#define LINKEM_SOCKBUF	(8 << 20)
#define LINKEM_EARLY_MAX	500000	/* ns: cap on the timer lead */
#define LINKEM_RETRY_NS	100000		/* after ENOBUFS: the peer is busy */
#define NS_PER_S	1000000000ULL
#define NS_PER_MS	1000000ULL

/* One queued frame; its vnet header and bytes follow, padded to 8. */
struct rec {
	uint64_t	due;		/* CLOCK_MONOTONIC ns of departure */
	uint32_t	len;		/* vnet header + frame */
	uint32_t	segs;		/* wire frames it stands for */
	uint64_t	wire;		/* wire bytes it stands for */
};

/*
 * A byte ring of records, never split: a record that does not fit at the
 * end goes to the start, and wrap_at marks where the reader must jump.
 * Its size is the queue bound.
 */
struct fifo {
	uint8_t	*buf;
	size_t	 cap, head, tail, count;
	size_t	 wrap_at;	/* if wrapped: end of the data before 0 */
	bool	 wrapped;	/* data is [head, wrap_at) then [0, tail) */
};

struct dir_stats {
	uint64_t	frames, bytes;	/* forwarded, in wire frames */
	uint64_t	lost, cut, full, big, tx_err, kdrops;
	uint64_t	late_max, late_sum;	/* ns after due, per send */
	uint64_t	sends, late_1ms;	/* late_1ms: over 1 ms late */
};

/* One direction: frames read from in_fd leave through out_fd. */
struct dir {
	const char	*name;
	int		 in_fd, out_fd;
	uint64_t	 delay;		/* ns */
	uint64_t	 loss;		/* drop if a draw < loss */
	uint64_t	 rng[4];	/* xoshiro256** state */
	uint64_t	 retry_at;	/* ns; 0 unless the output was full */
	struct fifo	 q;
	struct dir_stats st;
	uint8_t		*slots;		/* LINKEM_BATCH receive slots */
	struct mmsghdr	 rx[LINKEM_BATCH], tx[LINKEM_BATCH];
	struct iovec	 rx_iov[LINKEM_BATCH], tx_iov[LINKEM_BATCH];
};

struct linkem {
	struct dir	 d[2];		/* a>b, b>a */
	uint64_t	 start, cut_at, restore_at;	/* ns; 0: none */
	uint64_t	 early;		/* ns timers fire late: wake this early */
	uint64_t	 armed;		/* ns the timer is set for; 0: none */
	bool		 in_cut;
};

struct l4_info {			/* a parsed GSO frame */
	size_t	l3, l4, hdr;		/* offsets; hdr: headers' length */
	int	v6, tcp;
	size_t	segs;
};

static volatile sig_atomic_t	got_term, got_usr1, got_usr2;

static void
sig_cb(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_term = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "linkem: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: linkem IF_A IF_B [--delay-ab MS] "
	    "[--delay-ba MS] [--loss-ab PCT] [--loss-ba PCT]\n"
	    "    [--cut-at SEC [--restore-at SEC]] [--seed N] "
	    "[--queue-mb MB]\n"
	    "SIGUSR1: print counters; SIGUSR2: cut now, or restore\n");
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* --- random numbers: xoshiro256**, seeded through splitmix64 -------------- */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(uint64_t s[4])
{
	uint64_t	r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* --- the record ring ------------------------------------------------------ */

static size_t
rec_size(size_t len)
{
	return (sizeof(struct rec) + len + 7) & ~(size_t)7;
}

/* Room for a record of len data bytes at the tail, or NULL when full. */
static struct rec *
fifo_alloc(struct fifo *q, size_t len)
{
	size_t	n = rec_size(len);

	if (q->count == 0) {		/* start over: keeps few pages hot */
		q->head = q->tail = 0;
		q->wrapped = false;
	}
	if (!q->wrapped) {		/* free: [tail, cap) and [0, head) */
		if (q->cap - q->tail >= n)
			return (struct rec *)(q->buf + q->tail);
		if (q->head < n)
			return NULL;
		q->wrap_at = q->tail;	/* no record there: reader skips */
		q->wrapped = true;
		q->tail = 0;
		return (struct rec *)q->buf;
	}
	if (q->head - q->tail < n)	/* free: [tail, head) */
		return NULL;
	return (struct rec *)(q->buf + q->tail);
}

static void
fifo_commit(struct fifo *q, struct rec *r)
{
	q->tail += rec_size(r->len);
	q->count++;
}

/* The record at *pos, which moves past a wrap point first. */
static struct rec *
fifo_peek(const struct fifo *q, size_t *pos)
{
	if (q->wrapped && *pos == q->wrap_at)
		*pos = 0;
	return (struct rec *)(q->buf + *pos);
}

static struct rec *
fifo_head(const struct fifo *q)
{
	size_t	pos = q->head;

	return fifo_peek(q, &pos);
}

static void
fifo_pop(struct fifo *q)
{
	struct rec	*r = fifo_peek(q, &q->head);

	if (q->wrapped && q->head == 0)
		q->wrapped = false;	/* the reader has jumped */
	q->head += rec_size(r->len);
	q->count--;
}

/* --- GSO frames ----------------------------------------------------------- */

/*
 * Finds the headers of a TCP or UDP GSO frame in plain Ethernet; false for
 * anything else (the frame then counts, and is lost, as one).
 */
static bool
gso_parse(const struct virtio_net_hdr *vh, const uint8_t *p, size_t len,
    struct l4_info *li)
{
	uint8_t	 type = vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN, proto;
	uint16_t gso = le16toh(vh->gso_size);
	size_t	 l4h;

	if (type == VIRTIO_NET_HDR_GSO_NONE || gso == 0 || len < 14)
		return false;
	li->l3 = 14;
	if (p[12] == 0x08 && p[13] == 0x00 && len >= 14 + 20) {
		li->v6 = 0;
		li->l4 = li->l3 + (size_t)(p[14] & 0x0f) * 4;
		proto = p[14 + 9];
	} else if (p[12] == 0x86 && p[13] == 0xdd && len >= 14 + 40) {
		li->v6 = 1;
		li->l4 = li->l3 + 40;	/* extension headers: not handled */
		proto = p[14 + 6];
	} else
		return false;
	li->tcp = proto == IPPROTO_TCP;
	if (li->tcp && type != VIRTIO_NET_HDR_GSO_UDP_L4 && len >= li->l4 + 20)
		l4h = (size_t)(p[li->l4 + 12] >> 4) * 4;
	else if (proto == IPPROTO_UDP && type == VIRTIO_NET_HDR_GSO_UDP_L4)
		l4h = 8;
	else
		return false;
	li->hdr = li->l4 + l4h;
	if (li->hdr >= len)
		return false;
	li->segs = (len - li->hdr + gso - 1) / gso;
	return true;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Fixes the headers of segment i (of li->segs) of length len: IP length and
 * id, TCP sequence and flags, UDP length, and the pseudo-header sum that a
 * NEEDS_CSUM frame carries in its checksum field (the kernel adds the rest).
 */
static void
gso_fix_seg(uint8_t *p, size_t len, const struct l4_info *li, size_t i,
    uint16_t gso)
{
	uint8_t		*l4 = p + li->l4;
	size_t		 l4len = len - li->l4;
	uint32_t	 sum, v;

	if (li->v6) {
		put16(p + li->l3 + 4, (uint32_t)(len - li->l3 - 40));
		sum = csum_add(0, p + li->l3 + 8, 32);
	} else {
		put16(p + li->l3 + 2, (uint32_t)(len - li->l3));
		v = (uint32_t)p[li->l3 + 4] << 8 | p[li->l3 + 5];
		put16(p + li->l3 + 4, v + (uint32_t)i);
		put16(p + li->l3 + 10, 0);
		put16(p + li->l3 + 10, (uint16_t)~csum_fold(
		    csum_add(0, p + li->l3, li->l4 - li->l3)));
		sum = csum_add(0, p + li->l3 + 12, 8);
	}
	sum += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	sum += li->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	if (li->tcp) {
		memcpy(&v, l4 + 4, 4);
		v = htonl(ntohl(v) + (uint32_t)(i * gso));
		memcpy(l4 + 4, &v, 4);
		if (i + 1 < li->segs)
			l4[13] &= (uint8_t)~0x09; /* FIN, PSH: last only */
		if (i > 0)
			l4[13] &= (uint8_t)~0x80;	/* CWR: first only */
		put16(l4 + 16, csum_fold(sum));
	} else {
		put16(l4 + 4, (uint32_t)l4len);
		put16(l4 + 6, csum_fold(sum));
	}
}

/* --- queueing ------------------------------------------------------------- */

/* Queues len bytes (vnet header + frame) standing for segs wire frames. */
static bool
enqueue(struct dir *d, const uint8_t *data, size_t len, uint64_t due,
    uint32_t segs, uint64_t wire)
{
	struct rec	*r = fifo_alloc(&d->q, len);

	if (r == NULL) {
		d->st.full += segs;
		return false;
	}
	r->due = due;
	r->len = (uint32_t)len;
	r->segs = segs;
	r->wire = wire;
	memcpy(r + 1, data, len);
	fifo_commit(&d->q, r);
	return true;
}

/* Queues the segments of a GSO frame whose keep[] draw passed. */
static void
enqueue_segs(struct dir *d, const uint8_t *data, const struct l4_info *li,
    size_t flen, const bool *keep, uint64_t due)
{
	const struct virtio_net_hdr	*vh = (const void *)data;
	const uint8_t			*p = data + LINKEM_VNET;
	uint16_t			 gso = le16toh(vh->gso_size);
	struct virtio_net_hdr		*nh;
	struct rec			*r;
	size_t				 i, off, plen, slen;
	uint8_t				*q;

	for (i = 0; i < li->segs; i++) {
		if (!keep[i])
			continue;
		off = li->hdr + i * gso;
		plen = flen - off < gso ? flen - off : gso;
		slen = li->hdr + plen;
		if ((r = fifo_alloc(&d->q, LINKEM_VNET + slen)) == NULL) {
			d->st.full++;
			continue;
		}
		nh = (struct virtio_net_hdr *)(r + 1);
		memset(nh, 0, sizeof(*nh));
		nh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		nh->csum_start = htole16((uint16_t)li->l4);
		nh->csum_offset = htole16(li->tcp ? 16 : 6);
		q = (uint8_t *)(nh + 1);
		memcpy(q, p, li->hdr);
		memcpy(q + li->hdr, p + off, plen);
		gso_fix_seg(q, slen, li, i, gso);
		r->due = due;
		r->len = (uint32_t)(LINKEM_VNET + slen);
		r->segs = 1;
		r->wire = slen;
		fifo_commit(&d->q, r);
	}
}

/* Applies cut and loss to one received frame and queues what survives. */
static void
arrive(struct linkem *le, struct dir *d, const uint8_t *data, size_t len,
    uint64_t now)
{
	const struct virtio_net_hdr	*vh = (const void *)data;
	size_t				 flen = len - LINKEM_VNET, i, kept;
	struct l4_info			 li = { .segs = 1, .hdr = 0 };
	bool				 keep[LINKEM_MAX_FRAME / 64 + 1];
	uint64_t			 wire;

	if (!gso_parse(vh, data + LINKEM_VNET, flen, &li)) {
		li.segs = 1;
		li.hdr = 0;
	}
	if (li.segs > sizeof(keep) / sizeof(keep[0]))
		li.segs = 1;		/* absurd gso_size: treat as one */
	wire = flen + (li.segs - 1) * li.hdr;
	if (le->in_cut) {
		d->st.cut += li.segs;
		return;
	}
	kept = li.segs;
	if (d->loss != 0) {
		for (i = 0; i < li.segs; i++) {
			keep[i] = rng_next(d->rng) >= d->loss;
			kept -= !keep[i];
		}
	}
	d->st.lost += li.segs - kept;
	if (kept == li.segs)
		enqueue(d, data, len, now + d->delay, (uint32_t)li.segs, wire);
	else if (kept > 0)
		enqueue_segs(d, data, &li, flen, keep, now + d->delay);
}

/* --- I/O ------------------------------------------------------------------ */

/* Reads one batch; returns the frames read, 0 if none waited. */
static int
rx_batch(struct linkem *le, struct dir *d)
{
	uint64_t	now;
	int		n, i;

	n = recvmmsg(d->in_fd, d->rx, LINKEM_BATCH, MSG_DONTWAIT, NULL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR || errno == ENETDOWN)
			return 0;
		die("recvmmsg");
	}
	now = now_ns();			/* arrival: we wake as frames come */
	for (i = 0; i < n; i++) {
		if (d->rx[i].msg_hdr.msg_flags & MSG_TRUNC ||
		    d->rx[i].msg_len <= LINKEM_VNET) {
			d->st.big++;
			continue;
		}
		arrive(le, d, d->rx_iov[i].iov_base, d->rx[i].msg_len, now);
	}
	return n;
}

static bool
in_cut(const struct linkem *le, uint64_t t)
{
	return le->cut_at != 0 && t >= le->cut_at &&
	    (le->restore_at == 0 || t < le->restore_at);
}

static void
sent(struct dir *d, const struct rec *r, uint64_t now)
{
	uint64_t	late = now > r->due ? now - r->due : 0;

	d->st.frames += r->segs;
	d->st.bytes += r->wire;
	d->st.late_sum += late;
	d->st.sends++;
	d->st.late_1ms += late > NS_PER_MS;
	if (late > d->st.late_max)
		d->st.late_max = late;
}

/* Drops the head frames that would leave while the link is dead. */
static void
tx_cut(struct linkem *le, struct dir *d, uint64_t now)
{
	struct rec	*r;

	while (d->q.count > 0) {
		r = fifo_head(&d->q);
		if (r->due > now || !in_cut(le, r->due))
			return;
		d->st.cut += r->segs;	/* in flight on a dead link */
		fifo_pop(&d->q);
	}
}

/*
 * Sends what is due, in batches, in order. On ENOBUFS or EAGAIN the head
 * frame stays and is retried shortly; other errors drop it.
 */
static int
tx_flush(struct linkem *le, struct dir *d, uint64_t now)
{
	struct rec	*r, *recs[LINKEM_BATCH];
	size_t		 pos, i;
	int		 n, k, total = 0;

	if (d->retry_at != 0 && now < d->retry_at)
		return 0;
	d->retry_at = 0;
	for (;;) {
		tx_cut(le, d, now);
		pos = d->q.head;
		for (k = 0; k < LINKEM_BATCH && (size_t)k < d->q.count; k++) {
			r = fifo_peek(&d->q, &pos);
			if (r->due > now || in_cut(le, r->due))
				break;
			recs[k] = r;
			d->tx_iov[k].iov_base = r + 1;
			d->tx_iov[k].iov_len = r->len;
			d->tx[k].msg_hdr = (struct msghdr){
				.msg_iov = &d->tx_iov[k], .msg_iovlen = 1 };
			pos += rec_size(r->len);
		}
		if (k == 0)
			return total;
		n = sendmmsg(d->out_fd, d->tx, (unsigned)k, MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == ENOBUFS ||
			    errno == EINTR) {
				d->retry_at = now + LINKEM_RETRY_NS;
				return total;
			}
			d->st.tx_err += recs[0]->segs;
			fifo_pop(&d->q);
			continue;
		}
		for (i = 0; i < (size_t)n; i++) {
			sent(d, recs[i], now);
			fifo_pop(&d->q);
		}
		total += n;
	}
}

/* --- setup ---------------------------------------------------------------- */

static int
open_if(const char *ifname)
{
	struct sockaddr_ll	sll = { .sll_family = AF_PACKET };
	struct packet_mreq	mr = { .mr_type = PACKET_MR_PROMISC };
	int			fd, one = 1, buf = LINKEM_SOCKBUF;

	/* protocol 0 until bound: no frames of other interfaces queue up */
	if ((fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0)) == -1)
		die("socket(AF_PACKET)");
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (sll.sll_ifindex == 0) {
		fprintf(stderr, "linkem: no interface %s\n", ifname);
		exit(1);
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
	    sizeof(one)) == -1)
		die("PACKET_VNET_HDR");
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
	    sizeof(one)) == -1)
		die("PACKET_IGNORE_OUTGOING");
	/* a burst must wait in the kernel while we sleep or send */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf,
	    sizeof(buf)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) == -1)
		die("SO_RCVBUFFORCE/SO_SNDBUFFORCE");
	sll.sll_protocol = htons(ETH_P_ALL);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1)
		die("bind");
	/* frames for other MACs: a bridge port needs them on real NICs too */
	mr.mr_ifindex = sll.sll_ifindex;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
	    sizeof(mr)) == -1)
		die("PACKET_ADD_MEMBERSHIP");
	return fd;
}

static void
dir_init(struct dir *d, const char *name, int in_fd, int out_fd,
    size_t queue_bytes, uint64_t seed)
{
	uint64_t	x = seed;
	int		i;

	d->name = name;
	d->in_fd = in_fd;
	d->out_fd = out_fd;
	for (i = 0; i < 4; i++)
		d->rng[i] = splitmix64(&x);
	/* NORESERVE: only the pages a queue really fills are ever touched */
	d->q.buf = mmap(NULL, queue_bytes, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	d->slots = mmap(NULL, (size_t)LINKEM_BATCH * LINKEM_SLOT,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->q.buf == MAP_FAILED || d->slots == MAP_FAILED)
		die("mmap");
	d->q.cap = queue_bytes;
	for (i = 0; i < LINKEM_BATCH; i++) {
		d->rx_iov[i].iov_base = d->slots + (size_t)i * LINKEM_SLOT;
		d->rx_iov[i].iov_len = LINKEM_SLOT;
		d->rx[i].msg_hdr = (struct msghdr){
			.msg_iov = &d->rx_iov[i], .msg_iovlen = 1 };
	}
}

static void
print_stats(struct linkem *le)
{
	struct tpacket_stats	tp;
	socklen_t		len;
	struct dir		*d;
	int			i;

	for (i = 0; i < 2; i++) {
		d = &le->d[i];
		len = sizeof(tp);	/* reading resets the kernel's count */
		if (getsockopt(d->in_fd, SOL_PACKET, PACKET_STATISTICS, &tp,
		    &len) == 0)
			d->st.kdrops += tp.tp_drops;
		printf("linkem: dir=%s frames=%" PRIu64 " bytes=%" PRIu64
		    " lost=%" PRIu64 " cut=%" PRIu64 " queue_full=%" PRIu64
		    " too_big=%" PRIu64 " tx_err=%" PRIu64
		    " kernel_drops=%" PRIu64 " queued=%zu late_avg_us=%.1f"
		    " late_max_us=%.1f late_gt_1ms=%" PRIu64 "/%" PRIu64
		    "\n", d->name, d->st.frames, d->st.bytes,
		    d->st.lost, d->st.cut, d->st.full, d->st.big,
		    d->st.tx_err, d->st.kdrops, d->q.count,
		    d->st.sends ? (double)d->st.late_sum / d->st.sends / 1e3 :
		    0.0, (double)d->st.late_max / 1e3, d->st.late_1ms,
		    d->st.sends);
	}
	fflush(stdout);
}

/* --- options -------------------------------------------------------------- */

static double
num_arg(const char *opt, const char *s, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "linkem: --%s %s: want a number in %g..%g\n",
		    opt, s, lo, hi);
		exit(2);
	}
	return v;
}

static uint64_t
seed_arg(const char *s)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-') {
		fprintf(stderr, "linkem: --seed %s: want an integer\n", s);
		exit(2);
	}
	return v;
}

struct opts {
	double		delay[2], loss[2], cut_at, restore_at, queue_mb;
	uint64_t	seed;
	bool		have_seed;
};

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option	lo[] = {
		{ "delay-ab", required_argument, NULL, 'a' },
		{ "delay-ba", required_argument, NULL, 'b' },
		{ "loss-ab", required_argument, NULL, 'l' },
		{ "loss-ba", required_argument, NULL, 'm' },
		{ "cut-at", required_argument, NULL, 'c' },
		{ "restore-at", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "queue-mb", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	int				c;

	memset(o, 0, sizeof(*o));
	o->queue_mb = 64;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a': case 'b':
			o->delay[c - 'a'] = num_arg(lo[c - 'a'].name, optarg,
			    0, 60000);
			break;
		case 'l': case 'm':
			o->loss[c - 'l'] = num_arg(lo[2 + c - 'l'].name,
			    optarg, 0, 100);
			break;
		case 'c':
			o->cut_at = num_arg("cut-at", optarg, 0.001, 1e6);
			break;
		case 'r':
			o->restore_at = num_arg("restore-at", optarg, 0.001,
			    1e6);
			break;
		case 's':
			o->seed = seed_arg(optarg);
			o->have_seed = true;
			break;
		case 'q':
			o->queue_mb = num_arg("queue-mb", optarg, 1, 4096);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || (o->restore_at != 0 && (o->cut_at == 0 ||
	    o->restore_at <= o->cut_at)))
		usage();
}

/* a draw below this is a loss: pct percent of 2^64 */
static uint64_t
loss_threshold(double pct)
{
	if (pct >= 100)
		return UINT64_MAX;
	return (uint64_t)(pct / 100 * 18446744073709551616.0);
}

static void
setup(struct linkem *le, const struct opts *o, char **ifs)
{
	struct sigaction	sa = { .sa_handler = sig_cb };
	sigset_t		block;
	int			fa, fb, i;
	size_t			qb = (size_t)(o->queue_mb * 1048576);

	/* wake-ups on time, not up to 50 us late (the default slack) */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	fa = open_if(ifs[0]);
	fb = open_if(ifs[1]);
	dir_init(&le->d[0], "a>b", fa, fb, qb, o->seed);
	dir_init(&le->d[1], "b>a", fb, fa, qb, o->seed ^ 0x5bd1e995ULL);
	for (i = 0; i < 2; i++) {
		le->d[i].delay = (uint64_t)(o->delay[i] * NS_PER_MS + 0.5);
		le->d[i].loss = o->loss[i] > 0 ? loss_threshold(o->loss[i]) : 0;
	}
	/* the signals arrive only inside ppoll: no flag is ever missed */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	le->start = now_ns();
	if (o->cut_at > 0)
		le->cut_at = le->start + (uint64_t)(o->cut_at * NS_PER_S);
	if (o->restore_at > 0)
		le->restore_at = le->start +
		    (uint64_t)(o->restore_at * NS_PER_S);
}

/* --- main loop ------------------------------------------------------------ */

/* The next moment something is due: a departure, a retry, a cut edge. */
static uint64_t
next_wake(const struct linkem *le)
{
	uint64_t	t = UINT64_MAX, e;
	int		i;

	for (i = 0; i < 2; i++) {
		const struct dir	*d = &le->d[i];

		if (d->retry_at != 0)
			e = d->retry_at;
		else if (d->q.count > 0)
			e = fifo_head(&d->q)->due;
		else
			continue;
		if (e < t)
			t = e;
	}
	if (le->cut_at != 0 && !le->in_cut && le->cut_at > now_ns() &&
	    le->cut_at < t)
		t = le->cut_at;
	if (le->in_cut && le->restore_at != 0 && le->restore_at < t)
		t = le->restore_at;
	return t;
}

/* SIGUSR2: a cut or a restore from now on. It moves the same edges that
 * --cut-at and --restore-at set, so frames in flight on the dead link are
 * lost the same way. */
static void
toggle_cut(struct linkem *le, uint64_t now)
{
	if (in_cut(le, now)) {
		le->restore_at = now;
	} else {
		le->cut_at = now;
		le->restore_at = 0;
	}
}

static void
check_cut(struct linkem *le, uint64_t now)
{
	bool	c = in_cut(le, now);

	if (c == le->in_cut)
		return;
	le->in_cut = c;
	printf("linkem: event=%s t=%.3f\n", c ? "cut" : "restore",
	    (double)(now - le->start) / 1e9);
	fflush(stdout);
}

/*
 * How long to wait in ppoll: 0 while busy, none while idle. A timer wakes
 * this VM 50-200 us late (over 1 ms now and then), so it is armed
 * le->early before the departure, that lateness as measured so far; woken
 * before the departure, we poll without sleeping until it is due.
 */
static struct timespec *
wait_time(struct linkem *le, int busy, struct timespec *ts)
{
	uint64_t	now = now_ns(), due, wake;

	le->armed = 0;
	due = busy > 0 ? now : next_wake(le);
	if (due == UINT64_MAX)
		return NULL;
	wake = due > now + le->early ? due - le->early : now;
	if (wake > now)
		le->armed = wake;
	ts->tv_sec = (time_t)((wake - now) / NS_PER_S);
	ts->tv_nsec = (long)((wake - now) % NS_PER_S);
	return ts;
}

/* Learns how late the timer fired: a moving average over 8 wake-ups. */
static void
timer_fired(struct linkem *le)
{
	uint64_t	now = now_ns(), late;

	if (le->armed == 0)
		return;
	late = now > le->armed ? now - le->armed : 0;
	if (late > LINKEM_EARLY_MAX)
		late = LINKEM_EARLY_MAX;	/* a hiccup, not the rule */
	le->early = (le->early * 7 + late) / 8;
}

static void
run(struct linkem *le)
{
	struct pollfd	pfd[2] = {
		{ .fd = le->d[0].in_fd, .events = POLLIN },
		{ .fd = le->d[1].in_fd, .events = POLLIN },
	};
	sigset_t	none;
	struct timespec	ts;
	uint64_t	now;
	int		busy, n;

	sigemptyset(&none);
	while (!got_term) {
		if (got_usr1) {
			got_usr1 = 0;
			print_stats(le);
		}
		if (got_usr2) {
			got_usr2 = 0;
			toggle_cut(le, now_ns());
		}
		check_cut(le, now_ns());
		busy = rx_batch(le, &le->d[0]);
		busy += rx_batch(le, &le->d[1]);
		now = now_ns();
		busy += tx_flush(le, &le->d[0], now);
		busy += tx_flush(le, &le->d[1], now);
		/* busy: poll anyway, without waiting, so signals get in */
		n = ppoll(pfd, 2, wait_time(le, busy, &ts), &none);
		if (n == -1 && errno != EINTR)
			die("ppoll");
		if (n == 0)
			timer_fired(le);
	}
}

int
main(int argc, char **argv)
{
	static struct linkem	le;
	struct opts		o;
	struct timespec		rt;
	uint64_t		seed;

	parse_opts(argc, argv, &o);
	if (!o.have_seed) {
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			die("getrandom");
		o.seed = seed & ((1ULL << 48) - 1);	/* short to retype */
	}
	setup(&le, &o, argv + optind);
	clock_gettime(CLOCK_REALTIME, &rt);
	printf("linkem: ready a=%s b=%s delay_ab_ms=%g delay_ba_ms=%g "
	    "loss_ab_pct=%g loss_ba_pct=%g cut_at=%g restore_at=%g "
	    "seed=%" PRIu64 " start_realtime=%lld.%06ld\n", argv[optind],
	    argv[optind + 1], o.delay[0], o.delay[1], o.loss[0], o.loss[1],
	    o.cut_at, o.restore_at, o.seed, (long long)rt.tv_sec,
	    rt.tv_nsec / 1000);
	fflush(stdout);
	run(&le);
	print_stats(&le);
	return 0;
}
