/*
 * state.c — building a generation from the config file, and sharing it.
 *
 * Everything a reload may change is built into a new generation first and
 * checked (rule files compiled, policies parsed, key files read); only a
 * complete generation is swapped in, so a broken file leaves the service
 * on the old one.  A generation is reference-counted: the server holds one
 * reference, each request in flight and each thread's scanner cache hold
 * one, and the last release frees it (scanners before their rules).
 *
 * Tenants with their own rule files get their own compiled rule set, so
 * one tenant's custom rules (which may name its customers or projects)
 * never match, or show up in GET /v1/rules, for another.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "gateway.h"
#include "server.h"

/* Resolves `path` against the config file's directory. */
static int resolve(const char *config_path, const char *path, char *out, size_t size)
{
    char dir[PATH_MAX];
    if (path[0] == '/')
        return snprintf(out, size, "%s", path) < (int)size ? 0 : -1;
    if (snprintf(dir, sizeof dir, "%s", config_path) >= (int)sizeof dir)
        return -1;
    return snprintf(out, size, "%s/%s", dirname(dir), path) < (int)size ? 0 : -1;
}

/* One diagnostic (rule or lexicon file) into a failed build's list, up to
 * SRV_DIAG_MAX of them. */
static void add_diagnostic(srv_build_error *err, const ql_diagnostic *d)
{
    if (!err->diagnostics)
        err->diagnostics = json_array();
    if (!err->diagnostics || json_array_size(err->diagnostics) >= SRV_DIAG_MAX)
        return;
    json_array_append_new(err->diagnostics,
                          json_pack("{s:s,s:i,s:i,s:s}", "file", d->file ? d->file : "",
                                    "line", (json_int_t)d->line, "column", (json_int_t)d->column,
                                    "message", d->message ? d->message : ""));
}

static void add_diagnostics(ql_compiler *c, srv_build_error *err)
{
    for (size_t i = 0; i < ql_compiler_diagnostic_count(c); i++)
        add_diagnostic(err, ql_compiler_diagnostic(c, i));
}

/* The moderation model (docs/moderate.md "Model"): the built-in one,
 * `model: false` none, `model: FILE` a file of `qinglang model train`.
 * 0 done (*out NULL when none), -1 with err's message. */
static int build_model(const char *config_path, json_t *section, ql_model **out,
                       srv_build_error *err)
{
    json_t *v = section && json_is_object(section) ? json_object_get(section, "model") : NULL;
    *out = NULL;
    ql_status st;
    if (json_is_false(v))
        return 0;
    if (!v || json_is_true(v)) {
        st = ql_model_load_builtin(NULL, out);
        if (st != QL_OK)
            snprintf(err->message, sizeof err->message, "built-in model: %s", ql_status_message(st));
        return st == QL_OK ? 0 : -1;
    }
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t length = 0;
    if (!json_is_string(v) || resolve(config_path, json_string_value(v), path, sizeof path) != 0) {
        snprintf(err->message, sizeof err->message, "moderation.model: expected true, false or a file name");
        return -1;
    }
    if (srv_read_file(path, 64u << 20, &data, &length) != 0) {
        snprintf(err->message, sizeof err->message, "%.300s: %.100s", path, strerror(errno));
        return -1;
    }
    st = ql_model_load(data, length, NULL, out);
    free(data);
    if (st != QL_OK) {
        snprintf(err->message, sizeof err->message, "%.300s: %.100s", path,
                 st == QL_ERULE ? "not a qinglang model file (or a damaged one)" : ql_status_message(st));
        return -1;
    }
    return 0;
}

/* The moderation lexicon: the built-in lexicons unless `builtin: false`,
 * then the files of `lexicons:` (YAML or word lists, docs/moderate.md).
 * A broken file fails the build (and so a reload) with its diagnostics. */
static ql_lexicon *build_lexicon(const char *config_path, json_t *section, srv_build_error *err)
{
    ql_lexicon_compiler *c = NULL;
    ql_lexicon *lx = NULL;
    ql_status st;
    json_t *files = section ? json_object_get(section, "lexicons") : NULL;
    json_t *builtin = section ? json_object_get(section, "builtin") : NULL;
    if (section && !json_is_object(section)) {
        snprintf(err->message, sizeof err->message,
                 "moderation: expected a mapping (builtin, lexicons, list_category, model)");
        return NULL;
    }
    if (files && !json_is_array(files)) {
        snprintf(err->message, sizeof err->message, "moderation.lexicons: expected a list of files");
        return NULL;
    }
    if (ql_lexicon_compiler_create(NULL, &c) != QL_OK) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    json_t *cat = section ? json_object_get(section, "list_category") : NULL;
    if (cat && (!json_is_string(cat) ||
                ql_lexicon_compiler_list_defaults(c, json_string_value(cat), QL_SEVERITY_MEDIUM) != QL_OK)) {
        snprintf(err->message, sizeof err->message, "moderation.list_category: expected a category name");
        goto out;
    }
    if (!json_is_false(builtin) && (st = ql_lexicon_compiler_add_builtin(c)) != QL_OK) {
        snprintf(err->message, sizeof err->message, "built-in lexicons: %s", ql_status_message(st));
        goto diag;
    }
    size_t i;
    json_t *item;
    json_array_foreach(files, i, item) {
        char path[PATH_MAX];
        uint8_t *text = NULL;
        size_t length = 0;
        if (!json_is_string(item) ||
            resolve(config_path, json_string_value(item), path, sizeof path) != 0) {
            snprintf(err->message, sizeof err->message, "moderation.lexicons: expected a list of file names");
            goto out;
        }
        if (srv_read_file(path, 256u << 20, &text, &length) != 0) {
            snprintf(err->message, sizeof err->message, "%.300s: %.100s", path, strerror(errno));
            goto out;
        }
        st = ql_lexicon_compiler_add(c, path, text, length);
        free(text);
        if (st != QL_OK) {
            snprintf(err->message, sizeof err->message, "%.300s: %.100s", path, ql_status_message(st));
            goto diag;
        }
    }
    if ((st = ql_lexicon_compile(c, &lx)) != QL_OK) {
        snprintf(err->message, sizeof err->message, "moderation: %s", ql_status_message(st));
        lx = NULL;
    }
    goto out;
diag:
    for (size_t d = 0; d < ql_lexicon_compiler_diagnostic_count(c); d++)
        add_diagnostic(err, ql_lexicon_compiler_diagnostic(c, d));
out:
    ql_lexicon_compiler_destroy(c);
    return lx;
}

/* Compiles the built-ins (unless `builtin` is false) and the rule files
 * listed in `global` and `own` (arrays of paths; either may be NULL). */
static ql_rules *compile_rules(const char *config_path, int builtin, json_t *global,
                               json_t *own, srv_build_error *err)
{
    ql_compiler *c = NULL;
    ql_rules *rules = NULL;
    ql_status st;
    json_t *lists[2] = {global, own};

    if (ql_compiler_create(NULL, &c) != QL_OK) {
        snprintf(err->message, sizeof err->message, "out of memory");
        goto out;
    }
    if (builtin && (st = ql_compiler_add_builtin(c)) != QL_OK) {
        add_diagnostics(c, err);
        snprintf(err->message, sizeof err->message, "built-in rules: %s", ql_status_message(st));
        goto out;
    }
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *item;
        if (!lists[l])
            continue;
        json_array_foreach(lists[l], i, item) {
            char path[PATH_MAX];
            uint8_t *text = NULL;
            size_t length = 0;
            if (!json_is_string(item) ||
                resolve(config_path, json_string_value(item), path, sizeof path) != 0) {
                snprintf(err->message, sizeof err->message, "rules: expected a list of file names");
                goto out;
            }
            if (srv_read_file(path, 64u << 20, &text, &length) != 0) {
                snprintf(err->message, sizeof err->message, "%.300s: %.100s", path, strerror(errno));
                goto out;
            }
            st = ql_compiler_add_rules(c, path, text, length);
            free(text);
            if (st != QL_OK) {
                add_diagnostics(c, err);
                snprintf(err->message, sizeof err->message, "%.300s: %.100s", path, ql_status_message(st));
                goto out;
            }
        }
    }
    st = ql_compiler_compile(c, &rules);
    if (st != QL_OK) {
        add_diagnostics(c, err);
        snprintf(err->message, sizeof err->message, "compiling rules: %s", ql_status_message(st));
        rules = NULL;
        goto out;
    }
    if (ql_rules_count(rules) == 0) {
        snprintf(err->message, sizeof err->message, "no rules to scan with");
        ql_rules_destroy(rules);
        rules = NULL;
    }
out:
    ql_compiler_destroy(c);
    return rules;
}

static void tenant_free(srv_tenant *t)
{
    free(t->policy_name);
    free(t->policy_text);
    json_decref(t->types);
    for (size_t i = 0; i < t->enabled_count; i++)
        free(t->enabled[i]);
    free(t->enabled);
    if (t->key)
        OPENSSL_cleanse(t->key, t->key_length);
    free(t->key);
    memset(t, 0, sizeof *t);
}

void srv_generation_ref(srv_generation *gen)
{
    atomic_fetch_add(&gen->refs, 1);
}

void srv_generation_release(srv_generation *gen)
{
    if (!gen || atomic_fetch_sub(&gen->refs, 1) != 1)
        return;
    for (size_t i = 0; i < gen->tenant_count; i++)
        tenant_free(&gen->tenants[i]);
    free(gen->tenants);
    tenant_free(&gen->fallback);
    for (size_t i = 0; i < gen->ruleset_count; i++)
        ql_rules_destroy(gen->rulesets[i]);
    free(gen->rulesets);
    free(gen->keys);
    for (size_t i = 0; i < gen->admin_count; i++)
        free(gen->admins[i]);
    free(gen->admins);
    srv_evidence_close(gen->evidence);
    srv_gateway_free(gen->gateway);
    ql_lexicon_destroy(gen->lexicon);
    ql_model_destroy(gen->model);
    free(gen);
}

/* Reads a redaction key file: hex text is decoded, anything else used as
 * it is (as `qinglang redact --key-file` does).  A file others may read is
 * refused: the key decrypts every FPE value. */
static int load_key(const char *path, uint8_t **key, size_t *length, char *error, size_t size)
{
    struct stat st;
    uint8_t *data = NULL;
    size_t n = 0;
    if (stat(path, &st) != 0 || srv_read_file(path, 4096, &data, &n) != 0) {
        snprintf(error, size, "%.300s: %.100s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(error, size, "%.300s: others may read or write it (chmod 600)", path);
        OPENSSL_cleanse(data, n);
        free(data);
        return -1;
    }
    while (n && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' '))
        n--;
    int is_hex = n >= 2 && n % 2 == 0;
    for (size_t i = 0; is_hex && i < n; i++)
        is_hex = (data[i] >= '0' && data[i] <= '9') || ((data[i] | 0x20) >= 'a' && (data[i] | 0x20) <= 'f');
    if (is_hex) {
        for (size_t i = 0; i < n / 2; i++) {
            uint8_t hi = data[2 * i], lo = data[2 * i + 1];
            hi = hi <= '9' ? hi - '0' : (uint8_t)((hi | 0x20) - 'a' + 10);
            lo = lo <= '9' ? lo - '0' : (uint8_t)((lo | 0x20) - 'a' + 10);
            data[i] = (uint8_t)(hi << 4 | lo);
        }
        n /= 2;
    }
    if (n < 16) {
        snprintf(error, size, "%.300s: a key needs at least 16 bytes", path);
        OPENSSL_cleanse(data, n);
        free(data);
        return -1;
    }
    *key = data;
    *length = n;
    return 0;
}

static int number(json_t *obj, const char *name, double dflt, double min, double max,
                  double *out, char *error, size_t size)
{
    json_t *v = json_object_get(obj, name);
    *out = dflt;
    if (!v)
        return 0;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
        snprintf(error, size, "%s: expected a number from %g to %g", name, min, max);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* Fills a tenant from its section (NULL: the fallback's defaults). */
static int tenant_build(const char *config_path, srv_generation *gen, const char *name,
                        json_t *section, json_t *root, srv_tenant *t, srv_build_error *err)
{
    char *msg = err->message;
    size_t msize = sizeof err->message;
    char prefix[SRV_NAME_MAX + 16];
    json_t *v;
    snprintf(prefix, sizeof prefix, "tenants.%s", name);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->default_op = -1;
    if (number(root, "rate", 0, 0, 1e9, &t->rate, msg, msize) != 0 ||
        number(root, "burst", 0, 0, 1e9, &t->burst, msg, msize) != 0)
        return -1;
    if (!section)
        return 0;
    if (!json_is_object(section)) {
        snprintf(msg, msize, "%s: expected a mapping", prefix);
        return -1;
    }
    if (number(section, "rate", t->rate, 0, 1e9, &t->rate, msg, msize) != 0 ||
        number(section, "burst", t->burst, 0, 1e9, &t->burst, msg, msize) != 0)
        return -1;
    if ((v = json_object_get(section, "operator"))) {
        if (!json_is_string(v) || (t->default_op = ql_operator_from_name(json_string_value(v))) < 0) {
            snprintf(msg, msize, "%s.operator: mask, tag, hash, fpe, drop or keep", prefix);
            return -1;
        }
    }
    if ((v = json_object_get(section, "types"))) {
        const char *key;
        json_t *op;
        if (!json_is_object(v)) {
            snprintf(msg, msize, "%s.types: expected {type: operator}", prefix);
            return -1;
        }
        json_object_foreach(v, key, op) {
            if (!json_is_string(op) || ql_operator_from_name(json_string_value(op)) < 0) {
                snprintf(msg, msize, "%s.types.%s: mask, tag, hash, fpe, drop or keep", prefix, key);
                return -1;
            }
        }
        t->types = json_incref(v);
    }
    if ((v = json_object_get(section, "enabled"))) {
        size_t i;
        json_t *item;
        if (!json_is_array(v) || !(t->enabled = calloc(json_array_size(v) + 1, sizeof *t->enabled))) {
            snprintf(msg, msize, "%s.enabled: expected a list of types", prefix);
            return -1;
        }
        json_array_foreach(v, i, item) {
            if (!json_is_string(item) || !(t->enabled[i] = strdup(json_string_value(item)))) {
                snprintf(msg, msize, "%s.enabled: expected a list of types", prefix);
                return -1;
            }
            t->enabled_count++;
        }
    }
    if ((v = json_object_get(section, "policy"))) {
        char path[PATH_MAX];
        if (!json_is_string(v) || resolve(config_path, json_string_value(v), path, sizeof path) != 0 ||
            srv_read_file(path, SRV_CONFIG_MAX, &t->policy_text, &t->policy_length) != 0 ||
            !(t->policy_name = strdup(path))) {
            snprintf(msg, msize, "%s.policy: %s", prefix, json_is_string(v) ? strerror(errno) : "a file name");
            return -1;
        }
    }
    if ((v = json_object_get(section, "key_file"))) {
        char path[PATH_MAX];
        if (!json_is_string(v) || resolve(config_path, json_string_value(v), path, sizeof path) != 0) {
            snprintf(msg, msize, "%s.key_file: expected a file name", prefix);
            return -1;
        }
        if (load_key(path, &t->key, &t->key_length, msg, msize) != 0)
            return -1;
    }
    if ((v = json_object_get(section, "rules"))) {
        if (!json_is_array(v)) {
            snprintf(msg, msize, "%s.rules: expected a list of files", prefix);
            return -1;
        }
        json_t *builtin = json_object_get(root, "builtin");
        ql_rules *own = compile_rules(config_path, !json_is_false(builtin),
                                      json_object_get(root, "rules"), v, err);
        if (!own)
            return -1;
        gen->rulesets[gen->ruleset_count] = own;
        t->ruleset = gen->ruleset_count++;
    }
    /* Build the policy once now so that a broken policy fails the reload,
     * not each request. */
    ql_policy *check = NULL;
    char perr[SRV_ERROR_SIZE];
    if (srv_tenant_policy(gen, t, -1, NULL, &check, perr, sizeof perr) != 0) {
        snprintf(msg, msize, "%.80s: %.400s", prefix, perr);
        return -1;
    }
    int needs_key = ql_policy_needs_key(check);
    ql_policy_destroy(check);
    if (needs_key && !t->key) {
        snprintf(msg, msize, "%s: its policy hashes or encrypts, so it needs key_file", prefix);
        return -1;
    }
    return 0;
}

srv_generation *srv_generation_build(const char *config_path, uint64_t id,
                                     srv_startup *startup, srv_build_error *err)
{
    srv_generation *gen = NULL, *result = NULL;
    json_t *root = NULL, *v;
    char *msg = err->message;
    size_t msize = sizeof err->message;
    double d;

    msg[0] = '\0';
    err->diagnostics = NULL;
    if (!(root = srv_yaml_load(config_path, msg, msize)))
        goto out;
    if (!(gen = calloc(1, sizeof *gen))) {
        snprintf(msg, msize, "out of memory");
        goto out;
    }
    atomic_init(&gen->refs, 1);
    gen->id = id;

    if (startup) {
        memset(startup, 0, sizeof *startup);
        snprintf(startup->listen, sizeof startup->listen, "127.0.0.1:8080");
        if ((v = json_object_get(root, "listen"))) {
            if (!json_is_string(v) || snprintf(startup->listen, sizeof startup->listen, "%s",
                                               json_string_value(v)) >= (int)sizeof startup->listen) {
                snprintf(msg, msize, "listen: expected ADDRESS:PORT");
                goto out;
            }
        }
        if (number(root, "threads", 0, 0, 1024, &d, msg, msize) != 0)
            goto out;
        startup->threads = (unsigned)d;
        if (number(root, "timeout", 30, 1, 3600, &d, msg, msize) != 0)
            goto out;
        startup->timeout = (unsigned)d;
        if ((v = json_object_get(root, "access_log"))) {
            char path[PATH_MAX];
            if (!json_is_string(v) || resolve(config_path, json_string_value(v), path, sizeof path) != 0 ||
                !(startup->access_log = strdup(path))) {
                snprintf(msg, msize, "access_log: expected a file name");
                goto out;
            }
        }
    }

    if (number(root, "max_body", 1 << 20, 1, 1 << 30, &d, msg, msize) != 0)
        goto out;
    gen->max_body = (size_t)d;
    if (number(root, "max_batch", 100, 1, 100000, &d, msg, msize) != 0)
        goto out;
    gen->max_batch = (size_t)d;

    v = json_object_get(root, "keys");
    if (v) {
        char path[PATH_MAX];
        if (!json_is_string(v) || resolve(config_path, json_string_value(v), path, sizeof path) != 0) {
            snprintf(msg, msize, "keys: expected a file name");
            goto out;
        }
        if (srv_keys_load(path, &gen->keys, &gen->key_count, msg, msize) != 0)
            goto out;
    }
    if ((v = json_object_get(root, "admins"))) {
        size_t i;
        json_t *item;
        if (!json_is_array(v) || !(gen->admins = calloc(json_array_size(v) + 1, sizeof *gen->admins))) {
            snprintf(msg, msize, "admins: expected a list of key names");
            goto out;
        }
        json_array_foreach(v, i, item) {
            if (!json_is_string(item) || !(gen->admins[i] = strdup(json_string_value(item)))) {
                snprintf(msg, msize, "admins: expected a list of key names");
                goto out;
            }
            gen->admin_count++;
        }
    }

    if ((v = json_object_get(root, "evidence"))) {
        static const char *const names[3] = {"log", "key_file", "content_key_file"};
        char paths[3][PATH_MAX];
        json_t *item;
        if (!json_is_object(v)) {
            snprintf(msg, msize, "evidence: expected a mapping (log, key_file, content_key_file)");
            goto out;
        }
        for (size_t i = 0; i < 3; i++) {
            paths[i][0] = '\0';
            if (!(item = json_object_get(v, names[i])) && i < 2) {
                snprintf(msg, msize, "evidence.%s: missing", names[i]);
                goto out;
            }
            if (item && (!json_is_string(item) ||
                         resolve(config_path, json_string_value(item), paths[i], sizeof paths[i]) != 0)) {
                snprintf(msg, msize, "evidence.%s: expected a file name", names[i]);
                goto out;
            }
        }
        char eerr[SRV_ERROR_SIZE];
        if (!(gen->evidence = srv_evidence_open(paths[0], paths[1], paths[2][0] ? paths[2] : NULL,
                                                eerr, sizeof eerr))) {
            snprintf(msg, msize, "evidence: %.400s", eerr);
            goto out;
        }
    }

    json_t *tenants = json_object_get(root, "tenants");
    if (tenants && !json_is_object(tenants)) {
        snprintf(msg, msize, "tenants: expected a mapping of tenant names");
        goto out;
    }
    size_t tenant_count = tenants ? json_object_size(tenants) : 0;
    gen->rulesets = calloc(tenant_count + 1, sizeof *gen->rulesets);
    gen->tenants = calloc(tenant_count + 1, sizeof *gen->tenants);
    if (!gen->rulesets || !gen->tenants) {
        snprintf(msg, msize, "out of memory");
        goto out;
    }
    if (json_object_get(root, "rules") && !json_is_array(json_object_get(root, "rules"))) {
        snprintf(msg, msize, "rules: expected a list of files");
        goto out;
    }
    gen->rulesets[0] = compile_rules(config_path, !json_is_false(json_object_get(root, "builtin")),
                                     json_object_get(root, "rules"), NULL, err);
    if (!gen->rulesets[0])
        goto out;
    gen->ruleset_count = 1;
    if (tenant_build(config_path, gen, "default", NULL, root, &gen->fallback, err) != 0)
        goto out;
    if (tenants) {
        const char *name;
        json_t *section;
        json_object_foreach(tenants, name, section) {
            if (!srv_name_valid(name)) {
                snprintf(msg, msize, "tenants: '%s' is not a valid name", name);
                goto out;
            }
            srv_tenant *t = &gen->tenants[gen->tenant_count++];
            if (tenant_build(config_path, gen, name, section, root, t, err) != 0)
                goto out;
        }
    }
    if (!(gen->lexicon = build_lexicon(config_path, json_object_get(root, "moderation"), err)))
        goto out;
    if (build_model(config_path, json_object_get(root, "moderation"), &gen->model, err) != 0)
        goto out;
    if ((v = json_object_get(root, "gateway")) &&
        !(gen->gateway = srv_gateway_build(config_path, v, gen, msg, msize)))
        goto out;
    result = gen;
    gen = NULL;
out:
    if (gen)
        srv_generation_release(gen);
    if (!result && startup) {
        free(startup->access_log);
        startup->access_log = NULL;
    }
    json_decref(root);
    return result;
}

const srv_tenant *srv_tenant_find(const srv_generation *gen, const char *name)
{
    for (size_t i = 0; i < gen->tenant_count; i++)
        if (strcmp(gen->tenants[i].name, name) == 0)
            return &gen->tenants[i];
    return &gen->fallback;
}

int srv_tenant_enabled(const srv_tenant *tenant, const char *type)
{
    if (!tenant->enabled)
        return 1;
    for (size_t i = 0; i < tenant->enabled_count; i++)
        if (strcmp(tenant->enabled[i], type) == 0)
            return 1;
    return 0;
}

static int set_ops(ql_policy *policy, json_t *types, char *error, size_t size)
{
    const char *key;
    json_t *op;
    if (!types)
        return 0;
    json_object_foreach(types, key, op) {
        int o = json_is_string(op) ? ql_operator_from_name(json_string_value(op)) : -1;
        if (o < 0) {
            snprintf(error, size, "types: the operator for a type is one of mask, tag, hash, fpe, drop, keep");
            return -1;
        }
        if (strlen(key) > 128 || ql_policy_set(policy, key, (ql_operator)o) != QL_OK) {
            snprintf(error, size, "types: not a type, category or prefix");
            return -1;
        }
    }
    return 0;
}

int srv_tenant_policy(const srv_generation *gen, const srv_tenant *tenant,
                      int default_op, json_t *types, ql_policy **out,
                      char *error, size_t error_size)
{
    ql_policy *policy = NULL;
    int rc = -1;
    ql_status st;
    error[0] = '\0';
    if (tenant->policy_text)
        st = ql_policy_parse(tenant->policy_name, tenant->policy_text, tenant->policy_length,
                             &policy, error, error_size);
    else
        st = ql_policy_create(&policy);
    if (st != QL_OK) {
        if (!tenant->policy_text)
            snprintf(error, error_size, "%s", ql_status_message(st));
        goto out;
    }
    if (tenant->default_op >= 0 && ql_policy_set(policy, "*", (ql_operator)tenant->default_op) != QL_OK)
        goto out;
    if (set_ops(policy, tenant->types, error, error_size) != 0)
        goto out;
    if (default_op >= 0 && ql_policy_set(policy, "*", (ql_operator)default_op) != QL_OK)
        goto out;
    if (set_ops(policy, types, error, error_size) != 0)
        goto out;
    /* Last, so that no request can turn on a type the tenant has not. */
    if (tenant->enabled) {
        const ql_rules *rules = gen->rulesets[tenant->ruleset];
        for (size_t i = 0; i < ql_rules_count(rules); i++) {
            ql_rule_info info;
            if (ql_rules_info(rules, i, &info) == QL_OK && !srv_tenant_enabled(tenant, info.type) &&
                ql_policy_set(policy, info.type, QL_OP_KEEP) != QL_OK)
                goto out;
        }
    }
    *out = policy;
    policy = NULL;
    rc = 0;
out:
    if (rc != 0 && !error[0])
        snprintf(error, error_size, "could not build the redaction policy");
    ql_policy_destroy(policy);
    return rc;
}
