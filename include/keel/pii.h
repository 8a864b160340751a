/*
 * PII: find personal data in values and columns, and anonymise a frame by
 * the policies of keel.yaml (constraints.pii) before anything is stored.
 *
 * Ownership: a kl_pii_report and a kl_pii_log live on the caller's stack,
 * are filled by kl_pii_scan / kl_pii_apply and released with their _release
 * function; what they point to belongs to them. Frames and policies passed in
 * are borrowed; the frame kl_pii_apply returns belongs to the caller.
 *
 * Detection works at two levels (docs/PII.md has the rules and scores):
 *   value level   kl_pii_find scans a string (a cell, or free text) with
 *                 hand-written matchers and validators (Luhn, mod-97, SSA
 *                 rules, octet ranges, calendar dates) and reports spans;
 *   column level  kl_pii_scan combines the value evidence of every cell
 *                 with what the column's name suggests into one entity and
 *                 a confidence per column.
 * Weak patterns (nine bare digits for an SSN, a name-shaped value for a
 * person, a date for a date of birth) count only when the context (the
 * column's name, or in free text a context word such as "born", "ssn" or
 * "mobile" among the 5 words before the match) names the entity.
 */
#ifndef KEEL_PII_H
#define KEEL_PII_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/spec.h"

enum kl_pii_entity {
    KL_PII_ENTITY_NONE = 0,
    KL_PII_ENTITY_EMAIL = 1,
    KL_PII_ENTITY_PHONE = 2,
    KL_PII_ENTITY_CREDIT_CARD = 3,
    KL_PII_ENTITY_US_SSN = 4,
    KL_PII_ENTITY_IBAN = 5,
    KL_PII_ENTITY_IP_ADDRESS = 6,
    KL_PII_ENTITY_URL = 7,
    KL_PII_ENTITY_DATE_OF_BIRTH = 8,
    KL_PII_ENTITY_PERSON = 9,    /* context only: a name-shaped value in a name column */
    KL_PII_ENTITY_ADDRESS = 10,  /* context only */
    KL_PII_ENTITY_POSTCODE = 11, /* context only */
    KL_PII_ENTITY_PASSPORT = 12, /* context only */
    KL_PII_ENTITY_COUNT = 13,
};

/* "email", "phone", "credit_card", "us_ssn", "iban", "ip_address", "url",
 * "date_of_birth", "person", "address", "postcode", "passport"; "none"; "?" out of range. */
const char *kl_pii_entity_name(enum kl_pii_entity e);
/*
 * An entity from its name or a common alias, ignoring case, '_' and '-'
 * ("ssn", "card", "ip", "dob", "name", "zip", ...); -1 when unknown.
 */
int kl_pii_entity_parse(const char *name);

/* Bit (1u << entity) set for each entity a column name suggests ("Email_Address",
 * "dob", "client_ip", "first_name"); 0 when none. */
unsigned kl_pii_name_hint(const char *column_name);

/* ---- value level ---- */

typedef struct kl_pii_match {
    enum kl_pii_entity entity;
    size_t start, end; /* byte span [start, end) in the scanned string */
    double score;      /* 0..1: 1 when a validator passed; see docs/PII.md */
} kl_pii_match;

/* Matches below this score are not reported by kl_pii_find. */
#define KL_PII_MIN_SCORE 0.5

/*
 * Scan s[0..n) (UTF-8, need not be NUL-terminated) for PII. hint is a
 * kl_pii_name_hint mask: it enables the context-only patterns of the
 * entities it names. Matches are reported left to right and never overlap;
 * at most max are written to out (out may be NULL when max is 0). Returns the
 * number of matches found, which may exceed max. Never allocates.
 */
size_t kl_pii_find(const char *s, size_t n, unsigned hint, kl_pii_match *out, size_t max);

/* Validators on a whole string (separators allowed where the format has them). */
int kl_pii_luhn_ok(const char *s, size_t n);  /* digits with spaces or '-'; Luhn sum mod 10 = 0 */
int kl_pii_card_ok(const char *s, size_t n);  /* 13-19 digits, a known issuer prefix, and Luhn */
int kl_pii_iban_ok(const char *s, size_t n);  /* country length table and mod 97 = 1 */
int kl_pii_ssn_ok(const char *s, size_t n);   /* ddd-dd-dddd / ddd dd dddd / 9 digits, SSA rules */
int kl_pii_ipv4_ok(const char *s, size_t n);  /* 4 octets 0-255, optional /0-32 */
int kl_pii_ipv6_ok(const char *s, size_t n);  /* full, '::' forms, embedded IPv4, optional /0-128 */
int kl_pii_email_ok(const char *s, size_t n); /* local@domain.tld */

/* ---- column level ---- */

typedef struct kl_pii_scan_opts {
    double min_confidence; /* a column is flagged at or above this; 0: 0.5 */
    int skip_numeric;      /* 1: do not look at numeric columns */
} kl_pii_scan_opts;

typedef struct kl_pii_entity_stat {
    size_t matched;    /* cells with at least one match of the entity */
    size_t whole;      /* of those, cells the match covers entirely (trimmed) */
    double share;      /* matched / present */
    double confidence; /* the column formula of docs/PII.md */
} kl_pii_entity_stat;

typedef struct kl_pii_column {
    char *name;                /* owned copy */
    size_t index;              /* column index in the frame */
    size_t present;            /* non-missing cells */
    unsigned hint;             /* kl_pii_name_hint of the name */
    enum kl_pii_entity entity; /* the most confident entity; NONE when no evidence at all */
    int flagged;               /* confidence >= min_confidence */
    double share, confidence;  /* of entity */
    kl_pii_entity_stat stats[KL_PII_ENTITY_COUNT];
} kl_pii_column;

typedef struct kl_pii_report {
    size_t rows;
    size_t n_columns;
    kl_pii_column *columns; /* one per frame column, in order */
    double min_confidence;
} kl_pii_report;

void kl_pii_report_release(kl_pii_report *r);

/*
 * Scan every cell of every column of f on kl_threads() threads (the report
 * does not depend on the thread count). Text and categorical cells are
 * scanned as strings (a category once, weighted by its count); cells of
 * INT numeric columns with 9 or more digits as their digits (cards, bare
 * SSNs and phone numbers stored as numbers); FLOAT columns and bools are
 * skipped; time columns count as dates of birth when the name says so and
 * the date is plausible. opts may be NULL. Returns 0 or KL_ENOMEM.
 */
int kl_pii_scan(const kl_frame *f, const kl_pii_scan_opts *opts, kl_pii_report *out, kl_err *err);

/* ---- policies ---- */

typedef struct kl_pii_policies {
    kl_pii_policy fallback;          /* for flagged columns no rule names (keel.yaml default) */
    const kl_spec_pii_rule *columns; /* by column name, applied whatever was detected */
    size_t n_columns;
    const kl_spec_pii_rule *entities; /* by entity name (kl_pii_entity_parse) */
    size_t n_entities;
} kl_pii_policies;

/* The policies of spec's constraints.pii (borrowed from spec). */
void kl_pii_policies_from_spec(const kl_spec *spec, kl_pii_policies *out);

/* One transformed column: what lineage records. */
typedef struct kl_pii_log_entry {
    char *column;              /* owned copy */
    enum kl_pii_entity entity; /* what was found (NONE for a column rule on a clean column) */
    kl_pii_policy policy;
    const char *rule; /* "column", "entity" or "default": which policy applied */
    int whole;        /* 1: whole cells transformed; 0: only the matched spans */
    size_t cells;     /* cells changed (for drop: the column's present cells) */
    size_t spans;     /* spans changed when whole is 0 */
} kl_pii_log_entry;

typedef struct kl_pii_log {
    size_t n;
    kl_pii_log_entry *entries;
} kl_pii_log;

void kl_pii_log_release(kl_pii_log *log);

/*
 * The log as JSON (the caller owns the reference; NULL when out of memory):
 * an array with one object per entry: column, entity (null for a column
 * rule on a column where nothing was found), action, keep_last (mask only),
 * rule, whole (true: whole cells; false: matches inside text), cells, and
 * spans (when whole is false). This is what lineage records.
 */
struct json_t;
struct json_t *kl_pii_log_json(const kl_pii_log *log);

/*
 * The report as JSON (the caller owns the reference; NULL when out of
 * memory): rows, columns, min_confidence, flagged (count) and fields, one
 * object per column: name, entity (null when none), share, confidence
 * (rounded to 4 decimals), flagged, present, name_hint (entity names) and
 * matches: {ENTITY: {cells, whole, share, confidence}} for each entity found.
 */
struct json_t *kl_pii_report_json(const kl_pii_report *r);

#define KL_PII_SALT_LEN 32

/*
 * Apply the policies to in and return the anonymised frame in *out:
 *   - a column rule applies to every cell of that column;
 *   - a flagged column (report) takes its entity's rule, else the fallback;
 *     its whole cells are transformed;
 *   - in other text and categorical columns, each match of an entity that
 *     has a rule (or, with a non-keep fallback, any match) is transformed
 *     in place inside the cell, so an email in a comment is caught too.
 * Actions: keep; drop (the column goes; a span is cut out); redact (the cell
 * or span becomes "[REDACTED:<entity>]", "[REDACTED]" without one); mask
 * (every character but the last keep_last becomes '*'); hash (lowercase hex
 * SHA-256 of the UTF-8 value followed by the salt); fail (KL_ECHECK naming
 * the column and entity; *out is NULL). Transformed columns are text (or
 * categorical when they were). report may be NULL (f is scanned with default
 * options); salt is needed only by hash (KL_EINVAL without it). log may be
 * NULL. A column rule naming a column f lacks is KL_ENOTFOUND (a misspelt
 * name must not let PII through). Returns 0, KL_ECHECK, KL_ENOTFOUND,
 * KL_EINVAL or KL_ENOMEM.
 */
int kl_pii_apply(const kl_frame *in, const kl_pii_report *report, const kl_pii_policies *p,
                 const uint8_t *salt, kl_frame **out, kl_pii_log *log, kl_err *err);

/*
 * All of it for a data source about to be stored: scan in, apply spec's
 * constraints.pii, loading (or creating) project_dir's salt only when a
 * policy hashes. *out is the frame to store; log (may be NULL) says what was
 * transformed. With no policy other than keep, *out is a copy of in and the
 * log is empty. Errors as kl_pii_apply and kl_pii_salt_load.
 */
int kl_pii_protect(const kl_frame *in, const kl_spec *spec, const char *project_dir, kl_frame **out,
                   kl_pii_log *log, kl_err *err);

/*
 * The project's salt for hash policies: project_dir/.keel/secrets/pii_salt,
 * 32 random bytes. Created on first use (the directory with mode 0700, the
 * file with mode 0600, written once with O_EXCL); an existing file that
 * others may read or write, or that is not 32 bytes, is an error (KL_EIO or
 * KL_ECORRUPT) rather than a silently weak salt. The salt lives outside
 * every snapshot.
 */
int kl_pii_salt_load(const char *project_dir, uint8_t salt[KL_PII_SALT_LEN], kl_err *err);

#endif
