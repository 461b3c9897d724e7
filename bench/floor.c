// SPDX-License-Identifier: MIT
// floor: attaches bench/floor.bpf.c's do-nothing programs and waits for a signal.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "floor_bpf.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

int main(void) {
  struct floor_bpf *skel = floor_bpf__open_and_load();
  if (!skel || floor_bpf__attach(skel)) {
    fprintf(stderr, "floor: cannot load or attach the BPF programs\n");
    floor_bpf__destroy(skel);
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  printf("floor: tracing\n");
  fflush(stdout);
  while (!stop) pause();
  floor_bpf__destroy(skel);
  return 0;
}
