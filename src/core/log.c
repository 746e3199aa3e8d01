/* Logging to stderr, text for people or one JSON object per line for
 * machines (--log-format json). */
#include "core.h"

#include <stdio.h>
#include <time.h>

static klog_level_t log_level = KLOG_INFO;
static bool log_json;

void klog_set_level(klog_level_t lvl) { log_level = lvl; }
void klog_set_json(bool json) { log_json = json; }
bool klog_is_json(void) { return log_json; }

static const char *level_name(klog_level_t l)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    return names[l];
}

void klog(klog_level_t lvl, const char *fmt, ...)
{
    if (lvl < log_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char ts[64];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    kyoka_time_iso8601((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ts, true);
    if (log_json) {
        /* Messages that are already JSON objects (request log lines) are
         * emitted as they are; others are wrapped. */
        if (msg[0] == '{') {
            fprintf(stderr, "%s\n", msg);
        } else {
            fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_name(lvl));
            for (const char *p = msg; *p; p++) {
                if (*p == '"' || *p == '\\')
                    fprintf(stderr, "\\%c", *p);
                else if ((unsigned char)*p < 0x20)
                    fprintf(stderr, "\\u%04x", *p);
                else
                    fputc(*p, stderr);
            }
            fprintf(stderr, "\"}\n");
        }
    } else {
        fprintf(stderr, "%s %-5s %s\n", ts, level_name(lvl), msg);
    }
}
