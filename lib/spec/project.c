/*
 * keel init: a project directory with keel.yaml and .keel/.
 *
 * The template is the spec module's commented kl_spec_template(); init puts
 * the user's values into it by replacing the value of a key on its line
 * (section "project", key "name" at two spaces of indent), so the comments
 * that explain each key stay. The result is loaded with the spec parser
 * before it is written: init never writes a keel.yaml that `keel spec check`
 * would reject. The file is written to a temporary name and renamed, so an
 * interrupted init leaves either no keel.yaml or a whole one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/project.h"
#include "keel/spec.h"
#include "core/common.h"

struct sub {
    const char *section, *key, *value;
};

/* Dynamic string with a hard cap: the template is a few KiB. */
struct buf {
    char *p;
    size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* A value written as a YAML double-quoted scalar, so any text is safe. */
static int add_quoted(struct buf *b, const char *v)
{
    if (buf_add(b, "\"", 1) < 0)
        return -1;
    for (const char *c = v; *c; c++) {
        char esc[8];
        size_t n;
        if (*c == '"' || *c == '\\')
            n = (size_t)snprintf(esc, sizeof esc, "\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", (unsigned char)*c);
        else {
            esc[0] = *c;
            n = 1;
        }
        if (buf_add(b, esc, n) < 0)
            return -1;
    }
    return buf_add(b, "\"", 1);
}

/*
 * Copy the template, replacing the value of each (section, key) line. A
 * section line starts in column 0 ("project:"); its keys are at two spaces.
 * The comment after a value is dropped with it.
 */
static int fill(const char *tpl, const struct sub *subs, size_t n_subs, struct buf *out,
                int *found, kl_err *err)
{
    char section[64] = "";
    const char *line = tpl;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        int replaced = 0;
        if (line[0] != ' ' && line[0] != '#' && line[0] != '\n') {
            const char *colon = memchr(line, ':', len);
            if (colon && (size_t)(colon - line) < sizeof section)
                snprintf(section, sizeof section, "%.*s", (int)(colon - line), line);
        } else if (len > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ' &&
                   line[2] != '#') {
            for (size_t i = 0; i < n_subs; i++) {
                size_t kl = strlen(subs[i].key);
                if (!subs[i].value || strcmp(section, subs[i].section) != 0 ||
                    strncmp(line + 2, subs[i].key, kl) != 0 || line[2 + kl] != ':')
                    continue;
                if (buf_add(out, line, 2 + kl + 1) < 0 || buf_add(out, " ", 1) < 0 ||
                    add_quoted(out, subs[i].value) < 0 || buf_add(out, "\n", 1) < 0)
                    return kl_err_set(err, KL_ENOMEM, "out of memory");
                found[i] = 1;
                replaced = 1;
                break;
            }
        }
        if (!replaced && buf_add(out, line, len) < 0)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        line += len;
    }
    for (size_t i = 0; i < n_subs; i++)
        if (subs[i].value && !found[i])
            return kl_err_set(err, KL_EPARSE, "the keel.yaml template has no '%s.%s' line to fill",
                              subs[i].section, subs[i].key);
    return 0;
}

static int mkdir_p(const char *dir, kl_err *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return kl_err_set(err, KL_EINVAL, "directory name too long");
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return kl_err_set(err, KL_EIO, "cannot create directory '%s': %s", path,
                                  strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return kl_err_set(err, KL_EIO, "'%s' is not a directory", path);
    return 0;
}

static int write_file(const char *path, const char *data, size_t n, kl_err *err)
{
    char tmp[4224];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return kl_err_set(err, KL_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return kl_err_set(err, KL_EIO, "cannot write '%s': %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return kl_err_set(err, KL_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

int kl_project_init(const char *dir, const kl_init_opts *opts, kl_err *err)
{
    kl_init_opts none = {0};
    if (!opts)
        opts = &none;
    char spec_path[4200], obj_dir[4200];
    snprintf(spec_path, sizeof spec_path, "%s/keel.yaml", dir);
    snprintf(obj_dir, sizeof obj_dir, "%s/.keel/objects", dir);
    if (!opts->force && access(spec_path, F_OK) == 0) {
        kl_err_set(err, KL_EEXIST, "keel.yaml already exists; use --force to overwrite it");
        kl_err_ctx(err, "%s", spec_path);
        return KL_EEXIST;
    }

    /* The project name defaults to the directory's base name. */
    char base[256];
    const char *name = opts->name;
    if (!name) {
        char abs[4096];
        const char *d = realpath(dir, abs) ? abs : dir;
        const char *slash = strrchr(d, '/');
        snprintf(base, sizeof base, "%.255s", slash && slash[1] ? slash + 1 : d);
        name = base[0] ? base : "project";
    }
    const struct sub subs[] = {
        {"project", "name", name},
        {"objective", "task", opts->task},
        {"objective", "target", opts->target},
        {"data", "source", opts->source},
    };
    int found[4] = {0};
    struct buf out = {0};
    int rc = fill(kl_spec_template(), subs, 4, &out, found, err);
    if (rc < 0) {
        free(out.p);
        return rc;
    }
    kl_spec *spec = NULL;
    if ((rc = kl_spec_load_buffer(out.p, out.len, "keel.yaml", &spec, err)) < 0) {
        free(out.p);
        return rc;
    }
    kl_spec_free(spec);
    if ((rc = mkdir_p(dir, err)) < 0 || (rc = mkdir_p(obj_dir, err)) < 0 ||
        (rc = write_file(spec_path, out.p, out.len, err)) < 0) {
        free(out.p);
        return rc;
    }
    free(out.p);
    return 0;
}
