/*
 * The git state of a user's project, recorded with every run: the commit
 * HEAD names and whether the work tree has changes.
 *
 * Invariants: nothing here is ever an error for the caller. No repository,
 * an unborn branch, an unreadable ref or a missing git binary give "unknown"
 * (no commit, or a commit with an unknown dirty flag), never a failure, and
 * git's own output never reaches the caller's terminal.
 *
 * Why this design: the commit is read from .git directly (HEAD, then the
 * loose ref, then packed-refs; worktrees through their commondir), which
 * needs no git binary and costs a few small reads. Whether the tree is
 * dirty can only be answered by comparing it with the index, which is git's
 * job: `git status --porcelain` is run when git is installed, once per
 * store handle (track.c caches the answer), since a process that starts many
 * runs would otherwise pay for a status walk at each.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keel/track.h"
#include "core/common.h"

extern char **environ;

/* a, or a/b when b is not NULL, into buf; -1 when it does not fit. */
static int path_set(char *buf, size_t n, const char *a, const char *b)
{
    int w = b ? snprintf(buf, n, "%s/%s", a, b) : snprintf(buf, n, "%s", a);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* The first line of path (at most n - 1 bytes, newline dropped); 0 or -1. */
static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

/* Length of the object name s starts with (40 hex for SHA-1, 64 for SHA-256 repositories), or 0. */
static size_t oid_len(const char *s)
{
    size_t n = 0;
    while ((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))
        n++;
    return (n == 40 || n == 64) && (s[n] == '\0' || s[n] == ' ') ? n : 0;
}

static void oid_copy(char *commit, const char *s, size_t n)
{
    memcpy(commit, s, n);
    commit[n] = '\0';
}

/*
 * The git directory of the work tree holding dir (dir itself or a parent),
 * into gitdir, and the work tree's top into top; -1 when there is none.
 */
static int find_gitdir(const char *dir, char *gitdir, size_t n, char *top, size_t tn)
{
    char cur[PATH_MAX];
    if (!realpath(dir, cur))
        return -1;
    for (int depth = 0; depth < 256; depth++) {
        char p[PATH_MAX + 8];
        struct stat st;
        if (path_set(p, sizeof p, strcmp(cur, "/") ? cur : "", ".git") < 0)
            return -1;
        if (stat(p, &st) == 0) {
            if (path_set(top, tn, cur, NULL) < 0)
                return -1;
            if (S_ISDIR(st.st_mode))
                return path_set(gitdir, n, p, NULL);
            char line[PATH_MAX + 16]; /* a worktree or submodule: "gitdir: PATH" */
            if (read_line(p, line, sizeof line) < 0 || strncmp(line, "gitdir: ", 8) != 0)
                return -1;
            return line[8] == '/' ? path_set(gitdir, n, line + 8, NULL)
                                  : path_set(gitdir, n, cur, line + 8);
        }
        char *slash = strrchr(cur, '/');
        if (!slash || slash == cur) {
            if (strcmp(cur, "/") == 0)
                return -1;
            snprintf(cur, sizeof cur, "/");
        } else {
            *slash = '\0';
        }
    }
    return -1;
}

/* The commit refname points to, looked up loose then in packed-refs of dir. */
static int resolve_in(const char *dir, const char *ref, char *commit)
{
    char p[PATH_MAX * 2], line[512];
    size_t n;
    if (path_set(p, sizeof p, dir, ref) == 0 && read_line(p, line, sizeof line) == 0 && (n = oid_len(line)) && !line[n]) {
        oid_copy(commit, line, n);
        return 0;
    }
    FILE *f = path_set(p, sizeof p, dir, "packed-refs") == 0 ? fopen(p, "re") : NULL;
    if (!f)
        return -1;
    int rc = -1;
    size_t rl = strlen(ref);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '^' || !(n = oid_len(line)) || line[n] != ' ')
            continue;
        if (strlen(line + n + 1) == rl && memcmp(line + n + 1, ref, rl) == 0) {
            oid_copy(commit, line, n);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* The commit HEAD names, detached or through its branch; -1 when none. */
static int head_commit(const char *gitdir, char *commit)
{
    char common[PATH_MAX], line[512] = "", p[PATH_MAX + 16];
    /* A linked worktree names its main repository, where the shared refs live. */
    int linked = path_set(p, sizeof p, gitdir, "commondir") == 0 &&
                 read_line(p, line, sizeof line) == 0 && line[0];
    if ((linked ? path_set(common, sizeof common, line[0] == '/' ? line : gitdir,
                           line[0] == '/' ? NULL : line)
                : path_set(common, sizeof common, gitdir, NULL)) < 0 ||
        path_set(p, sizeof p, gitdir, "HEAD") < 0 || read_line(p, line, sizeof line) < 0)
        return -1;
    size_t n = oid_len(line);
    if (n && !line[n]) { /* detached */
        oid_copy(commit, line, n);
        return 0;
    }
    const char *ref = line + 5;
    if (strncmp(line, "ref: ", 5) != 0 || strstr(ref, "..") || ref[0] == '/')
        return -1;
    if (resolve_in(gitdir, ref, commit) == 0 || resolve_in(common, ref, commit) == 0)
        return 0;
    return -1; /* an unborn branch: no commit yet */
}

/* 1 when `git status --porcelain` in top prints anything, 0 when not, -1 when unknown. */
static int tree_dirty(const char *top)
{
    int fd[2];
    if (pipe2(fd, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"git", "-C", (char *)top, "status", "--porcelain", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (rc != 0) {
        close(fd[0]);
        return -1;
    }
    char buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return got > 0;
}

int kl_project_git(const char *project_dir, char commit[KL_GIT_COMMIT_LEN], int *dirty)
{
    char gitdir[PATH_MAX], top[PATH_MAX];
    commit[0] = '\0';
    *dirty = -1;
    if (!project_dir || find_gitdir(project_dir, gitdir, sizeof gitdir, top, sizeof top) < 0 ||
        head_commit(gitdir, commit) < 0) {
        commit[0] = '\0';
        return 0;
    }
    *dirty = tree_dirty(top);
    return 1;
}
