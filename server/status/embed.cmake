# Turns a file into a C source holding its bytes as a NUL-terminated array, so the binary
# serves the dashboard page without any file beside it. Run in script mode:
#   cmake -DIN=dashboard.html -DOUT=dashboard_html.c -DNAME=status_dashboard_html -P embed.cmake
# Defines `const char NAME[]` (the bytes plus a NUL) and `const size_t NAME_len`.
if(NOT IN OR NOT OUT OR NOT NAME)
  message(FATAL_ERROR "embed.cmake: IN, OUT and NAME are required")
endif()
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
# Two hex digits per byte -> "0xNN," and a line break every 16 bytes.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
       "\\1\n" bytes "${bytes}")
get_filename_component(src "${IN}" NAME)
file(WRITE "${OUT}.tmp"
     "/* Generated from ${src} by embed.cmake; do not edit. */\n"
     "#include <stddef.h>\n"
     "extern const char ${NAME}[];\n"
     "extern const size_t ${NAME}_len;\n"
     "const char ${NAME}[] = {\n${bytes}0x00};\n"
     "const size_t ${NAME}_len = ${len};\n")
# Replace only when changed, so an unchanged page does not recompile.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
