/*
 * Internal interface of the name normaliser (src/encode/normalise.c): the spelling folds
 * of src/encode/norm_fold.c, which bring the romanisations of one name together on plain
 * ASCII words. Exposed for normalise.c and the unit tests only.
 */
#ifndef RP_ENCODE_NORM_INT_H
#define RP_ENCODE_NORM_INT_H

#include <stddef.h>

/** Bytes rp_encode__norm_fold() may write for a word of @p len bytes, NUL included. */
#define RP_NORM_FOLD_SIZE(len) (2 * (len) + 1)

/**
 * Fold one transliterated word to its canonical key (docs/encoding.md, "Normalisation"):
 * digraphs of the romanisation systems to one letter per sound class (sh sch sz, and
 * shch schtsch szcz: s; ch cz cs tsch tch ts tz: c; zh zs: z; dzh dz xh dsch: j; ph f;
 * gh g; dh d; dj d; gg ng; w v; x ks; q k; c k before l r t, and before a o u at the start
 * of a word, after a vowel or after r; ck k at the end or before a consonant or e), glides and
 * vowels (y i, and j i inside a word; ye je ie e, and ya ja ia yu ju iu ... ja ju, at the
 * start of a word; ou u before a consonant; ae oe ue a o u after a consonant; a vowel then
 * ie drops the i), a final h after a vowel dropped, and double letters made single.
 *
 * @param[in]  word  lower-case ASCII letters a-z only (not NUL-terminated).
 * @param[in]  len   bytes of @p word.
 * @param[out] out   at least RP_NORM_FOLD_SIZE(@p len) bytes; the folded word, lower-case
 *                   a-z, NUL-terminated; empty only when @p len is 0.
 * @return the length of the folded word.
 * @note   Pure function of its input (no language, no table); thread-safe.
 * @test   tests/unit/test_encode_normalise.c: normalise_fold__sound_classes
 */
size_t rp_encode__norm_fold(const char *word, size_t len, char *out);

#endif
