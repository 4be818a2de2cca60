#include "out_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int out_file_open(struct out_file *f, const char *path, bool atomic, char *err, size_t errn)
{
	memset(f, 0, sizeof *f);
	if (strcmp(path, "-") == 0) {
		f->fp = stdout;
		return 0;
	}
	/* rename only replaces regular files, never /dev/null or a FIFO */
	struct stat sb;
	if (atomic && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) atomic = false;
	size_t n = strlen(path) + 32;
	f->path = strdup(path);
	f->tmp = atomic ? malloc(n) : NULL;
	if (!f->path || (atomic && !f->tmp)) {
		snprintf(err, errn, "out of memory");
		free(f->path);
		free(f->tmp);
		return -1;
	}
	if (atomic) snprintf(f->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	f->fp = fopen(atomic ? f->tmp : path, "w");
	if (!f->fp) {
		snprintf(err, errn, "%s: cannot write: %s", path, strerror(errno));
		free(f->path);
		free(f->tmp);
		f->path = f->tmp = NULL;
		return -1;
	}
	return 0;
}

int out_file_close(struct out_file *f, bool commit, char *err, size_t errn)
{
	if (!f->fp) return 0;
	int rc = 0;
	bool bad = fflush(f->fp) != 0 || ferror(f->fp);
	if (f->fp != stdout && fclose(f->fp) != 0) bad = true;
	f->fp = NULL;
	if (commit && bad) {
		snprintf(err, errn, "%s: write failed", f->path ? f->path : "stdout");
		rc = -1;
	}
	if (f->tmp) {
		if (commit && !bad && rename(f->tmp, f->path) != 0) {
			snprintf(err, errn, "%s: cannot write: %s", f->path, strerror(errno));
			rc = -1;
		}
		if (!commit || bad || rc) unlink(f->tmp);
	}
	free(f->path);
	free(f->tmp);
	f->path = f->tmp = NULL;
	return rc;
}
