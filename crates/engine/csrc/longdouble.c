/*
 * Arithmetic Valkey does in C `long double`: INCRBYFLOAT, and blocking commands' timeouts.
 *
 * Valkey parses INCRBYFLOAT operands with strtold(), adds them as `long double` (x87 80-bit
 * extended precision on x86-64) and formats the sum with "%.17Lf" before trimming trailing
 * zeros; it reads a blocking command's timeout in seconds the same way and rounds
 * seconds * 1000 up to whole milliseconds. Rust has no 80-bit float, and reproducing the
 * rounding of that type by hand would be fragile, so these functions do exactly those libc
 * steps. The Rust side is types/string.rs (`long_double_add`, `seconds_to_ms_ceil`).
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest operand accepted, and the size of the output buffer the caller must provide;
 * Valkey uses the same bound for both. */
#define KV_LD_MAX_CHARS (5 * 1024)

/* Strict strtold over the whole input: no leading space, nothing left over (an embedded NUL
 * fails too), no overflow to infinity or underflow to zero, no NaN. */
static int kv_parse_ld(const char *s, size_t len, long double *out) {
    char buf[KV_LD_MAX_CHARS];
    char *end;
    long double v;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len) return 0;
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) return 0;
    if (errno == EINVAL || isnan(v)) return 0;
    *out = v;
    return 1;
}

/*
 * Adds the numbers written in `cur` (NULL: zero, for a missing key) and `incr`, and writes the
 * sum into `out` (at least KV_LD_MAX_CHARS bytes) in the "human" form: "%.17Lf" without
 * trailing zeros or a trailing dot, and "-0" written as "0".
 *
 * Returns the length written (0 if the text would not fit, which Valkey also turns into an
 * empty string), -1 if either operand is not a valid float, -2 if the sum is NaN or infinite.
 */
long kv_ld_add(const char *cur, size_t cur_len, const char *incr, size_t incr_len, char *out, size_t out_cap) {
    long double a = 0, b, sum;
    int n;
    size_t len;

    if (cur != NULL && !kv_parse_ld(cur, cur_len, &a)) return -1;
    if (!kv_parse_ld(incr, incr_len, &b)) return -1;
    sum = a + b;
    if (isnan(sum) || isinf(sum)) return -2;

    n = snprintf(out, out_cap, "%.17Lf", sum);
    if (n < 0 || (size_t)n + 1 > out_cap) return 0;
    len = (size_t)n;
    if (memchr(out, '.', len) != NULL) {
        while (len > 0 && out[len - 1] == '0') len--;
        if (len > 0 && out[len - 1] == '.') len--;
    }
    if (len == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        len = 1;
    }
    return (long)len;
}

/*
 * A timeout in seconds (any strtold syntax) as whole milliseconds, rounded up, as Valkey's
 * getTimeoutFromObjectOrReply computes it: `(long long)ceill(seconds * 1000)`.
 *
 * Returns 0 and sets `*out`, -1 if the text is not a valid float, -2 if the milliseconds are
 * above LLONG_MAX. Values below LLONG_MIN (down to -inf) give LLONG_MIN, which is what the
 * conversion yields on x86-64.
 */
int kv_ld_seconds_to_ms(const char *s, size_t len, long long *out) {
    long double v;

    if (!kv_parse_ld(s, len, &v)) return -1;
    v *= 1000.0L;
    if (v > (long double)LLONG_MAX) return -2;
    v = ceill(v);
    *out = v < (long double)LLONG_MIN ? LLONG_MIN : (long long)v;
    return 0;
}
