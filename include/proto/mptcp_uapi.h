#ifndef MPSOCKS_MPTCP_UAPI_H
#define MPSOCKS_MPTCP_UAPI_H

/*
 * MPTCP_FULL_INFO, from the kernel's include/uapi/linux/mptcp.h (added in
 * 6.7 by "mptcp: add MPTCP_FULL_INFO getsockopt", unchanged up to 6.18).
 * Debian 12's header is from 6.1 and lacks it. Only the fixed layout is
 * mirrored here: struct mptcp_info and struct tcp_info grow between
 * kernels, so their sizes come from what the kernel reports.
 */

#include <stdint.h>

#ifndef SOL_MPTCP
#define SOL_MPTCP		284
#endif
#define MPTCP_FULL_INFO_OPT	4

/* struct mptcp_full_info up to (not including) its struct mptcp_info */
struct mptcp_full_info_hdr {
	uint32_t	size_tcpinfo_kernel;	/* set by the kernel */
	uint32_t	size_tcpinfo_user;
	uint32_t	size_sfinfo_kernel;	/* set by the kernel */
	uint32_t	size_sfinfo_user;
	uint32_t	num_subflows;		/* set by the kernel */
	uint32_t	size_arrays_user;
	uint64_t	subflow_info;		/* user pointer */
	uint64_t	tcp_info;		/* user pointer */
} __attribute__((aligned(8)));

#define MPTCP_INFO_LEN_618	96	/* sizeof(struct mptcp_info), 6.18 */

/*
 * struct mptcp_subflow_info: __u32 id, then struct mptcp_subflow_addrs,
 * two unions each as large as __kernel_sockaddr_storage (128 bytes,
 * aligned to 8), so the addresses start at offset 8.
 */
#define SFINFO_ID_OFF		0
#define SFINFO_LOCAL_OFF	8
#define SFINFO_REMOTE_OFF	136
#define SFINFO_LEN		264

/* Offsets in struct tcp_info (include/uapi/linux/tcp.h, stable). */
#define TCPI_STATE_OFF		0	/* __u8 tcpi_state */
#define TCPI_RTT_OFF		68	/* __u32 tcpi_rtt, microseconds */
#define TCPI_BYTES_ACKED_OFF	120	/* __u64 tcpi_bytes_acked */
#define TCPI_BYTES_RECV_OFF	128	/* __u64 tcpi_bytes_received */

#endif
