/*
 * Reading whole files into memory for the parsers, which then work on buffers (so the
 * same code serves files, fuzzers and tests). Errors name the path and carry errno.
 * Listing and removing the flat output directories of the report and the simulator.
 */
#include "common/common_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

int rp_x_read_file(char **out, size_t *len_out, const char *path, size_t max_len, rp_error *err)
{
    int rc = RP_OK;
    FILE *f = NULL;
    rp_x_buf b = RP_X_BUF_INIT;
    *out = NULL;
    *len_out = 0;

    f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot open file: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    for (;;) {
        char chunk[8192];
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n > 0) {
            if (max_len > 0 && n > max_len - b.len) {
                rc = rp_error_set_at(err, RP_EIO, path, 0, 0,
                                     "file is larger than the limit of %zu bytes", max_len);
                goto out;
            }
            if (rp_x_buf_append(&b, chunk, n) != RP_OK) {
                rc = rp_error_set(err, RP_ENOMEM, "out of memory reading file");
                goto out;
            }
        }
        if (n < sizeof(chunk)) {
            if (ferror(f)) {
                int e = errno;
                rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot read file: %s", strerror(e));
                rp_x_error_sys(err, e);
                goto out;
            }
            break;
        }
    }
    size_t len = b.len;
    char *data = rp_x_buf_detach(&b);
    if (!data) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory reading file");
        goto out;
    }
    *out = data;
    *len_out = len;
out:
    rp_x_buf_release(&b);
    if (f)
        fclose(f);
    return rc;
}

int rp_x_dir_list(rp_x_strvec *out, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return RP_EIO;
    int rc = RP_OK;
    for (struct dirent *e = readdir(d); e != NULL && rc == RP_OK; e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc = rp_x_strvec_push(out, e->d_name);
    }
    int saved = errno;
    closedir(d);
    errno = saved;
    return rc;
}

void rp_x_remove_flat_dir(const char *dir)
{
    rp_x_strvec names = RP_X_STRVEC_INIT;
    rp_x_buf path = RP_X_BUF_INIT;
    if (rp_x_dir_list(&names, dir) == RP_OK) {
        for (size_t i = 0; i < names.n; i++) {
            rp_x_buf_reset(&path);
            if (rp_x_buf_printf(&path, "%s/%s", dir, names.items[i]) == RP_OK)
                unlink(rp_x_buf_cstr(&path));
        }
    }
    rp_x_buf_release(&path);
    rp_x_strvec_release(&names);
    rmdir(dir);
}
