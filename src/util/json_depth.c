#include "util/json_depth.h"

bool hookd_json_too_deep(const char *text, size_t len, unsigned max, int *line, int *column)
{
    unsigned depth = 0;
    bool in_string = false, escaped = false;
    int ln = 1, col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            ln++;
            col = 0;
        } else if ((c & 0xC0) != 0x80) {
            col++; /* not a UTF-8 continuation byte: a new character */
        }
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                *line = ln;
                *column = col;
                return true;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}
