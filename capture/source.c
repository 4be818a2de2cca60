/* Savefile reading through libpcap on our own FILE*, so we choose the
 * stdio buffer size and can tell an empty file from a bad one. */
#include "source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BUF (256 * 1024) /* fewer read(2) calls than stdio's default */

struct src {
	pcap_t *p;
	char *buf; /* stdio buffer: lives until pcap_close has closed the FILE */
	int dlt;
	uint64_t size;  /* of a regular file, else 0 */
	char name[CAP_ERRBUF_SIZE / 2];
	char dltname[48];
};

static void say(char errbuf[CAP_ERRBUF_SIZE], const char *path, const char *what, const char *more)
{
	if (snprintf(errbuf, CAP_ERRBUF_SIZE, "%.200s: %.250s%s", path, what, more ? more : "") < 0) errbuf[0] = 0;
	/* one line, whatever libpcap put in its message */
	for (char *q = errbuf; *q; q++)
		if (*q == '\n' || *q == '\r') *q = ' ';
}

struct src *src_open(const char *path, char errbuf[CAP_ERRBUF_SIZE])
{
	FILE *fp;
	if (strcmp(path, "-") == 0) {
		int fd = dup(STDIN_FILENO); /* pcap_close closes it, not our stdin */
		fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
		if (!fp && fd >= 0) close(fd);
	} else {
		fp = fopen(path, "rb");
	}
	if (!fp) {
		say(errbuf, path, strerror(errno), NULL);
		return NULL;
	}
	struct src *s = calloc(1, sizeof *s);
	if (!s) {
		fclose(fp);
		say(errbuf, path, "out of memory", NULL);
		return NULL;
	}
	struct stat sb;
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode)) s->size = (uint64_t)sb.st_size;
	s->buf = malloc(READ_BUF);
	if (s->buf) setvbuf(fp, s->buf, _IOFBF, READ_BUF);

	errno = 0;
	int ch = getc(fp);
	if (ch == EOF) {
		say(errbuf, path, ferror(fp) ? strerror(errno ? errno : EIO) : "empty file", NULL);
		goto fail;
	}
	ungetc(ch, fp);

	char ebuf[PCAP_ERRBUF_SIZE] = "";
	s->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!s->p) {
		if (strstr(ebuf, "unknown file format"))
			say(errbuf, path, "not a pcap or pcapng file (bad magic)",
			    ch == 0x1f ? "; gzip-compressed? decompress it first" : NULL);
		else
			say(errbuf, path, ebuf[0] ? ebuf : "cannot read", NULL);
		goto fail;
	}
	s->dlt = pcap_datalink(s->p);
	const char *n = pcap_datalink_val_to_name(s->dlt);
	if (n) snprintf(s->dltname, sizeof s->dltname, "%s", n);
	else snprintf(s->dltname, sizeof s->dltname, "DLT_%d", s->dlt);
	snprintf(s->name, sizeof s->name, "%s", path);
	return s;
fail:
	fclose(fp);
	free(s->buf);
	free(s);
	return NULL;
}

enum src_rc src_next(struct src *s, const struct pcap_pkthdr **h, const uint8_t **data,
		     char errbuf[CAP_ERRBUF_SIZE])
{
	for (;;) {
		struct pcap_pkthdr *hh;
		const u_char *d;
		int rc = pcap_next_ex(s->p, &hh, &d);
		if (rc == 1) {
			*h = hh;
			*data = d;
			return SRC_PACKET;
		}
		if (rc == 0) continue; /* live timeout: never for savefiles */
		if (rc == PCAP_ERROR_BREAK) return SRC_EOF;
		const char *msg = pcap_geterr(s->p);
		if (strstr(msg, "truncated")) {
			say(errbuf, s->name, msg, NULL);
			return SRC_TRUNCATED;
		}
		say(errbuf, s->name, msg,
		    strstr(msg, "different from") ?
			    " (libpcap reads a pcapng file only when all its interfaces share one link type and snapshot length)" :
			    NULL);
		return SRC_ERROR;
	}
}

void src_position(struct src *s, uint64_t *done, uint64_t *total)
{
	/* the FILE libpcap reads: ftello counts what stdio has handed out */
	off_t pos = s->size ? ftello(pcap_file(s->p)) : -1;
	*done = pos >= 0 ? (uint64_t)pos : 0;
	*total = pos >= 0 ? s->size : 0;
}

int src_dlt(const struct src *s) { return s->dlt; }
const char *src_dlt_name(const struct src *s) { return s->dltname; }

void src_close(struct src *s)
{
	if (!s) return;
	pcap_close(s->p); /* closes the FILE */
	free(s->buf);
	free(s);
}
