# Turns the web console (IN, server/console/index.html) into a C source (OUT)
# holding the page's bytes, so `qinglang serve` answers GET / with no data
# files at run time.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* Generated from server/console/index.html by scripts/embed-console.cmake. Do not edit. */
#include <stddef.h>

extern const unsigned char srv_console_html[];
extern const size_t srv_console_html_length;

const unsigned char srv_console_html[] = {${bytes}0x00};
const size_t srv_console_html_length = ${len};
")
