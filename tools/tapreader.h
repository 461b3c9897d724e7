// SPDX-License-Identifier: MIT
/* What tapreader.c and tapreader_hold.c share. */
#pragma once

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_HLEN_ 14

/* Set by SIGTERM/SIGINT: every loop ends when it sees it. */
extern volatile sig_atomic_t g_stop;

/*
 * A packet's flow, for --hold-until-new-flow: its ethertype, and for IPv4 the protocol,
 * the addresses and the TCP/UDP ports (ICMP echo: the id). Another protocol than IPv4 is
 * its ethertype alone. tap: pkt starts with the Ethernet header; tun: with the IP header.
 */
struct flow_key {
	uint16_t ethertype;
	uint8_t proto;
	uint8_t saddr[4], daddr[4];
	uint16_t sport, dport;
};

struct flow_key flow_of(const uint8_t *pkt, size_t len, int tap);
int same_flow(const struct flow_key *a, const struct flow_key *b);
unsigned long long mono_ns(void);
/* Appends line to the file at path (nothing if path is NULL or cannot be opened). */
void hold_log(const char *path, const char *line);
/*
 * --hold-until-new-flow: the device is not read until the host sends a packet of a flow
 * other than held (buf, size bytes: scratch). Returns 0 when released, -1 if asked to
 * stop or on error.
 */
int hold_until_new_flow(const char *dev, int tap, const struct flow_key *held, uint8_t *buf,
			size_t size, const char *log);
