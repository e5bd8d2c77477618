/* transport.c - TLS and HTTP/2 options of the listening vhosts (see transport.h). */
#include "service/transport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int svc_transport_tls(const lq_config *cfg)
{
    return cfg->tls_cert_file[0] != '\0';
}

static int readable(const char *what, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read %s: %s", what, path, strerror(errno));
        return LQ_EIO;
    }
    char head[64] = "";
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = '\0';
    if (!strstr(head, "-----BEGIN ")) {
        snprintf(err, errlen, "%s: %s is not a PEM file", what, path);
        return LQ_EIO;
    }
    return 0;
}

int svc_transport_check(const lq_config *cfg, char *err, size_t errlen)
{
    if (!svc_transport_tls(cfg))
        return 0;
    int rc = readable("tls_cert_file (TLS_CERT_FILE)", cfg->tls_cert_file, err, errlen);
    if (rc == 0)
        rc = readable("tls_key_file (TLS_KEY_FILE)", cfg->tls_key_file, err, errlen);
    return rc;
}

void svc_transport_context(const lq_config *cfg, struct lws_context_creation_info *info)
{
    if (svc_transport_tls(cfg))
        info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
}

void svc_transport_vhost(const lq_config *cfg, const char *name,
                         struct lws_context_creation_info *info)
{
    if (strcmp(name, SVC_VHOST_MAIN) == 0 && svc_transport_tls(cfg)) {
        info->ssl_cert_filepath = cfg->tls_cert_file;
        info->ssl_private_key_filepath = cfg->tls_key_file;
        info->alpn = SVC_ALPN;
        /* lws 4.1.6 reads this from the vhost's options too: without it the
         * vhost silently stays cleartext */
        info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    } else if (strcmp(name, SVC_VHOST_H2C) == 0) {
        info->options |= LWS_SERVER_OPTION_H2_PRIOR_KNOWLEDGE;
    }
}
