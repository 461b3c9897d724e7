// SPDX-License-Identifier: MIT
/*
 * nsowner - holds a tap created in another network namespace, as slirp4netns does, and
 * reads it from several threads: the owner tunlat must find wherever it lives.
 *
 *   nsowner --netns PATH --dev NAME [--threads N] [--hold-us N] [--ready-file PATH]
 *
 * The opening thread enters PATH (e.g. /run/netns/x) only to create the tap there and
 * returns to its own namespace: /proc/PID/ns/net is not the device's. Each of N reader
 * threads (default 1) reads one packet and then holds off --hold-us (default 0), so that
 * the packets of a steady flow spread over the threads. Only libc and pthreads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int g_fd = -1;
static long g_hold_us;

static void *reader(void *arg)
{
	char buf[65536];

	(void)arg;
	for (;;) {
		if (read(g_fd, buf, sizeof(buf)) < 0 && errno != EINTR)
			return NULL;
		if (g_hold_us) {
			struct timespec ts = { g_hold_us / 1000000, (g_hold_us % 1000000) * 1000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* Creates the tap inside the namespace at path, from this thread only, and comes back. */
static int open_tap_in(const char *path, const char *dev)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(path, O_RDONLY | O_CLOEXEC);
	struct ifreq ifr;
	int fd = -1;

	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) {
		perror("nsowner: entering the namespace");
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
		perror("nsowner: creating the tap");
		fd = -1;
	}
	if (setns(self, CLONE_NEWNET) != 0) {
		perror("nsowner: returning to the own namespace");
		fd = -1;
	}
	close(self);
	close(target);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "dev", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "hold-us", required_argument, NULL, 'h' },
		{ "ready-file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ns = NULL, *dev = NULL, *ready = NULL;
	int threads = 1, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': ns = optarg; break;
		case 'd': dev = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'h': g_hold_us = atol(optarg); break;
		case 'f': ready = optarg; break;
		default:
			fprintf(stderr, "usage: nsowner --netns PATH --dev NAME [--threads N] "
					"[--hold-us N] [--ready-file PATH]\n");
			return 2;
		}
	}
	if (!ns || !dev || threads < 1 || threads > 64) {
		fprintf(stderr, "nsowner: --netns and --dev are required, 1..64 threads\n");
		return 2;
	}
	g_fd = open_tap_in(ns, dev);
	if (g_fd < 0)
		return 1;
	for (int i = 0; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, reader, NULL) != 0) {
			fprintf(stderr, "nsowner: cannot start a reader thread\n");
			return 1;
		}
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0) {
			perror("nsowner: ready file");
			return 1;
		}
	}
	pause(); /* the readers run until a signal ends the process */
	return 0;
}
