// SPDX-License-Identifier: MIT
// switcher: two processes pinned to one CPU hand a byte back and forth through pipes, as
// `perf bench sched pipe` does: each round trip is two context switches of tasks tunlat
// does not follow. bench/run.sh runs it beside the lab to price an unrelated switch.
//
//   switcher [CPU]    (default 0; runs until killed)
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static void on_term(int sig) {
  (void)sig;
  _exit(0);  // the child dies with us (PR_SET_PDEATHSIG)
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) perror("switcher: sched_setaffinity");
}

int main(int argc, char** argv) {
  int cpu = argc > 1 ? atoi(argv[1]) : 0, ping[2], pong[2];
  char b = 0;
  if (pipe(ping) || pipe(pong)) {
    perror("switcher: pipe");
    return 1;
  }
  pin(cpu);
  pid_t child = fork();
  if (child < 0) {
    perror("switcher: fork");
    return 1;
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the parent
    for (;;) {
      if (read(ping[0], &b, 1) != 1 || write(pong[1], &b, 1) != 1) return 0;
    }
  }
  signal(SIGTERM, on_term);
  printf("switcher: running on CPU %d\n", cpu);
  fflush(stdout);
  for (;;) {
    if (write(ping[1], &b, 1) != 1 || read(pong[0], &b, 1) != 1) break;
  }
  return 0;
}
