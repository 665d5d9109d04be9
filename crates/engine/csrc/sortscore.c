/*
 * SORT's numeric weights, with the C library's strtod.
 *
 * Valkey turns each weight into a double with strtod() and accepts it when the parse reaches
 * the end of the C string, did not set ERANGE and is not NaN. strtod's grammar (leading
 * spaces, hex floats, "inf", "infinity", the empty string reading as 0) and its ERANGE rules
 * for overflow and underflow are easier to use than to reproduce; the Rust side
 * (util/strtod.rs) is the only caller.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/*
 * Parses the NUL-terminated string `s` as SORT does. Writes the value into `out` and returns
 * 1 when it is a valid weight, 0 otherwise.
 */
int kv_sort_score(const char *s, double *out) {
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    *out = v;
    return *end == '\0' && errno != ERANGE && !isnan(v);
}
