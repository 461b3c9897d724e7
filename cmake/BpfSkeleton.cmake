# SPDX-License-Identifier: MIT
# bpf_skeleton(NAME SOURCE file.bpf.c [DEFINES D...] [DEPENDS f...]): compiles a CO-RE BPF
# program (with -DD for each of DEFINES: one source can give several variants), strips it
# with `bpftool gen object` (an unstripped skeleton embeds ~600 KB of DWARF) and generates
# NAME.skel.h. Links an INTERFACE target NAME_skel that carries the include path and libbpf.
# bpf_check_sources(NAME FILES f... VARIANTS v...): a target of the default build that
# compiles each file alone, with the skeleton's flags, once per variant (a define, or "-"
# for none): a header that does not include what it uses fails the build.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "tunlat: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

# The flags of every BPF compile: the skeletons' and the checks'.
set(BPF_CFLAGS -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
    -I${PROJECT_SOURCE_DIR}/vmlinux -I${PROJECT_SOURCE_DIR}/bpf ${LIBBPF_CFLAGS} -Wall -Werror)

function(bpf_skeleton NAME)
  cmake_parse_arguments(ARG "" "SOURCE" "DEPENDS;DEFINES" ${ARGN})
  list(TRANSFORM ARG_DEFINES PREPEND -D)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_SOURCE})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  set(obj ${out}/${NAME}.bpf.o)
  set(stripped ${out}/${NAME}.stripped.bpf.o)
  set(skel ${out}/${NAME}.skel.h)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${BPF_CLANG} ${BPF_CFLAGS} ${ARG_DEFINES} -c ${src} -o ${obj}
    COMMAND ${BPFTOOL} gen object ${stripped} ${obj}
    COMMAND sh -c "${BPFTOOL} gen skeleton ${stripped} name ${NAME} > ${skel}"
    DEPENDS ${src} ${ARG_DEPENDS}
    COMMENT "BPF ${NAME}: compile, strip, skeleton"
    VERBATIM)
  add_custom_target(${NAME}_skel_gen DEPENDS ${skel})
  add_library(${NAME}_skel INTERFACE)
  add_dependencies(${NAME}_skel ${NAME}_skel_gen)
  target_include_directories(${NAME}_skel INTERFACE ${out})
  target_link_libraries(${NAME}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()

function(bpf_check_sources NAME)
  cmake_parse_arguments(ARG "" "" "FILES;VARIANTS;DEPENDS" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/bpf/check)
  set(objs)
  foreach(file ${ARG_FILES})
    get_filename_component(base ${file} NAME)
    foreach(variant ${ARG_VARIANTS})
      if(variant STREQUAL "-")
        set(define)
        set(obj ${out}/${base}.o)
      else()
        set(define -D${variant})
        set(obj ${out}/${base}.${variant}.o)
      endif()
      # Included into an empty unit, as a .bpf.c includes it: what it uses must come
      # from its own includes.
      add_custom_command(
        OUTPUT ${obj}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
        COMMAND ${BPF_CLANG} ${BPF_CFLAGS} ${define} -include ${file} -x c -c /dev/null -o ${obj}
        DEPENDS ${file} ${ARG_DEPENDS}
        COMMENT "BPF check: ${base} ${variant} compiles alone"
        VERBATIM)
      list(APPEND objs ${obj})
    endforeach()
  endforeach()
  add_custom_target(${NAME} ALL DEPENDS ${objs})
endfunction()
