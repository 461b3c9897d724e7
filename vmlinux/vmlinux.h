/* Dispatches to the vmlinux.h of the target architecture (see README.md). */
#if defined(__TARGET_ARCH_x86)
#include "x86/vmlinux.h"
#else
#error "tunlat: no vmlinux.h for this architecture; see vmlinux/README.md"
#endif
