/*
 * builtin.h — the built-in rule packs compiled into the library.
 *
 * The bytes come from the YAML files in rules/, turned into arrays at build time by
 * scripts/embed-rules.cmake; each array is NUL-terminated for convenience,
 * `size` excludes the terminator.
 */
#ifndef QL_BUILTIN_H
#define QL_BUILTIN_H

#include <stddef.h>

typedef struct ql__builtin_pack {
    const char          *name;  /* file name, e.g. "pii-cn.yaml" */
    const unsigned char *data;
    size_t               size;
} ql__builtin_pack;

extern const ql__builtin_pack ql__builtin_packs[];
extern const size_t           ql__builtin_pack_count;

/* The moderation lexicons, from the YAML files in rules/lexicons/ (lib/moderate.c). */
extern const ql__builtin_pack ql__lexicon_packs[];
extern const size_t           ql__lexicon_pack_count;

/* The LLM gateway's prompt-injection rules, from the YAML files in rules/gateway/. */
extern const ql__builtin_pack ql__gateway_packs[];
extern const size_t           ql__gateway_pack_count;

#endif
