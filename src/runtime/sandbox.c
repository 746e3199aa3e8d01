/*
 * What an environment's process sees: its command, its environment
 * variables, its sandbox and its memory limit.
 *
 * The sandbox is bubblewrap (Debian's bubblewrap package): new mount, PID,
 * IPC and UTS namespaces; the host's /usr, /etc and the /lib and /bin links
 * read-only, so the system's python3 and node run; the function's code
 * read-only at /var/task, kyoka's bootstraps at /var/runtime, merged layers
 * at /opt and a private tmpfs at /tmp of EphemeralStorage's size. Nothing
 * else of the host is mounted, so kyoka's data directory, other functions'
 * code and other environments' /tmp do not exist inside. The network is
 * shared: the SDK in a function must reach kyoka on loopback.
 *
 * Without bubblewrap (or with --sandbox none) the process runs with the
 * same variables in a private directory of its own, and says so.
 *
 * The memory limit is a cgroup (v2 where kyoka's cgroup delegates the
 * memory controller, else v1's memory hierarchy) that the environment's
 * process tree is moved into right after it starts (rt__cgroup_join).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/banned.h"

#define BWRAP "/usr/bin/bwrap"
/* The user AWS's sandboxes run code as (sbx_user1051). */
#define LAMBDA_SANDBOX_UID "993"
#define LAMBDA_SANDBOX_GID "990"

/* ==== growing string vectors ==== */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec_t;

static void sv_push(strvec_t *s, char *owned)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = owned;
    s->v[s->n] = NULL;
}

static void sv_add(strvec_t *s, const char *str) { sv_push(s, xstrdup(str)); }

static void sv_addf(strvec_t *s, const char *fmt, ...) KYOKA_PRINTF(2, 3);
static void sv_addf(strvec_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *str = NULL;
    if (vasprintf(&str, fmt, ap) < 0)
        abort();
    va_end(ap);
    sv_push(s, str);
}

void rt__strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* ==== cgroups ==== */

static bool write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    return close(fd) == 0 && ok;
}

static bool read_text(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0)
        return false;
    out[n] = '\0';
    return true;
}

/* Our own cgroup path in a hierarchy: "0::/x" (v2) or "N:memory:/x" (v1). */
static bool own_cgroup(const char *controller, char *out, size_t cap)
{
    char text[4096];
    if (!read_text("/proc/self/cgroup", text, sizeof text))
        return false;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        char *c1 = strchr(p, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c1 && c2) {
            *c2 = '\0';
            const char *ctrls = c1 + 1;
            bool match = controller ? strstr(ctrls, controller) != NULL : *ctrls == '\0';
            if (match) {
                snprintf(out, cap, "%s", c2 + 1);
                return true;
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return false;
}

/* Make dir and check a memory limit can be set in a child of it. */
static bool cgroup_usable(const char *dir, const char *limit_file)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return false;
    char probe[512], file[600];
    snprintf(probe, sizeof probe, "%s/probe", dir);
    if (mkdir(probe, 0755) != 0 && errno != EEXIST)
        return false;
    snprintf(file, sizeof file, "%s/%s", probe, limit_file);
    bool ok = write_text(file, "134217728");
    rmdir(probe);
    if (!ok)
        rmdir(dir);
    return ok;
}

static void probe_cgroups(rt_t *rt)
{
    char own[128];
    char controllers[512] = "";
    if (own_cgroup(NULL, own, sizeof own) && read_text("/sys/fs/cgroup/cgroup.controllers", controllers, sizeof controllers) &&
        strstr(controllers, "memory")) {
        snprintf(rt->cgroup_root, sizeof rt->cgroup_root, "/sys/fs/cgroup%s/kyoka-%d", strcmp(own, "/") ? own : "",
                 (int)getpid());
        char sub[300];
        snprintf(sub, sizeof sub, "%s/cgroup.subtree_control", rt->cgroup_root);
        if (mkdir(rt->cgroup_root, 0755) == 0 || errno == EEXIST) {
            write_text(sub, "+memory");
            if (cgroup_usable(rt->cgroup_root, "memory.max")) {
                rt->cgroup_version = 2;
                return;
            }
        }
    }
    const char *bases[2] = {NULL, ""};
    char v1own[128];
    if (own_cgroup("memory", v1own, sizeof v1own))
        bases[0] = v1own;
    for (int i = 0; i < 2; i++) {
        if (!bases[i])
            continue;
        snprintf(rt->cgroup_root, sizeof rt->cgroup_root, "/sys/fs/cgroup/memory%s/kyoka-%d",
                 strcmp(bases[i], "/") ? bases[i] : "", (int)getpid());
        if (cgroup_usable(rt->cgroup_root, "memory.limit_in_bytes")) {
            rt->cgroup_version = 1;
            return;
        }
    }
    rt->cgroup_root[0] = '\0';
    rt->cgroup_version = 0;
}

void rt__cgroup_create(rt_env_t *env, int memory_mb)
{
    rt_t *rt = env->rt;
    env->cgroup[0] = '\0';
    if (!rt->cgroup_version)
        return;
    snprintf(env->cgroup, sizeof env->cgroup, "%s/env-%u", rt->cgroup_root, env->id);
    if (mkdir(env->cgroup, 0755) != 0 && errno != EEXIST) {
        env->cgroup[0] = '\0';
        return;
    }
    char file[400], val[32];
    snprintf(val, sizeof val, "%" PRIu64, (uint64_t)memory_mb << 20);
    if (rt->cgroup_version == 2) {
        snprintf(file, sizeof file, "%s/memory.max", env->cgroup);
        write_text(file, val);
        snprintf(file, sizeof file, "%s/memory.swap.max", env->cgroup);
        write_text(file, "0");
    } else {
        snprintf(file, sizeof file, "%s/memory.limit_in_bytes", env->cgroup);
        write_text(file, val);
        /* Without this the limit only pushes pages to swap. */
        snprintf(file, sizeof file, "%s/memory.memsw.limit_in_bytes", env->cgroup);
        write_text(file, val);
        snprintf(file, sizeof file, "%s/memory.swappiness", env->cgroup);
        write_text(file, "0");
    }
    /* REPORT's Max Memory Used is read at every invocation's end: one pread
     * on a descriptor kept open, not an open/read/close. */
    snprintf(file, sizeof file, "%s/%s", env->cgroup,
             rt->cgroup_version == 2 ? "memory.peak" : "memory.max_usage_in_bytes");
    env->peak_fd = open(file, O_RDONLY | O_CLOEXEC);
}

static int64_t cgroup_counter(const rt_env_t *env, const char *file, const char *key)
{
    if (!env->cgroup[0])
        return -1;
    char path[400], text[2048];
    snprintf(path, sizeof path, "%s/%s", env->cgroup, file);
    if (!read_text(path, text, sizeof text))
        return -1;
    if (!key)
        return strtoll(text, NULL, 10);
    char *p = strstr(text, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

bool rt__cgroup_oom(const rt_env_t *env)
{
    if (env->rt->cgroup_version == 2)
        return cgroup_counter(env, "memory.events", "oom_kill ") > 0;
    if (env->rt->cgroup_version == 1) {
        int64_t k = cgroup_counter(env, "memory.oom_control", "oom_kill ");
        if (k >= 0)
            return k > 0;
        return cgroup_counter(env, "memory.failcnt", NULL) > 0;
    }
    return false;
}

int rt__cgroup_peak_mb(const rt_env_t *env)
{
    if (env->peak_fd < 0)
        return 0;
    char text[32];
    ssize_t n = pread(env->peak_fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    int64_t b = strtoll(text, NULL, 10);
    return (int)((b + (1 << 20) - 1) >> 20);
}

/* Moving a process into a cgroup v1 hierarchy waits for an RCU grace
 * period (20 ms and more here), which would be most of a cold start if the
 * process waited for it before exec. So the environment starts at once and
 * a pool thread moves its process tree in behind it: the sandbox's own
 * processes (bwrap, its init, the bootstrap) are found through /proc's
 * children lists, a few passes so that a fork in between is caught. The
 * limit then holds from a few milliseconds into the environment's life. */
typedef struct cg_job {
    uv_work_t w;
    int pid;
    char procs[400];
} cg_job_t;

static int children_of(int pid, int *out, int cap)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
    if (!read_text(path, text, sizeof text))
        return 0;
    int n = 0;
    for (char *p = text; *p && n < cap;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        out[n++] = (int)v;
        p = end;
    }
    return n;
}

static void cg_work(uv_work_t *w)
{
    cg_job_t *j = container_of(w, cg_job_t, w);
    enum { MAX_TREE = 32 };
    int moved[MAX_TREE], nmoved = 0;
    for (int pass = 0; pass < 3; pass++) {
        int tree[MAX_TREE], n = 0;
        tree[n++] = j->pid;
        for (int i = 0; i < n && n < MAX_TREE; i++)
            n += children_of(tree[i], tree + n, MAX_TREE - n);
        bool any = false;
        for (int i = 0; i < n; i++) {
            bool done = false;
            for (int k = 0; k < nmoved && !done; k++)
                done = moved[k] == tree[i];
            if (done || nmoved == MAX_TREE)
                continue;
            char pid[16];
            snprintf(pid, sizeof pid, "%d", tree[i]);
            if (write_text(j->procs, pid))
                moved[nmoved++] = tree[i];
            any = true;
        }
        if (!any && pass > 0)
            break;
    }
}

static void cg_done(uv_work_t *w, int status)
{
    (void)status;
    free(container_of(w, cg_job_t, w));
}

void rt__cgroup_join(rt_env_t *env)
{
    if (!env->cgroup[0])
        return;
    cg_job_t *j = xcalloc(1, sizeof *j);
    j->pid = env->pid;
    snprintf(j->procs, sizeof j->procs, "%s/cgroup.procs", env->cgroup);
    if (uv_queue_work(env->rt->loop, &j->w, cg_work, cg_done) != 0)
        free(j);
}

void rt__cgroup_remove(rt_env_t *env)
{
    if (env->peak_fd >= 0)
        close(env->peak_fd);
    env->peak_fd = -1;
    if (env->cgroup[0])
        rmdir(env->cgroup);
    env->cgroup[0] = '\0';
}

/* ==== probing ==== */

/* The host's top-level system paths, as the sandbox needs them: Debian
 * links /lib and /bin into /usr, so links stay links. */
static void bind_system(strvec_t *a)
{
    static const char *const tops[] = {"/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin"};
    sv_add(a, "--ro-bind");
    sv_add(a, "/usr");
    sv_add(a, "/usr");
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(tops); i++) {
        struct stat st;
        if (lstat(tops[i], &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            char target[256];
            ssize_t n = readlink(tops[i], target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            sv_add(a, "--symlink");
            sv_add(a, target);
            sv_add(a, tops[i]);
        } else if (S_ISDIR(st.st_mode)) {
            sv_add(a, "--ro-bind");
            sv_add(a, tops[i]);
            sv_add(a, tops[i]);
        }
    }
    sv_add(a, "--ro-bind");
    sv_add(a, "/etc");
    sv_add(a, "/etc");
}

/* bubblewrap being installed does not mean it may make namespaces here (a
 * container without user namespaces, a kernel that forbids them). Asking it
 * costs a few milliseconds, more than kyoka's whole start-up, so the answer
 * comes in the background: until then environments assume it works, and if
 * it does not, kyoka says so once and runs functions as plain processes. */
static void on_probe_exit(uv_process_t *p, int64_t status, int sig)
{
    rt_t *rt = p->data;
    if (rt && (status != 0 || sig != 0) && rt->bwrap) {
        rt->bwrap = false;
        rt->sandbox_failed = true;
        snprintf(rt->describe, sizeof rt->describe,
                 "sandbox none (bubblewrap cannot create namespaces here: functions run as plain processes), "
                 "memory limit %s",
                 rt->cgroup_version == 2 ? "cgroup v2" : rt->cgroup_version == 1 ? "cgroup v1" : "none");
        log_warn("lambda: bubblewrap cannot make a sandbox here (exit %lld); functions run as plain processes in "
                 "their own directories. Allow user namespaces, or pass --sandbox none to silence this.",
                 (long long)status);
    }
    rt__helper_done(rt, p);
}

static void probe_bwrap(rt_t *rt)
{
    uv_process_t *p = xcalloc(1, sizeof *p);
    p->data = rt;
    /* The same system view the environments get, so the probe's true runs
     * exactly where a bootstrap would. */
    strvec_t a = {0};
    sv_add(&a, BWRAP);
    sv_add(&a, "--unshare-pid");
    sv_add(&a, "--unshare-ipc");
    sv_add(&a, "--unshare-uts");
    bind_system(&a);
    sv_add(&a, "--proc");
    sv_add(&a, "/proc");
    sv_add(&a, "--dev");
    sv_add(&a, "/dev");
    sv_add(&a, "--");
    sv_add(&a, "/usr/bin/true");
    uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
    uv_process_options_t po = {.exit_cb = on_probe_exit, .file = a.v[0], .args = a.v, .stdio_count = 3, .stdio = stdio};
    int rc = uv_spawn(rt->loop, p, &po);
    rt__strv_free(a.v);
    if (rc != 0) {
        uv_close((uv_handle_t *)p, (uv_close_cb)free);
        rt->bwrap = false;
        return;
    }
    rt__helper_started(rt, p);
}

void rt__sandbox_probe(rt_t *rt)
{
    rt->bwrap = rt->cfg.sandbox != RT_SANDBOX_NONE && access(BWRAP, X_OK) == 0;
    if (rt->bwrap)
        probe_bwrap(rt);
    probe_cgroups(rt);
}

/* ==== the command ==== */

static bool is_runtime(const char *rt_name, const char *prefix) { return strncmp(rt_name, prefix, strlen(prefix)) == 0; }

static void log_stream_name(const rt_env_t *env, char *out, size_t cap)
{
    time_t t = (time_t)(kyoka_clock_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    unsigned char r[16];
    char hex[33];
    kyoka_random(r, sizeof r);
    kyoka_hex(r, sizeof r, hex);
    snprintf(out, cap, "%04d/%02d/%02d/[%s]%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, env->pool->spec.version,
             hex);
}

int rt__sandbox_command(rt_env_t *env, char ***argv_out, char ***envp_out, char *err, size_t errcap)
{
    rt_t *rt = env->rt;
    const lambda_run_spec_t *sp = &env->pool->spec;
    const bool sandboxed = rt->bwrap;
    const char *task = sandboxed ? "/var/task" : sp->code_dir;
    const char *rtdir = sandboxed ? "/var/runtime" : rt->runtime_dir;
    strvec_t cmd = {0};
    if (is_runtime(sp->runtime, "provided")) {
        /* AWS looks for the bootstrap in the code, then in the layers. */
        char *in_code = xasprintf("%s/bootstrap", sp->code_dir);
        char *in_opt = sp->opt_dir ? xasprintf("%s/bootstrap", sp->opt_dir) : NULL;
        if (access(in_code, F_OK) == 0)
            sv_addf(&cmd, "%s/bootstrap", task);
        else if (in_opt && access(in_opt, F_OK) == 0)
            sv_addf(&cmd, "%s/bootstrap", sandboxed ? "/opt" : sp->opt_dir);
        free(in_code);
        free(in_opt);
        if (!cmd.n) {
            snprintf(err, errcap, "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]");
            return -1;
        }
    } else if (is_runtime(sp->runtime, "python3")) {
        sv_add(&cmd, "/usr/bin/python3");
        /* No site: the bootstrap adds site-packages without running the
         * host's .pth files (add_site_packages in _kyoka_bootstrap.py). */
        sv_add(&cmd, "-S");
        sv_addf(&cmd, "%s/bootstrap.py", rtdir);
    } else if (is_runtime(sp->runtime, "nodejs")) {
        sv_add(&cmd, "/usr/bin/node");
        /* The sandbox shares the host's network: the inspector is on the
         * host's loopback. */
        if (sp->debug_port)
            sv_addf(&cmd, "--inspect=127.0.0.1:%d", sp->debug_port);
        sv_addf(&cmd, "%s/bootstrap.cjs", rtdir);
    } else {
        snprintf(err, errcap, "kyoka cannot run the %s runtime", sp->runtime);
        return -1;
    }

    strvec_t a = {0};
    if (sandboxed) {
        sv_add(&a, BWRAP);
        sv_add(&a, "--die-with-parent");
        sv_add(&a, "--unshare-pid");
        sv_add(&a, "--unshare-ipc");
        sv_add(&a, "--unshare-uts");
        sv_add(&a, "--unshare-cgroup-try");
        sv_add(&a, "--hostname");
        sv_add(&a, "169.254.0.1");
        bind_system(&a);
        sv_add(&a, "--proc");
        sv_add(&a, "/proc");
        sv_add(&a, "--dev");
        sv_add(&a, "/dev");
        sv_add(&a, "--size");
        sv_addf(&a, "%" PRIu64, (uint64_t)(sp->ephemeral_mb > 0 ? sp->ephemeral_mb : 512) << 20);
        sv_add(&a, "--perms");
        sv_add(&a, "1777");
        sv_add(&a, "--tmpfs");
        sv_add(&a, "/tmp");
        /* Parents bubblewrap makes on its own are 0700: code running as
         * the sandbox user could not reach /var/task through them. */
        sv_add(&a, "--perms");
        sv_add(&a, "0755");
        sv_add(&a, "--dir");
        sv_add(&a, "/var");
        sv_add(&a, "--ro-bind");
        sv_add(&a, sp->code_dir);
        sv_add(&a, "/var/task");
        sv_add(&a, "--ro-bind");
        sv_add(&a, rt->runtime_dir);
        sv_add(&a, "/var/runtime");
        if (rt->node_sdk) {
            sv_add(&a, "--ro-bind");
            sv_add(&a, rt->node_sdk);
            sv_add(&a, "/var/runtime/node_modules");
            /* ES modules ignore NODE_PATH; they look in node_modules of
             * every parent of /var/task, so the SDK is found from
             * /var/node_modules without a resolve hook (which costs a
             * thread and tens of milliseconds at every cold start). */
            sv_add(&a, "--symlink");
            sv_add(&a, "/var/runtime/node_modules");
            sv_add(&a, "/var/node_modules");
        }
        if (sp->opt_dir) {
            sv_add(&a, "--ro-bind");
            sv_add(&a, sp->opt_dir);
            sv_add(&a, "/opt");
        } else {
            sv_add(&a, "--perms");
            sv_add(&a, "0755");
            sv_add(&a, "--dir");
            sv_add(&a, "/opt");
        }
        sv_add(&a, "--chdir");
        sv_add(&a, "/var/task");
        sv_add(&a, "--");
        if (geteuid() == 0) {
            /* AWS runs function code as an unprivileged user (sbx_user1051,
             * uid 993): no capabilities, no way back to root, so the host's
             * root-only files (/etc/shadow) stay closed and the shared
             * network namespace cannot be reconfigured. */
            sv_add(&a, "/usr/bin/setpriv");
            sv_add(&a, "--reuid=" LAMBDA_SANDBOX_UID);
            sv_add(&a, "--regid=" LAMBDA_SANDBOX_GID);
            sv_add(&a, "--clear-groups");
            sv_add(&a, "--inh-caps=-all");
            sv_add(&a, "--bounding-set=-all");
            sv_add(&a, "--no-new-privs");
            sv_add(&a, "--");
        }
    }
    for (size_t i = 0; i < cmd.n; i++)
        sv_add(&a, cmd.v[i]);
    rt__strv_free(cmd.v);

    /* The variables AWS sets
     * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
     * The user's come first: glibc's getenv takes the first, and the reserved
     * keys a user may not set were refused when the function was created. */
    strvec_t e = {0};
    for (size_t i = 0; i < sp->nenv; i++)
        sv_add(&e, sp->env[i]);
    log_stream_name(env, env->log_stream, sizeof env->log_stream);
    const char *stream = env->log_stream;
    sv_addf(&e, "AWS_LAMBDA_FUNCTION_NAME=%s", sp->function_name);
    sv_addf(&e, "AWS_LAMBDA_FUNCTION_VERSION=%s", sp->version);
    sv_addf(&e, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", sp->memory_mb);
    sv_addf(&e, "AWS_LAMBDA_LOG_GROUP_NAME=%s", sp->log_group);
    sv_addf(&e, "AWS_LAMBDA_LOG_STREAM_NAME=%s", stream);
    sv_addf(&e, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", env->api_port);
    sv_addf(&e, "AWS_LAMBDA_INITIALIZATION_TYPE=%s", env->provisioned ? "provisioned-concurrency" : "on-demand");
    sv_addf(&e, "AWS_REGION=%s", sp->region);
    sv_addf(&e, "AWS_DEFAULT_REGION=%s", sp->region);
    if (sp->handler)
        sv_addf(&e, "_HANDLER=%s", sp->handler);
    sv_addf(&e, "LAMBDA_TASK_ROOT=%s", task);
    sv_addf(&e, "LAMBDA_RUNTIME_DIR=%s", rtdir);
    if (!is_runtime(sp->runtime, "provided"))
        sv_addf(&e, "AWS_EXECUTION_ENV=AWS_Lambda_%s", sp->runtime);
    if (sp->log_format)
        sv_addf(&e, "AWS_LAMBDA_LOG_FORMAT=%s", sp->log_format);
    /* ApplicationLogLevel, which the runtimes' logging honours (python's
     * root logger, node's console methods); set only with the JSON format,
     * the one that has levels. */
    if (sp->app_log_level != LAMBDA_LOG_UNSET)
        sv_addf(&e, "AWS_LAMBDA_LOG_LEVEL=%s", rt__log_level_name(sp->app_log_level));
    sv_add(&e, "TZ=:UTC");
    sv_add(&e, "LANG=en_US.UTF-8");
    sv_add(&e, "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin");
    sv_addf(&e, "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:%s:%s/lib:%s:%s/lib:/opt/lib", rtdir, rtdir, task,
            task);
    if (sp->access_key_id) {
        sv_addf(&e, "AWS_ACCESS_KEY_ID=%s", sp->access_key_id);
        sv_addf(&e, "AWS_SECRET_ACCESS_KEY=%s", sp->secret_access_key);
        if (sp->session_token)
            sv_addf(&e, "AWS_SESSION_TOKEN=%s", sp->session_token);
    }
    /* The SDKs reach kyoka, not AWS (python's older botocore through the
     * bootstrap's sitecustomize). */
    sv_addf(&e, "AWS_ENDPOINT_URL=%s", rt->endpoint);
    if (is_runtime(sp->runtime, "python3")) {
        sv_addf(&e, "PYTHONPATH=%s", rtdir);
        sv_add(&e, "PYTHONUNBUFFERED=1");
        if (sp->debug_port)
            sv_addf(&e, "_KYOKA_DEBUG_PORT=%d", sp->debug_port);
    }
    if (is_runtime(sp->runtime, "nodejs"))
        sv_addf(&e, "NODE_PATH=/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:%s/node_modules:%s:%s", rtdir,
                rtdir, task);
    if (!sandboxed)
        sv_addf(&e, "TMPDIR=%s", env->dir);
    else if (geteuid() == 0)
        /* The sandbox user has no passwd entry here; without HOME, node's
         * os.homedir() throws and the SDK's config loading with it. */
        sv_add(&e, "HOME=/home/sbx_user1051");
    *argv_out = a.v;
    *envp_out = e.v;
    return 0;
}
