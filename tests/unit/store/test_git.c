/*
 * The project's git state (lib/store/git.c): commits read from .git by
 * hand-built repositories (loose ref, packed-refs, detached HEAD, unborn
 * branch, a .git file), a real repository made with the git binary when it
 * is installed (the commit compared with `git rev-parse HEAD`, the dirty
 * flag with an edit), and runs recording it.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "keel/store.h"
#include "keel/track.h"

#define C1 "0123456789abcdef0123456789abcdef01234567"
#define C2 "89abcdef0123456789abcdef0123456789abcdef"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    char *dir = malloc(64);
    snprintf(dir, 64, "/tmp/keel-git-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static void put(const char *dir, const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) { /* parents */
        *s = '\0';
        mkdir(p, 0777);
        *s = '/';
    }
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_git_no_repository_is_no_commit(void **state)
{
    char commit[KL_GIT_COMMIT_LEN] = "x";
    int dirty = 5;
    assert_int_equal(kl_project_git(*state, commit, &dirty), 0);
    assert_string_equal(commit, "");
    assert_int_equal(dirty, -1);
}

static void test_git_loose_ref_from_a_subdirectory(void **state)
{
    const char *d = *state;
    put(d, ".git/HEAD", "ref: refs/heads/main\n");
    put(d, ".git/refs/heads/main", C1 "\n");
    put(d, "proj/keel.yaml", "");
    char sub[256], commit[KL_GIT_COMMIT_LEN];
    int dirty;
    snprintf(sub, sizeof sub, "%s/proj", d);
    assert_int_equal(kl_project_git(sub, commit, &dirty), 1);
    assert_string_equal(commit, C1);
}

static void test_git_packed_ref_and_detached_head(void **state)
{
    const char *d = *state;
    put(d, ".git/HEAD", "ref: refs/heads/dev\n");
    put(d, ".git/packed-refs", "# pack-refs with: peeled fully-peeled sorted\n" C1
                               " refs/heads/main\n" C2 " refs/heads/dev\n^" C1 "\n");
    char commit[KL_GIT_COMMIT_LEN];
    int dirty;
    assert_int_equal(kl_project_git(d, commit, &dirty), 1);
    assert_string_equal(commit, C2);
    put(d, ".git/HEAD", C1 "\n");
    assert_int_equal(kl_project_git(d, commit, &dirty), 1);
    assert_string_equal(commit, C1);
}

static void test_git_unborn_branch_is_no_commit(void **state)
{
    const char *d = *state;
    put(d, ".git/HEAD", "ref: refs/heads/main\n");
    char commit[KL_GIT_COMMIT_LEN];
    int dirty;
    assert_int_equal(kl_project_git(d, commit, &dirty), 0);
    assert_string_equal(commit, "");
}

static void test_git_dot_git_file_points_to_the_repository(void **state)
{
    const char *d = *state;
    char text[256];
    snprintf(text, sizeof text, "gitdir: %s/real.git\n", d);
    put(d, "wt/.git", text);
    put(d, "real.git/HEAD", "ref: refs/heads/main\n");
    put(d, "real.git/refs/heads/main", C2 "\n");
    char wt[256], commit[KL_GIT_COMMIT_LEN];
    int dirty;
    snprintf(wt, sizeof wt, "%s/wt", d);
    assert_int_equal(kl_project_git(wt, commit, &dirty), 1);
    assert_string_equal(commit, C2);
}

/* Run the shell command pre + dir + post; its output into out when not NULL. */
static int sh(const char *pre, const char *dir, const char *post, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s%s%s", pre, dir, post);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t got = out ? fread(out, 1, n - 1, p) : 0;
    if (out)
        out[got] = '\0';
    return pclose(p);
}

static void test_git_real_repository_commit_and_dirty_flag(void **state)
{
    const char *d = *state;
    if (sh("git --version >/dev/null 2>&1", "", "", NULL, 0) != 0)
        skip();
    assert_int_equal(sh("cd ", d,
                        " && git init -q . && git config user.email t@t && git config "
                        "user.name t && echo a > a.txt && git add a.txt && git commit -qm a",
                        NULL, 0),
                     0);
    char want[128], commit[KL_GIT_COMMIT_LEN];
    int dirty = -2;
    assert_int_equal(sh("git -C ", d, " rev-parse HEAD", want, sizeof want), 0);
    want[strcspn(want, "\n")] = '\0';
    assert_int_equal(kl_project_git(d, commit, &dirty), 1);
    assert_string_equal(commit, want);
    assert_int_equal(dirty, 0);
    put(d, "a.txt", "changed\n");
    assert_int_equal(kl_project_git(d, commit, &dirty), 1);
    assert_int_equal(dirty, 1);

    /* A run started in this project records both (the store's own files are not yet ignored). */
    kl_err err = {0};
    kl_store *s = NULL;
    kl_run *r = NULL;
    unsetenv("KEEL_STORE");
    assert_int_equal(kl_store_open(d, NULL, &s, &err), 0);
    assert_int_equal(kl_run_start(s, NULL, &r, &err), 0);
    assert_int_equal(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), 0);
    kl_run_list l = {0};
    assert_int_equal(kl_store_runs(s, NULL, &l, &err), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].git_commit, want);
    assert_int_equal(l.items[0].git_dirty, 1);
    kl_run_list_release(&l);
    kl_store_close(s);
}

static void test_git_run_outside_a_repository_records_null(void **state)
{
    kl_err err = {0};
    kl_store *s = NULL;
    kl_run *r = NULL;
    unsetenv("KEEL_STORE");
    assert_int_equal(kl_store_open(*state, NULL, &s, &err), 0);
    assert_int_equal(kl_run_start(s, NULL, &r, &err), 0);
    assert_int_equal(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), 0);
    kl_run_list l = {0};
    assert_int_equal(kl_store_runs(s, NULL, &l, &err), 0);
    assert_null(l.items[0].git_commit);
    assert_int_equal(l.items[0].git_dirty, -1);
    kl_run_list_release(&l);
    kl_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_git_no_repository_is_no_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_loose_ref_from_a_subdirectory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_packed_ref_and_detached_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_unborn_branch_is_no_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_dot_git_file_points_to_the_repository, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_git_real_repository_commit_and_dirty_flag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_git_run_outside_a_repository_records_null, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
