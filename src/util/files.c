#include "util/files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

int hookd_file_create_private(const char *path)
{
    /* Made here rather than under a umask: umask is process-wide, and other
     * threads may create files meanwhile. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    return close(fd);
}

void hookd_file_warn_loose(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !(st.st_mode & 077))
        return;
    hookd_log_warn("%s is mode %04o: others may read the secrets it holds; chmod 600 %s", path,
                   (unsigned)(st.st_mode & 07777), path);
}
