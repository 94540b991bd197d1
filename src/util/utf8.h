/*
 * utf8.h — counting characters in UTF-8 text. Inputs come from jansson, which
 * has already rejected invalid UTF-8, so these only count.
 */
#ifndef HOOKD_UTIL_UTF8_H
#define HOOKD_UTIL_UTF8_H

#include <stddef.h>

/* Number of code points in the NUL-terminated UTF-8 string s. */
size_t hookd_utf8_chars(const char *s);

#endif
