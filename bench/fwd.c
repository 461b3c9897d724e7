// SPDX-License-Identifier: MIT
/*
 * fwd - a minimal, fast userspace tap<->tap (or tun<->tun) forwarder: the "VPN" of
 * tunlat's benchmark lab (bench/fwdlab.sh).
 *
 *   fwd [--tun] [--offload] [--ready-file PATH] [--drop-every N] DEV_A DEV_B
 *
 * Creates two non-persistent tap (default) or tun devices (IFF_NO_PI) in the current
 * network namespace and copies every packet read from one into the other, both ways,
 * as fast as it can: one thread per direction, blocking read() + write(), no batching,
 * like a plain unencrypted VPN. The devices may be moved to other namespaces afterwards
 * (`ip link set DEV netns NS`): the fds stay valid.
 *
 * Offloads are off by default (no IFF_VNET_HDR): the kernel cuts TCP's GSO skbs into
 * segments before they reach the tun ring, and each read returns one wire packet.
 * --offload opens both devices with IFF_VNET_HDR and turns on TUNSETOFFLOAD(TUN_F_CSUM |
 * TUN_F_TSO4 | TUN_F_TSO6), as seed 001's simpletun did: a read then returns a struct
 * virtio_net_hdr followed by a whole GSO super-packet (up to 64 KiB), written on with its
 * header so that the other device's stack takes it as one GSO skb. Every read's header is
 * checked, and the wire segments a super-packet stands for are counted from its own
 * headers (payload / gso_size, rounded up): the forwarder's own view of segmentation.
 *
 * --ready-file PATH: write our pid there once both devices exist.
 * --drop-every N: drop every Nth packet read from DEV_A (loss, for TCP to recover from).
 * SIGUSR1: print per-direction counters to stderr and go on.
 * SIGINT/SIGTERM: print them and exit 0.
 * Counters per direction: packets (reads), bytes (packet bytes, without the virtio
 * header), gso (reads holding a GSO super-packet), segments (wire packets the reads stand
 * for: a super-packet's segments, 1 for any other read), bad_vnet (headers refused).
 * Only libc + pthreads are needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A GSO super-packet is at most 64 KiB plus its link header; room for the virtio header. */
#define BUF_SIZE (1 << 17)
#define VNET_HLEN ((ssize_t)sizeof(struct virtio_net_hdr))

struct dir {
	const char *name; /* "A->B" */
	int in, out;
	_Atomic uint64_t packets, bytes, write_errors, short_writes;
	_Atomic uint64_t gso, segments, bad_vnet, dropped;
	unsigned long drop_every; /* 0: none */
};

static int g_tun, g_offload;

static void usage(FILE *f)
{
	fprintf(f, "usage: fwd [--tun] [--offload] [--ready-file PATH] [--drop-every N] DEV_A DEV_B\n");
}

/*
 * The TCP or UDP payload of a packet (Ethernet on a tap, raw IP on a tun), from its own
 * headers; -1 when they cannot be parsed. A super-packet's segments each carry gso_size
 * bytes of it (the last one the rest).
 */
static long l4_payload(const unsigned char *p, size_t len)
{
	size_t off = 0, l4;
	int proto;

	if (!g_tun) {
		if (len < 14)
			return -1;
		off = 14;
		if (p[12] == 0x81 && p[13] == 0x00) /* one VLAN tag */
			off += 4;
	}
	if (len < off + 20)
		return -1;
	if (p[off] >> 4 == 4) {
		size_t ihl = (size_t)(p[off] & 0x0f) * 4;

		proto = p[off + 9];
		l4 = off + ihl;
	} else if (p[off] >> 4 == 6 && len >= off + 40) {
		proto = p[off + 6]; /* extension headers are not followed: GSO TCP has none */
		l4 = off + 40;
	} else {
		return -1;
	}
	if (proto == 6 && len >= l4 + 20)
		l4 += (size_t)(p[l4 + 12] >> 4) * 4;
	else if (proto == 17)
		l4 += 8;
	else
		return -1;
	return l4 <= len ? (long)(len - l4) : -1;
}

/*
 * Checks a read's virtio_net_hdr and counts the wire segments it stands for. The header
 * is native-endian: tun's default without TUNSETVNETLE/BE on a little-endian host.
 */
static void count_vnet(struct dir *d, const unsigned char *buf, ssize_t n)
{
	struct virtio_net_hdr h;
	uint64_t segs = 1;

	memcpy(&h, buf, sizeof(h));
	if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
		long pay = l4_payload(buf + VNET_HLEN, (size_t)(n - VNET_HLEN));

		if (h.gso_size == 0 || pay <= 0) {
			atomic_fetch_add_explicit(&d->bad_vnet, 1, memory_order_relaxed);
		} else {
			segs = ((uint64_t)pay + h.gso_size - 1) / h.gso_size;
			atomic_fetch_add_explicit(&d->gso, 1, memory_order_relaxed);
		}
	}
	atomic_fetch_add_explicit(&d->segments, segs, memory_order_relaxed);
}

static int open_dev(const char *name, int tun)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "fwd: open /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI | (g_offload ? IFF_VNET_HDR : 0);
	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "fwd: device name too long: %s\n", name);
		close(fd);
		return -1;
	}
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "fwd: TUNSETIFF %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	/* The device's TSO/checksum features follow: the stack stops segmenting for it. */
	if (g_offload && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
		fprintf(stderr, "fwd: TUNSETOFFLOAD %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void *pump(void *arg)
{
	struct dir *d = arg;
	static __thread unsigned char buf[BUF_SIZE];
	unsigned long seen = 0;

	for (;;) {
		ssize_t n = read(d->in, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/* EBADFD/EIO: the device went away (namespace deleted). */
			fprintf(stderr, "fwd: %s read: %s\n", d->name, strerror(errno));
			return NULL;
		}
		if (n == 0)
			continue;
		if (d->drop_every && ++seen % d->drop_every == 0) {
			atomic_fetch_add_explicit(&d->dropped, 1, memory_order_relaxed);
			continue;
		}
		if (g_offload) {
			if (n < VNET_HLEN) {
				atomic_fetch_add_explicit(&d->bad_vnet, 1, memory_order_relaxed);
				continue;
			}
			count_vnet(d, buf, n);
		} else {
			atomic_fetch_add_explicit(&d->segments, 1, memory_order_relaxed);
		}
		/* With offloads the header goes on with the packet: the other fd takes it too. */
		ssize_t w = write(d->out, buf, (size_t)n);

		if (w < 0) {
			/* e.g. EIO while the other device is down: drop, like a VPN would. */
			atomic_fetch_add_explicit(&d->write_errors, 1, memory_order_relaxed);
			continue;
		}
		if (w != n)
			atomic_fetch_add_explicit(&d->short_writes, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&d->packets, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&d->bytes, (uint64_t)(n - (g_offload ? VNET_HLEN : 0)),
					  memory_order_relaxed);
	}
}

static void print_counters(const struct dir *dirs)
{
	for (int i = 0; i < 2; i++)
		fprintf(stderr,
			"fwd: %s packets %llu bytes %llu gso %llu segments %llu bad_vnet %llu "
			"write_errors %llu short_writes %llu dropped %llu\n",
			dirs[i].name, (unsigned long long)dirs[i].packets,
			(unsigned long long)dirs[i].bytes, (unsigned long long)dirs[i].gso,
			(unsigned long long)dirs[i].segments, (unsigned long long)dirs[i].bad_vnet,
			(unsigned long long)dirs[i].write_errors,
			(unsigned long long)dirs[i].short_writes, (unsigned long long)dirs[i].dropped);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tun", no_argument, NULL, 't' },
		{ "offload", no_argument, NULL, 'o' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "drop-every", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ready = NULL;
	unsigned long drop_every = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			g_tun = 1;
			break;
		case 'o':
			g_offload = 1;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'd':
			drop_every = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}

	/* Signals are taken synchronously by the main thread only. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int fa = open_dev(argv[optind], g_tun);
	int fb = fa < 0 ? -1 : open_dev(argv[optind + 1], g_tun);

	if (fa < 0 || fb < 0)
		return 1;

	static struct dir dirs[2];
	dirs[0].name = "A->B";
	dirs[0].in = fa;
	dirs[0].out = fb;
	dirs[0].drop_every = drop_every;
	dirs[1].name = "B->A";
	dirs[1].in = fb;
	dirs[1].out = fa;
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		int err = pthread_create(&th[i], NULL, pump, &dirs[i]);

		if (err) {
			fprintf(stderr, "fwd: pthread_create: %s\n", strerror(err));
			return 1;
		}
		pthread_detach(th[i]);
	}

	if (ready) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
		FILE *f = fopen(tmp, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 ||
		    rename(tmp, ready) != 0) {
			fprintf(stderr, "fwd: cannot write %s: %s\n", ready, strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "fwd: forwarding %s <-> %s (%s, offloads %s)\n", argv[optind],
		argv[optind + 1], g_tun ? "tun" : "tap", g_offload ? "on" : "off");

	int sig = 0;
	for (;;) {
		sigwait(&set, &sig);
		print_counters(dirs);
		if (sig != SIGUSR1)
			break;
	}
	/* The pump threads are blocked in read(): leave without joining them. */
	_exit(0);
}
