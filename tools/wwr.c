// SPDX-License-Identifier: MIT
/*
 * wwr - a write-write-read client and its server: the application pattern that meets
 * Nagle's algorithm and delayed ACKs (seed 003), for tunlat's tests and lab.
 *
 *   wwr server [--port N] [--request BYTES] [--reply BYTES]
 *   wwr client --host ADDR [--port N] [--writes 100,100] [--reply BYTES]
 *              [--seconds S] [--nodelay] [--each]
 *
 * The client sends each request as several small write()s (--writes, default two of
 * 100 bytes) and then blocks in read() for the whole reply; the server reads the whole
 * request (the sum of the writes: --request, default 200) before it answers --reply
 * bytes (default 100). With Nagle on (the default) the client's second write waits in
 * its socket until the server ACKs the first segment, and the server, with nothing to
 * send before the request is whole, delays that ACK (Linux: 40 ms at least). With
 * --nodelay (TCP_NODELAY) every write leaves at once.
 *
 * The client measures each exchange itself, from its first write to the end of the
 * reply, and prints one JSON line when --seconds have passed:
 *   {"exchanges": N, "p50_us": ..., "p90_us": ..., "mean_us": ..., "nodelay": false}
 * --each also prints every exchange's latency in microseconds, one per line, before it.
 * The server serves one connection after another until killed. Only libc is needed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITES 16
#define MAX_EXCHANGES 1000000
#define BUF_SIZE 65536

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "wwr: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: wwr server [--port N] [--request BYTES] [--reply BYTES]\n"
		   "       wwr client --host ADDR [--port N] [--writes 100,100] [--reply BYTES]\n"
		   "                  [--seconds S] [--nodelay] [--each]\n");
}

/* Reads exactly n bytes; 0 on success, -1 on EOF or error. */
static int read_full(int fd, char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, buf, n < BUF_SIZE ? n : BUF_SIZE);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int serve(int port, size_t request, size_t reply)
{
	static char buf[BUF_SIZE];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(ls, 4) < 0)
		die("listen");
	if (request > BUF_SIZE || reply > BUF_SIZE) {
		fprintf(stderr, "wwr: request and reply must be at most %d bytes\n", BUF_SIZE);
		return 2;
	}
	memset(buf, 'r', sizeof(buf));
	for (;;) {
		int c = accept(ls, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		/* The server's socket keeps Linux's defaults: delayed ACKs, no TCP_QUICKACK. */
		while (read_full(c, buf, request) == 0 && write_full(c, buf, reply) == 0)
			;
		close(c);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int client(const char *host, int port, const size_t *writes, int nwrites, size_t reply,
		  double seconds, int nodelay, int each)
{
	static char buf[BUF_SIZE];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	uint64_t *lat, end, sum = 0;
	size_t n = 0;
	int s;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "wwr: not an IPv4 address: %s\n", host);
		return 2;
	}
	lat = calloc(MAX_EXCHANGES, sizeof(*lat));
	if (!lat)
		die("calloc");
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (nodelay && setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay)) < 0)
		die("TCP_NODELAY");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	memset(buf, 'q', sizeof(buf));
	end = now_ns() + (uint64_t)(seconds * 1e9);
	while (n < MAX_EXCHANGES && now_ns() < end) {
		uint64_t t0 = now_ns();

		for (int i = 0; i < nwrites; i++)
			if (write_full(s, buf, writes[i]) < 0)
				die("write");
		if (read_full(s, buf, reply) < 0)
			die("read (the server closed?)");
		lat[n] = now_ns() - t0;
		sum += lat[n];
		if (each)
			printf("%.1f\n", lat[n] / 1e3);
		n++;
	}
	close(s);
	if (!n) {
		fprintf(stderr, "wwr: no exchange in %.1f s\n", seconds);
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("{\"exchanges\": %zu, \"p50_us\": %.1f, \"p90_us\": %.1f, \"mean_us\": %.1f, "
	       "\"nodelay\": %s}\n",
	       n, lat[n / 2] / 1e3, lat[n * 9 / 10] / 1e3, (double)sum / (double)n / 1e3,
	       nodelay ? "true" : "false");
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},	  {"request", required_argument, NULL, 'q'},
		{"reply", required_argument, NULL, 'r'},  {"host", required_argument, NULL, 'H'},
		{"writes", required_argument, NULL, 'w'}, {"seconds", required_argument, NULL, 'd'},
		{"nodelay", no_argument, NULL, 'n'},	  {"each", no_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},	  {0},
	};
	size_t writes[MAX_WRITES] = {100, 100}, request = 0, reply = 100;
	int nwrites = 2, port = 7000, nodelay = 0, each = 0, c;
	const char *host = NULL, *mode;
	double seconds = 3;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "p:q:r:H:w:d:neh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'q':
			request = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			reply = strtoul(optarg, NULL, 10);
			break;
		case 'H':
			host = optarg;
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'n':
			nodelay = 1;
			break;
		case 'e':
			each = 1;
			break;
		case 'w': {
			char *p = optarg;

			for (nwrites = 0; *p && nwrites < MAX_WRITES; nwrites++) {
				writes[nwrites] = strtoul(p, &p, 10);
				if (*p == ',')
					p++;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (!reply || reply > BUF_SIZE || port <= 0 || port > 65535) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(mode, "server"))
		return serve(port, request ? request : 200, reply);
	if (strcmp(mode, "client") || !host || nwrites < 1) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < nwrites; i++)
		if (!writes[i] || writes[i] > BUF_SIZE) {
			fprintf(stderr, "wwr: each write must be 1..%d bytes\n", BUF_SIZE);
			return 2;
		}
	return client(host, port, writes, nwrites, reply, seconds, nodelay, each);
}
