/*
 * output.c — findings as text, JSON, JSON Lines and SARIF.
 *
 * Every string that reaches JSON goes through cli_json_string(), which also
 * turns bytes that are not valid UTF-8 (a GB18030 file name, say) into
 * U+FFFD so the output is always valid JSON.  Raw values appear only with
 * --reveal.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_json_string(FILE *out, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        /* Runs of plain ASCII go out in one write. */
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            fwrite(p + i, 1, run - i, out);
            i = run;
            continue;
        }
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", out); break;
            case '\r': fputs("\\r", out); break;
            case '\t': fputs("\\t", out); break;
            default: fprintf(out, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            fputc(c, out);
            i++;
        } else {
            size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            int ok = len && i + len <= n && c >= 0xC2 && c <= 0xF4;
            for (size_t k = 1; ok && k < len; k++)
                ok = (p[i + k] & 0xC0) == 0x80;
            if (ok && len == 3) {
                unsigned cp = (unsigned)(c & 0x0F) << 12 | (unsigned)(p[i + 1] & 0x3F) << 6 | (p[i + 2] & 0x3F);
                ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
            }
            if (ok && len == 4) {
                unsigned cp = (unsigned)(c & 0x07) << 18 | (unsigned)(p[i + 1] & 0x3F) << 12;
                ok = cp >= 0x10000 && cp <= 0x10FFFF;
            }
            if (ok) {
                fwrite(p + i, 1, len, out);
                i += len;
            } else {
                fputs("\\ufffd", out);
                i++;
            }
        }
    }
    fputc('"', out);
}

static void json_cstr(FILE *out, const char *s)
{
    cli_json_string(out, s, strlen(s));
}

static void finding_json(FILE *out, const cli_finding *f, const char *path, int reveal)
{
    fputs("{\"path\":", out);
    json_cstr(out, path);
    fputs(",\"type\":", out);
    json_cstr(out, f->type);
    fputs(",\"category\":", out);
    json_cstr(out, f->category);
    fprintf(out, ",\"severity\":\"%s\",\"confidence\":%.2f,\"start\":%llu,\"end\":%llu,"
                 "\"line\":%llu,\"column\":%llu,\"rule\":",
            ql_severity_name(f->severity), f->confidence, (unsigned long long)f->start,
            (unsigned long long)f->end, (unsigned long long)f->line,
            (unsigned long long)f->column);
    json_cstr(out, f->rule_id);
    fputs(",\"masked\":", out);
    json_cstr(out, f->masked);
    if (reveal) {
        fputs(",\"value\":", out);
        cli_json_string(out, f->value, f->value_length);
    }
    fputs(",\"attributes\":{", out);
    for (size_t i = 0; i < f->attribute_count; i++) {
        if (i)
            fputc(',', out);
        json_cstr(out, f->attr_keys[i]);
        fputc(':', out);
        const char *v = f->attr_values[i];
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            fputs(v, out);
        else
            json_cstr(out, v);
    }
    fputs("}}", out);
}

static const char *severity_color(ql_severity s)
{
    switch (s) {
    case QL_SEVERITY_CRITICAL: return "\033[1;31m";
    case QL_SEVERITY_HIGH: return "\033[31m";
    case QL_SEVERITY_MEDIUM: return "\033[33m";
    default: return "\033[36m";
    }
}

void output_begin(cli_options *o)
{
    if (o->format == FORMAT_JSON)
        fputs("{\"findings\":[", o->out);
}

void output_file(cli_options *o, const char *path, const cli_finding *f, size_t n)
{
    FILE *out = o->out;
    for (size_t i = 0; i < n; i++) {
        switch (o->format) {
        case FORMAT_TEXT:
            if (o->color)
                fprintf(out, "\033[35m%s\033[0m:\033[32m%llu\033[0m:%llu: %s%s\033[0m %s %s",
                        path, (unsigned long long)f[i].line, (unsigned long long)f[i].column,
                        severity_color(f[i].severity), f[i].type,
                        ql_severity_name(f[i].severity), f[i].masked);
            else
                fprintf(out, "%s:%llu:%llu: %s %s %s", path, (unsigned long long)f[i].line,
                        (unsigned long long)f[i].column, f[i].type,
                        ql_severity_name(f[i].severity), f[i].masked);
            if (o->reveal) {
                fputs(" = ", out);
                fwrite(f[i].value, 1, f[i].value_length, out);
            }
            fputc('\n', out);
            break;
        case FORMAT_JSONL:
            finding_json(out, &f[i], path, o->reveal);
            fputc('\n', out);
            break;
        case FORMAT_JSON:
            if (o->emitted)
                fputc(',', out);
            finding_json(out, &f[i], path, o->reveal);
            break;
        case FORMAT_SARIF:
            break;
        }
        o->emitted++;
    }
}

static const char *sarif_level(ql_severity s)
{
    return s >= QL_SEVERITY_HIGH ? "error" : s == QL_SEVERITY_MEDIUM ? "warning" : "note";
}

/* SARIF needs every result and the rule table: it is written at the end
 * from the findings kept by the caller. */
void output_sarif(cli_options *o, const ql_rules *rules, const cli_file *files, size_t nfiles)
{
    FILE *out = o->out;
    fputs("{\"version\":\"2.1.0\",\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\","
          "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"qinglang\",\"version\":\"" QL_VERSION_STRING
          "\",\"informationUri\":\"https://example.invalid/qinglang\",\"rules\":[", out);
    size_t nr = ql_rules_count(rules);
    for (size_t i = 0; i < nr; i++) {
        ql_rule_info info;
        ql_rules_info(rules, i, &info);
        if (i)
            fputc(',', out);
        fputs("{\"id\":", out);
        json_cstr(out, info.id);
        fputs(",\"name\":", out);
        json_cstr(out, info.type);
        fputs(",\"shortDescription\":{\"text\":", out);
        json_cstr(out, info.description[0] ? info.description : info.type);
        fprintf(out, "},\"defaultConfiguration\":{\"level\":\"%s\"},\"properties\":{\"category\":",
                sarif_level(info.severity));
        json_cstr(out, info.category);
        fputs("}}", out);
    }
    fputs("]}},\"results\":[", out);
    int first = 1;
    for (size_t k = 0; k < nfiles; k++) {
        const cli_file *file = &files[k];
        for (size_t i = 0; i < file->count; i++) {
            const cli_finding *f = &file->findings[i];
            if (!first)
                fputc(',', out);
            first = 0;
            fputs("{\"ruleId\":", out);
            json_cstr(out, f->rule_id);
            fprintf(out, ",\"level\":\"%s\",\"message\":{\"text\":", sarif_level(f->severity));
            char msg[600];
            snprintf(msg, sizeof msg, "%s (%s): %s", f->type, f->category, f->masked);
            json_cstr(out, msg);
            fputs("},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":", out);
            json_cstr(out, file->path);
            fprintf(out, "},\"region\":{\"startLine\":%llu,\"startColumn\":%llu,"
                         "\"byteOffset\":%llu,\"byteLength\":%llu}}}],"
                         "\"properties\":{\"confidence\":%.2f,\"type\":",
                    (unsigned long long)f->line, (unsigned long long)f->column,
                    (unsigned long long)f->start, (unsigned long long)(f->end - f->start),
                    f->confidence);
            json_cstr(out, f->type);
            fputs("}}", out);
        }
    }
    fputs("]}]}\n", out);
}

void output_end(cli_options *o, const char *const *errors, size_t nerrors)
{
    if (o->format == FORMAT_JSON) {
        fputs("],\"errors\":[", o->out);
        for (size_t i = 0; i < nerrors; i++) {
            if (i)
                fputc(',', o->out);
            json_cstr(o->out, errors[i]);
        }
        fputs("]}\n", o->out);
    }
}
