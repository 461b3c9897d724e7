// SPDX-License-Identifier: MIT
/*
 * fwd - a minimal, fast userspace tap<->tap (or tun<->tun) forwarder: the "VPN" of
 * tunlat's benchmark lab (bench/fwdlab.sh).
 *
 *   fwd [--tun] [--ready-file PATH] [--drop-every N] DEV_A DEV_B
 *
 * Creates two non-persistent tap (default) or tun devices (IFF_NO_PI) in the current
 * network namespace and copies every packet read from one into the other, both ways,
 * as fast as it can: one thread per direction, blocking read() + write(), no batching,
 * no offloads (no IFF_VNET_HDR), like a plain unencrypted VPN. The devices may be moved
 * to other namespaces afterwards (`ip link set DEV netns NS`): the fds stay valid.
 *
 * --ready-file PATH: write our pid there once both devices exist.
 * --drop-every N: drop every Nth packet read from DEV_A (loss, for TCP to recover from).
 * SIGINT/SIGTERM: print per-direction counters to stderr and exit 0.
 * Only libc + pthreads are needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BUF_SIZE 65536

struct dir {
	const char *name; /* "A->B" */
	int in, out;
	_Atomic uint64_t packets, bytes, write_errors, short_writes, dropped;
	unsigned long drop_every; /* 0: none */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fwd [--tun] [--ready-file PATH] [--drop-every N] DEV_A DEV_B\n");
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
	ifr.ifr_flags = (tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI;
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
		ssize_t w = write(d->out, buf, (size_t)n);

		if (w < 0) {
			/* e.g. EIO while the other device is down: drop, like a VPN would. */
			atomic_fetch_add_explicit(&d->write_errors, 1, memory_order_relaxed);
			continue;
		}
		if (w != n)
			atomic_fetch_add_explicit(&d->short_writes, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&d->packets, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&d->bytes, (uint64_t)n, memory_order_relaxed);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tun", no_argument, NULL, 't' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "drop-every", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ready = NULL;
	int tun = 0, c;
	unsigned long drop_every = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tun = 1;
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
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int fa = open_dev(argv[optind], tun);
	int fb = fa < 0 ? -1 : open_dev(argv[optind + 1], tun);

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
	fprintf(stderr, "fwd: forwarding %s <-> %s (%s)\n", argv[optind], argv[optind + 1],
		tun ? "tun" : "tap");

	int sig = 0;
	sigwait(&set, &sig);
	for (int i = 0; i < 2; i++)
		fprintf(stderr, "fwd: %s packets %llu bytes %llu write_errors %llu short_writes %llu dropped %llu\n",
			dirs[i].name, (unsigned long long)dirs[i].packets,
			(unsigned long long)dirs[i].bytes, (unsigned long long)dirs[i].write_errors,
			(unsigned long long)dirs[i].short_writes, (unsigned long long)dirs[i].dropped);
	/* The pump threads are blocked in read(): leave without joining them. */
	_exit(0);
}
