// The batch kernels of src/mask/copy-kernel.ts (maskRows: COPY text rows),
// src/mask/masked-row.ts (maskInserts: the rows of a run of INSERT statements, SQL
// literals) and src/unmask/row-restorer.ts (restoreRows: COPY text rows) for the rows
// they can do without JavaScript (and the COPY data scanner's walk from line to line,
// countLines; the INSERT statements whose rows are plain, insertRows):
// tables whose masked columns are all constants, `xxx` + a plain key, or json placeholders
// (every string `xxx` + the key). They write the bytes (and, masking, the vault records)
// the JavaScript kernels would, and stop at the first row they cannot do the same way
// (wrong field count, a key that is not plain ASCII, a key longer than its column, json
// that is not plain or not valid, a record too large; unmasking, a record or row that does
// not check), leaving that row to JavaScript, which writes it or throws the error it
// always would. They also stop when the output or records buffer lacks room, saying how
// much they need. Nothing of a row is committed until the whole row is written.
//
// test/mask/native-kernel.test.ts compares their bytes with the JavaScript kernels'.

#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// What src/native.ts expects (NATIVE_API there): a binary built from other sources is not used.
#define API_VERSION 6

#define CONSTANT 1
#define KEY_TEXT 2
#define JSON_KEY_TEXT 3
#define RECORD_ROW 2

// What maskRows returns.
#define DONE 0
#define ROW_FOR_JS 1
#define NEED_OUT 2
#define NEED_RECORDS 3

// The state array: where the batch got to.
#define S_POS 0
#define S_ROWS 1
#define S_OUT 2
#define S_RECORDS 3
#define S_CHANGED 4
#define S_NEED 5
#define S_SIZE 6

typedef struct {
  int32_t columns;
  // The fields are SQL literals (INSERT rows), else COPY text.
  int literal;
  uint32_t tableIndex;
  int32_t keyIndex;
  // The key columns' fields, then the masked columns': what a record holds before its derived values.
  int32_t nRecordColumns;
  int32_t *recordColumns;
  int32_t nKey;
  int32_t nMasked;
  int32_t *masked;
  uint8_t *kinds;
  int32_t *maxLength;
  uint8_t **constants;
  int32_t *constantLen;
  uint8_t **nulls;
  int32_t *nullLen;
  int32_t nDerived;
  int32_t *derived;
  int32_t keyTextCount;
  int32_t jsonCount;
  int64_t constantRoom;
  int64_t maxRecord;
  // Per row: field ranges, and the bytes written in each masked column.
  int32_t *starts;
  int32_t *ends;
  const uint8_t **written;
  int32_t *writtenLen;
  // xxx<key> for each KEY_TEXT column: keyTextCap bytes each.
  uint8_t *keyText;
  int64_t keyTextCap;
  // The masked values of the row's JSON_KEY_TEXT columns, one after the other in jsonText.
  const uint8_t **shaped;
  int32_t *shapedLen;
  uint8_t *jsonText;
  int64_t jsonTextCap;
} Plan;

static void plan_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Plan *p = data;
  if (p == NULL) return;
  free(p->recordColumns);
  free(p->masked);
  free(p->kinds);
  free(p->maxLength);
  for (int32_t j = 0; j < p->nMasked; j++) {
    if (p->constants) free(p->constants[j]);
    if (p->nulls) free(p->nulls[j]);
  }
  free(p->constants);
  free(p->constantLen);
  free(p->nulls);
  free(p->nullLen);
  free(p->derived);
  free(p->starts);
  free(p->ends);
  free(p->written);
  free(p->writtenLen);
  free(p->shaped);
  free(p->shapedLen);
  free(p->keyText);
  free(p->jsonText);
  free(p);
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "PGCLOAK_NATIVE", message);
  return NULL;
}

/** A copy of an Int32Array (or Uint8Array when `bytes`), its length in *n. */
static void *copy_array(napi_env env, napi_value v, int bytes, int32_t *n) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return NULL;
  if (type != (bytes ? napi_uint8_array : napi_int32_array)) return NULL;
  size_t size = length * (bytes ? 1 : sizeof(int32_t));
  void *out = malloc(size + 1);
  if (out == NULL) return NULL;
  if (size > 0) memcpy(out, data, size);
  *n = (int32_t)length;
  return out;
}

/** A copy of a Buffer's bytes (null or undefined: none), its length in *n. Returns 0 on a bad argument. */
static int copy_bytes(napi_env env, napi_value v, uint8_t **out, int32_t *n) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return 0;
  *out = NULL;
  *n = 0;
  if (type == napi_null || type == napi_undefined) return 1;
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return 0;
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, v, &data, &length) != napi_ok) return 0;
  *out = malloc(length + 1);
  if (*out == NULL) return 0;
  if (length > 0) memcpy(*out, data, length);
  *n = (int32_t)length;
  return 1;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/**
 * createPlan(columns, tableIndex, keyIndex, recordColumns: Int32Array, masked: Int32Array,
 * kinds: Uint8Array, maxLength: Int32Array, constants: (Buffer|null)[], nulls: Buffer[],
 * derived: Int32Array, maxRecord, literal: boolean): a table's plan, for maskRows and
 * restoreRows (COPY text fields) or maskInserts (SQL literals, `literal`).
 */
static napi_value create_plan(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 12) return fail(env, "createPlan: 12 arguments expected");
  Plan *p = calloc(1, sizeof(Plan));
  if (p == NULL) return fail(env, "createPlan: out of memory");
  int32_t tableIndex, nKinds = 0, nMax = 0;
  double maxRecord = 0;
  bool literal = false;
  int ok = get_i32(env, a[0], &p->columns) && get_i32(env, a[1], &tableIndex) && get_i32(env, a[2], &p->keyIndex) &&
           napi_get_value_bool(env, a[11], &literal) == napi_ok &&
           napi_get_value_double(env, a[10], &maxRecord) == napi_ok && maxRecord >= 0 && maxRecord <= 9007199254740991.0;
  p->literal = literal;
  p->tableIndex = (uint32_t)tableIndex;
  p->maxRecord = (int64_t)maxRecord;
  if (ok) p->recordColumns = copy_array(env, a[3], 0, &p->nRecordColumns);
  if (ok) p->masked = copy_array(env, a[4], 0, &p->nMasked);
  if (ok) p->kinds = copy_array(env, a[5], 1, &nKinds);
  if (ok) p->maxLength = copy_array(env, a[6], 0, &nMax);
  if (ok) p->derived = copy_array(env, a[9], 0, &p->nDerived);
  ok = ok && p->columns > 0 && tableIndex >= 0 && p->recordColumns && p->masked && p->kinds && p->maxLength && p->derived &&
       nKinds == p->nMasked && nMax == p->nMasked;
  if (ok) {
    p->constants = calloc(p->nMasked + 1, sizeof(uint8_t *));
    p->constantLen = calloc(p->nMasked + 1, sizeof(int32_t));
    p->nulls = calloc(p->nMasked + 1, sizeof(uint8_t *));
    p->nullLen = calloc(p->nMasked + 1, sizeof(int32_t));
    p->starts = calloc(p->columns, sizeof(int32_t));
    p->ends = calloc(p->columns, sizeof(int32_t));
    p->written = calloc(p->nMasked + 1, sizeof(uint8_t *));
    p->writtenLen = calloc(p->nMasked + 1, sizeof(int32_t));
    p->shaped = calloc(p->nMasked + 1, sizeof(uint8_t *));
    p->shapedLen = calloc(p->nMasked + 1, sizeof(int32_t));
    ok = p->constants && p->constantLen && p->nulls && p->nullLen && p->starts && p->ends && p->written && p->writtenLen && p->shaped &&
         p->shapedLen;
  }
  for (int32_t j = 0; ok && j < p->nMasked; j++) {
    napi_value c, n;
    ok = napi_get_element(env, a[7], j, &c) == napi_ok && napi_get_element(env, a[8], j, &n) == napi_ok &&
         copy_bytes(env, c, &p->constants[j], &p->constantLen[j]) && copy_bytes(env, n, &p->nulls[j], &p->nullLen[j]) &&
         p->masked[j] >= 0 && p->masked[j] < p->columns && (p->kinds[j] == CONSTANT || p->kinds[j] == KEY_TEXT || p->kinds[j] == JSON_KEY_TEXT) &&
         (p->kinds[j] != CONSTANT || p->constants[j] != NULL) && p->nulls[j] != NULL;
    if (ok && p->kinds[j] == KEY_TEXT) p->keyTextCount++;
    if (ok && p->kinds[j] == JSON_KEY_TEXT) p->jsonCount++;
    if (ok) p->constantRoom += (p->constantLen[j] > 2 ? p->constantLen[j] : 2) + 3;
  }
  for (int32_t i = 0; ok && i < p->nRecordColumns; i++) ok = p->recordColumns[i] >= 0 && p->recordColumns[i] < p->columns;
  // Masked columns in field order (rows are written front to back), after the keys in a record.
  for (int32_t j = 1; ok && j < p->nMasked; j++) ok = p->masked[j] > p->masked[j - 1];
  p->nKey = ok ? p->nRecordColumns - p->nMasked : 0;
  for (int32_t j = 0; ok && j < p->nMasked; j++) ok = p->nKey >= 0 && p->recordColumns[p->nKey + j] == p->masked[j];
  for (int32_t i = 0; ok && i < p->nDerived; i++) ok = p->derived[i] >= 0 && p->derived[i] < p->nMasked;
  if (ok && p->keyTextCount + p->jsonCount > 0) ok = p->keyIndex >= 0 && p->keyIndex < p->columns;
  if (!ok) {
    plan_free(env, p, NULL);
    return fail(env, "createPlan: invalid plan");
  }
  napi_value external;
  if (napi_create_external(env, p, plan_free, NULL, &external) != napi_ok) {
    plan_free(env, p, NULL);
    return fail(env, "createPlan: cannot wrap the plan");
  }
  return external;
}

static inline uint8_t *put_varint(uint8_t *o, uint64_t v) {
  while (v >= 0x80) {
    *o++ = (uint8_t)((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *o++ = (uint8_t)v;
  return o;
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  bool is;
  return napi_is_buffer(env, v, &is) == napi_ok && is && napi_get_buffer_info(env, v, (void **)data, length) == napi_ok;
}

/** The Float64Array a kernel reports where it got to in (S_SIZE entries at least), or NULL. */
static double *get_state(napi_env env, napi_value v) {
  bool is;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  void *data;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is || napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok ||
      type != napi_float64_array || length < S_SIZE) {
    return NULL;
  }
  return data;
}

/** The line from `pos` in buf[..end): where its row ends (before NL, or CR NL) and where the next line starts. */
static inline void line_at(const uint8_t *buf, int32_t pos, int32_t end, int32_t *rowEnd, int32_t *lineEnd) {
  const uint8_t *nlp = memchr(buf + pos, '\n', (size_t)(end - pos));
  int32_t nl = nlp ? (int32_t)(nlp - buf) : end;
  *rowEnd = nl > pos && buf[nl - 1] == '\r' ? nl - 1 : nl;
  *lineEnd = nl < end ? nl + 1 : end;
}

/** Printable ASCII other than backslash: a key whose text is its bytes, in COPY text as in xxx<key>. */
static inline int plain_key(const uint8_t *b, int32_t s, int32_t e) {
  for (int32_t i = s; i < e; i++) {
    uint8_t c = b[i];
    if (c < 0x20 || c > 0x7e || c == '\\') return 0;
  }
  return 1;
}

/** The fields of the row buf[pos..rowEnd) into p->starts/ends: 0 unless exactly one per column. */
static inline int split_fields(Plan *p, const uint8_t *buf, int32_t pos, int32_t rowEnd) {
  int32_t q = pos;
  for (int32_t i = 0; i < p->columns; i++) {
    const uint8_t *tab = memchr(buf + q, '\t', (size_t)(rowEnd - q));
    int32_t e = tab ? (int32_t)(tab - buf) : rowEnd;
    if (e == rowEnd ? i < p->columns - 1 : i == p->columns - 1) return 0;
    p->starts[i] = q;
    p->ends[i] = e;
    q = e + 1;
  }
  return 1;
}

/** JSON whitespace in a plain value: spaces (tab, NL and CR are escaped in COPY text). */
static inline int32_t json_space(const uint8_t *v, int32_t i, int32_t n) {
  while (i < n && v[i] == ' ') i++;
  return i;
}

/**
 * The length of the UTF-8 sequence at v[i] (a byte of 0x80 or more), or -1 when it is not
 * one the JavaScript decoder (WHATWG UTF-8, fatal) reads: overlong, a surrogate, beyond
 * U+10FFFF, cut short.
 */
static inline int32_t utf8_length(const uint8_t *v, int32_t i, int32_t n) {
  uint8_t c = v[i];
  int32_t len;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return -1;
  }
  if (n - i < len || v[i + 1] < lo || v[i + 1] > hi) return -1;
  for (int32_t k = 2; k < len; k++) {
    if (v[i + k] < 0x80 || v[i + k] > 0xbf) return -1;
  }
  return len;
}

/**
 * From a string's opening quote: after its closing quote, or -1. A plain value has no
 * escapes; bytes from 0x80 must be UTF-8 (in a single-byte dump encoding JavaScript reads
 * them byte for byte: a string of such bytes is masked and its key copied the same).
 */
static inline int32_t json_string_end(const uint8_t *v, int32_t i, int32_t n) {
  for (i++; i < n;) {
    uint8_t c = v[i];
    if (c == '"') return i + 1;
    if (c < 0x80) {
      i++;
    } else {
      int32_t len = utf8_length(v, i, n);
      if (len < 0) return -1;
      i += len;
    }
  }
  return -1;
}

static inline int json_digit(const uint8_t *v, int32_t i, int32_t n) {
  return i < n && v[i] >= '0' && v[i] <= '9';
}

/** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at i: its end, or -1. */
static int32_t json_number_end(const uint8_t *v, int32_t i, int32_t n) {
  if (i < n && v[i] == '-') i++;
  if (i < n && v[i] == '0') {
    i++;
  } else if (json_digit(v, i, n)) {
    while (json_digit(v, i, n)) i++;
  } else {
    return -1;
  }
  if (i < n && v[i] == '.') {
    if (!json_digit(v, i + 1, n)) return -1;
    i += 2;
    while (json_digit(v, i, n)) i++;
  }
  if (i < n && (v[i] == 'e' || v[i] == 'E')) {
    i++;
    if (i < n && (v[i] == '+' || v[i] == '-')) i++;
    if (!json_digit(v, i, n)) return -1;
    while (json_digit(v, i, n)) i++;
  }
  return i;
}

/** `"key" :` at i: where the member's value starts, or -1. */
static int32_t json_member(const uint8_t *v, int32_t i, int32_t n) {
  if (i >= n || v[i] != '"') return -1;
  i = json_string_end(v, i, n);
  if (i < 0) return -1;
  i = json_space(v, i, n);
  if (i >= n || v[i] != ':') return -1;
  return json_space(v, i + 1, n);
}

/** Containers open at once in a json value done here; deeper ones go to JavaScript. */
#define JSON_DEPTH 64

/** Room json_shape needs for a value of n bytes and a key of kn: each string of 2 bytes or more becomes "xxx<key>". */
static inline int64_t json_room(int32_t n, int32_t kn) {
  return (int64_t)n + ((int64_t)n / 2 + 1) * ((int64_t)kn + 4);
}

/** The most room a row's json placeholders may ask for; larger values go to JavaScript (memory stays flat). */
#define JSON_ROOM_MAX (4 << 20)

/**
 * The json placeholder of the COPY text field v[0..n) for a row whose key is key[0..kn),
 * as src/copy/json-shape.ts (maskJsonShape with `xxx` + the key) and the COPY text codec
 * write it: every string value "xxx<key>", every number but a lone 0 `0`, true `false`;
 * keys, false, null, spaces and structure as they are. Only for plain values (no
 * backslash, so no escapes, no control characters, UTF-8 in strings only: the field's
 * bytes are its text, and so are the result's) and row keys without a quote; into
 * dst[0..cap) (json_room bytes suffice). Its length, or -1: JavaScript's to do (not plain,
 * invalid json, nested deeper than JSON_DEPTH, no room).
 */
static int64_t json_shape(const uint8_t *v, int32_t n, const uint8_t *key, int32_t kn, uint8_t *dst, int64_t cap) {
  // No escapes, no control characters (JavaScript's to report); bytes from 0x80 only in strings (below).
  for (int32_t k = 0; k < n; k++) {
    if (v[k] < 0x20 || v[k] == '\\') return -1;
  }
  if (memchr(key, '"', (size_t)kn) != NULL) return -1;
  uint8_t open[JSON_DEPTH];
  int depth = 0;
  int64_t o = 0;
  // v[copied..i) is still to be written as it is.
  int32_t copied = 0;
  int32_t i = json_space(v, 0, n);
  for (;;) {
    // A value starts at i.
    if (i >= n) return -1;
    uint8_t c = v[i];
    // A value to replace ends at e (-1: none): a string by "xxx<key>", anything else by `with`.
    int32_t e = -1;
    const char *with = NULL;
    if (c == '{' || c == '[') {
      i = json_space(v, i + 1, n);
      if (i < n && v[i] == (c == '{' ? '}' : ']')) {
        i++;
      } else {
        if (depth == JSON_DEPTH) return -1;
        open[depth++] = c;
        if (c == '{' && (i = json_member(v, i, n)) < 0) return -1;
        continue;
      }
    } else if (c == '"') {
      if ((e = json_string_end(v, i, n)) < 0) return -1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if ((e = json_number_end(v, i, n)) < 0) return -1;
      if (e - i == 1 && c == '0') {
        i = e;
        e = -1;
      } else {
        with = "0";
      }
    } else if (c == 't' && n - i >= 4 && memcmp(v + i, "true", 4) == 0) {
      e = i + 4;
      with = "false";
    } else if (c == 'f' && n - i >= 5 && memcmp(v + i, "false", 5) == 0) {
      i += 5;
    } else if (c == 'n' && n - i >= 4 && memcmp(v + i, "null", 4) == 0) {
      i += 4;
    } else {
      return -1;
    }
    if (e >= 0) {
      if (o + (i - copied) + 5 + kn > cap) return -1;
      memcpy(dst + o, v + copied, (size_t)(i - copied));
      o += i - copied;
      if (c == '"') {
        memcpy(dst + o, "\"xxx", 4);
        memcpy(dst + o + 4, key, (size_t)kn);
        o += 4 + kn;
        dst[o++] = '"';
      } else {
        size_t wn = strlen(with);
        memcpy(dst + o, with, wn);
        o += (int64_t)wn;
      }
      copied = i = e;
    }
    // A value ended at i: close containers until one goes on with ','.
    for (;;) {
      i = json_space(v, i, n);
      if (depth == 0) {
        if (i != n || o + (n - copied) > cap) return -1;
        memcpy(dst + o, v + copied, (size_t)(n - copied));
        return o + (n - copied);
      }
      if (i >= n) return -1;
      uint8_t top = open[depth - 1];
      if (v[i] == ',') {
        i = json_space(v, i + 1, n);
        if (top == '{' && (i = json_member(v, i, n)) < 0) return -1;
        break;
      }
      if (v[i] != (top == '{' ? '}' : ']')) return -1;
      depth--;
      i++;
    }
  }
}

static inline int is_copy_null(const uint8_t *v, int32_t vn) {
  return vn == 2 && v[0] == '\\' && v[1] == 'N';
}

/** NULL in the plan's fields: `\\N` in COPY text, the word NULL in any case among SQL literals (isSqlNull). */
static inline int is_null(const Plan *p, const uint8_t *v, int32_t vn) {
  if (!p->literal) return is_copy_null(v, vn);
  return vn == 4 && (v[0] | 0x20) == 'n' && (v[1] | 0x20) == 'u' && (v[2] | 0x20) == 'l' && (v[3] | 0x20) == 'l';
}

/** A SQL literal's json: a quoted string without a quote in its body (else JavaScript's to decode). */
static inline int plain_quoted(const uint8_t *v, int32_t vn) {
  return vn >= 2 && v[0] == '\'' && v[vn - 1] == '\'' && memchr(v + 1, '\'', (size_t)(vn - 2)) == NULL;
}

/**
 * The json placeholders of the row's JSON_KEY_TEXT columns from the values at written[j]
 * (masking: the fields; unmasking: the originals), for the key key[0..kn), into shaped[j]
 * (NULL stays NULL: replacement() writes it). 1 when done, 0 when a value is JavaScript's to
 * do, -1 out of memory; *total gets the placeholders' length.
 */
static int shape_json(Plan *p, const uint8_t *key, int32_t kn, int64_t *total) {
  int64_t need = 0;
  for (int32_t j = 0; j < p->nMasked; j++) {
    if (p->kinds[j] != JSON_KEY_TEXT || is_null(p, p->written[j], p->writtenLen[j])) continue;
    // SQL: the body of the quoted literal, and the quotes around its placeholder.
    if (p->literal && !plain_quoted(p->written[j], p->writtenLen[j])) return 0;
    need += json_room(p->writtenLen[j], kn) + 2;
  }
  if (need > JSON_ROOM_MAX) return 0;
  if (p->jsonTextCap < need) {
    free(p->jsonText);
    p->jsonTextCap = need < 65536 ? 65536 : need;
    p->jsonText = malloc((size_t)p->jsonTextCap);
    if (p->jsonText == NULL) {
      p->jsonTextCap = 0;
      return -1;
    }
  }
  int64_t o = 0;
  for (int32_t j = 0; j < p->nMasked; j++) {
    if (p->kinds[j] != JSON_KEY_TEXT || is_null(p, p->written[j], p->writtenLen[j])) continue;
    const uint8_t *v = p->written[j];
    int32_t vn = p->writtenLen[j];
    uint8_t *dst = p->jsonText + o;
    int q = p->literal;
    if (q) {
      v++;
      vn -= 2;
      dst[0] = '\'';
    }
    int64_t n = json_shape(v, vn, key, kn, dst + q, p->jsonTextCap - o - 2 * q);
    if (n < 0 || n > INT32_MAX - 2) return 0;
    if (q) dst[n + 1] = '\'';
    p->shaped[j] = dst;
    p->shapedLen[j] = (int32_t)n + 2 * q;
    o += n + 2 * q;
  }
  *total = o;
  return 1;
}

/**
 * What masking writes in masked column j for the value v[0..vn), in a row whose key has
 * keyLength bytes: FIXED (the bytes *w[0..*wn): NULL stays NULL, a constant, the json
 * placeholder shape_json made), KEY (`x` times
 * *prefix then the key: xxx<key>, cut to the column as fitPlaceholderText does), or LONG_KEY (a
 * key longer than the column: cut with a warning, which JavaScript does).
 */
#define FIXED 0
#define KEY 1
#define LONG_KEY 2
static inline int replacement(const Plan *p, int32_t j, const uint8_t *v, int32_t vn, int32_t keyLength, const uint8_t **w, int32_t *wn, int32_t *prefix) {
  if (is_null(p, v, vn)) {
    *w = p->nulls[j];
    *wn = p->nullLen[j];
    return FIXED;
  }
  if (p->kinds[j] == CONSTANT) {
    *w = p->constants[j];
    *wn = p->constantLen[j];
    return FIXED;
  }
  if (p->kinds[j] == JSON_KEY_TEXT) {
    *w = p->shaped[j];
    *wn = p->shapedLen[j];
    return FIXED;
  }
  int32_t max = p->maxLength[j];
  if (max >= 0 && keyLength > max) return LONG_KEY;
  *prefix = max < 0 || keyLength + 3 <= max ? 3 : max - keyLength;
  return KEY;
}

/** Where a kernel got to, into its state array; its status as the call's result. */
static napi_value report(napi_env env, double *state, int status, int32_t pos, double rows, int32_t outLen, double records, double changed) {
  state[S_POS] = pos;
  state[S_ROWS] = rows;
  state[S_OUT] = outLen;
  state[S_RECORDS] = records;
  state[S_CHANGED] = changed;
  napi_value result;
  napi_create_int32(env, status, &result);
  return result;
}

/** Output and records of a masking call, and how far they got. */
typedef struct {
  uint8_t *out;
  size_t outCap;
  int32_t outLen;
  uint8_t *rec;
  size_t recCap;
  int32_t recLen;
  int hasRecords;
  double *state;
} Sink;

/**
 * The key's text for xxx<key>, when some column takes it: [*ks, *ke) in buf. COPY text: the
 * field, printable ASCII other than backslash. SQL literals: a number's digits or the body
 * of a quoted string without quotes in it (what RowMasker.findPlainKey takes). 0 when the
 * key is not like that (the JavaScript general way does the rest); -1 out of memory.
 */
static int row_key(Plan *p, const uint8_t *buf, int32_t *ks, int32_t *ke) {
  int32_t s = p->starts[p->keyIndex], e = p->ends[p->keyIndex];
  int ok;
  if (!p->literal) {
    ok = plain_key(buf, s, e);
  } else if (e - s >= 2 && buf[s] == '\'' && buf[e - 1] == '\'') {
    s++;
    e--;
    ok = plain_key(buf, s, e) && memchr(buf + s, '\'', (size_t)(e - s)) == NULL;
  } else {
    ok = e > s;
    for (int32_t i = s; i < e && ok; i++) ok = buf[i] >= '0' && buf[i] <= '9';
  }
  *ks = s;
  *ke = e;
  // xxx<key> per column, quoted in SQL.
  int64_t need = ((int64_t)(e - s) + 5) * p->keyTextCount;
  if (ok && p->keyTextCap < need) {
    free(p->keyText);
    p->keyTextCap = 2 * need;
    p->keyText = malloc((size_t)p->keyTextCap);
    if (p->keyText == NULL) {
      p->keyTextCap = 0;
      return -1;
    }
  }
  return ok;
}

/**
 * Masks the row whose fields are in p->starts/ends, the row being buf[from..to) as it is
 * written (COPY: the line with its end; INSERT: from the end of the row before, so with the
 * statement text between them), as row `ordinal`: its bytes into the sink, its record too. Returns DONE (*changed set), ROW_FOR_JS, NEED_OUT or NEED_RECORDS
 * (state[S_NEED] the room), or -1 out of memory. Nothing is committed unless DONE.
 */
static int mask_row(Plan *p, const uint8_t *buf, int32_t from, int32_t to, uint64_t ordinal, Sink *k, int *changedOut) {
  const int32_t *starts = p->starts, *ends = p->ends;
  int64_t rowLen = (int64_t)to - from;
  int32_t ks = 0, ke = 0;
  if (p->keyTextCount + p->jsonCount > 0) {
    int key = row_key(p, buf, &ks, &ke);
    if (key <= 0) return key < 0 ? -1 : ROW_FOR_JS;
  }
  // The json placeholders first: their length is part of the room the row needs.
  int64_t jsonLength = 0;
  if (p->jsonCount > 0) {
    for (int32_t j = 0; j < p->nMasked; j++) {
      p->written[j] = buf + starts[p->masked[j]];
      p->writtenLen[j] = ends[p->masked[j]] - starts[p->masked[j]];
    }
    int shaped = shape_json(p, buf + ks, ke - ks, &jsonLength);
    if (shaped <= 0) return shaped < 0 ? -1 : ROW_FOR_JS;
  }
  // The room the JavaScript kernel reserves (every xxx<key> at most 3 + the row's length) and
  // the json placeholders' (quoted ones with their quotes). A quoted xxx<key> fits too: its
  // key and quotes are no longer than the row (a quoted key, or digits inside parentheses).
  int64_t needOut = rowLen * (1 + p->keyTextCount) + p->constantRoom + jsonLength;
  if ((int64_t)k->outCap - k->outLen < needOut) {
    k->state[S_NEED] = (double)needOut;
    return NEED_OUT;
  }
  uint8_t *out = k->out;
  int32_t o = k->outLen, changed = 0;
  uint8_t *keyText = p->keyText;
  for (int32_t j = 0; j < p->nMasked; j++) {
    int32_t s = starts[p->masked[j]], e = ends[p->masked[j]];
    memcpy(out + o, buf + from, (size_t)(s - from));
    o += s - from;
    from = e;
    const uint8_t *w = NULL;
    int32_t wn = 0, prefix = 0;
    int kind = replacement(p, j, buf + s, e - s, ke - ks, &w, &wn, &prefix);
    if (kind == LONG_KEY) return ROW_FOR_JS;
    if (kind == KEY) {
      uint8_t *t = keyText;
      if (p->literal) *t++ = '\'';
      memset(t, 'x', (size_t)prefix);
      memcpy(t + prefix, buf + ks, (size_t)(ke - ks));
      t += prefix + (ke - ks);
      if (p->literal) *t++ = '\'';
      w = keyText;
      wn = (int32_t)(t - keyText);
      keyText = t;
    }
    p->written[j] = w;
    p->writtenLen[j] = wn;
    memcpy(out + o, w, (size_t)wn);
    o += wn;
    if (!changed && (wn != e - s || memcmp(w, buf + s, (size_t)wn) != 0)) changed = 1;
  }
  memcpy(out + o, buf + from, (size_t)(to - from));
  o += to - from;
  if (k->hasRecords) {
    // Type, table, ordinal, count; a length of at most 5 bytes before each field.
    int64_t room = 1 + 5 + 8 + 5 + 5 * ((int64_t)p->nRecordColumns + p->nDerived) + 2 * rowLen;
    for (int32_t d = 0; d < p->nDerived; d++) room += p->writtenLen[p->derived[d]];
    if ((int64_t)k->recCap - k->recLen < room) {
      k->state[S_NEED] = (double)room;
      return NEED_RECORDS;
    }
    uint8_t *r = k->rec + k->recLen;
    *r++ = RECORD_ROW;
    r = put_varint(r, p->tableIndex);
    r = put_varint(r, ordinal);
    r = put_varint(r, (uint64_t)p->nRecordColumns + (uint64_t)p->nDerived);
    for (int32_t c = 0; c < p->nRecordColumns; c++) {
      int32_t s = starts[p->recordColumns[c]], e = ends[p->recordColumns[c]];
      r = put_varint(r, (uint64_t)(e - s));
      memcpy(r, buf + s, (size_t)(e - s));
      r += e - s;
    }
    for (int32_t d = 0; d < p->nDerived; d++) {
      int32_t j = p->derived[d];
      r = put_varint(r, (uint64_t)p->writtenLen[j]);
      memcpy(r, p->written[j], (size_t)p->writtenLen[j]);
      r += p->writtenLen[j];
    }
    // Too large for a frame: JavaScript throws the error.
    if (r - (k->rec + k->recLen) > p->maxRecord) return ROW_FOR_JS;
    k->recLen = (int32_t)(r - k->rec);
  }
  k->outLen = o;
  *changedOut = changed;
  return DONE;
}

/** The output and records arguments a[i..i+3] (out, outLength, records|null, recordsLength) into a sink; 0 on a bad argument, -1 on lengths out of bounds. */
static int get_sink(napi_env env, napi_value *a, double *state, Sink *k) {
  napi_valuetype recType;
  k->rec = NULL;
  k->recCap = 0;
  k->state = state;
  if (!get_buffer(env, a[0], &k->out, &k->outCap) || !get_i32(env, a[1], &k->outLen) || napi_typeof(env, a[2], &recType) != napi_ok ||
      !get_i32(env, a[3], &k->recLen)) {
    return 0;
  }
  // An empty Buffer may have no data pointer: whether there are records is the argument's type.
  k->hasRecords = recType != napi_null && recType != napi_undefined;
  if (k->hasRecords && !get_buffer(env, a[2], &k->rec, &k->recCap)) return 0;
  // Positions are 32-bit: larger buffers are used only up to 2 GiB.
  if (k->outCap > INT32_MAX) k->outCap = INT32_MAX;
  if (k->recCap > INT32_MAX) k->recCap = INT32_MAX;
  return k->outLen >= 0 && (size_t)k->outLen <= k->outCap && k->recLen >= 0 && (size_t)k->recLen <= k->recCap ? 1 : -1;
}

/**
 * maskRows(plan, buf, start, end, ordinal, out, outLength, records|null, recordsLength, state: Float64Array):
 * masks the whole rows of buf[start..end) (each with its line end; the last may lack it),
 * the first being row ordinal + 1, into out from outLength and their records into records
 * from recordsLength, until it is done or must stop. Returns DONE, ROW_FOR_JS (the row at
 * state[S_POS]), NEED_OUT or NEED_RECORDS (state[S_NEED] bytes of room); state gets where it
 * got to: input position, rows done, output and records lengths, rows changed.
 */
static napi_value mask_rows(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value a[10];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 10) return fail(env, "maskRows: 10 arguments expected");
  Plan *p;
  uint8_t *buf;
  size_t bufLen;
  int32_t start, end;
  double ordinalD;
  Sink k;
  int sink = 0;
  double *state = get_state(env, a[9]);
  if (state == NULL) return fail(env, "maskRows: bad state array");
  if (napi_get_value_external(env, a[0], (void **)&p) != napi_ok || !get_buffer(env, a[1], &buf, &bufLen) ||
      !get_i32(env, a[2], &start) || !get_i32(env, a[3], &end) || napi_get_value_double(env, a[4], &ordinalD) != napi_ok ||
      (sink = get_sink(env, a + 5, state, &k)) == 0 || p->literal) {
    return fail(env, "maskRows: bad arguments");
  }
  if (sink < 0 || start < 0 || end < start || (size_t)end > bufLen || !(ordinalD >= 0 && ordinalD <= 9007199254740991.0)) {
    return fail(env, "maskRows: ranges out of bounds");
  }
  uint64_t ordinal = (uint64_t)ordinalD;
  double rows = 0, changedRows = 0;
  int32_t pos = start;
  int status = DONE;
  while (pos < end) {
    int32_t rowEnd, lineEnd, changed = 0;
    line_at(buf, pos, end, &rowEnd, &lineEnd);
    // The fields: exactly one per column.
    status = split_fields(p, buf, pos, rowEnd) ? mask_row(p, buf, pos, lineEnd, ordinal + 1, &k, &changed) : ROW_FOR_JS;
    if (status < 0) return fail(env, "maskRows: out of memory");
    if (status != DONE) break;
    ordinal++;
    rows++;
    changedRows += changed;
    pos = lineEnd;
  }
  return report(env, state, status, pos, rows, k.outLen, k.recLen, changedRows);
}

/** An Int32Array argument (the rows of a run of INSERT statements): its ints and how many; 0 when it is not one. */
static int get_rows(napi_env env, napi_value v, int32_t **rows, size_t *n) {
  bool is;
  napi_typedarray_type type;
  napi_value ab;
  void *data;
  size_t byteOffset;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is || napi_get_typedarray_info(env, v, &type, n, &data, &ab, &byteOffset) != napi_ok ||
      type != napi_int32_array) {
    return 0;
  }
  *rows = data;
  return 1;
}

/** Whether rows[at..rowsEnd) are whole rows of p's table within the nRows ints, and pos within buf. */
static inline int insert_rows_in_bounds(const Plan *p, int32_t at, int32_t rowsEnd, size_t nRows, int32_t pos, size_t bufLen) {
  const int32_t stride = 4 + 2 * p->columns;
  return at >= 0 && rowsEnd >= at && (size_t)rowsEnd <= nRows && (rowsEnd - at) % stride == 0 && pos >= 0 && (size_t)pos <= bufLen;
}

/**
 * p->starts/ends from the row at rows[at] (its start, end, line, offset, then its fields'
 * starts and ends), the text before it starting at `pos`. 0 when a range is out of order or
 * past the buffer: the rows come from this process's walk, but must not make a kernel read
 * past it.
 */
static int insert_row_fields(Plan *p, const int32_t *rows, int32_t at, int32_t pos, size_t bufLen) {
  int32_t rowStart = rows[at], rowEnd = rows[at + 1];
  int ok = pos <= rowStart && rowStart <= rowEnd && (size_t)rowEnd <= bufLen;
  for (int32_t i = 0; ok && i < p->columns; i++) {
    p->starts[i] = rows[at + 4 + i];
    p->ends[i] = rows[at + 4 + p->columns + i];
    ok = rowStart <= p->starts[i] && p->starts[i] <= p->ends[i] && p->ends[i] <= rowEnd && (i == 0 || p->ends[i - 1] <= p->starts[i]);
  }
  return ok;
}

/**
 * maskInserts(plan, buf, rows: Int32Array, rowsAt, rowsEnd, pos, ordinal, out, outLength,
 * records|null, recordsLength, state): masks the rows of a run of INSERT statements
 * (InsertsJob: per row its start, end, line, offset, then its fields' starts and ends) from
 * the one at rows[rowsAt] to rowsEnd, each with the statement text before it from `pos` on,
 * the first being row ordinal + 1, as maskRows does; the text after the last row is the
 * caller's. state[S_POS] gets the index in `rows` of the row it stopped at (or rowsEnd).
 */
static napi_value mask_inserts(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 12) return fail(env, "maskInserts: 12 arguments expected");
  Plan *p;
  uint8_t *buf;
  size_t bufLen, nRows;
  int32_t *rows;
  int32_t at, rowsEnd, pos;
  double ordinalD;
  Sink k;
  int sink = 0;
  double *state = get_state(env, a[11]);
  if (state == NULL) return fail(env, "maskInserts: bad state array");
  if (napi_get_value_external(env, a[0], (void **)&p) != napi_ok || !get_buffer(env, a[1], &buf, &bufLen) || !get_rows(env, a[2], &rows, &nRows) ||
      !get_i32(env, a[3], &at) || !get_i32(env, a[4], &rowsEnd) || !get_i32(env, a[5], &pos) ||
      napi_get_value_double(env, a[6], &ordinalD) != napi_ok || (sink = get_sink(env, a + 7, state, &k)) == 0 || !p->literal) {
    return fail(env, "maskInserts: bad arguments");
  }
  if (sink < 0 || !insert_rows_in_bounds(p, at, rowsEnd, nRows, pos, bufLen) || !(ordinalD >= 0 && ordinalD <= 9007199254740991.0)) {
    return fail(env, "maskInserts: ranges out of bounds");
  }
  const int32_t stride = 4 + 2 * p->columns;
  uint64_t ordinal = (uint64_t)ordinalD;
  double done = 0, changedRows = 0;
  int status = DONE;
  for (; at < rowsEnd; at += stride) {
    int32_t changed = 0;
    if (!insert_row_fields(p, rows, at, pos, bufLen)) return fail(env, "maskInserts: a row's ranges are out of bounds");
    status = mask_row(p, buf, pos, rows[at + 1], ordinal + 1, &k, &changed);
    if (status < 0) return fail(env, "maskInserts: out of memory");
    if (status != DONE) break;
    ordinal++;
    done++;
    changedRows += changed;
    pos = rows[at + 1];
  }
  return report(env, state, status, at, done, k.outLen, k.recLen, changedRows);
}

/** Reads a varint at *pos, not past end; -1 when it runs out or is longer than 8 bytes. */
static inline int64_t get_varint(const uint8_t *b, int64_t *pos, int64_t end) {
  uint64_t v = 0;
  for (int shift = 0; shift < 56 && *pos < end; shift += 7) {
    uint8_t c = b[(*pos)++];
    v |= (uint64_t)(c & 0x7f) << shift;
    if (c < 0x80) return (int64_t)v;
  }
  return -1;
}

/**
 * Unmasks the masked row whose fields are in p->starts/ends, the row being buf[from..to) as
 * it is written (COPY: the line with its end; INSERT: from the end of the row before), as
 * row `ordinal`, with its vault record read from rec[*rp..rend): into out from *outLen, with
 * its original fields put back, once masking that original again gives exactly the row
 * read. Returns DONE (*rp past the record, *outLen and *changedOut set), ROW_FOR_JS (the
 * JavaScript general way says what is wrong, or does the row), NEED_OUT (state[S_NEED] the
 * room) or -1 out of memory. Nothing is committed unless DONE.
 */
static int restore_row(Plan *p, const uint8_t *buf, int32_t from, int32_t to, uint64_t ordinal, const uint8_t *rec, int64_t *rp, int64_t rend,
                       uint8_t *out, size_t outCap, int32_t *outLen, double *state, int *changedOut) {
  const int32_t nKey = p->nKey, nMasked = p->nMasked;
  const int64_t count = (int64_t)p->nRecordColumns + p->nDerived;
  const int32_t *starts = p->starts, *ends = p->ends;
  // The record: this table, this row, the fields the plan says; its key fields the row's.
  int64_t r = *rp;
  int64_t size = (int64_t)to - from;
  int ok = get_varint(rec, &r, rend) == RECORD_ROW && get_varint(rec, &r, rend) == (int64_t)p->tableIndex &&
           get_varint(rec, &r, rend) == (int64_t)ordinal && get_varint(rec, &r, rend) == count;
  for (int64_t k = 0; ok && k < count; k++) {
    int64_t length = get_varint(rec, &r, rend);
    if (length < 0 || length > rend - r) return ROW_FOR_JS;
    if (k < nKey) {
      int32_t c = p->recordColumns[k];
      ok = length == ends[c] - starts[c] && memcmp(rec + r, buf + starts[c], (size_t)length) == 0;
    } else if (k < nKey + nMasked) {
      int32_t c = p->masked[k - nKey];
      // Where the original is, kept in written[] for the check below.
      p->written[k - nKey] = rec + r;
      p->writtenLen[k - nKey] = (int32_t)length;
      size += length - (ends[c] - starts[c]);
    }
    r += length;
  }
  if (!ok) return ROW_FOR_JS;
  // Masking the original again must give the masked fields read (the rest is the row's own).
  int32_t ks = 0, ke = 0;
  if (p->keyTextCount + p->jsonCount > 0) {
    int key = row_key(p, buf, &ks, &ke);
    if (key <= 0) return key < 0 ? -1 : ROW_FOR_JS;
  }
  if (p->jsonCount > 0) {
    int64_t jsonLength;
    int shaped = shape_json(p, buf + ks, ke - ks, &jsonLength);
    if (shaped <= 0) return shaped < 0 ? -1 : ROW_FOR_JS;
  }
  // xxx<key> is quoted in SQL.
  const int32_t q = p->literal ? 1 : 0;
  int changed = 0;
  for (int32_t j = 0; j < nMasked; j++) {
    const uint8_t *orig = p->written[j];
    int32_t on = p->writtenLen[j];
    int32_t s = starts[p->masked[j]], e = ends[p->masked[j]];
    const uint8_t *w = NULL;
    int32_t wn = 0, prefix = 0;
    int kind = replacement(p, j, orig, on, ke - ks, &w, &wn, &prefix);
    if (kind == LONG_KEY) return ROW_FOR_JS;
    if (kind == KEY) {
      int32_t keyLength = ke - ks;
      // xxx<key>, compared where it lies: the masked field, then the original.
      int same = e - s == prefix + keyLength + 2 * q && (!q || (buf[s] == '\'' && buf[e - 1] == '\'')) &&
                 memcmp(buf + s + q + prefix, buf + ks, (size_t)keyLength) == 0;
      for (int32_t x = 0; same && x < prefix; x++) same = buf[s + q + x] == 'x';
      if (!same) return ROW_FOR_JS;
      if (!changed && !(on == e - s && memcmp(orig, buf + s, (size_t)on) == 0)) changed = 1;
      continue;
    }
    if (wn != e - s || memcmp(w, buf + s, (size_t)wn) != 0) return ROW_FOR_JS;
    if (!changed && (wn != on || memcmp(w, orig, (size_t)wn) != 0)) changed = 1;
  }
  if ((int64_t)outCap - *outLen < size) {
    state[S_NEED] = (double)size;
    return NEED_OUT;
  }
  int32_t o = *outLen;
  for (int32_t j = 0; j < nMasked; j++) {
    int32_t s = starts[p->masked[j]];
    memcpy(out + o, buf + from, (size_t)(s - from));
    o += s - from;
    memcpy(out + o, p->written[j], (size_t)p->writtenLen[j]);
    o += p->writtenLen[j];
    from = ends[p->masked[j]];
  }
  memcpy(out + o, buf + from, (size_t)(to - from));
  o += to - from;
  *outLen = o;
  *rp = r;
  *changedOut = changed;
  return DONE;
}

/** The records and output arguments a[i..i+3] (records, recordsStart, out, outLength) of an unmasking call; 0 on a bad argument, -1 out of bounds. */
static int get_restore_io(napi_env env, napi_value *a, uint8_t **rec, size_t *recLen, int32_t *recStart, uint8_t **out, size_t *outCap, int32_t *outLen) {
  if (!get_buffer(env, a[0], rec, recLen) || !get_i32(env, a[1], recStart) || !get_buffer(env, a[2], out, outCap) || !get_i32(env, a[3], outLen)) return 0;
  if (*outCap > INT32_MAX) *outCap = INT32_MAX;
  return *recStart >= 0 && (size_t)*recStart <= *recLen && *outLen >= 0 && (size_t)*outLen <= *outCap ? 1 : -1;
}

/**
 * restoreRows(plan, buf, start, end, ordinal, records, recordsStart, out, outLength, state):
 * unmasks the whole masked rows of buf[start..end) (the first being row ordinal + 1) with
 * their vault records, read from records[recordsStart..), into out from outLength, as
 * restore_row says. Returns DONE, ROW_FOR_JS (the row at state[S_POS], its record at
 * state[S_RECORDS]) or NEED_OUT; state as maskRows'.
 */
static napi_value restore_rows(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value a[10];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 10) return fail(env, "restoreRows: 10 arguments expected");
  Plan *p;
  uint8_t *buf, *rec, *out;
  size_t bufLen, recLen, outCap;
  int32_t start, end, recStart, outLen;
  double ordinalD;
  int io = 0;
  if (napi_get_value_external(env, a[0], (void **)&p) != napi_ok || !get_buffer(env, a[1], &buf, &bufLen) ||
      !get_i32(env, a[2], &start) || !get_i32(env, a[3], &end) || napi_get_value_double(env, a[4], &ordinalD) != napi_ok ||
      (io = get_restore_io(env, a + 5, &rec, &recLen, &recStart, &out, &outCap, &outLen)) == 0 || p->literal) {
    return fail(env, "restoreRows: bad arguments");
  }
  double *state = get_state(env, a[9]);
  if (state == NULL) return fail(env, "restoreRows: bad state array");
  if (io < 0 || start < 0 || end < start || (size_t)end > bufLen || !(ordinalD >= 0 && ordinalD <= 9007199254740991.0)) {
    return fail(env, "restoreRows: ranges out of bounds");
  }
  uint64_t ordinal = (uint64_t)ordinalD;
  double rows = 0, changedRows = 0;
  int32_t pos = start;
  int64_t rp = recStart;
  int status = DONE;
  while (pos < end) {
    int32_t rowEnd, lineEnd;
    int changed = 0;
    line_at(buf, pos, end, &rowEnd, &lineEnd);
    status = split_fields(p, buf, pos, rowEnd) ? restore_row(p, buf, pos, lineEnd, ordinal + 1, rec, &rp, (int64_t)recLen, out, outCap, &outLen, state, &changed) : ROW_FOR_JS;
    if (status < 0) return fail(env, "restoreRows: out of memory");
    if (status != DONE) break;
    ordinal++;
    rows++;
    changedRows += changed;
    pos = lineEnd;
  }
  return report(env, state, status, pos, rows, outLen, (double)rp, changedRows);
}

/**
 * restoreInserts(plan, buf, rows: Int32Array, rowsAt, rowsEnd, pos, ordinal, records,
 * recordsStart, out, outLength, state): unmasks the rows of a run of masked INSERT
 * statements (rows as maskInserts takes them), each with the statement text before it from
 * `pos` on, as restoreRows does for COPY rows (a plan made with `literal`); state[S_POS] gets
 * the index in `rows` of the row it stopped at (or rowsEnd). The text after the last row is
 * the caller's to write.
 */
static napi_value restore_inserts(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 12) return fail(env, "restoreInserts: 12 arguments expected");
  Plan *p;
  uint8_t *buf, *rec, *out;
  size_t bufLen, recLen, outCap, nRows;
  int32_t *rows;
  int32_t at, rowsEnd, pos, recStart, outLen;
  double ordinalD;
  int io = 0;
  double *state = get_state(env, a[11]);
  if (state == NULL) return fail(env, "restoreInserts: bad state array");
  if (napi_get_value_external(env, a[0], (void **)&p) != napi_ok || !get_buffer(env, a[1], &buf, &bufLen) || !get_rows(env, a[2], &rows, &nRows) ||
      !get_i32(env, a[3], &at) || !get_i32(env, a[4], &rowsEnd) || !get_i32(env, a[5], &pos) ||
      napi_get_value_double(env, a[6], &ordinalD) != napi_ok || (io = get_restore_io(env, a + 7, &rec, &recLen, &recStart, &out, &outCap, &outLen)) == 0 ||
      !p->literal) {
    return fail(env, "restoreInserts: bad arguments");
  }
  if (io < 0 || !insert_rows_in_bounds(p, at, rowsEnd, nRows, pos, bufLen) || !(ordinalD >= 0 && ordinalD <= 9007199254740991.0)) {
    return fail(env, "restoreInserts: ranges out of bounds");
  }
  const int32_t stride = 4 + 2 * p->columns;
  uint64_t ordinal = (uint64_t)ordinalD;
  double done = 0, changedRows = 0;
  int64_t rp = recStart;
  int status = DONE;
  for (; at < rowsEnd; at += stride) {
    int changed = 0;
    if (!insert_row_fields(p, rows, at, pos, bufLen)) return fail(env, "restoreInserts: a row's ranges are out of bounds");
    status = restore_row(p, buf, pos, rows[at + 1], ordinal + 1, rec, &rp, (int64_t)recLen, out, outCap, &outLen, state, &changed);
    if (status < 0) return fail(env, "restoreInserts: out of memory");
    if (status != DONE) break;
    ordinal++;
    done++;
    changedRows += changed;
    pos = rows[at + 1];
  }
  return report(env, state, status, at, done, outLen, (double)rp, changedRows);
}

/**
 * skipRows(records, start, end, count, state): from records[start], at most `count` whole,
 * well-formed row records of one table (type, table index, ordinal, field count, then each
 * field's length and bytes), stopping before a record of another kind or table, a malformed
 * one or `end`. state[S_POS] gets where they end, state[S_ROWS] how many, state[S_OUT] their
 * table index (-1 when none). What it stops at is the caller's to read (and refuse).
 */
static napi_value skip_rows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  uint8_t *b;
  size_t len;
  int32_t start, end;
  double countD;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 5 || !get_buffer(env, a[0], &b, &len) ||
      !get_i32(env, a[1], &start) || !get_i32(env, a[2], &end) || napi_get_value_double(env, a[3], &countD) != napi_ok) {
    return fail(env, "skipRows: bad arguments");
  }
  double *state = get_state(env, a[4]);
  if (state == NULL) return fail(env, "skipRows: bad state array");
  if (start < 0 || end < start || (size_t)end > len) return fail(env, "skipRows: ranges out of bounds");
  int64_t pos = start, table = -1;
  double n = 0;
  while (n < countD && pos < end) {
    int64_t r = pos;
    if (get_varint(b, &r, end) != RECORD_ROW) break;
    int64_t t = get_varint(b, &r, end), ordinal = get_varint(b, &r, end), fields = get_varint(b, &r, end);
    if (t < 0 || ordinal < 0 || fields < 0 || fields > end - r || (table >= 0 && t != table)) break;
    int ok = 1;
    for (int64_t f = 0; f < fields; f++) {
      int64_t length = get_varint(b, &r, end);
      if (length < 0 || length > end - r) {
        ok = 0;
        break;
      }
      r += length;
    }
    if (!ok) break;
    table = t;
    pos = r;
    n++;
  }
  state[S_POS] = (double)pos;
  state[S_ROWS] = n;
  state[S_OUT] = (double)table;
  return NULL;
}

// Byte classes of the INSERT walk: white space, and the bytes of a word in
// src/dump/insert-statement.ts (but `$`, which may open a dollar quote): names, keywords, numbers.
#define SQL_SPACE 1
#define SQL_WORD 2
// White space: " \n\t\r\f\v"; word: a-z A-Z 0-9 _ . + - and bytes from 0x80.
static const uint8_t sql_class[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0,
  0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2,
  0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/** Lines in buf[from..to). */
static inline int32_t count_nl(const uint8_t *buf, int32_t from, int32_t to) {
  int32_t n = 0;
  const uint8_t *p = buf + from, *e = buf + to;
  while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
    n++;
    p++;
  }
  return n;
}

/** Spaces and line ends from `q`: where they end. */
static inline int32_t skip_sql_space(const uint8_t *buf, int32_t q, int32_t end) {
  while (q < end && sql_class[buf[q]] == SQL_SPACE) q++;
  return q;
}

#define INS_STOP 0
#define INS_ROOM 1

/**
 * insertRows(buf, start, end, header, fields, limit, rows: Int32Array, rowsAt, shift, line,
 * offset, state): from `start`, the first byte of a statement, takes whole INSERT statements
 * that begin with exactly the bytes of `header` (`INSERT INTO t [(cols)] VALUES`, read before
 * by src/dump/insert-statement.ts with standard_conforming_strings on) and whose rows are
 * plain: `(`, `fields` values each one standard string literal ('' a quote in it) or one
 * word (a number, NULL, true ...), separated by commas, `)`; rows separated by commas, then
 * `;`; spaces and line ends between tokens and between statements. What InsertRowReader and
 * the statement scanner read in such a statement is exactly that (no comment, cast, escape
 * string, dollar quote or expression in it). Per row it writes into rows[rowsAt..]: its
 * start and end (after `)`), line and offset, then its fields' starts, then their ends
 * (positions plus `shift`; offsets plus `offset`, the offset of buf[0] from the run's base,
 * kept to 32 bits as an Int32Array keeps it). It stops before a statement that is not like that (for
 * JavaScript to read as it always does), that does not end before `end`, once it took
 * `limit` bytes, or when `rows` lacks room for a statement's rows (state[S_NEED] = 1).
 * state[S_POS]: just after the last `;` taken (start when none), state[S_ROWS]: the rows,
 * state[S_OUT]: the statements, state[S_RECORDS]: the line ends passed.
 */
static napi_value insert_rows(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  uint8_t *buf, *header;
  size_t bufLen, headerLen;
  int32_t start, end, fields, rowsAt, shift, line;
  double limit, offset;
  size_t rowsCap;
  int32_t *rows;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 12 || !get_buffer(env, a[0], &buf, &bufLen) || !get_i32(env, a[1], &start) ||
      !get_i32(env, a[2], &end) || !get_buffer(env, a[3], &header, &headerLen) || !get_i32(env, a[4], &fields) ||
      napi_get_value_double(env, a[5], &limit) != napi_ok || !get_rows(env, a[6], &rows, &rowsCap) ||
      !get_i32(env, a[7], &rowsAt) || !get_i32(env, a[8], &shift) || !get_i32(env, a[9], &line) || napi_get_value_double(env, a[10], &offset) != napi_ok) {
    return fail(env, "insertRows: bad arguments");
  }
  double *state = get_state(env, a[11]);
  if (state == NULL) return fail(env, "insertRows: bad state array");
  if (start < 0 || end < start || (size_t)end > bufLen || fields < 1 || rowsAt < 0 || (size_t)rowsAt > rowsCap || headerLen == 0) {
    return fail(env, "insertRows: ranges out of bounds");
  }
  const int32_t stride = 4 + 2 * fields;
  const int32_t hl = (int32_t)headerLen;
  // Lines are counted up to `counted` (row starts and statement ends), not byte by byte.
  int32_t pos = start, lines = 0, counted = start, taken = 0, room = 0;
  int32_t at = rowsAt;
  double rowCount = 0;
  while (pos < end && (double)(pos - start) < limit) {
    // Between statements: spaces and line ends only.
    int32_t p = skip_sql_space(buf, pos, end);
    if (end - p < hl || memcmp(buf + p, header, (size_t)hl) != 0) break;
    int32_t q = p + hl;
    int32_t r = at, statementLines = lines, from = counted;
    double n = 0;
    int ok = 0;
    for (;;) {
      q = skip_sql_space(buf, q, end);
      if (q >= end || buf[q] != '(') break;
      if ((size_t)r + (size_t)stride > rowsCap) {
        room = 1;
        break;
      }
      int32_t rowStart = q++;
      statementLines += count_nl(buf, from, rowStart);
      from = rowStart;
      int32_t f = 0;
      int good = 0;
      for (;;) {
        q = skip_sql_space(buf, q, end);
        if (q >= end || f == fields) break;
        int32_t s = q;
        uint8_t b = buf[q];
        if (b == '\'') {
          // To the next quote that is not doubled; one at the end may be doubled in bytes not here yet.
          int32_t next = q + 1, closed = 0;
          for (;;) {
            const uint8_t *c = memchr(buf + next, '\'', (size_t)(end - next));
            if (c == NULL) break;
            int32_t k = (int32_t)(c - buf);
            if (k + 1 >= end) break;
            if (buf[k + 1] == '\'') {
              next = k + 2;
              continue;
            }
            q = k + 1;
            closed = 1;
            break;
          }
          if (!closed) break;
        } else if (sql_class[b] == SQL_WORD) {
          while (q < end && sql_class[buf[q]] == SQL_WORD && !(buf[q] == '-' && q + 1 < end && buf[q + 1] == '-')) q++;
          if (q >= end || buf[q] == '-') break;
        } else {
          break;
        }
        rows[r + 4 + f] = s + shift;
        rows[r + 4 + fields + f] = q + shift;
        f++;
        q = skip_sql_space(buf, q, end);
        if (q >= end) break;
        if (buf[q] == ',') {
          q++;
          continue;
        }
        if (buf[q] == ')' && f == fields) good = 1;
        break;
      }
      if (!good) break;
      q++;
      int64_t o = (int64_t)(offset + rowStart);
      rows[r] = rowStart + shift;
      rows[r + 1] = q + shift;
      rows[r + 2] = line + statementLines;
      rows[r + 3] = (int32_t)(uint32_t)(uint64_t)o;
      r += stride;
      n++;
      q = skip_sql_space(buf, q, end);
      if (q >= end) break;
      if (buf[q] == ',') {
        q++;
        continue;
      }
      if (buf[q] == ';') ok = 1;
      break;
    }
    if (!ok) break;
    pos = q + 1;
    lines = statementLines + count_nl(buf, from, pos);
    counted = pos;
    at = r;
    rowCount += n;
    taken++;
  }
  state[S_POS] = pos;
  state[S_ROWS] = rowCount;
  state[S_OUT] = taken;
  state[S_RECORDS] = lines;
  state[S_NEED] = room ? INS_ROOM : INS_STOP;
  return NULL;
}

/**
 * countLines(buf, start, end, limit, state): from the line start `start`, moves over whole
 * lines of COPY data (each up to and with its NL) until the bytes passed reach `limit`, a
 * line could be the end-of-data marker (`\.` then NL, CR NL, or too few bytes to tell), or
 * no NL is left. state[S_POS] gets where it stopped (a line start), state[S_ROWS] the lines
 * passed. For src/dump/sql-scanner.ts: it looks at each line from there as it always does.
 */
static napi_value count_lines(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  uint8_t *buf;
  size_t bufLen;
  int32_t start, end;
  double limit;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 5 || !get_buffer(env, a[0], &buf, &bufLen) ||
      !get_i32(env, a[1], &start) || !get_i32(env, a[2], &end) || napi_get_value_double(env, a[3], &limit) != napi_ok) {
    return fail(env, "countLines: bad arguments");
  }
  double *state = get_state(env, a[4]);
  if (state == NULL) return fail(env, "countLines: bad state array");
  if (start < 0 || end < start || (size_t)end > bufLen) return fail(env, "countLines: ranges out of bounds");
  int32_t pos = start;
  double lines = 0;
  while (pos < end && (double)(pos - start) < limit) {
    if (buf[pos] == '\\' && (pos + 1 >= end || buf[pos + 1] == '.')) break;
    const uint8_t *nl = memchr(buf + pos, '\n', (size_t)(end - pos));
    if (nl == NULL) break;
    pos = (int32_t)(nl - buf) + 1;
    lines++;
  }
  state[S_POS] = pos;
  state[S_ROWS] = lines;
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_int32(env, API_VERSION, &f);
  napi_set_named_property(env, exports, "apiVersion", f);
  napi_create_function(env, "createPlan", NAPI_AUTO_LENGTH, create_plan, NULL, &f);
  napi_set_named_property(env, exports, "createPlan", f);
  napi_create_function(env, "maskRows", NAPI_AUTO_LENGTH, mask_rows, NULL, &f);
  napi_set_named_property(env, exports, "maskRows", f);
  napi_create_function(env, "restoreRows", NAPI_AUTO_LENGTH, restore_rows, NULL, &f);
  napi_set_named_property(env, exports, "restoreRows", f);
  napi_create_function(env, "countLines", NAPI_AUTO_LENGTH, count_lines, NULL, &f);
  napi_set_named_property(env, exports, "countLines", f);
  napi_create_function(env, "maskInserts", NAPI_AUTO_LENGTH, mask_inserts, NULL, &f);
  napi_set_named_property(env, exports, "maskInserts", f);
  napi_create_function(env, "insertRows", NAPI_AUTO_LENGTH, insert_rows, NULL, &f);
  napi_set_named_property(env, exports, "insertRows", f);
  napi_create_function(env, "restoreInserts", NAPI_AUTO_LENGTH, restore_inserts, NULL, &f);
  napi_set_named_property(env, exports, "restoreInserts", f);
  napi_create_function(env, "skipRows", NAPI_AUTO_LENGTH, skip_rows, NULL, &f);
  napi_set_named_property(env, exports, "skipRows", f);
  return exports;
}
