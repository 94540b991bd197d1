/*
 * utf8.h — counting characters in UTF-8 text (inputs from jansson, already
 * valid) and making arbitrary bytes safe to put in a JSON string.
 */
#ifndef HOOKD_UTIL_UTF8_H
#define HOOKD_UTIL_UTF8_H

#include <stddef.h>

/* Number of code points in the NUL-terminated UTF-8 string s. */
size_t hookd_utf8_chars(const char *s);

/* Replaces, in place, every byte of s that is not part of a well-formed UTF-8
 * sequence with '?'. Used on text that may hold raw request bytes (a path) or
 * a multi-byte character cut by a bounded format, before it goes into JSON. */
void hookd_utf8_sanitize(char *s);

#endif
