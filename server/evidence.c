/*
 * evidence.c — the service's evidence log: opened from the config's
 * `evidence:` section with each generation, shared by all of the server's
 * threads behind one mutex (a ql_evidence_log belongs to one thread at a
 * time).  The endpoints are in http.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server.h"

srv_evidence *srv_evidence_open(const char *log_path, const char *key_file,
                                const char *content_key_file, char *error, size_t error_size)
{
    ql_evidence_options o;
    struct stat st;
    srv_evidence *ev = calloc(1, sizeof *ev);
    error[0] = '\0';
    if (!ev) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    memset(&o, 0, sizeof o);
    o.signing_key_file = key_file;
    o.content_key_file = content_key_file;
    ql_status s = QL_OK;
    if (stat(log_path, &st) != 0 && errno == ENOENT)
        s = ql_evidence_log_create(log_path, &o, error, error_size);
    if (s == QL_OK)
        s = ql_evidence_log_open(log_path, &o, &ev->log, error, error_size);
    if (s != QL_OK) {
        if (!error[0])
            snprintf(error, error_size, "%.300s: %s", log_path, ql_status_message(s));
        free(ev);
        return NULL;
    }
    ev->has_content_key = content_key_file != NULL;
    pthread_mutex_init(&ev->lock, NULL);
    return ev;
}

void srv_evidence_close(srv_evidence *ev)
{
    if (!ev)
        return;
    ql_evidence_log_close(ev->log);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}
