/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration file (sipauthmon.conf(5)), read with libinih: "key =
 * value" lines, optionally under [sipauthmon], with a trailing "# comment"
 * allowed (strip_comment()), then the drop-ins FILE.d/\*.conf.
 * The command line was parsed first and remembers which settings it made;
 * the file fills in only what it left alone, but every line is still
 * validated, so that a broken file is reported even when the command line
 * overrides it.
 */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "credentials_file.h"
#include "error.h"
#include "macro.h"
#include "options_internal.h"

typedef struct {
        Options *o;
        unsigned cli_set;
        unsigned cli_tune; /* Tunable bits given on the command line */
        const char *path;
        FILE *f;
        unsigned lineno;   /* line most recently handed to inih */
        unsigned err_line; /* 0 = no error recorded */
        int err_code;
        char err[OPTIONS_ERR_MAX];
        unsigned input_line; /* line of the interface/read key, for conflicts */
        InputKind input;
        char *input_value;
        bool read_error;
        int read_errno;
} ConfigCtx;

static void config_ctx_done(ConfigCtx *c)
{
        if (c->f)
                fclose(c->f);
        free(c->input_value);
}

/*
 * What a handler returns to inih for r: 1 (go on), or 0 with the error
 * recorded at the current line; its message is in c->err already. The
 * first error is the one reported: nothing is read after it.
 */
static int cfg_result(ConfigCtx *c, int r)
{
        if (r >= 0)
                return 1;
        c->err_line = c->lineno;
        c->err_code = r;
        return 0;
}

/*
 * fgets-style reader for inih that (a) counts lines so the handler knows
 * where it is, (b) refuses over-long lines instead of letting inih split them
 * into two "lines", (c) refuses NUL bytes, and (d) strips leading blanks so
 * that an indented line is never taken as a continuation of the previous
 * value (inih's multi-line mode would otherwise silently append it).
 */
static char *cfg_reader(char *str, int num, void *stream)
{
        ConfigCtx *c = stream;
        int len = 0, ch;
        bool leading = true, any = false;

        if (c->err_line || num < 2)
                return NULL;
        c->lineno++;
        while ((ch = getc(c->f)) != EOF) {
                any = true;
                if (ch == '\n')
                        break;
                if (ch == '\0') {
                        cfg_result(c,
                                   error_set(c->err, sizeof(c->err), -EINVAL, "NUL byte in line"));
                        return NULL;
                }
                if (leading && (ch == ' ' || ch == '\t'))
                        continue;
                leading = false;
                if (len >= num - 2) {
                        cfg_result(c, error_set(c->err, sizeof(c->err), -EINVAL,
                                                "line too long (at most %d characters)", num - 2));
                        return NULL;
                }
                str[len++] = (char)ch;
        }
        if (ch == EOF && ferror(c->f)) {
                c->read_error = true;
                c->read_errno = errno;
                return NULL;
        }
        if (!any)
                return NULL;
        str[len++] = '\n';
        str[len] = '\0';
        return str;
}

/* interface/read: remembered here, applied after the whole file (load_one()). */
static int cfg_input(ConfigCtx *c, const char *name, const char *value)
{
        InputKind k = name[0] == 'i' ? INPUT_LIVE : INPUT_FILE;

        if (value[0] == '\0')
                return cfg_result(
                    c, error_set(c->err, sizeof(c->err), -EINVAL, "%s: empty value", name));
        if (c->input != INPUT_NONE && c->input != k)
                return cfg_result(c, error_set(c->err, sizeof(c->err), -EINVAL,
                                               "'interface' and 'read' cannot both be set (see "
                                               "line %u)",
                                               c->input_line));
        c->input = k;
        c->input_line = c->lineno;
        return cfg_result(c, options_set_str(&c->input_value, value, c->err, sizeof(c->err)));
}

static int cfg_path(ConfigCtx *c, const char *name, unsigned which, const char *value)
{
        /* An empty filter is allowed: capture everything. */
        if (which == SET_CREDENTIALS && value[0] == '\0')
                return cfg_result(
                    c, error_set(c->err, sizeof(c->err), -EINVAL, "%s: empty value", name));
        if (c->cli_set & which)
                return 1;
        return cfg_result(c,
                          options_set_str(which == SET_FILTER ? &c->o->filter : &c->o->credentials,
                                          value, c->err, sizeof(c->err)));
}

static bool parse_bool(const char *v, bool *out)
{
        static const char *const yes[] = {"1", "yes", "true", "on"};
        static const char *const no[] = {"0", "no", "false", "off"};

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *out = true;
                        return true;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *out = false;
                        return true;
                }
        }
        return false;
}

static int cfg_bool(ConfigCtx *c, const char *name, unsigned which, const char *value)
{
        char e[96];
        bool b;

        if (!parse_bool(value, &b))
                return cfg_result(c, error_set(c->err, sizeof(c->err), -EINVAL,
                                               "%s: invalid value '%s' (expected yes or no)", name,
                                               options_esc(value, e, sizeof(e))));
        if (c->cli_set & which)
                return 1;
        if (which != SET_VERBOSITY) {
                *(which == SET_STATS ? &c->o->stats : &c->o->hep_in_capture) = b;
                return 1;
        }
        /* verbose and quiet are one setting (-v, -q): the later key wins. */
        if (name[0] == 'v') {
                c->o->verbose = b ? 1 : 0;
                c->o->quiet = c->o->quiet && !b;
        } else {
                c->o->quiet = b;
                c->o->verbose = b ? 0 : c->o->verbose;
        }
        return 1;
}

/*
 * A trailing comment: '#' or ';' at the start of the value or after a blank
 * begins one, and the blanks before it go too. inih removes "  ;" comments
 * itself only when built with INI_ALLOW_INLINE_COMMENTS (Debian's is, with
 * ';' alone as INI_INLINE_COMMENT_PREFIXES); doing it here makes the file
 * mean the same with any build. A value may hold '#' or ';' ("a#b"), but
 * not after a blank: no key takes such a value but hep_auth_key, which
 * then has to do without.
 */
static void strip_comment(char *v)
{
        size_t len;

        for (char *p = v; *p; p++)
                if ((*p == '#' || *p == ';') && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
                        *p = '\0';
                        break;
                }
        len = strlen(v);
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                v[--len] = '\0';
}

/* hep_listen, and where it was set: a later check across keys names that line. */
static int cfg_hep_listen(ConfigCtx *c, const char *name, const char *value, bool apply)
{
        char e[256];
        int r;

        r = options_set_string(c->o, SET_HEP_LISTEN, name, value, apply, c->err, sizeof(c->err));
        if (r < 0 || !apply)
                return cfg_result(c, r);
        free(c->o->hep_listen_at);
        if (asprintf(&c->o->hep_listen_at, "%s:%u", options_esc(c->path, e, sizeof(e)), c->lineno) <
            0) {
                c->o->hep_listen_at = NULL; /* undefined after a failure */
                return cfg_result(c, error_set(c->err, sizeof(c->err), -ENOMEM, "out of memory"));
        }
        return 1;
}

/* ladder = yes | no | auto (the default: text output on a terminal). */
static int cfg_ladder(ConfigCtx *c, const char *name, const char *value, bool apply)
{
        char e[96];
        bool b;

        if (strcasecmp(value, "auto") == 0) {
                if (apply)
                        c->o->ladder = -1;
                return 1;
        }
        if (!parse_bool(value, &b))
                return cfg_result(c, error_set(c->err, sizeof(c->err), -EINVAL,
                                               "%s: invalid value '%s' (expected yes, no or auto)",
                                               name, options_esc(value, e, sizeof(e))));
        if (apply)
                c->o->ladder = b;
        return 1;
}

/* An unknown key: what is allowed, and the nearest key when one is close. */
static int cfg_unknown_key(ConfigCtx *c, const char *name)
{
        const char *near = options_key_suggest(name);
        char e[96];

        if (near)
                return cfg_result(c, error_set(c->err, sizeof(c->err), -EINVAL,
                                               "unknown key '%s' (did you mean '%s'? the keys are "
                                               "listed in sipauthmon.conf(5))",
                                               options_esc(name, e, sizeof(e)), near));
        return cfg_result(c, error_set(c->err, sizeof(c->err), -EINVAL,
                                       "unknown key '%s' (the keys are listed in "
                                       "sipauthmon.conf(5))",
                                       options_esc(name, e, sizeof(e))));
}

/* The handler's copy of a value, which may be a secret (hep_auth_key): wiped. */
static void value_wipe(char **v)
{
        if (*v) {
                explicit_bzero(*v, strlen(*v));
                free(*v);
        }
}

static int cfg_handler(void *user, const char *section, const char *name, const char *raw)
{
        ConfigCtx *c = user;
        _cleanup_(value_wipe) char *value = NULL;
        unsigned which;
        bool apply;
        char e[96];

        if (c->err_line)
                return 0;
        if (section[0] != '\0' && strcmp(section, "sipauthmon") != 0)
                return cfg_result(c, error_set(c->err, sizeof(c->err), -EINVAL,
                                               "unknown section '[%s]' (the only section is "
                                               "[sipauthmon], which may be left out)",
                                               options_esc(section, e, sizeof(e))));
        value = strdup(raw);
        if (!value)
                return cfg_result(c, error_set(c->err, sizeof(c->err), -ENOMEM, "out of memory"));
        strip_comment(value);

        which = options_key_setting(name);
        apply = !(c->cli_set & which);
        switch (which) {
        case 0:
                break; /* a tunable, or unknown */
        case SET_INPUT:
                return cfg_input(c, name, value);
        case SET_FILTER:
        case SET_CREDENTIALS:
                return cfg_path(c, name, which, value);
        case SET_STATS:
        case SET_HEP_IN_CAPTURE:
        case SET_VERBOSITY:
                return cfg_bool(c, name, which, value);
        case SET_PARSER:
        case SET_THRESHOLD:
        case SET_WINDOW:
        case SET_DURATION:
        case SET_COUNT:
        case SET_OUTPUT:
        case SET_HEP_ID:
        case SET_WORKERS:
                return cfg_result(
                    c, options_set_value(c->o, which, name, value, apply, c->err, sizeof(c->err)));
        case SET_HEP_LISTEN:
                return cfg_hep_listen(c, name, value, apply);
        case SET_LADDER:
                return cfg_ladder(c, name, value, apply);
        default:
                return cfg_result(
                    c, options_set_string(c->o, which, name, value, apply, c->err, sizeof(c->err)));
        }
        for (unsigned t = 0; t < TUNE__MAX; t++) {
                if (strcmp(name, options_tunable_key((Tunable)t)) != 0)
                        continue;
                return cfg_result(c, options_set_tunable(c->o, (Tunable)t, name, value,
                                                         !(c->cli_tune & (1u << t)), c->err,
                                                         sizeof(c->err)));
        }
        return cfg_unknown_key(c, name);
}

static int load_one(Options *o, unsigned cli_set, unsigned cli_tune, const char *path,
                    bool required, char *err, size_t n)
{
        _cleanup_(config_ctx_done)
            ConfigCtx c = {.o = o, .cli_set = cli_set, .cli_tune = cli_tune, .path = path};
        char e[256];
        int r;

        c.f = fopen(path, "re");
        if (!c.f) {
                if (errno == ENOENT && !required)
                        return 0;
                r = -errno;
                return error_set(err, n, r, "%s: %s", options_esc(path, e, sizeof(e)),
                                 strerror(-r));
        }

        r = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);

        if (c.read_error) {
                r = c.read_errno > 0 ? -c.read_errno : -EIO;
                return error_set(err, n, r, "%s: %s", options_esc(path, e, sizeof(e)),
                                 strerror(-r));
        }
        /* inih reports the first line it found fault with; ours may be later. */
        if (r > 0 && (!c.err_line || (unsigned)r < c.err_line))
                return error_set(err, n, -EINVAL,
                                 "%s:%d: syntax error (expected 'key = value' or '[sipauthmon]')",
                                 options_esc(path, e, sizeof(e)), r);
        if (c.err_line)
                return error_set(err, n, c.err_code, "%s:%u: %s", options_esc(path, e, sizeof(e)),
                                 c.err_line, c.err);
        if (r < 0)
                return error_set(err, n, -ENOMEM, "%s: out of memory",
                                 options_esc(path, e, sizeof(e)));

        if (c.input != INPUT_NONE && !(cli_set & SET_INPUT)) {
                o->input = c.input;
                free(o->source);
                o->source = TAKE_PTR(c.input_value);
        }
        return 0;
}

static int load_dropin(Options *o, unsigned cli_set, unsigned cli_tune, const char *dir,
                       const char *name, char *err, size_t n)
{
        _cleanup_free_ char *file = NULL;

        if (asprintf(&file, "%s/%s", dir, name) < 0) {
                file = NULL; /* undefined after a failure */
                return error_set(err, n, -ENOMEM, "out of memory");
        }
        /* Listed a moment ago: a vanished file is an error now. */
        return load_one(o, cli_set, cli_tune, file, true, err, n);
}

/*
 * The main file, then FILE.d/\*.conf in lexical (C locale, alphasort) order:
 * the systemd convention, so that a package or an admin can add a file
 * instead of editing the main one. An absent main file is skipped (when not
 * required); the drop-ins are read all the same.
 */
static int dropin_filter(const struct dirent *d)
{
        size_t len = strlen(d->d_name);

        return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".conf") == 0;
}

int config_file_load(Options *o, unsigned cli_set, unsigned cli_tune, const char *path,
                     bool required, char *err, size_t n)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        char e[256];
        int r, k;

        r = load_one(o, cli_set, cli_tune, path, required, err, n);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s.d", path) < 0) {
                dir = NULL; /* undefined after a failure */
                return error_set(err, n, -ENOMEM, "out of memory");
        }
        k = scandir(dir, &list, dropin_filter, alphasort);
        if (k < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                r = -errno;
                return error_set(err, n, r, "%s: %s", options_esc(dir, e, sizeof(e)), strerror(-r));
        }
        for (int i = 0; i < k; i++) {
                if (r == 0)
                        r = load_dropin(o, cli_set, cli_tune, dir, list[i]->d_name, err, n);
                free(list[i]);
        }
        free(list);
        return r;
}

int config_file_check(const Options *o, const char *default_config, char *err, size_t n)
{
        _cleanup_(credstore_freep) CredStore *store = NULL;
        char e[256];
        int r;

        if (o->credentials) {
                r = credentials_file_load(o->credentials, &store, err, n);
                if (r < 0)
                        return r;
        }
        /* An absent default file is no error (the built-in defaults apply), but say so. */
        if (!o->config && default_config && access(default_config, F_OK) < 0 && errno == ENOENT)
                return error_set(err, n, 1, "%s: no such file; the built-in defaults apply",
                                 options_esc(default_config, e, sizeof(e)));
        return 0;
}
