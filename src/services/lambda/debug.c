/*
 * The local development loop's settings that have no AWS API: which host
 * directories code may be served from (--hot-reload-roots) and a debugger
 * attached to a function (`kyoka lambda debug NAME`).
 *
 * Debugging moves the generation of every version of the function, so the
 * next invocation starts a new environment under the debugger (node's
 * --inspect=127.0.0.1:PORT; python's debugpy when it can be imported,
 * otherwise pdb served on 127.0.0.1:PORT at breakpoint()), with the timeout
 * lifted so that a breakpoint does not end the invocation. --off moves it
 * again: the debugged environments are retired (a busy one finishes first).
 * The setting is not persisted: a restart ends it.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/banned.h"

int lambda_set_hot_reload_roots(void *state, const char *roots, char *err, size_t errcap)
{
    lambda_state_t *st = state;
    if (!st || !roots || !*roots)
        return 0;
    char *copy = xstrdup(roots);
    int rc = 0;
    for (char *p = copy, *next; p && *p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        if (!*p)
            continue;
        char real[PATH_MAX];
        struct stat sb;
        errno = 0;
        if (p[0] != '/' || !realpath(p, real) || stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            snprintf(err, errcap, "--hot-reload-roots: %s is not an absolute path to a directory%s%s", p,
                     errno ? ": " : "", errno ? strerror(errno) : "");
            rc = -1;
            break;
        }
        st->hot_roots = xrealloc(st->hot_roots, (st->nhot_roots + 1) * sizeof *st->hot_roots);
        st->hot_roots[st->nhot_roots++] = xstrdup(real);
    }
    free(copy);
    return rc;
}

static const char *lang_of(const char *runtime)
{
    if (runtime && strncmp(runtime, "nodejs", 6) == 0)
        return "node";
    if (runtime && strncmp(runtime, "python", 6) == 0)
        return "python";
    return NULL;
}

json_t *lambda_debug_set(void *state, const char *region, const char *name, int port, bool off, char *err,
                         size_t errcap, int *status)
{
    lambda_state_t *st = state;
    *status = 400;
    if (!st || !name || !*name) {
        snprintf(err, errcap, "name the function: POST /_kyoka/lambda/debug?function=NAME[&port=N][&off=1]");
        return NULL;
    }
    lambda_fn_t *fn = lambda__fn_lookup(st, region ? region : st->ctx->region, name);
    if (!fn) {
        *status = 404;
        snprintf(err, errcap, "no function %s in %s", name, region ? region : st->ctx->region);
        return NULL;
    }
    const char *runtime = json_string_value(json_object_get(fn->versions[0]->config, "Runtime"));
    const char *lang = lang_of(runtime);
    if (off) {
        bool was = fn->debug_port != 0;
        fn->debug_port = 0;
        if (was)
            lambda__bump_versions(st, fn, NULL);
        *status = 200;
        return json_pack("{s:s,s:b,s:s}", "function", fn->name, "debug", 0, "message",
                         was ? "debugging ended: the next invocation starts a normal environment"
                             : "the function was not being debugged");
    }
    if (!lang) {
        snprintf(err, errcap,
                 "%s runs %s: kyoka attaches debuggers to python and node runtimes; a provided runtime runs your "
                 "own bootstrap, so start your debugger from it",
                 name, runtime ? runtime : "no runtime");
        return NULL;
    }
    if (port == 0)
        port = strcmp(lang, "node") == 0 ? 9229 : 5678;
    if (port < 1024 || port > 65535) {
        snprintf(err, errcap, "port must be from 1024 to 65535, got %d", port);
        return NULL;
    }
    fn->debug_port = port;
    lambda__bump_versions(st, fn, NULL);
    char attach[1024];
    if (strcmp(lang, "node") == 0)
        snprintf(attach, sizeof attach,
                 "The next invocation of %s starts node with --inspect=127.0.0.1:%d. Attach Chrome DevTools "
                 "(chrome://inspect, target 127.0.0.1:%d), VS Code ({\"type\": \"node\", \"request\": \"attach\", "
                 "\"address\": \"127.0.0.1\", \"port\": %d, \"localRoot\": \"<your code dir>\", \"remoteRoot\": "
                 "\"/var/task\"}) or `node inspect 127.0.0.1:%d`. The timeout is lifted while debugging; "
                 "`kyoka lambda debug %s --off` ends it.",
                 name, port, port, port, port, name);
    else
        snprintf(attach, sizeof attach,
                 "The next invocation of %s starts python listening on 127.0.0.1:%d: under debugpy when the "
                 "function, a layer or the system provides it (attach VS Code: {\"type\": \"debugpy\", \"request\": "
                 "\"attach\", \"connect\": {\"host\": \"127.0.0.1\", \"port\": %d}, \"pathMappings\": "
                 "[{\"localRoot\": \"<your code dir>\", \"remoteRoot\": \"/var/task\"}]}); otherwise call "
                 "breakpoint() in your code and reach pdb with `nc 127.0.0.1 %d`. The timeout is lifted while "
                 "debugging; `kyoka lambda debug %s --off` ends it.",
                 name, port, port, port, name);
    *status = 200;
    return json_pack("{s:s,s:s,s:i,s:b,s:s}", "function", fn->name, "runtime", runtime, "port", port, "debug", 1,
                     "attach", attach);
}
