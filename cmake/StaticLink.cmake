# SPDX-License-Identifier: MIT
# TUNLAT_STATIC: points the library targets found by pkg-config and FindZLIB at their static
# archives (and at the archives their .pc files name as private dependencies), so that the
# tunlat binary needs only glibc's own libraries: a file to copy to a VPN gateway that has
# no libbpf, libpcap or fmt. glibc itself stays shared (static glibc breaks NSS and is not
# supported by Debian). fmt is taken header-only (Debian ships no libfmt.a), see the caller.
# Include after the pkg_check_modules() calls and find_package(ZLIB).

# libdbus-1.a, which libpcap.a needs for its dbus capture source, calls sd_listen_fds() and
# sd_is_socket() of libsystemd, which Debian ships only shared: cmake/static/systemd_stubs.c
# says "no socket activation", which is true of tunlat.
add_library(tunlat_systemd_stubs STATIC ${CMAKE_CURRENT_LIST_DIR}/static/systemd_stubs.c)

# _tunlat_static_archives(OUT PREFIX): the archives of PREFIX_STATIC_LIBRARIES, in order.
function(_tunlat_static_archives out prefix)
  set(libs)
  foreach(name IN LISTS ${prefix}_STATIC_LIBRARIES)
    if(name STREQUAL "systemd")
      list(APPEND libs tunlat_systemd_stubs)
    elseif(name MATCHES "^(c|m|dl|rt|pthread)$")
      list(APPEND libs ${name})  # glibc's: shared
    else()
      find_library(TUNLAT_STATIC_${name} NAMES lib${name}.a HINTS ${${prefix}_STATIC_LIBRARY_DIRS})
      if(NOT TUNLAT_STATIC_${name})
        message(FATAL_ERROR "TUNLAT_STATIC: no lib${name}.a (needed by ${prefix}); install its -dev package")
      endif()
      list(APPEND libs ${TUNLAT_STATIC_${name}})
    endif()
  endforeach()
  set(${out} ${libs} PARENT_SCOPE)
endfunction()

foreach(prefix LIBBPF ZSTD PCAP)
  _tunlat_static_archives(archives ${prefix})
  set_target_properties(PkgConfig::${prefix} PROPERTIES INTERFACE_LINK_LIBRARIES "${archives}")
  message(STATUS "TUNLAT_STATIC: ${prefix} -> ${archives}")
endforeach()

find_library(TUNLAT_STATIC_z NAMES libz.a)
if(NOT TUNLAT_STATIC_z)
  message(FATAL_ERROR "TUNLAT_STATIC: no libz.a; install zlib1g-dev")
endif()
foreach(config "" _RELEASE _DEBUG _RELWITHDEBINFO _MINSIZEREL)
  set_target_properties(ZLIB::ZLIB PROPERTIES IMPORTED_LOCATION${config} ${TUNLAT_STATIC_z})
endforeach()

# tunlat_static_executable(TARGET): the C++ runtime and libgcc linked in as well.
function(tunlat_static_executable target)
  target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
endfunction()
