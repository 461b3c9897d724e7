// SPDX-License-Identifier: MIT
/*
 * tapreader's --hold-until-new-flow (a transfer stuck until a ping goes through): the
 * flow a packet belongs to, and the hold itself, watched through a packet socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tapreader.h"

struct flow_key flow_of(const uint8_t *pkt, size_t len, int tap)
{
	struct flow_key k;
	const uint8_t *ip = pkt;

	memset(&k, 0, sizeof(k));
	if (tap) {
		if (len < ETH_HLEN_)
			return k;
		k.ethertype = (uint16_t)(pkt[12] << 8 | pkt[13]);
		ip = pkt + ETH_HLEN_;
		len -= ETH_HLEN_;
	} else {
		k.ethertype = len && (pkt[0] >> 4) == 4 ? 0x0800 : 0;
	}
	if (k.ethertype != 0x0800 || len < 20 || (ip[0] >> 4) != 4)
		return k;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	k.proto = ip[9];
	memcpy(k.saddr, ip + 12, 4);
	memcpy(k.daddr, ip + 16, 4);
	if (ihl < 20 || len < ihl + 8 || (ip[6] & 0x1f) || ip[7])
		return k; /* no transport header here (a later fragment) */
	const uint8_t *l4 = ip + ihl;
	if (k.proto == 6 || k.proto == 17) {
		k.sport = (uint16_t)(l4[0] << 8 | l4[1]);
		k.dport = (uint16_t)(l4[2] << 8 | l4[3]);
	} else if (k.proto == 1 && (l4[0] == 8 || l4[0] == 0)) {
		k.dport = (uint16_t)(l4[4] << 8 | l4[5]); /* echo id */
	}
	return k;
}

int same_flow(const struct flow_key *a, const struct flow_key *b)
{
	return a->ethertype == b->ethertype && a->proto == b->proto && !memcmp(a->saddr, b->saddr, 4) &&
	       !memcmp(a->daddr, b->daddr, 4) && a->sport == b->sport && a->dport == b->dport;
}

unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

void hold_log(const char *path, const char *line)
{
	FILE *f;

	if (!path || !(f = fopen(path, "a")))
		return;
	fputs(line, f);
	fclose(f);
}

/*
 * --hold-until-new-flow: the device is not read until the host sends a packet of a flow
 * other than held. A packet socket on the device gets a copy of every packet the host
 * sends into it (PACKET_OUTGOING), at dev_queue_xmit_nit, just before the driver puts the
 * packet in the tun ring. Returns 0 when released, -1 if asked to stop or on error.
 */
int hold_until_new_flow(const char *dev, int tap, const struct flow_key *held, uint8_t *buf,
			size_t size, const char *log)
{
	char line[64];
	struct sockaddr_ll sll;
	struct ifreq ifr;
	int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	int rc = -1;

	if (ps < 0) {
		fprintf(stderr, "tapreader: packet socket: %s\n", strerror(errno));
		return -1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, dev, strlen(dev)); /* checked shorter than IFNAMSIZ */
	if (ioctl(ps, SIOCGIFINDEX, &ifr) == 0)
		sll.sll_ifindex = ifr.ifr_ifindex;
	if (!sll.sll_ifindex || bind(ps, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "tapreader: bind packet socket to %s: %s\n", dev, strerror(errno));
		close(ps);
		return -1;
	}
	snprintf(line, sizeof(line), "held %llu\n", mono_ns());
	hold_log(log, line);
	while (!g_stop) {
		struct pollfd pfd = { .fd = ps, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		ssize_t r = recvfrom(ps, buf, size, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "tapreader: packet socket: %s\n", strerror(errno));
			break;
		}
		if (from.sll_pkttype != PACKET_OUTGOING)
			continue; /* the device's own writes (our replies) come back as incoming */
		struct flow_key k = flow_of(buf, (size_t)r, tap);
		if (!same_flow(&k, held)) {
			rc = 0;
			break;
		}
	}
	close(ps);
	return rc;
}
