/*
 * files.h — files only hookd's user may read: the database, its -wal and
 * -shm, and the master key file hold secrets (sealed or the key itself), so
 * hookd creates them mode 0600 and warns about existing ones others can
 * read. No state; safe from any thread.
 */
#ifndef HOOKD_UTIL_FILES_H
#define HOOKD_UTIL_FILES_H

/* Creates path empty with mode 0600 if it does not exist (O_CREAT|O_EXCL,
 * so an existing file is never touched). Returns 0, or -1 with errno. */
int hookd_file_create_private(const char *path) __attribute__((warn_unused_result));

/* Logs a warning naming path, its mode and the chmod that fixes it if path
 * exists with any group or other permission bit. */
void hookd_file_warn_loose(const char *path);

#endif
