#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ekuscope parses hostile traffic: once the interface is open it needs no
 * privilege, so (as tcpdump does) a run started as root continues as USER
 * (default nobody).  Output files were opened before. */
int drop_privileges(const char *user, const char *evidence, char *err, size_t errn)
{
	if (geteuid() != 0) return 0;
	if (!user) user = "nobody";
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errn, "-Z %s: no such user", user);
		return -1;
	}
	/* as tcpdump: USER may reopen the -w file (a -W ring) and lose nothing else */
	if (evidence && chown(evidence, pw->pw_uid, pw->pw_gid) != 0) {
		snprintf(err, errn, "-w %s: cannot give it to %s: %s", evidence, user, strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errn, "-Z %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errn, "-Z %s: privileges could not be dropped", user);
		return -1;
	}
	return 0;
}
