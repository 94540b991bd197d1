/*
 * lz.h — LZ4 block compression of stored bytes (delivery bodies), with the
 * original length in front so a reader knows what to allocate.
 *
 * A packed value is: 4 bytes of original length (little-endian), then the
 * LZ4 block. hookd_lz_pack only packs when that saves at least a tenth, so
 * a caller keeps small or incompressible values as they are. Pure functions
 * over caller-owned buffers; thread-safe.
 */
#ifndef HOOKD_UTIL_LZ_H
#define HOOKD_UTIL_LZ_H

#include <stddef.h>

/* Packs src (n bytes) into a new buffer (*out, *out_len; caller frees).
 * Returns 1 when packed, 0 when packing would not pay (nothing allocated),
 * or -1 if memory ran out. */
int hookd_lz_pack(const void *src, size_t n, unsigned char **out, size_t *out_len)
    __attribute__((warn_unused_result));

/* Unpacks a value made by hookd_lz_pack into a new NUL-terminated string
 * (*out, caller frees; *out_len its length). Returns 0, or -1 if the value
 * is damaged or memory ran out. */
int hookd_lz_unpack(const void *src, size_t n, char **out, size_t *out_len)
    __attribute__((warn_unused_result));

#endif
