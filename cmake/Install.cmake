# SPDX-License-Identifier: MIT
# What `cmake --install` puts where (GNUInstallDirs), and the man page it installs, built
# from docs/man/tunlat.8.scd by scdoc. Included by the top-level CMakeLists.txt.
#
#   bin/tunlat                                   in bin, not sbin: `tunlat report` needs
#                                                no privilege (bpftrace does the same)
#   share/man/man8/tunlat.8                      section 8: tracing needs root
#   share/bash-completion/completions/tunlat     found by bash-completion on demand
#   share/doc/tunlat/{README.md,docs/,examples/,LICENSE,LICENSES/}
#   lib/systemd/system/tunlat-monitor.service    `tunlat monitor` as a service (not in the
#                                                static build, which has no monitor);
#                                                TUNLAT_SYSTEMD_UNIT_DIR moves it (Debian
#                                                12's packages put units in /lib)

install(TARGETS tunlat RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The man page: the source is kept in the repository, the page is generated at build time.
find_program(SCDOC scdoc)
set(TUNLAT_MAN_PAGE ${CMAKE_CURRENT_BINARY_DIR}/man/tunlat.8)
if(SCDOC)
  # The version in the page's footer comes from the configure step.
  configure_file(${PROJECT_SOURCE_DIR}/docs/man/tunlat.8.scd ${CMAKE_CURRENT_BINARY_DIR}/man/tunlat.8.scd @ONLY)
  add_custom_command(
    OUTPUT ${TUNLAT_MAN_PAGE}
    COMMAND sh -c "${SCDOC} < ${CMAKE_CURRENT_BINARY_DIR}/man/tunlat.8.scd > ${TUNLAT_MAN_PAGE}.tmp"
    COMMAND ${CMAKE_COMMAND} -E rename ${TUNLAT_MAN_PAGE}.tmp ${TUNLAT_MAN_PAGE}
    DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/man/tunlat.8.scd
    COMMENT "man: tunlat.8 from docs/man/tunlat.8.scd"
    VERBATIM)
  add_custom_target(tunlat_man ALL DEPENDS ${TUNLAT_MAN_PAGE})
  install(FILES ${TUNLAT_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
else()
  message(WARNING "scdoc not found: the man page is neither built nor installed "
                  "(tools/setup.sh installs scdoc)")
endif()

install(FILES ${PROJECT_SOURCE_DIR}/tools/completion/tunlat.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME tunlat)

# Documentation, laid out as in the repository so that README's links resolve (a Debian
# package gzips the larger files, as its policy asks).
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/LICENSES DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        PATTERN man EXCLUDE)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The monitor's systemd unit, its ExecStart naming the tunlat installed (written at install
# time: `cmake --install --prefix` may move it from the configured prefix).
if(NOT TUNLAT_STATIC)
  set(TUNLAT_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
      "where the systemd unit of tunlat monitor goes (relative: under the prefix)")
  set(TUNLAT_UNIT_OUT ${CMAKE_CURRENT_BINARY_DIR}/systemd/tunlat-monitor.service)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
    set(TUNLAT_UNIT_BIN "${CMAKE_INSTALL_BINDIR}")
  else()
    set(TUNLAT_UNIT_BIN "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
  endif()
  install(CODE "
    file(READ \"${PROJECT_SOURCE_DIR}/examples/monitor/tunlat-monitor.service\" unit)
    string(REPLACE \"ExecStart=/usr/bin/tunlat\" \"ExecStart=${TUNLAT_UNIT_BIN}/tunlat\" unit \"\${unit}\")
    file(WRITE \"${TUNLAT_UNIT_OUT}\" \"\${unit}\")")
  install(FILES ${TUNLAT_UNIT_OUT} DESTINATION ${TUNLAT_SYSTEMD_UNIT_DIR})
endif()
