// SPDX-License-Identifier: MIT
// floor: attaches bench/floor.bpf.c's do-nothing programs and waits for a signal.
//
//   floor [--sched]   (--sched: also on the scheduler's tracepoints, as tunlat --sched)
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "floor_bpf.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  bool sched = argc > 1 && strcmp(argv[1], "--sched") == 0;
  struct floor_bpf *skel = floor_bpf__open();
  if (skel && !sched) {
    bpf_program__set_autoload(skel->progs.on_sched_switch, false);
    bpf_program__set_autoload(skel->progs.on_sched_wakeup, false);
    bpf_program__set_autoload(skel->progs.on_sched_wakeup_new, false);
    bpf_program__set_autoload(skel->progs.on_sched_process_exit, false);
  }
  if (!skel || floor_bpf__load(skel) || floor_bpf__attach(skel)) {
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
