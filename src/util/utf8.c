#include "util/utf8.h"

size_t hookd_utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80; /* count every byte that starts a code point */
    return n;
}
