/*
 * subflow.c: MPTCP_FULL_INFO decoding from buffers laid out as the 6.18
 * kernel fills them; short headers, sizes that do not fit the arrays,
 * unknown address families, more subflows than asked for, and a kernel
 * whose structs are smaller or larger than ours.
 */

#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "proto/mptcp_uapi.h"
#include "proto/subflow.h"

#define TI	280		/* tcp_info on 6.18 */

static uint8_t	hdr[sizeof(struct mptcp_full_info_hdr) + MPTCP_INFO_LEN_618];
static uint8_t	sf[4 * SFINFO_LEN], ti[4 * TI];

static void
fill(uint32_t n, uint32_t sfk, uint32_t tik)
{
	struct mptcp_full_info_hdr	h = {
		.size_tcpinfo_kernel = tik, .size_tcpinfo_user = TI,
		.size_sfinfo_kernel = sfk, .size_sfinfo_user = SFINFO_LEN,
		.num_subflows = n, .size_arrays_user = 4,
	};

	memset(sf, 0, sizeof(sf));
	memset(ti, 0, sizeof(ti));
	memcpy(hdr, &h, sizeof(h));
	for (uint32_t i = 0; i < 4; i++) {
		struct sockaddr_in	l = { .sin_family = AF_INET,
					    .sin_port = htons(4000 + i) };
		struct sockaddr_in6	r = { .sin6_family = AF_INET6,
					    .sin6_port = htons(8443) };
		uint32_t		rtt = 1000 * (i + 1);
		uint64_t		acked = 10 * (i + 1),
					recv = 1000000 * (i + 1);

		inet_pton(AF_INET, "10.1.1.2", &l.sin_addr);
		l.sin_addr.s_addr += htonl(i << 8);
		inet_pton(AF_INET6, "fd00::1", &r.sin6_addr);
		memcpy(sf + i * SFINFO_LEN + SFINFO_ID_OFF, &i, 4);
		memcpy(sf + i * SFINFO_LEN + SFINFO_LOCAL_OFF, &l, sizeof(l));
		memcpy(sf + i * SFINFO_LEN + SFINFO_REMOTE_OFF, &r, sizeof(r));
		ti[i * TI + TCPI_STATE_OFF] = TCP_ESTABLISHED;
		memcpy(ti + i * TI + TCPI_RTT_OFF, &rtt, 4);
		memcpy(ti + i * TI + TCPI_BYTES_ACKED_OFF, &acked, 8);
		memcpy(ti + i * TI + TCPI_BYTES_RECV_OFF, &recv, 8);
	}
}

static void
test_decode(void **state)
{
	struct subflow_info	out[SUBFLOW_MAX];
	struct sockaddr_in	*l;
	int			 n;

	(void)state;
	fill(2, SFINFO_LEN, TI);
	n = subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf), ti, sizeof(ti),
	    out, SUBFLOW_MAX);
	assert_int_equal(n, 2);
	l = (struct sockaddr_in *)&out[1].local;
	assert_int_equal(l->sin_family, AF_INET);
	assert_int_equal(ntohs(l->sin_port), 4001);
	assert_int_equal(ntohl(l->sin_addr.s_addr), 0x0a010202);
	assert_int_equal(out[1].remote.ss_family, AF_INET6);
	assert_int_equal(out[1].id, 1);
	assert_int_equal(out[1].rtt_us, 2000);
	assert_int_equal(out[1].bytes_sent, 20);
	assert_int_equal(out[1].bytes_received, 2000000);
	assert_string_equal(subflow_state_str(out[1].tcp_state),
	    "established");
	assert_string_equal(subflow_state_str(200), "unknown");
}

static void
test_decode_hostile(void **state)
{
	struct subflow_info	out[SUBFLOW_MAX];
	uint16_t		bad = 77;

	(void)state;
	fill(2, SFINFO_LEN, TI);
	/* every short header */
	for (size_t i = 0; i < sizeof(struct mptcp_full_info_hdr); i++)
		assert_int_equal(subflow_decode(hdr, i, sf, sizeof(sf), ti,
		    sizeof(ti), out, SUBFLOW_MAX), -1);
	/* arrays too small for the subflows announced */
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, SFINFO_LEN,
	    ti, sizeof(ti), out, SUBFLOW_MAX), -1);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf),
	    ti, TI, out, SUBFLOW_MAX), -1);
	/* an older kernel whose tcp_info ends before bytes_received */
	fill(2, SFINFO_LEN, 104);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf), ti,
	    sizeof(ti), out, SUBFLOW_MAX), -1);
	/* a subflow_info smaller than the uapi one */
	fill(2, 100, TI);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf), ti,
	    sizeof(ti), out, SUBFLOW_MAX), -1);
	/* a newer kernel with larger structs: ours bound the stride */
	fill(2, SFINFO_LEN + 64, TI + 64);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf), ti,
	    sizeof(ti), out, SUBFLOW_MAX), 2);
	/* more subflows than asked for, or than out holds */
	fill(9, SFINFO_LEN, TI);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf), ti,
	    sizeof(ti), out, SUBFLOW_MAX), 4);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf), ti,
	    sizeof(ti), out, 3), 3);
	/* none: not an error */
	fill(0, SFINFO_LEN, TI);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), NULL, 0, NULL, 0,
	    out, SUBFLOW_MAX), 0);
	/* an unknown family is left AF_UNSPEC, not copied */
	fill(1, SFINFO_LEN, TI);
	memcpy(sf + SFINFO_LOCAL_OFF, &bad, 2);
	assert_int_equal(subflow_decode(hdr, sizeof(hdr), sf, sizeof(sf), ti,
	    sizeof(ti), out, SUBFLOW_MAX), 1);
	assert_int_equal(out[0].local.ss_family, AF_UNSPEC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_hostile),
	};

	return cmocka_run_group_tests_name("subflow", tests, NULL, NULL);
}
