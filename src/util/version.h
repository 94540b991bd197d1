/*
 * version.h — hookd's version, sent as "User-Agent: hookd/<version>" and
 * printed by `hookd version`. The build may override it (-DHOOKD_VERSION=…).
 */
#ifndef HOOKD_UTIL_VERSION_H
#define HOOKD_UTIL_VERSION_H

#ifndef HOOKD_VERSION
#define HOOKD_VERSION "0.1.0"
#endif

#endif
