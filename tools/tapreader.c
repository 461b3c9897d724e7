// SPDX-License-Identifier: MIT
/*
 * tapreader - a tiny tun/tap "VPN stand-in" for tunlat's tests and lab.
 *
 *   tapreader --dev NAME [--tun] [--sleep-us N] [--reply] [--count N]
 *   tapreader --macvtap PATH [...]
 *             [--ready-file PATH] [--comm NAME] [--hold-until-new-flow N [--hold-log PATH]]
 *
 * Creates a non-persistent tap (default) or tun device NAME (IFF_NO_PI) in the
 * current network namespace and reads packets from it. Sleeping --sleep-us
 * before each read() makes every packet sit in the tun ring for a known time,
 * which is exactly what tunlat measures. With --reply it answers IPv4 ICMP echo
 * requests so that `ping` through the device works against a fake peer.
 * --comm renames the process (prctl PR_SET_NAME, at most 15 bytes): tests give
 * it a name full of markup to check that reports print it as text.
 * --hold-until-new-flow N (a transfer stuck until a ping goes through; tapreader_hold.c): after
 * reading N packets of the first flow it reads, it stops reading the device and watches
 * it through a packet socket instead (which sees, as tcpdump does, each packet the host
 * sends into the device just before the driver takes it), until a packet of another flow
 * is sent; then it reads again, and does so as usual from then on. While it holds, the
 * device is not read at all: the packets wait in the tun ring. --hold-log PATH gets a line
 * "held T" when it stops and "released T K" when it reads again (T: CLOCK_MONOTONIC ns,
 * K: the packets it then found waiting in the ring, read without blocking).
 * --macvtap PATH reads a macvtap's queue instead, as a VM does: PATH is its character
 * device (/dev/tapIFINDEX), opened without the virtio-net header a VM's reads carry.
 * Only libc is needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "tapreader.h"

#define BUF_SIZE 65536

volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tapreader --dev NAME | --macvtap PATH [--tun] [--sleep-us N] [--poll-ms N] [--reply] "
		   "[--count N] [--ready-file PATH] [--comm NAME] [--hold-until-new-flow N "
		   "[--hold-log PATH]]\n");
}

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || *end) ? -1 : 0;
}

/* RFC 1071 internet checksum over a byte buffer. */
static uint16_t inet_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t;

	for (size_t i = 0; i < n; i++) {
		t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

/*
 * Turns an IPv4 ICMP echo request (in place) into an echo reply.
 * Returns the length to write back, or 0 if the packet is not one we answer.
 */
static size_t make_echo_reply(uint8_t *pkt, size_t len, int tap)
{
	uint8_t *ip = pkt;
	size_t iplen = len;

	if (tap) {
		if (len < ETH_HLEN_ || pkt[12] != 0x08 || pkt[13] != 0x00)
			return 0;
		ip = pkt + ETH_HLEN_;
		iplen = len - ETH_HLEN_;
	}
	if (iplen < 20 || (ip[0] >> 4) != 4)
		return 0;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	if (ihl < 20 || tot < ihl + 8 || tot > iplen)
		return 0;
	if (ip[9] != 1 /* ICMP */)
		return 0;
	/* Fragments (MF set or offset != 0) can't be answered packet by packet. */
	if ((ip[6] & 0x3f) || ip[7])
		return 0;
	uint8_t *icmp = ip + ihl;
	size_t icmplen = tot - ihl;
	if (icmp[0] != 8 /* echo request */ || icmp[1] != 0)
		return 0;

	if (tap)
		swap_bytes(pkt, pkt + 6, 6); /* Ethernet dst <-> src */
	swap_bytes(ip + 12, ip + 16, 4);     /* IP src <-> dst */
	ip[8] = 64;                           /* fresh TTL */
	ip[10] = ip[11] = 0;
	put_be16(ip + 10, inet_csum(ip, ihl));

	icmp[0] = 0; /* echo reply */
	icmp[2] = icmp[3] = 0;
	put_be16(icmp + 2, inet_csum(icmp, icmplen));

	/* Drop any Ethernet padding / trailing bytes beyond the IP datagram. */
	return (size_t)(ip - pkt) + tot;
}

/* Write our pid atomically (tmp + rename) so a poller never sees a partial file. */
static int write_ready_file(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Sleeps usec microseconds; returns early (with -1) only if asked to stop. */
static int sleep_us(unsigned long long usec)
{
	struct timespec ts = { .tv_sec = (time_t)(usec / 1000000ULL),
			       .tv_nsec = (long)(usec % 1000000ULL) * 1000L };

	while (nanosleep(&ts, &ts) != 0) {
		if (errno != EINTR || g_stop)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "tun", no_argument, NULL, 't' },
		{ "macvtap", required_argument, NULL, 'm' },
		{ "sleep-us", required_argument, NULL, 's' },
		{ "reply", no_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "ready-file", required_argument, NULL, 'f' },
		{ "comm", required_argument, NULL, 'n' },
		{ "poll-ms", required_argument, NULL, 'p' },
		{ "hold-until-new-flow", required_argument, NULL, 'H' },
		{ "hold-log", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dev = NULL, *macvtap = NULL, *ready_file = NULL, *comm = NULL, *hold_log_path = NULL;
	unsigned long long sleep_usec = 0, count = 0, seen = 0, poll_ms = 0;
	unsigned long long hold_after = 0, of_flow = 0; /* --hold-until-new-flow */
	struct flow_key first_flow = { 0 };
	int tun = 0, reply = 0, opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dev = optarg; break;
		case 't': tun = 1; break;
		case 'm': macvtap = optarg; break;
		case 'r': reply = 1; break;
		case 'f': ready_file = optarg; break;
		case 'n': comm = optarg; break;
		case 'L': hold_log_path = optarg; break;
		case 'H':
			if (parse_u64(optarg, &hold_after) || !hold_after) {
				fprintf(stderr, "tapreader: bad --hold-until-new-flow '%s'\n", optarg);
				return 1;
			}
			break;
		case 's':
			if (parse_u64(optarg, &sleep_usec)) {
				fprintf(stderr, "tapreader: bad --sleep-us '%s'\n", optarg);
				return 1;
			}
			break;
		case 'p':
			if (parse_u64(optarg, &poll_ms) || poll_ms > 60000) {
				fprintf(stderr, "tapreader: bad --poll-ms '%s'\n", optarg);
				return 1;
			}
			break;
		case 'c':
			if (parse_u64(optarg, &count)) {
				fprintf(stderr, "tapreader: bad --count '%s'\n", optarg);
				return 1;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (macvtap) { /* a macvtap is a tap */
		tun = 0;
		dev = dev ? dev : macvtap;
	}
	if (!dev || optind != argc) {
		usage(stderr);
		return 1;
	}
	if (!macvtap && strlen(dev) >= IFNAMSIZ) {
		fprintf(stderr, "tapreader: device name '%s' too long (max %d)\n", dev,
			IFNAMSIZ - 1);
		return 1;
	}

	/* Before the device exists: every read is done under the new name. */
	if (comm && prctl(PR_SET_NAME, comm, 0, 0, 0) < 0) {
		fprintf(stderr, "tapreader: PR_SET_NAME: %s\n", strerror(errno));
		return 1;
	}

	/* No SA_RESTART: poll()/read() must return EINTR so we notice the stop flag. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	const char *path = macvtap ? macvtap : "/dev/net/tun";
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tapreader: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)((tun && !macvtap ? IFF_TUN : IFF_TAP) | IFF_NO_PI);
	if (!macvtap) /* a macvtap's queue ignores the name: these flags drop its vnet header */
		memcpy(ifr.ifr_name, dev, strlen(dev));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tapreader: TUNSETIFF %s: %s\n", dev, strerror(errno));
		return 1;
	}
	if (ready_file && write_ready_file(ready_file) != 0) {
		fprintf(stderr, "tapreader: cannot write ready file %s: %s\n", ready_file,
			strerror(errno));
		return 1;
	}

	static uint8_t buf[BUF_SIZE];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	/* --poll-ms: a timer-paced reader, asleep in poll on no fd between reads of one
	 * packet, never woken by the packets (the device is read without blocking). */
	if (poll_ms)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (!g_stop) {
		int n;

		if (poll_ms) {
			poll(NULL, 0, (int)poll_ms);
			pfd.revents = POLLIN;
			n = 1;
		} else {
			n = poll(&pfd, 1, -1);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tapreader: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			fprintf(stderr, "tapreader: device %s went away\n", dev);
			return 1;
		}
		if (!(pfd.revents & POLLIN))
			continue;
		/* Sleep before the read: the packet waits in the tun ring meanwhile. */
		if (sleep_usec && sleep_us(sleep_usec) != 0)
			break;
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "tapreader: read %s: %s\n", dev, strerror(errno));
			return 1;
		}
		if (r == 0)
			continue;
		seen++;
		if (reply) {
			size_t out = make_echo_reply(buf, (size_t)r, !tun);
			/* A failed reply write is not fatal: the test just sees a lost ping. */
			if (out && write(fd, buf, out) < 0 && errno != EINTR)
				fprintf(stderr, "tapreader: write %s: %s\n", dev, strerror(errno));
		}
		if (count && seen >= count)
			break;
		if (hold_after) {
			struct flow_key k = flow_of(buf, (size_t)r, !tun);

			if (!of_flow)
				first_flow = k;
			if (same_flow(&k, &first_flow) && ++of_flow == hold_after) {
				char line[96];
				unsigned long long waiting = 0;
				int fl = fcntl(fd, F_GETFL);

				hold_after = 0; /* once */
				if (hold_until_new_flow(dev, !tun, &first_flow, buf, sizeof(buf), hold_log_path) != 0)
					break;
				snprintf(line, sizeof(line), "released %llu", mono_ns());
				/* What waited in the ring meanwhile, read now without blocking. */
				fcntl(fd, F_SETFL, fl | O_NONBLOCK);
				while (!g_stop) {
					ssize_t w = read(fd, buf, sizeof(buf));

					if (w < 0 && errno == EINTR)
						continue;
					if (w <= 0)
						break;
					waiting++;
					seen++;
					size_t out = reply ? make_echo_reply(buf, (size_t)w, !tun) : 0;
					if (out && write(fd, buf, out) < 0 && errno != EINTR)
						fprintf(stderr, "tapreader: write %s: %s\n", dev, strerror(errno));
				}
				fcntl(fd, F_SETFL, fl);
				snprintf(line + strlen(line), sizeof(line) - strlen(line), " %llu\n", waiting);
				hold_log(hold_log_path, line);
			}
		}
	}
	close(fd);
	return 0;
}
