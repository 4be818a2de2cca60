/* Evidence files rotated as tcpdump(8) does: -C starts a new file once the
 * current one holds more than the limit (checked before each packet, so a
 * file ends a packet past it), -W with -C reuses N names in a ring, -G
 * starts a new file every N seconds of wall time (checked at each packet)
 * named by strftime, and -G with -W ends the capture after N files. */
#include "rotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rot {
	pcap_t *p;
	pcap_dumper_t *d;
	struct cap_evidence ev;
	uint32_t count;     /* -C: files of this -G window (or of the run) so far */
	uint32_t files;     /* files started */
	uint32_t slot;
	time_t window;      /* -G: start of the current file */
	char name[4096];
};

static int digits(uint32_t x)
{
	int c = 0;
	for (x = x ? x - 1 : 0; x > 0; x /= 10) c++;
	return c;
}

/* tcpdump's MakeFilename: strftime under -G, then the number (none for
 * the first file of a run or -G window unless padded). */
int cap_evidence_name(const struct cap_evidence *ev, uint32_t count, time_t when, char *buf, size_t n)
{
	char base[4096];
	if (ev->seconds) {
		struct tm tm;
		if (!localtime_r(&when, &tm) || strftime(base, sizeof base, ev->path, &tm) == 0) return -1;
	} else {
		snprintf(base, sizeof base, "%s", ev->path);
	}
	int width = ev->ring && ev->max_bytes ? digits(ev->ring) : 0;
	int k = count == 0 && width == 0 ? snprintf(buf, n, "%s", base) : snprintf(buf, n, "%s%0*u", base, width, count);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

static int make_name(struct rot *r, char errbuf[CAP_ERRBUF_SIZE])
{
	if (cap_evidence_name(&r->ev, r->count, r->window, r->name, sizeof r->name) == 0) return 0;
	snprintf(errbuf, CAP_ERRBUF_SIZE, "-w %.200s: the file name is empty or too long", r->ev.path);
	return -1;
}

static int start(struct rot *r, char errbuf[CAP_ERRBUF_SIZE])
{
	if (make_name(r, errbuf) != 0) return -1;
	/* with -W (not -G) the ring slot, else a new index per file */
	r->slot = r->ev.ring && !r->ev.seconds ? r->count : r->files;
	char err[CAP_ERRBUF_SIZE] = "";
	if (r->ev.opened && r->ev.opened(r->ev.ctx, r->slot, r->name, err, sizeof err) != 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s", err);
		return -1;
	}
	r->d = pcap_dump_open(r->p, r->name);
	if (!r->d) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%.400s", pcap_geterr(r->p)); /* names the file */
		return -1;
	}
	r->files++;
	return 0;
}

struct rot *rot_open(pcap_t *p, const struct cap_evidence *ev, char errbuf[CAP_ERRBUF_SIZE])
{
	struct rot *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		return NULL;
	}
	r->p = p;
	r->ev = *ev;
	r->window = time(NULL);
	if (start(r, errbuf) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

static void finish(struct rot *r)
{
	pcap_dump_close(r->d);
	r->d = NULL;
}

enum rot_rc rot_write(struct rot *r, const struct pcap_pkthdr *h, const uint8_t *data,
		      char errbuf[CAP_ERRBUF_SIZE])
{
	if (!r->d) return ROT_ERROR; /* an earlier start failed: the run is ending */
	enum rot_rc rc = ROT_SAME;
	if (r->ev.seconds) {
		time_t now = time(NULL);
		if (now - r->window >= (time_t)r->ev.seconds) {
			finish(r);
			if (r->ev.ring && r->files >= r->ev.ring) return ROT_DONE;
			r->window = now;
			r->count = 0;
			if (start(r, errbuf) != 0) return ROT_ERROR;
			rc = ROT_NEW;
		}
	}
	if (r->ev.max_bytes && (uint64_t)pcap_dump_ftell64(r->d) > r->ev.max_bytes) {
		finish(r);
		r->count++;
		if (r->ev.ring && !r->ev.seconds && r->count >= r->ev.ring) r->count = 0;
		if (start(r, errbuf) != 0) return ROT_ERROR;
		rc = ROT_NEW;
	}
	pcap_dump((u_char *)r->d, h, data);
	return rc;
}

uint32_t rot_slot(const struct rot *r) { return r->slot; }

void rot_flush(struct rot *r)
{
	if (r && r->d) pcap_dump_flush(r->d);
}

void rot_close(struct rot *r)
{
	if (!r) return;
	if (r->d) pcap_dump_close(r->d);
	free(r);
}
