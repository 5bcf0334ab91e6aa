/*
 * Key files (docs/encoding.md, "Keys"): the agencies' shared linkage secret and the
 * hub's key pair for sealed submissions. Files holding a secret are created mode 0600
 * with O_EXCL (never overwritten) and refused when group or others may read or write
 * them; secrets live in libsodium guarded memory and never reach an error message.
 */
#include "common/common_int.h"
#include "encode/encode_int.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * File formats (text, one item a line, each line ending in "\n"):
 *
 *   secret              <64 hex digits: the 32-byte secret>
 *   hub public key      rapporteur-hub-public-key v1
 *                       <64 hex digits: the crypto_box public key>
 *   hub secret key      rapporteur-hub-secret-key v1
 *                       <64 hex digits: public key> <64 hex digits: secret key>, one a line
 *
 * Readers accept upper- or lower-case hex and a missing final newline, nothing else.
 * A file that does not parse is reported by name and by what was expected, never with
 * its content: a secret file with a stray character must not leak the rest.
 */

/* Largest key file read, bytes: more than any valid file, so junk is refused early. */
#define KEY_FILE_MAX 512

/* Label of the key id (rp_secret_id). */
#define KEY_ID_LABEL "rapporteur key id"

/* The hub key file writes both keys as hex lines of one length. */
_Static_assert(crypto_box_SECRETKEYBYTES == crypto_box_PUBLICKEYBYTES,
               "hub key lines assume equal key sizes");

struct rp_secret {
    unsigned char key[RP_SECRET_BYTES];
};

bool rp_encode__sodium_ready(void)
{
    /* Idempotent and thread-safe; 1 means "already initialised". */
    return sodium_init() >= 0;
}

static int no_sodium(rp_error *err)
{
    return rp_error_set(err, RP_EINTERNAL, "libsodium could not be initialised");
}

/* ==== writing ==== */

/*
 * Create @p path with O_EXCL and exactly @p mode (fchmod after open, so the umask cannot
 * widen or narrow it), write @p len bytes of @p data, fsync and close. On any failure
 * after the file was created it is removed. @p what names the file kind in messages.
 */
static int write_new_file(
    const char *path, mode_t mode, const void *data, size_t len, const char *what, rp_error *err)
{
    int rc = RP_OK;
    bool created = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST)
            rc = rp_error_set_at(err, RP_EIO, path, 0, 0,
                                 "%s already exists; refusing to overwrite it", what);
        else
            rc =
                rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot create %s: %s", what, strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    created = true;
    if (fchmod(fd, mode) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot set the mode of %s: %s", what,
                             strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot write %s: %s", what, strerror(e));
            rp_x_error_sys(err, e);
            goto out;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot write %s: %s", what, strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot write %s: %s", what, strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc != RP_OK && created)
        unlink(path);
    return rc;
}

/* ==== reading ==== */

/*
 * Read a private file (at most KEY_FILE_MAX bytes) into guarded memory *@p out (free
 * with sodium_free, which wipes it). Refused with RP_EPERM when it is not a regular file
 * or when group or others have any permission on it. The open is non-blocking so that a
 * FIFO planted at the path cannot hang us before the check.
 */
static int read_private_file(
    unsigned char **out, size_t *len_out, const char *path, const char *what, rp_error *err)
{
    int rc = RP_OK;
    unsigned char *buf = NULL;
    *out = NULL;
    *len_out = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot open %s: %s", what, strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot stat %s: %s", what, strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = rp_error_set_at(err, RP_EPERM, path, 0, 0, "%s %s is not a regular file", what, path);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        rc = rp_error_set_at(err, RP_EPERM, path, 0, 0,
                             "%s %s is accessible by group or others (mode %04o); refusing to "
                             "use it: run `chmod 600 %s`",
                             what, path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    buf = sodium_malloc(KEY_FILE_MAX + 1);
    if (!buf) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, KEY_FILE_MAX + 1 - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            int e = errno;
            rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot read %s: %s", what, strerror(e));
            rp_x_error_sys(err, e);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > KEY_FILE_MAX) {
            rc = rp_error_set_at(err, RP_EPARSE, path, 0, 0, "not a %s: too long", what);
            goto out;
        }
    }
    *out = buf;
    *len_out = len;
    buf = NULL;
out:
    if (fd >= 0)
        close(fd);
    sodium_free(buf);
    return rc;
}

static bool is_hex_digit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    return (unsigned)(c - 'A' + 10);
}

/*
 * Take one line of exactly 2 * @p n hex digits at *@p pos of @p text (@p len bytes),
 * ended by "\n" or by the end of the text, into @p bin. Advances *@p pos past the line.
 * Branch-free on the digits' values; the checks look only at which class a byte is in.
 */
static bool
take_hex_line(const unsigned char *text, size_t len, size_t *pos, unsigned char *bin, size_t n)
{
    size_t p = *pos;
    if (len - p < 2 * n)
        return false;
    for (size_t i = 0; i < 2 * n; i++) {
        if (!is_hex_digit(text[p + i]))
            return false;
    }
    for (size_t i = 0; i < n; i++)
        bin[i] = (unsigned char)(hex_value(text[p + 2 * i]) << 4 | hex_value(text[p + 2 * i + 1]));
    p += 2 * n;
    if (p < len) {
        if (text[p] != '\n')
            return false;
        p++;
    }
    *pos = p;
    return true;
}

/* Take the line @p magic (then "\n") at *@p pos. */
static bool take_magic(const unsigned char *text, size_t len, size_t *pos, const char *magic)
{
    size_t m = strlen(magic);
    if (len - *pos < m + 1 || memcmp(text + *pos, magic, m) != 0 || text[*pos + m] != '\n')
        return false;
    *pos += m + 1;
    return true;
}

/* ==== the shared secret ==== */

int rp_secret_generate(const char *path, rp_error *err)
{
    if (!rp_encode__sodium_ready())
        return no_sodium(err);
    int rc = RP_OK;
    /* raw secret then its hex text and newline, all in guarded memory */
    const size_t hex_len = (size_t)2 * RP_SECRET_BYTES;
    unsigned char *g = sodium_malloc(RP_SECRET_BYTES + hex_len + 2);
    if (!g)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    unsigned char *raw = g;
    char *hex = (char *)(g + RP_SECRET_BYTES);
    randombytes_buf(raw, RP_SECRET_BYTES);
    sodium_bin2hex(hex, hex_len + 1, raw, RP_SECRET_BYTES);
    hex[hex_len] = '\n';
    rc = write_new_file(path, 0600, hex, hex_len + 1, "secret file", err);
    sodium_free(g);
    return rc;
}

int rp_secret_load(rp_secret **out, const char *path, rp_error *err)
{
    *out = NULL;
    if (!rp_encode__sodium_ready())
        return no_sodium(err);
    int rc = RP_OK;
    unsigned char *text = NULL;
    size_t len = 0;
    rp_secret *s = NULL;
    rc = read_private_file(&text, &len, path, "secret file", err);
    if (rc != RP_OK)
        goto out;
    s = sodium_malloc(sizeof(*s));
    if (!s) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    size_t pos = 0;
    if (!take_hex_line(text, len, &pos, s->key, RP_SECRET_BYTES) || pos != len) {
        rc = rp_error_set_at(err, RP_EPARSE, path, 0, 0,
                             "not a rapporteur secret file (expected one line of %d hex digits)",
                             2 * RP_SECRET_BYTES);
        goto out;
    }
    sodium_mprotect_readonly(s);
    *out = s;
    s = NULL;
out:
    sodium_free(s);
    sodium_free(text);
    return rc;
}

void rp_secret_free(rp_secret *s)
{
    /* sodium_free wipes the memory (also when read-only) before unmapping it. */
    sodium_free(s);
}

void rp_secret_id(const rp_secret *s, char out[17])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)KEY_ID_LABEL, strlen(KEY_ID_LABEL),
                       s->key, sizeof(s->key));
    sodium_bin2hex(out, 17, h, 8);
    sodium_memzero(h, sizeof(h));
}

const unsigned char *rp_encode__secret_bytes(const rp_secret *s)
{
    return s->key;
}

/* ==== the hub's key pair ==== */

int rp_hub_keygen(const char *pub_path, const char *key_path, rp_error *err)
{
    if (!rp_encode__sodium_ready())
        return no_sodium(err);
    int rc = RP_OK;
    /*
     * Guarded layout: sk | key file text. Key file: magic\n pkhex\n skhex\n; the public
     * file is not secret and lives on the stack.
     */
    const size_t hex_len = (size_t)2 * crypto_box_PUBLICKEYBYTES; /* = 2 * SECRETKEYBYTES */
    size_t magic_len = strlen(RP_HUB_SECRET_MAGIC);
    size_t key_text_len = magic_len + 1 + 2 * (hex_len + 1);
    unsigned char *g = sodium_malloc(crypto_box_SECRETKEYBYTES + key_text_len + 1);
    if (!g)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    unsigned char *sk = g;
    char *kt = (char *)(g + crypto_box_SECRETKEYBYTES);
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    if (crypto_box_keypair(pk, sk) != 0) {
        rc = rp_error_set(err, RP_EINTERNAL, "cannot make a key pair");
        goto out;
    }
    char pkhex[(size_t)2 * crypto_box_PUBLICKEYBYTES + 1];
    sodium_bin2hex(pkhex, sizeof(pkhex), pk, sizeof(pk));

    /* kt is a byte buffer, not a string: NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(kt, RP_HUB_SECRET_MAGIC, magic_len);
    size_t p = magic_len;
    kt[p++] = '\n';
    memcpy(kt + p, pkhex, hex_len);
    p += hex_len;
    kt[p++] = '\n';
    sodium_bin2hex(kt + p, hex_len + 1, sk, crypto_box_SECRETKEYBYTES);
    p += hex_len;
    kt[p++] = '\n';

    char pub_text[sizeof(RP_HUB_PUBLIC_MAGIC) + sizeof(pkhex) + 2];
    int n = snprintf(pub_text, sizeof(pub_text), "%s\n%s\n", RP_HUB_PUBLIC_MAGIC, pkhex);
    if (n < 0 || (size_t)n >= sizeof(pub_text)) {
        rc = rp_error_set(err, RP_EINTERNAL, "public key text does not fit");
        goto out;
    }
    rc = write_new_file(key_path, 0600, kt, p, "hub secret key file", err);
    if (rc != RP_OK)
        goto out;
    rc = write_new_file(pub_path, 0644, pub_text, (size_t)n, "hub public key file", err);
    if (rc != RP_OK)
        unlink(key_path); /* we made it just now: leave no half of a pair behind */
out:
    sodium_free(g);
    return rc;
}

int rp_encode__read_hub_public(const char *path,
                               unsigned char pk[crypto_box_PUBLICKEYBYTES],
                               rp_error *err)
{
    int rc = RP_OK;
    char *text = NULL;
    size_t len = 0;
    rc = rp_x_read_file(&text, &len, path, KEY_FILE_MAX, err);
    if (rc != RP_OK)
        goto out;
    const unsigned char *t = (const unsigned char *)text;
    size_t pos = 0;
    if (take_magic(t, len, &pos, RP_HUB_SECRET_MAGIC)) {
        rc = rp_error_set_at(err, RP_EPARSE, path, 0, 0,
                             "this is the hub's secret key file; give its public key file");
        goto out;
    }
    unsigned char tmp[crypto_box_PUBLICKEYBYTES];
    if (!take_magic(t, len, &pos, RP_HUB_PUBLIC_MAGIC) ||
        !take_hex_line(t, len, &pos, tmp, sizeof(tmp)) || pos != len) {
        rc = rp_error_set_at(err, RP_EPARSE, path, 0, 0,
                             "not a rapporteur hub public key file (expected the line '%s' "
                             "then %d hex digits)",
                             RP_HUB_PUBLIC_MAGIC, 2 * crypto_box_PUBLICKEYBYTES);
        goto out;
    }
    memcpy(pk, tmp, sizeof(tmp));
out:
    rp_free(text);
    return rc;
}

int rp_encode__read_hub_secret(const char *path,
                               unsigned char pk[crypto_box_PUBLICKEYBYTES],
                               unsigned char sk[crypto_box_SECRETKEYBYTES],
                               rp_error *err)
{
    if (!rp_encode__sodium_ready())
        return no_sodium(err);
    int rc = RP_OK;
    unsigned char *text = NULL;
    size_t len = 0;
    rc = read_private_file(&text, &len, path, "hub secret key file", err);
    if (rc != RP_OK)
        goto out;
    size_t pos = 0;
    unsigned char pk_file[crypto_box_PUBLICKEYBYTES];
    unsigned char pk_check[crypto_box_PUBLICKEYBYTES];
    if (!take_magic(text, len, &pos, RP_HUB_SECRET_MAGIC) ||
        !take_hex_line(text, len, &pos, pk_file, sizeof(pk_file)) ||
        !take_hex_line(text, len, &pos, sk, crypto_box_SECRETKEYBYTES) || pos != len) {
        sodium_memzero(sk, crypto_box_SECRETKEYBYTES);
        rc = rp_error_set_at(err, RP_EPARSE, path, 0, 0,
                             "not a rapporteur hub secret key file (expected the line '%s', then "
                             "two lines of %d hex digits)",
                             RP_HUB_SECRET_MAGIC, 2 * crypto_box_PUBLICKEYBYTES);
        goto out;
    }
    if (crypto_scalarmult_base(pk_check, sk) != 0 ||
        sodium_memcmp(pk_check, pk_file, sizeof(pk_file)) != 0) {
        sodium_memzero(sk, crypto_box_SECRETKEYBYTES);
        rc = rp_error_set_at(err, RP_EPARSE, path, 0, 0,
                             "hub secret key file is damaged: its secret key does not give its "
                             "public key");
        goto out;
    }
    memcpy(pk, pk_file, sizeof(pk_file));
out:
    sodium_free(text);
    return rc;
}

/* ==== SipHash-2-4 with a 128-bit output, streaming (pseudonyms) ==== */

/*
 * libsodium's crypto_shorthash_siphashx24 (SipHash-2-4, 128-bit output; Aumasson and
 * Bernstein 2012) takes one contiguous message; the pseudonym hashes list || 0 || case
 * id from two strings of any length, so this is the same function fed in pieces. A unit
 * test checks it against libsodium for every length up to 300 and every split.
 */
void rp_encode__sip128_init(rp_encode__sip128 *s, const unsigned char key[16])
{
    rp_encode__sip_init(s->v, key);
    s->v[1] ^= 0xeeu;
    s->tail = 0;
    s->len = 0;
}

void rp_encode__sip128_update(rp_encode__sip128 *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i = 0;
    /* fill a partial word first */
    while (i < n && (s->len & 7u) != 0) {
        s->tail |= (uint64_t)p[i++] << (8u * (s->len & 7u));
        s->len++;
        if ((s->len & 7u) == 0) {
            rp_encode__sip_compress(s->v, s->tail);
            s->tail = 0;
        }
    }
    for (; i + 8 <= n; i += 8) {
        rp_encode__sip_compress(s->v, rp_encode__load_le64(p + i));
        s->len += 8;
    }
    for (; i < n; i++) {
        s->tail |= (uint64_t)p[i] << (8u * (s->len & 7u));
        s->len++;
    }
}

void rp_encode__sip128_final(rp_encode__sip128 *s, unsigned char out[16])
{
    rp_encode__sip_compress(s->v, s->tail | (uint64_t)(s->len & 0xffu) << 56);
    s->v[2] ^= 0xeeu;
    for (unsigned r = 0; r < 4; r++)
        rp_encode__sipround(s->v);
    uint64_t h0 = s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
    s->v[1] ^= 0xddu;
    for (unsigned r = 0; r < 4; r++)
        rp_encode__sipround(s->v);
    uint64_t h1 = s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
    for (unsigned b = 0; b < 8; b++) {
        out[b] = (unsigned char)(h0 >> (8u * b));
        out[8 + b] = (unsigned char)(h1 >> (8u * b));
    }
    sodium_memzero(s, sizeof(*s));
}
