/* application/x-www-form-urlencoded parsing for the query protocol, and
 * base64 and XML escaping helpers shared by the codecs. */
#include "protocol.h"

#include <string.h>

strv_t form_decode(arena_t *a, strv_t s, bool plus_is_space)
{
    /* Fast path: nothing to decode, keep the view into the input. */
    if (!memchr(s.p, '%', s.len) && !(plus_is_space && memchr(s.p, '+', s.len)))
        return s;
    char *out = arena_alloc(a, s.len + 1);
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '%' && i + 2 < s.len && kyoka_hexval(s.p[i + 1]) >= 0 && kyoka_hexval(s.p[i + 2]) >= 0) {
            out[o++] = (char)(kyoka_hexval(s.p[i + 1]) * 16 + kyoka_hexval(s.p[i + 2]));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return (strv_t){out, o};
}

int form_parse(arena_t *a, strv_t text, form_param_t **out, size_t max_params)
{
    size_t n = 0;
    for (size_t i = 0; i < text.len; i++)
        n += text.p[i] == '&';
    n += 1;
    if (n > max_params)
        return KYOKA_ELIMIT;
    form_param_t *params = arena_alloc(a, n * sizeof *params);
    size_t count = 0;
    const char *p = text.p, *end = text.p + text.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            strv_t k = {p, (size_t)((eq ? eq : stop) - p)};
            strv_t v = eq ? (strv_t){eq + 1, (size_t)(stop - eq - 1)} : STRV_NULL;
            params[count].key = form_decode(a, k, true);
            params[count].value = v.p ? form_decode(a, v, true) : (strv_t){"", 0};
            count++;
        }
        p = stop + 1;
    }
    *out = params;
    return (int)count;
}

void xml_escape(buf_t *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#xD;"; break;
        case '\n': rep = "&#xA;"; break;
        default: break;
        }
        if (rep) {
            buf_append(b, s + i - run, run);
            run = 0;
            buf_appends(b, rep);
        } else {
            run++;
        }
    }
    buf_append(b, s + n - run, run);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(arena_t *a, const void *data, size_t n)
{
    const unsigned char *in = data;
    char *out = arena_alloc(a, (n + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

ssize_t base64_decode(arena_t *a, strv_t s, unsigned char **out)
{
    if (s.len % 4)
        return -1;
    unsigned char *o = arena_alloc(a, s.len / 4 * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            char c = s.p[i + j];
            const char *pos = c ? memchr(b64, c, 64) : NULL;
            if (pos)
                v[j] = (int)(pos - b64);
            else if (c == '=' && i + 4 == s.len && j >= 2)
                v[j] = -1;
            else
                return -1;
        }
        if (v[2] < 0 && v[3] >= 0)
            return -1;
        o[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0)
            o[n++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        if (v[3] >= 0)
            o[n++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
    }
    *out = o;
    return (ssize_t)n;
}
