/*
 * Sealed files: a file encrypted to the hub's public key so that only the hub reads a
 * submission in transit and at rest. Layout: the magic "RPSEAL1\n"; a crypto_box_seal
 * of a fresh secretstream key and header (104 bytes); then the content in
 * crypto_secretstream_xchacha20poly1305 chunks of 64 KiB plaintext, the last tagged
 * FINAL, so that altered, reordered, dropped or truncated chunks are all detected.
 * Also here: the temporary-file-then-rename output that submission.c shares. The hub
 * key files are read by keys.c (rp_encode__read_hub_public/_secret).
 */
#include "encode/encode_int.h"
#include "encode/submission_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== constants ==== */

#define SS_KEYBYTES    crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SS_HEADERBYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SS_ABYTES      crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define SS_TAG_FINAL   crypto_secretstream_xchacha20poly1305_TAG_FINAL

/* The sealed key block: crypto_box_seal of key || header. */
#define KEYBLOCK_PLAIN  (SS_KEYBYTES + SS_HEADERBYTES)
#define KEYBLOCK_SEALED (KEYBLOCK_PLAIN + crypto_box_SEALBYTES)

/* Ciphertext bytes of a full chunk. */
#define CHUNK_SEALED (RP_SEAL_CHUNK + SS_ABYTES)

static int sodium_ready(rp_error *err)
{
    if (!rp_encode__sodium_ready()) {
        rp_error_set(err, RP_EINTERNAL, "cannot initialise libsodium");
        return RP_EINTERNAL;
    }
    return RP_OK;
}

bool rp_encode__is_sealed(const void *data, size_t len)
{
    return len >= RP_SEAL_MAGIC_LEN && memcmp(data, RP_SEAL_MAGIC, RP_SEAL_MAGIC_LEN) == 0;
}

/* ==== output through a temporary file ==== */

int rp_encode__out_open(rp_encode__outfile *o, const char *path, rp_error *err)
{
    int rc = RP_OK;
    int fd = -1;
    o->f = NULL;
    o->tmp = NULL;
    o->path = NULL;
    if (path == NULL || path[0] == '\0') {
        rp_error_set(err, RP_EINVAL, "no output path given");
        return RP_EINVAL; /* a constant, so that the analyser sees o set on RP_OK */
    }
    static const char suffix[] = ".tmp.XXXXXX";
    size_t n = strlen(path);
    o->path = rp_strdup(path);
    o->tmp = rp_malloc(n + sizeof(suffix));
    if (o->path == NULL || o->tmp == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, suffix, sizeof(suffix));
    fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0,
                             "cannot create a temporary file next to it: %s", strerror(e));
        rp_x_error_sys(err, e);
        o->tmp[0] = '\0'; /* nothing to remove */
        goto out;
    }
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot set mode 0600: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    o->f = fdopen(fd, "wb");
    if (o->f == NULL) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot open the temporary file: %s",
                             strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    fd = -1; /* owned by o->f now */
out:
    if (fd >= 0)
        close(fd);
    if (rc != RP_OK)
        rp_encode__out_abort(o);
    return rc;
}

void rp_encode__out_abort(rp_encode__outfile *o)
{
    if (o == NULL)
        return;
    if (o->f != NULL)
        fclose(o->f);
    if (o->tmp != NULL && o->tmp[0] != '\0')
        unlink(o->tmp);
    rp_free(o->tmp);
    rp_free(o->path);
    o->f = NULL;
    o->tmp = NULL;
    o->path = NULL;
}

/* fsync the directory holding @p path so that the rename is durable (best effort). */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? rp_strdup(".")
                              : rp_x_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir == NULL)
        return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    rp_free(dir);
}

int rp_encode__out_commit(rp_encode__outfile *o, rp_error *err)
{
    int rc = RP_OK;
    if (fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, o->path, 0, 0, "cannot write: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, o->path, 0, 0, "cannot close: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    if (rename(o->tmp, o->path) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, o->path, 0, 0, "cannot rename the temporary file: %s",
                             strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    o->tmp[0] = '\0'; /* renamed: nothing to remove */
    sync_dir(o->path);
out:
    rp_encode__out_abort(o);
    return rc;
}

/* ==== sealing ==== */

int rp_seal_file(const char *in_path, const char *out_path, const char *hub_pub_path, rp_error *err)
{
    int rc = RP_OK;
    FILE *in = NULL;
    rp_encode__outfile o = {NULL, NULL, NULL};
    unsigned char *plain = NULL; /* RP_SEAL_CHUNK bytes */
    unsigned char *cipher = NULL;
    unsigned char *keyblock = NULL; /* guarded: key || header */
    crypto_secretstream_xchacha20poly1305_state *st = NULL;
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    unsigned char sealed[KEYBLOCK_SEALED];

    if (in_path == NULL || out_path == NULL || hub_pub_path == NULL)
        return rp_error_set(err, RP_EINVAL, "input, output and hub public key paths are required");
    rc = sodium_ready(err);
    if (rc != RP_OK)
        return rc;
    rc = rp_encode__read_hub_public(hub_pub_path, pk, err);
    if (rc != RP_OK)
        return rc;

    in = fopen(in_path, "rb");
    if (in == NULL) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, in_path, 0, 0, "cannot open file: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    plain = rp_malloc(RP_SEAL_CHUNK);
    cipher = rp_malloc(CHUNK_SEALED);
    keyblock = sodium_malloc(KEYBLOCK_PLAIN);
    st = sodium_malloc(sizeof(*st));
    if (plain == NULL || cipher == NULL || keyblock == NULL || st == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    crypto_secretstream_xchacha20poly1305_keygen(keyblock);
    if (crypto_secretstream_xchacha20poly1305_init_push(st, keyblock + SS_KEYBYTES, keyblock) !=
            0 ||
        crypto_box_seal(sealed, keyblock, KEYBLOCK_PLAIN, pk) != 0) {
        rc = rp_error_set(err, RP_EINTERNAL, "cannot start the sealed stream");
        goto out;
    }
    sodium_memzero(keyblock, KEYBLOCK_PLAIN);

    rc = rp_encode__out_open(&o, out_path, err);
    if (rc != RP_OK)
        goto out;
    if (fwrite(RP_SEAL_MAGIC, 1, RP_SEAL_MAGIC_LEN, o.f) != RP_SEAL_MAGIC_LEN ||
        fwrite(sealed, 1, sizeof(sealed), o.f) != sizeof(sealed)) {
        rc = rp_error_set_at(err, RP_EIO, out_path, 0, 0, "cannot write: %s", strerror(errno));
        goto out;
    }
    /*
     * A short read means the end of the input (or an error, checked first): that chunk
     * is the FINAL one. An input of a whole number of chunks ends with an empty FINAL.
     */
    for (;;) {
        size_t n = fread(plain, 1, RP_SEAL_CHUNK, in);
        if (ferror(in)) {
            int e = errno;
            rc = rp_error_set_at(err, RP_EIO, in_path, 0, 0, "cannot read file: %s", strerror(e));
            rp_x_error_sys(err, e);
            goto out;
        }
        bool last = n < RP_SEAL_CHUNK;
        unsigned long long clen = 0;
        if (crypto_secretstream_xchacha20poly1305_push(st, cipher, &clen, plain, n, NULL, 0,
                                                       last ? SS_TAG_FINAL : SS_TAG_MESSAGE) != 0) {
            rc = rp_error_set(err, RP_EINTERNAL, "cannot encrypt a chunk");
            goto out;
        }
        if (fwrite(cipher, 1, (size_t)clen, o.f) != (size_t)clen) {
            rc = rp_error_set_at(err, RP_EIO, out_path, 0, 0, "cannot write: %s", strerror(errno));
            goto out;
        }
        if (last)
            break;
    }
    rc = rp_encode__out_commit(&o, err);
out:
    rp_encode__out_abort(&o);
    if (in != NULL)
        fclose(in);
    if (plain != NULL)
        sodium_memzero(plain, RP_SEAL_CHUNK);
    rp_free(plain);
    rp_free(cipher);
    sodium_free(keyblock); /* wipes */
    sodium_free(st);
    return rc;
}

/* ==== unsealing ==== */

struct rp_encode__unsealer {
    FILE *in;                                        /* borrowed */
    crypto_secretstream_xchacha20poly1305_state *st; /* guarded */
    unsigned char *cipher;                           /* CHUNK_SEALED bytes */
    unsigned long chunk;                             /* chunks decrypted so far */
    bool done;                                       /* FINAL seen and verified */
    char path[256];                                  /* for messages */
};

void rp_encode__unseal_free(rp_encode__unsealer *u)
{
    if (u == NULL)
        return;
    sodium_free(u->st); /* wipes the stream state, key included */
    rp_free(u->cipher);
    rp_free(u);
}

int rp_encode__unseal_open(
    rp_encode__unsealer **out, FILE *in, const char *path, const char *hub_key_path, rp_error *err)
{
    int rc = RP_OK;
    rp_encode__unsealer *u = NULL;
    unsigned char *secret = NULL; /* guarded: sk, then key || header */
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    unsigned char head[RP_SEAL_MAGIC_LEN + KEYBLOCK_SEALED];
    *out = NULL;

    rc = sodium_ready(err);
    if (rc != RP_OK)
        return rc;
    if (hub_key_path == NULL) {
        rp_error_set_at(err, RP_EPERM, path, 0, 0,
                        "file is sealed: the hub's secret key file is needed to open it");
        return RP_EPERM;
    }
    u = rp_calloc(1, sizeof(*u));
    if (u == NULL) {
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM; /* a constant, so that the analyser sees *out set on RP_OK */
    }
    u->in = in;
    rp_x_strlcpy(u->path, path != NULL ? path : "", sizeof(u->path));
    u->cipher = rp_malloc(CHUNK_SEALED);
    u->st = sodium_malloc(sizeof(*u->st));
    secret = sodium_malloc(crypto_box_SECRETKEYBYTES + KEYBLOCK_PLAIN);
    if (u->cipher == NULL || u->st == NULL || secret == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    size_t n = fread(head, 1, sizeof(head), in);
    if (ferror(in)) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, u->path, 0, 0, "cannot read file: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    if (!rp_encode__is_sealed(head, n)) {
        rc = rp_error_set_at(err, RP_EPARSE, u->path, 0, 0, "not a sealed file (no RPSEAL1 magic)");
        goto out;
    }
    if (n < sizeof(head)) {
        rc = rp_error_set_at(err, RP_EPERM, u->path, 0, 0, "sealed file is truncated");
        goto out;
    }
    rc = rp_encode__read_hub_secret(hub_key_path, pk, secret, err);
    if (rc != RP_OK)
        goto out;
    unsigned char *keyblock = secret + crypto_box_SECRETKEYBYTES;
    if (crypto_box_seal_open(keyblock, head + RP_SEAL_MAGIC_LEN, KEYBLOCK_SEALED, pk, secret) !=
        0) {
        rc = rp_error_set_at(err, RP_EPERM, u->path, 0, 0,
                             "the seal does not open with the hub key '%s' (sealed to another "
                             "key, or altered)",
                             hub_key_path);
        goto out;
    }
    if (crypto_secretstream_xchacha20poly1305_init_pull(u->st, keyblock + SS_KEYBYTES, keyblock) !=
        0) {
        rc = rp_error_set_at(err, RP_EPERM, u->path, 0, 0, "sealed stream header is invalid");
        goto out;
    }
out:
    sodium_free(secret); /* wipes */
    if (rc == RP_OK) {
        *out = u;
        u = NULL;
    }
    rp_encode__unseal_free(u);
    return rc;
}

int rp_encode__unseal_next(rp_encode__unsealer *u, unsigned char *buf, size_t *n_out, rp_error *err)
{
    *n_out = 0;
    if (u->done)
        return 0;
    size_t n = fread(u->cipher, 1, CHUNK_SEALED, u->in);
    if (ferror(u->in)) {
        int e = errno;
        int rc = rp_error_set_at(err, RP_EIO, u->path, 0, 0, "cannot read file: %s", strerror(e));
        rp_x_error_sys(err, e);
        return rc;
    }
    if (n < SS_ABYTES)
        return rp_error_set_at(err, RP_EPERM, u->path, 0, 0,
                               "sealed file is truncated (chunk %lu missing, no final chunk)",
                               u->chunk + 1);
    unsigned long long mlen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(u->st, buf, &mlen, &tag, u->cipher, n, NULL,
                                                   0) != 0)
        return rp_error_set_at(err, RP_EPERM, u->path, 0, 0,
                               "sealed chunk %lu does not authenticate (altered or truncated)",
                               u->chunk + 1);
    u->chunk++;
    if (tag == SS_TAG_FINAL) {
        if (fgetc(u->in) != EOF)
            return rp_error_set_at(err, RP_EPERM, u->path, 0, 0,
                                   "sealed file has data after its final chunk");
        u->done = true;
    } else if (tag != SS_TAG_MESSAGE || n != CHUNK_SEALED) {
        return rp_error_set_at(err, RP_EPERM, u->path, 0, 0,
                               "sealed chunk %lu is malformed (unexpected tag or size)", u->chunk);
    }
    *n_out = (size_t)mlen;
    return 1;
}

int rp_unseal_file(const char *in_path,
                   const char *out_path,
                   const char *hub_key_path,
                   rp_error *err)
{
    int rc = RP_OK;
    FILE *in = NULL;
    rp_encode__unsealer *u = NULL;
    rp_encode__outfile o = {NULL, NULL, NULL};
    unsigned char *plain = NULL;

    if (in_path == NULL || out_path == NULL || hub_key_path == NULL)
        return rp_error_set(err, RP_EINVAL, "input, output and hub key paths are required");
    in = fopen(in_path, "rb");
    if (in == NULL) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, in_path, 0, 0, "cannot open file: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    rc = rp_encode__unseal_open(&u, in, in_path, hub_key_path, err);
    if (rc != RP_OK)
        goto out;
    plain = rp_malloc(RP_SEAL_CHUNK);
    if (plain == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = rp_encode__out_open(&o, out_path, err);
    if (rc != RP_OK)
        goto out;
    for (;;) {
        size_t n = 0;
        int got = rp_encode__unseal_next(u, plain, &n, err);
        if (got < 0) {
            rc = got;
            goto out;
        }
        if (got == 0)
            break;
        if (n > 0 && fwrite(plain, 1, n, o.f) != n) {
            rc = rp_error_set_at(err, RP_EIO, out_path, 0, 0, "cannot write: %s", strerror(errno));
            goto out;
        }
    }
    rc = rp_encode__out_commit(&o, err);
out:
    rp_encode__out_abort(&o);
    rp_encode__unseal_free(u);
    if (in != NULL)
        fclose(in);
    if (plain != NULL)
        sodium_memzero(plain, RP_SEAL_CHUNK);
    rp_free(plain);
    return rc;
}
