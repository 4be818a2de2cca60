/* Live capture as root: once the interface is open ekuscope needs no
 * privilege, so (as tcpdump does) it continues as another user. */
#ifndef EK_PRIVILEGES_H
#define EK_PRIVILEGES_H

#include <stddef.h>

/* When running as root: become USER (NULL: nobody) and give it the -w
 * file being written (NULL: none).  -1 with err set when that fails. */
int drop_privileges(const char *user, const char *evidence, char *err, size_t errn);

#endif
