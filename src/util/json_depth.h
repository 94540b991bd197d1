/*
 * json_depth.h — finds where a JSON text nests deeper than a limit, without
 * parsing it: one pass over the bytes, counting '[' and '{' outside strings.
 *
 * jansson refuses nesting past 2048 levels only as it recurses, and a tree
 * that deep costs every later walk over it (hookd walks bodies recursively
 * too); hookd refuses far shallower bodies before they are parsed. The text
 * need not be valid JSON: what is not is left to the parser.
 *
 * Pure function over caller-owned bytes; thread-safe.
 */
#ifndef HOOKD_UTIL_JSON_DEPTH_H
#define HOOKD_UTIL_JSON_DEPTH_H

#include <stdbool.h>
#include <stddef.h>

/* True if text nests arrays and objects more than max levels deep; then
 * *line and *column (from 1, counted as jansson counts them: a UTF-8
 * character is one column) give the bracket that went one level too deep. */
bool hookd_json_too_deep(const char *text, size_t len, unsigned max, int *line, int *column);

#endif
