/* Start-up time and idle memory of a server: exec it, poll its health URL
 * until the first answer, report the time from exec to that answer, then its
 * resident set size while idle. Repeats N times and prints the median.
 *
 * The server is launched with posix_spawn, and "{PORT}" in its arguments is
 * replaced by a free port chosen here.
 * usage: startup_bench N [--port P] [--path /health] -- command args... */
#include "core/core.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static bool health_ok(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return false;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
    bool ok = write(fd, req, (size_t)n) == n;
    char resp[64] = "";
    ok = ok && read(fd, resp, sizeof resp - 1) > 12;
    close(fd);
    return ok && strncmp(resp + 9, "200", 3) == 0;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A port nobody listens on now: the kernel's pick for port 0. (A run used
 * to compute one, found it busy and waited out its time limit.) */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: startup_bench N [--port P] [--path /health] -- cmd args...\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    int port = 0;
    const char *path = "/_kyoka/health";
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--path") == 0)
            path = argv[++i];
    }
    char **cmd = argv + i + 1;
    double ms[64];
    long rss = 0;
    if (runs > 64)
        runs = 64;
    for (int r = 0; r < runs; r++) {
        int p = port ? port : free_port();
        if (p <= 0) {
            fprintf(stderr, "startup_bench: no free port on 127.0.0.1\n");
            return 1;
        }
        char portarg[16];
        snprintf(portarg, sizeof portarg, "%d", p);
        /* posix_spawn (vfork underneath) as launchers and Python's
         * subprocess do: a plain fork() of this process costs the VM a few
         * milliseconds of page-table copying that is not the server's. */
        char **argvp = xcalloc(64, sizeof *argvp);
        for (int a = 0; cmd[a] && a < 63; a++)
            argvp[a] = strcmp(cmd[a], "{PORT}") == 0 ? portarg : cmd[a];
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        uint64_t t0 = kyoka_mono_us();
        pid_t pid;
        if (posix_spawnp(&pid, argvp[0], &fa, NULL, argvp, environ) != 0) {
            fprintf(stderr, "startup_bench: cannot start %s\n", argvp[0]);
            return 1;
        }
        posix_spawn_file_actions_destroy(&fa);
        free(argvp);
        while (!health_ok(p, path)) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                fprintf(stderr, "startup_bench: the server exited at once (status %d) before answering on port %d\n",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1, p);
                return 1;
            }
            if (kyoka_mono_us() - t0 > 30000000u) {
                fprintf(stderr, "startup_bench: no answer within 30 s\n");
                kill(pid, SIGKILL);
                return 1;
            }
            usleep(200);
        }
        ms[r] = (double)(kyoka_mono_us() - t0) / 1000.0;
        usleep(300000);
        rss = rss_kib(pid);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
    printf("startup_ms_median=%.2f startup_ms_min=%.2f idle_rss_kib=%ld runs=%d\n", ms[runs / 2], ms[0], rss, runs);
    return 0;
}
