// SPDX-License-Identifier: MIT
// The two libsystemd calls of libdbus-1.a, for TUNLAT_STATIC (Debian has no libsystemd.a).
// libdbus asks them whether systemd passed it listening sockets (socket activation of a bus
// daemon). tunlat is never socket-activated and never opens a bus (libpcap's dbus capture
// source is linked in, not used): "no sockets" is the true answer.
#include <errno.h>

int sd_listen_fds(int unset_environment);
int sd_is_socket(int fd, int family, int type, int listening);

int sd_listen_fds(int unset_environment) {
  (void)unset_environment;
  return 0;  // no file descriptors were passed
}

int sd_is_socket(int fd, int family, int type, int listening) {
  (void)fd, (void)family, (void)type, (void)listening;
  return -EBADF;  // unreachable: sd_listen_fds() passed no descriptor to ask about
}
