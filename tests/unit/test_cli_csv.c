/* Unit tests for src/cli/csv.c: the CSV reader of `hookd people import`. */
#include <stdlib.h>

#include "cli/csv.h"
#include "unit.h"

/* Reads every record of text; each record's cells joined by '|' and its
 * first line, as "line:cells" joined by ';' into out. */
static int read_all(const char *text, char *out, size_t cap, char *err, size_t errlen)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    hookd_csv c = {.f = f};
    long first;
    int rc;
    out[0] = '\0';
    while ((rc = hookd_csv_read(&c, &first, err, errlen)) == 1) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%ld:", len ? ";" : "", first);
        for (size_t i = 0; i < c.n; i++) {
            len = strlen(out);
            snprintf(out + len, cap - len, "%s%s", i ? "|" : "", c.cells[i]);
        }
    }
    hookd_csv_free(&c);
    fclose(f);
    return rc;
}

TEST(cli_csv_plain_and_quoted_cells)
{
    char out[512], err[128];
    CHECK_INT(read_all("a,b,c\n1,,3\n", out, sizeof out, err, sizeof err), 0);
    CHECK_STR(out, "1:a|b|c;2:1||3");
    CHECK_INT(read_all("\"x, y\",\"say \"\"hi\"\"\"\r\nlast,row", out, sizeof out, err, sizeof err),
              0);
    CHECK_STR(out, "1:x, y|say \"hi\";2:last|row");
}

TEST(cli_csv_line_break_in_a_cell_counts_lines)
{
    char out[512], err[128];
    CHECK_INT(read_all("h\n\"two\nlines\"\nnext\n", out, sizeof out, err, sizeof err), 0);
    CHECK_STR(out, "1:h;2:two\nlines;4:next");
}

TEST(cli_csv_unclosed_quote_is_an_error_naming_its_line)
{
    char out[512], err[128] = "";
    CHECK_INT(read_all("h\nok\n\"never closed\nmore\n", out, sizeof out, err, sizeof err), -1);
    CHECK_STR(err, "line 3: a quoted cell is never closed");
}
