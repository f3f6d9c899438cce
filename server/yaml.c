/*
 * yaml.c — the service's configuration as JSON values.
 *
 * The config file is YAML (like the rule and policy files), but the code
 * that reads it works on jansson values: one tree type for the config and
 * the requests, so both are validated the same way.  libyaml's document
 * API loads the file; this file turns its nodes into json_t.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "server.h"

int srv_read_file(const char *path, size_t max, uint8_t **data, size_t *length)
{
    int rc = -1;
    uint8_t *buf = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        goto out;
    /* One byte more than the cap tells "exactly max" from "too big". */
    buf = malloc(max + 1);
    if (!buf) {
        errno = ENOMEM;
        goto out;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        errno = EIO;
        goto out;
    }
    if (n > max) {
        errno = EFBIG;
        goto out;
    }
    *data = buf;
    *length = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

static json_t *scalar_value(const yaml_node_t *node)
{
    const char *s = (const char *)node->data.scalar.value;
    size_t n = node->data.scalar.length;
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, n);
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
        return json_false();
    if (n == 0 || strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
        return json_null();
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end && *end == '\0' && errno == 0)
        return json_integer(v);
    double d = strtod(s, &end);
    if (end && *end == '\0')
        return json_real(d);
    return json_stringn(s, n);
}

/* Depth is capped so that a hostile (or recursive, via aliases) document
 * cannot exhaust the stack. */
static json_t *node_value(yaml_document_t *doc, yaml_node_t *node, int depth)
{
    json_t *v = NULL;
    if (!node || depth > 32)
        return NULL;
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return scalar_value(node);
    case YAML_SEQUENCE_NODE:
        v = json_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             v && it < node->data.sequence.items.top; it++) {
            json_t *item = node_value(doc, yaml_document_get_node(doc, *it), depth + 1);
            if (!item || json_array_append_new(v, item) != 0) {
                json_decref(v);
                v = NULL;
            }
        }
        return v;
    case YAML_MAPPING_NODE:
        v = json_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             v && p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            json_t *item = NULL;
            if (k && k->type == YAML_SCALAR_NODE)
                item = node_value(doc, yaml_document_get_node(doc, p->value), depth + 1);
            if (!item || json_object_set_new(v, (const char *)k->data.scalar.value, item) != 0) {
                json_decref(v);
                v = NULL;
            }
        }
        return v;
    default:
        return NULL;
    }
}

json_t *srv_yaml_load(const char *path, char *error, size_t error_size)
{
    json_t *result = NULL;
    uint8_t *text = NULL;
    size_t length = 0;
    yaml_parser_t parser;
    yaml_document_t doc;
    int parser_ready = 0, doc_ready = 0;

    if (srv_read_file(path, SRV_CONFIG_MAX, &text, &length) != 0) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(error, error_size, "%s: out of memory", path);
        goto out;
    }
    parser_ready = 1;
    yaml_parser_set_input_string(&parser, text, length);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(error, error_size, "%s:%zu:%zu: %s", path,
                 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                 parser.problem ? parser.problem : "invalid YAML");
        goto out;
    }
    doc_ready = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        result = json_object();
        goto out;
    }
    result = node_value(&doc, root, 0);
    if (!result || !json_is_object(result)) {
        json_decref(result);
        result = NULL;
        snprintf(error, error_size, "%s: expected a mapping of settings", path);
    }
out:
    if (doc_ready)
        yaml_document_delete(&doc);
    if (parser_ready)
        yaml_parser_delete(&parser);
    free(text);
    return result;
}
