/*
 * The plain-text importer's parser: a report's list of recommendations, as copied out
 * of a GRETA report (or a PDF's text), split into recommendations with their strength.
 *
 * The rules (docs/recs.md gives them with examples):
 *   - A paragraph starts at a line "N. text" or "N) text" (N of 1-4 digits). The first
 *     number may be anything; each later one must be above the previous one: by at most
 *     RP_RECS_TEXT_MAX_GAP, or by more when the line reads "N. Capital" and the text
 *     before it ends a sentence, so that a wrapped line starting with "2018. " stays
 *     text. A line "N. Capital" after a sentence with N not above the number before is
 *     kept as text and counted (out_of_order) for a warning.
 *   - Skipped and counted: non-empty lines before the first paragraph, lines holding
 *     only a number (page numbers), page headers and footers ("GRETA(2023)05" with
 *     page numbers, rules of "____"), and article headings ("Article 10",
 *     "Article 10 - Identification of victims").
 *   - Other lines continue the current paragraph or sub-point: joined with one space.
 *     A line ending in a hyphen after a letter joins the next without a space; when the
 *     next starts in lower case and the part before the hyphen is not a prefix that
 *     keeps it ("anti-", "co-", "non-", ...), the hyphen was a break and goes
 *     ("vic-" + "tims"); otherwise it stays ("anti-" + "trafficking").
 *   - Sub-points: lettered ones ("(a)", "a)", "a.") are split off as recommendations of
 *     their own, labelled "12(a)", each with the lead-in text before the first of them
 *     ("GRETA urges the authorities to:") and its strength, as GRETA's own references
 *     ("paragraph 12(a)") address them. Roman sub-points ("(i)", "ii.") and bullets
 *     ("-", "*", "•", "–") are kept, marker and all, with the sub-point or paragraph
 *     they belong to. When a paragraph's first sub-points are roman, roman is the level
 *     that is split.
 *   - A line starting "GRETA urges | considers | invites" after lettered sub-points
 *     closes the paragraph: a recommendation of its own, with its own strength, not
 *     part of the last sub-point.
 *   - GRETA's appendix layout: lines starting with "▪ " before any numbered paragraph
 *     are recommendations of their own, labelled with the number of the "(paragraph N)"
 *     they cite (else "bullet-K").
 *   - Within a paragraph (before any sub-point), each sentence holding "GRETA [also |
 *     further | once again | strongly | ...] urges | considers | invites" starts a new
 *     recommendation with that strength; sentences before the first such one go with
 *     it, sentences after one go with it until the next.
 *   - Footnote marks are removed: superscript digits, "[12]", "*" after a word, 1-3
 *     digits glued to a full stop, colon or semicolon after a word and before a capital
 *     or the line's end ("victims.12 GRETA"), and to a comma before a word or the line's
 *     end ("compensation,23 in"); never after "No", "Article", "paragraph" and the like
 *     ("Convention No.197").
 */
#include "recs/recs_int.h"

/* Largest step between consecutive paragraph numbers. */
#define RP_RECS_TEXT_MAX_GAP 20
/* Most sub-points of one paragraph. */
#define MAX_SUBS 64
/* Largest input, bytes. */
#define MAX_INPUT ((size_t)64 << 20)

/* ==== growing results ==== */

typedef struct parser {
    rp_recs_text *res;
    size_t cap;
    const char *name;
    rp_error *err;
    /* the paragraph being read */
    bool in_para;
    long number; /* its number, or 0 */
    long line;   /* its first line */
    rp_x_buf body;
    int split_kind; /* 0 = none yet, 1 = letters, 2 = roman */
    size_t n_subs;
    rp_x_buf tail;  /* a closing "GRETA urges ..." after the sub-points */
    long tail_line; /* its first line, 0 when none */
    bool appendix;  /* the paragraph is an appendix bullet ("▪ ...") */
    long n_bullets; /* appendix bullets so far */

    struct sub {
        char label[8];
        long line;
        rp_x_buf text;
    } subs[MAX_SUBS];
} parser;

enum { MK_NONE = 0, MK_LETTER = 1, MK_ROMAN = 2, MK_BULLET = 3 };

static int nomem(parser *p)
{
    return rp_error_set(p->err, RP_ENOMEM, "out of memory");
}

/* Append a copy of @p text (trimmed, spaces collapsed) as an item. */
static int add_item(
    parser *p, const char *label, long line, rp_rec_strength strength, const char *text, size_t len)
{
    while (len > 0 && (*text == ' ' || *text == '\t')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t')) {
        len--;
    }
    if (len == 0) {
        return RP_OK;
    }
    if (rp_x_grow(&p->res->items, &p->cap, p->res->n_items + 1, sizeof(*p->res->items)) != RP_OK) {
        return nomem(p);
    }
    char *copy = rp_malloc(len + 1);
    if (copy == NULL) {
        return nomem(p);
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        bool space = text[i] == ' ' || text[i] == '\t';
        if (space && n > 0 && copy[n - 1] == ' ') {
            continue;
        }
        copy[n++] = text[i];
        if (space) {
            copy[n - 1] = ' ';
        }
    }
    copy[n] = '\0';
    rp_recs_text_item *it = &p->res->items[p->res->n_items++];
    memset(it, 0, sizeof(*it));
    rp_x_strlcpy(it->paragraph, label, sizeof(it->paragraph));
    it->strength = strength;
    it->line = line;
    it->text = copy;
    return RP_OK;
}

/* ==== "GRETA urges" ==== */

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Skip spaces; return the new position. */
static size_t skip_spaces(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    return i;
}

/* True when the word @p w is at @p s[i] and ends there (no letter follows). */
static bool word_at(const char *s, size_t len, size_t i, const char *w)
{
    size_t n = strlen(w);
    return i + n <= len && memcmp(s + i, w, n) == 0 && (i + n == len || !is_alnum(s[i + n]));
}

/*
 * The strength of the phrase "GRETA [adverbs] verb" starting at @p s[i], or
 * RP_REC_STRENGTH_NONE when there is none there.
 */
static rp_rec_strength phrase_at(const char *s, size_t len, size_t i)
{
    static const char *const adverbs[] = {"also",     "further",   "once",     "again",
                                          "strongly", "therefore", "moreover", "furthermore",
                                          "still",    "firmly",    "equally",  "once again"};
    static const char *const verbs[] = {"urges", "considers", "invites"};
    if ((i > 0 && is_alnum(s[i - 1])) || !word_at(s, len, i, "GRETA")) {
        return RP_REC_STRENGTH_NONE;
    }
    size_t j = skip_spaces(s, len, i + 5);
    for (int guard = 0; guard < 4; guard++) {
        bool moved = false;
        for (size_t a = 0; a < RP_ARRAY_LEN(adverbs); a++) {
            if (word_at(s, len, j, adverbs[a])) {
                j = skip_spaces(s, len, j + strlen(adverbs[a]));
                if (j < len && s[j] == ',') {
                    j = skip_spaces(s, len, j + 1);
                }
                moved = true;
                break;
            }
        }
        if (!moved) {
            break;
        }
    }
    for (size_t v = 0; v < RP_ARRAY_LEN(verbs); v++) {
        if (word_at(s, len, j, verbs[v])) {
            return (rp_rec_strength)(RP_REC_URGES + (int)v);
        }
    }
    return RP_REC_STRENGTH_NONE;
}

/* Start of the sentence holding @p s[i], not before @p floor. */
static size_t sentence_start(const char *s, size_t floor, size_t i)
{
    while (i > floor + 1) {
        char c = s[i - 2];
        if ((c == '.' || c == '!' || c == '?') && s[i - 1] == ' ') {
            return i;
        }
        i--;
    }
    return floor;
}

/*
 * Split @p s (@p len bytes) at the sentences that start a recommendation; the
 * segments' starts go to @p starts (at most @p max) and their strengths to @p str.
 * @return the number of segments (at least 1).
 */
static size_t
split_sentences(const char *s, size_t len, size_t *starts, rp_rec_strength *str, size_t max)
{
    size_t n = 0;
    starts[0] = 0;
    str[0] = RP_REC_STRENGTH_NONE;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != 'G') {
            continue;
        }
        rp_rec_strength ph = phrase_at(s, len, i);
        if (ph == RP_REC_STRENGTH_NONE) {
            continue;
        }
        if (n == 0) {
            str[0] = ph;
            n = 1;
            continue;
        }
        size_t ss = sentence_start(s, starts[n - 1], i);
        if (ss > starts[n - 1] && n < max) {
            starts[n] = ss;
            str[n] = ph;
            n++;
        }
    }
    return n == 0 ? 1 : n;
}

/* ==== flushing a paragraph ==== */

/* Add the sentence segments of @p s as items labelled @p label; the last segment's
 * start and strength go to *last_start and *last_str when not NULL (lead-in). */
static int add_segments(parser *p,
                        const char *label,
                        long line,
                        const char *s,
                        size_t len,
                        size_t *last_start,
                        rp_rec_strength *last_str)
{
    size_t starts[64];
    rp_rec_strength str[64];
    size_t n = split_sentences(s, len, starts, str, RP_ARRAY_LEN(starts));
    size_t keep = last_start != NULL ? n - 1 : n;
    for (size_t k = 0; k < keep; k++) {
        size_t end = k + 1 < n ? starts[k + 1] : len;
        int rc = add_item(p, label, line, str[k], s + starts[k], end - starts[k]);
        if (rc != RP_OK) {
            return rc;
        }
    }
    if (last_start != NULL) {
        *last_start = starts[n - 1];
        *last_str = str[n - 1];
    }
    return RP_OK;
}

/* An item's index and label, to number the items that share a label. */
typedef struct label_ix {
    const char *label;
    size_t i;
} label_ix;

static int cmp_label_ix(const void *a, const void *b)
{
    const label_ix *x = a;
    const label_ix *y = b;
    int c = strcmp(x->label, y->label);
    if (c != 0) {
        return c;
    }
    return (x->i > y->i) - (x->i < y->i);
}

/*
 * Number the items by label: seq 1, 2, ... in input order among those sharing a label,
 * n_seq how many share it (appendix bullets may cite the same paragraph). Sorting keeps
 * it O(n log n) on large inputs.
 */
static int number_items(parser *p)
{
    size_t n = p->res->n_items;
    rp_recs_text_item *v = p->res->items;
    if (n == 0) {
        return RP_OK;
    }
    label_ix *ix = rp_calloc(n, sizeof(*ix));
    if (ix == NULL) {
        return nomem(p);
    }
    for (size_t i = 0; i < n; i++) {
        ix[i].label = v[i].paragraph;
        ix[i].i = i;
    }
    qsort(ix, n, sizeof(*ix), cmp_label_ix);
    for (size_t g = 0; g < n;) {
        size_t e = g;
        while (e < n && strcmp(ix[e].label, ix[g].label) == 0) {
            e++;
        }
        for (size_t k = g; k < e; k++) {
            v[ix[k].i].seq = (int)(k - g + 1);
            v[ix[k].i].n_seq = (int)(e - g);
        }
        g = e;
    }
    rp_free(ix);
    return RP_OK;
}

static int flush_subs(
    parser *p, const char *label, const char *lead, size_t lead_len, rp_rec_strength lead_str)
{
    rp_x_buf t = RP_X_BUF_INIT;
    int rc = RP_OK;
    for (size_t k = 0; k < p->n_subs && rc == RP_OK; k++) {
        const struct sub *sb = &p->subs[k];
        const char *st = rp_x_buf_cstr(&sb->text);
        size_t st_len = sb->text.len;
        char sub_label[32];
        snprintf(sub_label, sizeof(sub_label), "%s(%s)", label, sb->label);
        size_t starts[2];
        rp_rec_strength own[2];
        split_sentences(st, st_len, starts, own, 1);
        rp_x_buf_reset(&t);
        /* A sub-point with its own "GRETA urges" stands alone; others take the lead-in. */
        if (own[0] == RP_REC_STRENGTH_NONE && lead_len > 0) {
            rp_x_buf_append(&t, lead, lead_len);
            rp_x_buf_putc(&t, ' ');
        }
        rp_x_buf_append(&t, st, st_len);
        if (rp_x_buf_oom(&t)) {
            rc = nomem(p);
            break;
        }
        rc = add_item(p, sub_label, sb->line, own[0] != RP_REC_STRENGTH_NONE ? own[0] : lead_str,
                      rp_x_buf_cstr(&t), t.len);
    }
    rp_x_buf_release(&t);
    return rc;
}

/*
 * The label of an appendix bullet: the number of the last "(paragraph N" or
 * "(paragraphs N" it cites, else "bullet-K".
 */
static void bullet_label(char label[24], const char *s, long k)
{
    const char *hit = NULL;
    for (const char *q = strstr(s, "(paragraph"); q != NULL; q = strstr(q + 1, "(paragraph")) {
        hit = q;
    }
    if (hit != NULL) {
        hit += strlen("(paragraph");
        hit += *hit == 's' ? 1 : 0;
        hit += *hit == ' ' ? 1 : 0;
        size_t n = 0;
        while (n < 5 && hit[n] >= '0' && hit[n] <= '9') {
            n++;
        }
        if (n > 0 && n < 5 && hit[0] != '0') {
            memcpy(label, hit, n);
            label[n] = '\0';
            return;
        }
    }
    snprintf(label, 24, "bullet-%ld", k);
}

static int flush_paragraph(parser *p)
{
    if (!p->in_para) {
        return RP_OK;
    }
    char label[24];
    if (p->appendix) {
        bullet_label(label, rp_x_buf_cstr(&p->body), p->n_bullets);
    } else {
        snprintf(label, sizeof(label), "%ld", p->number);
    }
    const char *body = rp_x_buf_cstr(&p->body);
    size_t len = p->body.len;
    int rc = RP_OK;
    if (p->n_subs == 0) {
        rc = add_segments(p, label, p->line, body, len, NULL, NULL);
    } else {
        size_t lead_start = 0;
        rp_rec_strength lead_str = RP_REC_STRENGTH_NONE;
        rc = add_segments(p, label, p->line, body, len, &lead_start, &lead_str);
        if (rc == RP_OK) {
            rc = flush_subs(p, label, body + lead_start, len - lead_start, lead_str);
        }
    }
    if (rc == RP_OK && p->tail_line > 0) {
        rc = add_segments(p, label, p->tail_line, rp_x_buf_cstr(&p->tail), p->tail.len, NULL, NULL);
    }
    rp_x_buf_reset(&p->tail);
    p->tail_line = 0;
    p->appendix = false;
    rp_x_buf_reset(&p->body);
    for (size_t k = 0; k < p->n_subs; k++) {
        rp_x_buf_reset(&p->subs[k].text);
    }
    p->n_subs = 0;
    p->split_kind = 0;
    p->in_para = false;
    return rc;
}

/* ==== lines ==== */

/* True for a lower-case ASCII letter. */
static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_letter(char c)
{
    return is_lower(c) || is_upper(c);
}

/*
 * True when the word fragment @p w (@p n bytes, before a hyphen that ends a line) is a
 * prefix whose hyphen is part of the word ("anti-trafficking", "co-operation"), or holds
 * a hyphen itself ("state-of-"): then the hyphen stays.
 */
static bool keeps_hyphen(const char *w, size_t n)
{
    static const char *const prefixes[] = {
        "anti",  "non",   "co",      "self", "cross", "multi",  "pre",   "post",   "ex",
        "semi",  "sub",   "socio",   "so",   "well",  "follow", "third", "long",   "short",
        "full",  "part",  "low",     "high", "cost",  "case",   "age",   "gender", "child",
        "inter", "intra", "counter", "mid",  "over",  "under",  "re",    "e"};
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '-') {
            return true;
        }
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(prefixes); i++) {
        size_t k = strlen(prefixes[i]);
        bool same = k == n;
        for (size_t j = 0; same && j < k; j++) {
            char c = w[j];
            same = (is_upper(c) ? (char)(c - 'A' + 'a') : c) == prefixes[i][j];
        }
        if (same) {
            return true;
        }
    }
    return false;
}

/*
 * Append @p s[0..n) to @p b as a continuation: one space; none after "letter-", where
 * the hyphen itself goes when it only broke a word ("vic-" + "tims": the next line starts
 * in lower case and the fragment is no prefix that keeps it).
 */
static void join(rp_x_buf *b, const char *s, size_t n)
{
    if (n == 0) {
        return;
    }
    if (b->len > 0) {
        const char *t = rp_x_buf_cstr(b);
        bool hyphen = b->len >= 2 && t[b->len - 1] == '-' && is_letter(t[b->len - 2]);
        if (!hyphen) {
            rp_x_buf_putc(b, ' ');
        } else if (is_lower(s[0])) {
            size_t w = b->len - 1;
            while (w > 0 && t[w - 1] != ' ') {
                w--;
            }
            if (!keeps_hyphen(t + w, b->len - 1 - w)) {
                b->data[--b->len] = '\0';
            }
        }
    }
    rp_x_buf_append(b, s, n);
}

static bool is_roman(const char *s, size_t n)
{
    if (n == 0 || n > 6) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] != 'i' && s[i] != 'v' && s[i] != 'x') {
            return false;
        }
    }
    return true;
}

/*
 * The sub-point marker at the start of @p s (@p n bytes, no leading space): its kind,
 * its label (letters or roman digits, in @p label) and the bytes it takes with the
 * spaces after it (*used).
 */
static int marker(const char *s, size_t n, char label[8], size_t *used)
{
    label[0] = '\0';
    *used = 0;
    if (n >= 2 && (s[0] == '-' || s[0] == '*') && s[1] == ' ') {
        *used = 2;
        return MK_BULLET;
    }
    /* U+2022 bullet, U+2013 en dash, U+00B7 middle dot */
    if (n >= 4 && ((memcmp(s, "\xE2\x80\xA2", 3) == 0) || (memcmp(s, "\xE2\x80\x93", 3) == 0)) &&
        s[3] == ' ') {
        *used = 4;
        return MK_BULLET;
    }
    if (n >= 3 && memcmp(s, "\xC2\xB7", 2) == 0 && s[2] == ' ') {
        *used = 3;
        return MK_BULLET;
    }
    size_t i = s[0] == '(' ? 1 : 0;
    size_t start = i;
    while (i < n && i - start < 7 && s[i] >= 'a' && s[i] <= 'z') {
        i++;
    }
    size_t len = i - start;
    if (len == 0 || i >= n) {
        return MK_NONE;
    }
    bool closed = start == 1 ? s[i] == ')' : (s[i] == ')' || s[i] == '.');
    if (!closed || i + 1 >= n || s[i + 1] != ' ') {
        return MK_NONE;
    }
    if (len > 1 && !is_roman(s + start, len)) {
        return MK_NONE;
    }
    memcpy(label, s + start, len);
    label[len] = '\0';
    *used = skip_spaces(s, n, i + 1);
    return len == 1 && !is_roman(s + start, 1) ? MK_LETTER : (len == 1 ? -1 : MK_ROMAN);
}

/* Letter or roman for a one-letter marker i, v or x: a letter when it follows the
 * previous letter sub-point (h -> i, u -> v, w -> x). */
static int resolve_ivx(const parser *p, const char *label)
{
    if (p->split_kind == MK_LETTER && p->n_subs > 0) {
        const char *prev = p->subs[p->n_subs - 1].label;
        if (prev[1] == '\0' && prev[0] + 1 == label[0]) {
            return MK_LETTER;
        }
        return MK_ROMAN;
    }
    return p->split_kind == 0 && label[0] != 'i' ? MK_LETTER : MK_ROMAN;
}

/* The buffer text goes to: the closing sentence, the last sub-point, or the body. */
static rp_x_buf *current(parser *p)
{
    if (p->tail_line > 0) {
        return &p->tail;
    }
    return p->n_subs > 0 ? &p->subs[p->n_subs - 1].text : &p->body;
}

static int sub_line(parser *p,
                    int kind,
                    const char *label,
                    const char *rest,
                    size_t n,
                    const char *whole,
                    size_t whole_n,
                    long line)
{
    if (p->split_kind == 0 && (kind == MK_LETTER || kind == MK_ROMAN)) {
        p->split_kind = kind;
    }
    if (kind != p->split_kind || p->n_subs >= MAX_SUBS) {
        join(current(p), whole, whole_n); /* kept with its parent, marker and all */
        return RP_OK;
    }
    struct sub *sb = &p->subs[p->n_subs++];
    rp_x_strlcpy(sb->label, label, sizeof(sb->label));
    sb->line = line;
    rp_x_buf_reset(&sb->text);
    rp_x_buf_append(&sb->text, rest, n);
    return RP_OK;
}

/* True when the text before the line ends a sentence (or clause): . ; : ! ? */
static bool sentence_ended(parser *p)
{
    const rp_x_buf *b = current(p);
    const char *t = rp_x_buf_cstr(b);
    size_t n = b->len;
    while (n > 0 && t[n - 1] == ' ') {
        n--;
    }
    return n > 0 && strchr(".;:!?", t[n - 1]) != NULL;
}

/*
 * The paragraph number at the start of @p s, or 0; *used = bytes with the spaces. A
 * number above the previous one by more than RP_RECS_TEXT_MAX_GAP counts only as
 * "N. Capital" after a finished sentence; one not above it never does, and is counted
 * as out of order when it looks like a paragraph.
 */
static long para_number(parser *p, const char *s, size_t n, size_t *used, long line)
{
    size_t i = 0;
    long v = 0;
    while (i < n && i < 5 && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (i == 0 || i > 4 || i >= n || (s[i] != '.' && s[i] != ')') ||
        (i + 1 < n && s[i + 1] != ' ')) {
        return 0;
    }
    size_t text = skip_spaces(s, n, i + 1);
    bool looks = text < n && is_upper(s[text]) && p->in_para && sentence_ended(p);
    if (v == 0) {
        return 0;
    }
    if (p->number > 0 && v <= p->number) {
        if (looks) {
            p->res->out_of_order++;
            if (p->res->first_out_of_order == 0) {
                p->res->first_out_of_order = line;
            }
        }
        return 0;
    }
    if (!looks && ((p->number > 0 && v > p->number + RP_RECS_TEXT_MAX_GAP) || p->number < 0)) {
        return 0; /* a wrapped line ("... in\n2018. The ..."), not a paragraph */
    }
    *used = text;
    return v;
}

static bool only_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return n > 0;
}

/* Length of "GRETA(YYYY)NN" at @p s, or 0. */
static size_t report_symbol(const char *s, size_t n)
{
    if (n < 13 || memcmp(s, "GRETA(", 6) != 0 || s[10] != ')') {
        return 0;
    }
    for (size_t i = 6; i < 10; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    size_t j = 11;
    while (j < n && j < 14 && s[j] >= '0' && s[j] <= '9') {
        j++;
    }
    return j > 11 ? j : 0;
}

/*
 * True for page furniture: a page number, a rule of underscores, a header or footer
 * holding the report's symbol "GRETA(2023)05" with page numbers, rules or dashes around
 * it, and article headings ("Article 10", "Article 10 - Identification of victims").
 */
static bool is_furniture(const char *s, size_t n)
{
    if (only_digits(s, n)) {
        return true;
    }
    bool symbol = false;
    bool other = false;
    for (size_t i = 0; i < n && !other; i++) {
        size_t k = report_symbol(s + i, n - i);
        if (k > 0) {
            symbol = true;
            i += k - 1;
        } else {
            other = !(s[i] == '_' || s[i] == ' ' || s[i] == '-' || s[i] == '|' ||
                      (s[i] >= '0' && s[i] <= '9'));
        }
    }
    if (!other && (symbol || (n >= 3 && strspn(s, "_ ") == n))) {
        return true;
    }
    if (n < 9 || memcmp(s, "Article ", 8) != 0 || s[8] < '0' || s[8] > '9') {
        return false;
    }
    size_t i = 8;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || is_lower(s[i]))) {
        i++;
    }
    if (i == n) {
        return true;
    }
    /* " - Title", " – Title" (en dash), " — Title" (em dash), ": Title" */
    static const char *const seps[] = {" - ", " \xE2\x80\x93 ", " \xE2\x80\x94 ", ": "};
    for (size_t k = 0; k < RP_ARRAY_LEN(seps); k++) {
        size_t m = strlen(seps[k]);
        if (i + m < n && memcmp(s + i, seps[k], m) == 0 && is_upper(s[i + m])) {
            return true;
        }
    }
    return false;
}

/* Bytes of an appendix bullet ("▪ " U+25AA, or U+F0A7 as PDFs give Wingdings), or 0. */
static size_t appendix_bullet(const char *s, size_t n)
{
    if (n >= 4 && (memcmp(s, "\xE2\x96\xAA ", 4) == 0 || memcmp(s, "\xEF\x82\xA7 ", 4) == 0)) {
        return skip_spaces(s, n, 4);
    }
    return 0;
}

/* Start a paragraph (or appendix bullet) at line @p line with text @p s. */
static int
start_paragraph(parser *p, long number, bool appendix, const char *s, size_t n, long line)
{
    int rc = flush_paragraph(p);
    if (rc != RP_OK) {
        return rc;
    }
    p->in_para = true;
    p->appendix = appendix;
    p->number = number;
    p->line = line;
    rp_x_buf_append(&p->body, s, n);
    return RP_OK;
}

static int one_line(parser *p, const char *s, size_t n, long line)
{
    size_t used = 0;
    if (n == 0) {
        return RP_OK;
    }
    if (is_furniture(s, n)) {
        p->res->skipped_lines++;
        return RP_OK;
    }
    used = p->number <= 0 ? appendix_bullet(s, n) : 0;
    if (used > 0) {
        p->n_bullets++;
        return start_paragraph(p, -1, true, s + used, n - used, line);
    }
    long num = para_number(p, s, n, &used, line);
    if (num > 0) {
        return start_paragraph(p, num, false, s + used, n - used, line);
    }
    if (!p->in_para) {
        p->res->skipped_lines++;
        return RP_OK;
    }
    if (p->n_subs > 0 && p->tail_line == 0 && phrase_at(s, n, 0) != RP_REC_STRENGTH_NONE) {
        p->tail_line = line; /* a closing sentence after the sub-points */
        rp_x_buf_reset(&p->tail);
        rp_x_buf_append(&p->tail, s, n);
        return RP_OK;
    }
    char label[8];
    int kind = marker(s, n, label, &used);
    if (kind == -1) {
        kind = resolve_ivx(p, label);
    }
    if (kind != MK_NONE && p->tail_line == 0) {
        return sub_line(p, kind, label, s + used, n - used, s, n, line);
    }
    join(current(p), s, n);
    return RP_OK;
}

/* ==== footnote marks ==== */

/*
 * True when the word ending at @p s[end] (exclusive) numbers what follows ("No.197",
 * "Article.5", "para.12"): digits glued to it are a number, not a footnote mark.
 */
static bool numbering_word_before(const char *s, size_t end)
{
    static const char *const words[] = {
        "no",         "nos", "art",  "arts",  "article", "articles", "para",  "paras", "paragraph",
        "paragraphs", "p",   "pp",   "vol",   "chapter", "section",  "annex", "rule",  "rules",
        "cets",       "ets", "page", "pages", "item",    "point",    "number"};
    size_t start = end;
    while (start > 0 && is_letter(s[start - 1])) {
        start--;
    }
    size_t n = end - start;
    for (size_t k = 0; k < RP_ARRAY_LEN(words); k++) {
        bool same = strlen(words[k]) == n;
        for (size_t j = 0; same && j < n; j++) {
            char c = s[start + j];
            same = (is_upper(c) ? (char)(c - 'A' + 'a') : c) == words[k][j];
        }
        if (same) {
            return true;
        }
    }
    return false;
}

/* Length of a footnote mark at @p s[i] (@p n bytes of line), or 0. */
static size_t footnote_at(const char *s, size_t n, size_t i)
{
    const unsigned char *u = (const unsigned char *)s;
    if (i + 1 < n && u[i] == 0xC2 && (u[i + 1] == 0xB9 || u[i + 1] == 0xB2 || u[i + 1] == 0xB3)) {
        return 2;
    }
    if (i + 2 < n && u[i] == 0xE2 && u[i + 1] == 0x81 &&
        (u[i + 2] == 0xB0 || (u[i + 2] >= 0xB4 && u[i + 2] <= 0xB9))) {
        return 3;
    }
    if (s[i] == '[') {
        size_t j = i + 1;
        while (j < n && j - i <= 4 && s[j] >= '0' && s[j] <= '9') {
            j++;
        }
        return j > i + 1 && j - i <= 4 && j < n && s[j] == ']' ? j + 1 - i : 0;
    }
    if (s[i] == '*' && i > 0 && s[i - 1] != ' ' && s[i - 1] != '\t') {
        return 1;
    }
    bool letter_before = i > 1 && (is_letter(s[i - 2]) || s[i - 2] == ')');
    char punct = '\0';
    if (i > 0) {
        punct = s[i - 1];
    }
    if (!letter_before || punct == '\0' || strchr(".;:,", punct) == NULL || s[i] < '0' ||
        s[i] > '9') {
        return 0;
    }
    size_t j = i;
    while (j < n && j - i < 4 && s[j] >= '0' && s[j] <= '9') {
        j++;
    }
    /* after a comma any word may follow ("compensation,23 in"); else a capital */
    bool next =
        j + 1 < n && s[j] == ' ' && (punct == ',' ? is_letter(s[j + 1]) : is_upper(s[j + 1]));
    if (j - i > 3 || (j != n && !next) || numbering_word_before(s, i - 1)) {
        return 0;
    }
    return j - i;
}

/* Copy line @p s (@p n bytes) into @p b without footnote marks and trailing space. */
static void strip_footnotes(rp_x_buf *b, const char *s, size_t n)
{
    rp_x_buf_reset(b);
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    while (i < n) {
        size_t k = footnote_at(s, n, i);
        if (k > 0) {
            i += k;
            continue;
        }
        char c = s[i];
        if (c == '\t') {
            c = ' ';
        }
        rp_x_buf_putc(b, c);
        i++;
    }
    while (b->len > 0 && b->data[b->len - 1] == ' ') {
        b->data[--b->len] = '\0';
    }
}

/* ==== entry points ==== */

/* Check the input: no NUL, valid UTF-8, not too large. Positions are 1-based. */
static int check_input(const char *text, size_t len, const char *name, rp_error *err)
{
    if (len == 0) {
        return RP_OK;
    }
    if (len > MAX_INPUT) {
        return rp_error_set_at(err, RP_EPARSE, name, 0, 0, "input larger than 64 MiB");
    }
    size_t bad = rp_x_utf8_check((const unsigned char *)text, len);
    const char *nul = memchr(text, '\0', len);
    size_t at = nul != NULL && (size_t)(nul - text) < bad ? (size_t)(nul - text) : bad;
    if (at == len) {
        return RP_OK;
    }
    long line = 1;
    long col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return rp_error_set_at(err, RP_EPARSE, name, line, col,
                           text[at] == '\0' ? "binary input: expected text, found a NUL byte"
                                            : "invalid UTF-8");
}

static void parser_release(parser *p)
{
    rp_x_buf_release(&p->body);
    rp_x_buf_release(&p->tail);
    for (size_t k = 0; k < MAX_SUBS; k++) {
        rp_x_buf_release(&p->subs[k].text);
    }
}

/* Any buffer of @p p out of memory. */
static bool parser_oom(const parser *p)
{
    bool oom = rp_x_buf_oom(&p->body) || rp_x_buf_oom(&p->tail);
    for (size_t k = 0; k < MAX_SUBS; k++) {
        oom = oom || rp_x_buf_oom(&p->subs[k].text);
    }
    return oom;
}

int rp_recs_text_parse(
    rp_recs_text **out, const char *text, size_t len, const char *name, rp_error *err)
{
    if (out == NULL || (text == NULL && len > 0)) {
        return rp_error_set(err, RP_EINVAL, "no input given");
    }
    *out = NULL;
    name = name != NULL ? name : "";
    int rc = check_input(text, len, name, err);
    if (rc != RP_OK) {
        return rc;
    }
    parser *p = rp_calloc(1, sizeof(*p));
    rp_x_buf line = RP_X_BUF_INIT;
    if (p != NULL) {
        p->res = rp_calloc(1, sizeof(*p->res));
    }
    if (p == NULL || p->res == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    p->name = name;
    p->err = err;
    long line_no = 0;
    size_t i = 0;
    while (i < len && rc == RP_OK) {
        size_t j = i;
        while (j < len && text[j] != '\n' && text[j] != '\r') {
            j++;
        }
        line_no++;
        strip_footnotes(&line, text + i, j - i);
        rc = rp_x_buf_oom(&line) ? nomem(p) : one_line(p, rp_x_buf_cstr(&line), line.len, line_no);
        if (rc == RP_OK && parser_oom(p)) {
            rc = nomem(p);
        }
        i = j < len && text[j] == '\r' && j + 1 < len && text[j + 1] == '\n' ? j + 2 : j + 1;
    }
    if (rc == RP_OK) {
        rc = flush_paragraph(p);
    }
    if (rc == RP_OK && parser_oom(p)) {
        rc = nomem(p);
    }
    if (rc == RP_OK) {
        rc = number_items(p);
    }
    if (rc == RP_OK && p->res->n_items == 0) {
        rc = rp_error_set_at(err, RP_EPARSE, name, 1, 1,
                             "no numbered paragraph found (expected lines such as "
                             "\"1. GRETA urges the authorities to ...\")");
    }
out:
    rp_x_buf_release(&line);
    if (p != NULL) {
        parser_release(p);
        if (rc == RP_OK) {
            *out = p->res;
        } else {
            rp_recs_text_free(p->res);
        }
        rp_free(p);
    }
    return rc;
}

void rp_recs_text_free(rp_recs_text *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n_items; i++) {
        rp_free(t->items[i].text);
    }
    rp_free(t->items);
    rp_free(t);
}
