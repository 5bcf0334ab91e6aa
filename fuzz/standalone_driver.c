/*
 * Standalone replacement for libFuzzer's main() (libgit2 USE_STANDALONE_FUZZERS,
 * libssh fuzzer.c): feeds each file argument, or every file in a directory argument,
 * to LLVMFuzzerTestOneInput once. Plain and gcc builds link it so that CTest replays
 * each fuzz/corpus/<name>/ as a regression test (label fuzz-regress).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time setup of a target; weak so that targets may leave it out. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Run one input. The buffer is exactly the file's size (a separate malloc, not
 * rp_malloc: the driver is not part of the library and must not disturb its counters),
 * so a target reading past the end trips ASan in sanitizer builds.
 */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "standalone_driver: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    uint8_t *data = NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        rc = -1;
        goto out;
    }
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = -1;
        goto out;
    }
    data = malloc(size > 0 ? (size_t)size : 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        rc = -1;
        goto out;
    }
    LLVMFuzzerTestOneInput(data, (size_t)size);
out:
    if (rc != 0)
        fprintf(stderr, "standalone_driver: cannot read '%s'\n", path);
    free(data);
    fclose(f);
    return rc;
}

/* Skip ".", "..", hidden files and editor leftovers in corpus directories. */
static int wanted(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Run every regular file of @p dir in name order; *count grows by the inputs run. */
static int run_dir(const char *dir, size_t *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, wanted, alphasort);
    if (n < 0) {
        fprintf(stderr, "standalone_driver: cannot list '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (rc == 0 && len > 0 && (size_t)len < sizeof(path) && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            if (run_file(path) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "standalone_driver: '%s': %s\n", argv[i], strerror(errno));
            return 1;
        }
        int rc = 0;
        if (S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else {
            rc = run_file(argv[i]);
            if (rc == 0)
                count++;
        }
        if (rc != 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "standalone_driver: no inputs found\n");
        return 1;
    }
    printf("%s: %zu inputs ran without a crash\n", argv[0], count);
    return 0;
}
