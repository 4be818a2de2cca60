/* bench/runstat: run a command and report what it cost.
 *
 *   runstat [-o FILE] [--stdout FILE] [--stderr FILE] -- COMMAND [ARG...]
 *
 * Appends one line to FILE (default: stderr):
 *   wall_s user_s sys_s maxrss_kib exit_status
 * Wall time is CLOCK_MONOTONIC around fork/wait (nanosecond resolution,
 * unlike /usr/bin/time's 10 ms); user/sys/maxrss come from wait4()'s
 * rusage of the child (ru_maxrss: peak resident set, KiB on Linux).  The
 * command's stdout goes to --stdout FILE (default /dev/null), its stderr
 * to --stderr FILE (default: inherited). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

int main(int argc, char **argv)
{
	const char *report = NULL, *out = "/dev/null", *errf = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc) report = argv[++i];
		else if (!strcmp(argv[i], "--stdout") && i + 1 < argc) out = argv[++i];
		else if (!strcmp(argv[i], "--stderr") && i + 1 < argc) errf = argv[++i];
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else break;
	}
	if (i >= argc) {
		fputs("usage: runstat [-o FILE] [--stdout FILE] [--stderr FILE] -- COMMAND [ARG...]\n", stderr);
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("runstat: fork");
		return 2;
	}
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
			perror(out);
			_exit(127);
		}
		close(fd);
		if (errf) {
			fd = open(errf, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
				perror(errf);
				_exit(127);
			}
			close(fd);
		}
		execvp(argv[i], argv + i);
		perror(argv[i]);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0) {
		perror("runstat: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	FILE *fp = report ? fopen(report, "a") : stderr;
	if (!fp) {
		perror(report);
		return 2;
	}
	fprintf(fp, "%.6f %.6f %.6f %ld %d\n", wall, tv(ru.ru_utime), tv(ru.ru_stime), ru.ru_maxrss, code);
	if (fp != stderr) fclose(fp);
	return code;
}
