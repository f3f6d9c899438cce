/* model-none.c — no built-in model: linked into tools/model-gen, which
 * makes the real one (build/model_builtin.c) that the library carries. */
#include <stddef.h>

extern const unsigned char ql__model_builtin[];
extern const size_t        ql__model_builtin_len;

const unsigned char ql__model_builtin[1] = {0};
const size_t        ql__model_builtin_len = 0;
