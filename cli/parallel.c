#include "parallel.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../capture/pcapng_secrets.h"
#include "../dissect/keylog.h"
#include "../dissect/x509_shared.h"
#include "../report/trust.h"

enum { N_SPOOLS = 3 }; /* enum analysis_spool */

struct job {
	const char *path;
	/* its Decryption Secrets Blocks: read once, by the first thread that
	 * needs them (under dsb_mu), kept to the end (later files need them) */
	bool dsb_read;
	char *dsb;
	size_t dsb_len;
	int dsb_blocks;
	char dsb_err[EK_ERRBUF_SIZE]; /* why dsb is not all the file's secrets ("": it is) */
	/* the worker's result, complete when done is set (under mu) */
	bool done;
	struct analysis *w;        /* NULL: the worker could not; the main thread analyses the file */
	int rc;
	char err[512];
	int spool[N_SPOOLS];       /* -1: none */
	char *warn;                /* its stderr lines */
	size_t warn_len;
};

struct run {
	const struct analysis_opts *o;
	const char *tmpdir;
	struct x509_shared *certs;  /* distinct certificates, parsed once for all threads */
	struct job *jobs;
	size_t n;
	pthread_mutex_t mu, dsb_mu;
	pthread_cond_t done, room;
	size_t next;               /* the next file to take */
	size_t merged;             /* files merged */
	size_t window;             /* files taken but not merged, at most: bounds memory and spools */
};

struct worker {
	struct run *r;
	pthread_t th;
	struct tls_keylog *keys;   /* --keylog files + secrets blocks of files [0, dsb_upto) */
	size_t dsb_upto;
	struct trust *trust;
};

static size_t serial(struct analysis *a, const char *const *files, size_t n)
{
	size_t failed = 0;
	char err[512];
	for (size_t i = 0; i < n; i++) {
		if (analysis_file(a, files[i], err, sizeof err) != 0) {
			fprintf(stderr, "ekuscope: %s\n", err);
			failed++;
		}
	}
	return failed;
}

/* An unlinked temporary file: nothing is left behind if the run dies. */
static int spool_new(const struct run *r)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/ekuscope-spool.XXXXXX", r->tmpdir) >= (int)sizeof path) return -1;
	int fd = mkstemp(path);
	if (fd >= 0) unlink(path);
	return fd;
}

static const struct job *dsb_of(struct run *r, size_t k)
{
	struct job *jb = &r->jobs[k];
	pthread_mutex_lock(&r->dsb_mu);
	if (!jb->dsb_read) {
		/* all of them, also of a compressed file: later files need them */
		jb->dsb_blocks = cap_pcapng_tls_secrets(jb->path, true, &jb->dsb, &jb->dsb_len, jb->dsb_err);
		jb->dsb_read = true;
	}
	pthread_mutex_unlock(&r->dsb_mu);
	return jb;
}

static void job_clear(struct job *jb)
{
	analysis_free(jb->w);
	jb->w = NULL;
	for (int i = 0; i < N_SPOOLS; i++) {
		if (jb->spool[i] >= 0) close(jb->spool[i]);
		jb->spool[i] = -1;
	}
	free(jb->warn);
	jb->warn = NULL;
	jb->warn_len = 0;
}

static void analyse(struct worker *wk, size_t k)
{
	struct run *r = wk->r;
	struct job *jb = &r->jobs[k];
	/* a serial run has read the secrets blocks of files 0..k-1 by now;
	 * those of file k come as it is read */
	for (; wk->dsb_upto < k; wk->dsb_upto++) {
		const struct job *d = dsb_of(r, wk->dsb_upto);
		if (d->dsb_len) tls_keylog_add_text(wk->keys, d->dsb, d->dsb_len);
	}
	struct analysis_spools sp = { NULL, NULL, NULL, NULL, wk->keys, wk->trust };
	char paths[2][64];
	bool ok = true;
	/* csv_out opens by path: the spool's, through /proc */
	for (int i = SPOOL_TIMELINE_CSV; i <= SPOOL_FINDINGS_CSV; i++) {
		if (!(i == SPOOL_TIMELINE_CSV ? r->o->timeline_csv : r->o->findings_csv)) continue;
		jb->spool[i] = spool_new(r);
		ok = ok && jb->spool[i] >= 0;
		snprintf(paths[i], sizeof paths[i], "/proc/self/fd/%d", jb->spool[i]);
		if (i == SPOOL_TIMELINE_CSV) sp.timeline_csv = paths[i];
		else sp.findings_csv = paths[i];
	}
	if (r->o->text_timeline) {
		int fd = (jb->spool[SPOOL_TEXT] = spool_new(r)) >= 0 ? dup(jb->spool[SPOOL_TEXT]) : -1;
		if (fd >= 0 && !(sp.text = fdopen(fd, "w"))) close(fd);
		ok = ok && sp.text;
	}
	sp.warn = open_memstream(&jb->warn, &jb->warn_len);
	ok = ok && sp.warn;
	struct analysis *w = ok ? analysis_new_worker(r->o, &sp, jb->err, sizeof jb->err) : NULL;
	if (w) {
		analysis_share_certs(w, r->certs);
		jb->rc = analysis_worker_file(w, jb->path, (uint32_t)k, true, jb->err, sizeof jb->err);
		char e[512];
		if (analysis_worker_end(w, e, sizeof e) != 0) {
			analysis_free(w);
			w = NULL;
		}
	}
	if (sp.text && fclose(sp.text) != 0 && w) {
		analysis_free(w);
		w = NULL;
	}
	if (sp.warn) fclose(sp.warn);
	jb->w = w;
	if (!w) job_clear(jb);
}

/* A worker's key log and trust store; false when out of memory. */
static bool worker_init(struct worker *wk, struct run *r)
{
	wk->r = r;
	wk->keys = tls_keylog_new(0);
	wk->trust = trust_new(r->o->public_roots, r->o->ca_file, r->o->ca_path);
	/* as analysis_new: main has printed any warning about them */
	for (size_t i = 0; wk->keys && i < r->o->n_keylog_files; i++) {
		char e[400];
		tls_keylog_add_file(wk->keys, r->o->keylog_files[i], e, sizeof e);
	}
	return wk->keys && wk->trust;
}

static void worker_free(struct worker *wk)
{
	tls_keylog_free(wk->keys);
	trust_free(wk->trust);
	memset(wk, 0, sizeof *wk);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct run *r = wk->r;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (r->next < r->n && r->next >= r->merged + r->window) pthread_cond_wait(&r->room, &r->mu);
		size_t k = r->next < r->n ? r->next++ : r->n;
		pthread_mutex_unlock(&r->mu);
		if (k == r->n) break;
		analyse(wk, k);
		pthread_mutex_lock(&r->mu);
		r->jobs[k].done = true;
		pthread_cond_signal(&r->done);
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

/* path is standard output, or the same file. */
static bool on_stdout(const char *path)
{
	struct stat a, b;
	if (strcmp(path, "-") == 0) return true;
	return stat(path, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Worker output goes through spools: fine unless the inputs cannot be read
 * twice (a file the main thread may analyse again, --keylog files read by
 * every thread) or two outputs share stdout (their interleaving follows
 * the writers' buffers). */
static bool can_split(const struct analysis_opts *o, const char *const *files, size_t n)
{
	struct stat sb;
	if (n > ANALYSIS_MAX_FILES || access("/proc/self/fd", X_OK) != 0) return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(files[i], "-") == 0 || (stat(files[i], &sb) == 0 && !S_ISREG(sb.st_mode))) return false;
	for (size_t i = 0; i < o->n_keylog_files; i++)
		if (stat(o->keylog_files[i], &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
	if (o->findings_csv && on_stdout(o->findings_csv) &&
	    (o->text_timeline || (o->timeline_csv && on_stdout(o->timeline_csv))))
		return false;
	return true;
}

unsigned parallel_default_jobs(const char *const *files, size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 2 || n < 2) return 1;
	unsigned long long bytes = 0;
	struct stat sb;
	for (size_t i = 0; i < n && bytes < PARALLEL_MIN_BYTES; i++)
		if (stat(files[i], &sb) == 0 && S_ISREG(sb.st_mode)) bytes += (unsigned long long)sb.st_size;
	if (bytes < PARALLEL_MIN_BYTES) return 1;
	return cpus < 256 ? (unsigned)cpus : 256;
}

struct parallel_plan parallel_plan(unsigned asked, unsigned jobs, size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long threads = asked ? asked : cpus > 1 ? (unsigned long)cpus : 1;
	size_t at_once = jobs > 1 && n > 1 ? (jobs < n ? jobs : n) : 1;
	struct parallel_plan p = { 1, threads >= 2 };
	if (p.two_threads && at_once > threads / 2) at_once = threads / 2;
	p.files_at_once = (unsigned)at_once; /* >= 1: threads / 2 >= 1 with two threads */
	return p;
}

size_t parallel_run(struct analysis *a, const struct analysis_opts *o, const char *const *files, size_t n,
		    unsigned jobs)
{
	if (jobs > n) jobs = (unsigned)n;
	if (jobs < 2 || !can_split(o, files, n)) return serial(a, files, n);
	struct run r;
	memset(&r, 0, sizeof r);
	r.o = o;
	r.tmpdir = getenv("TMPDIR");
	if (!r.tmpdir || !*r.tmpdir) r.tmpdir = "/tmp";
	r.n = n;
	r.window = 2 * (size_t)jobs;
	int probe = spool_new(&r);
	r.jobs = probe >= 0 ? calloc(n, sizeof *r.jobs) : NULL;
	struct worker *wk = r.jobs ? calloc(jobs, sizeof *wk) : NULL;
	if (probe >= 0) close(probe);
	if (!wk) {
		free(r.jobs);
		return serial(a, files, n);
	}
	for (size_t i = 0; i < n; i++) {
		r.jobs[i].path = files[i];
		for (int s = 0; s < N_SPOOLS; s++) r.jobs[i].spool[s] = -1;
	}
	/* an eighth of a cache's budget (1 MiB by default): the threads'
	 * files meet a certificate at about the same time (unique-certs x2:
	 * 1 MiB shared every record); NULL: each parses its own */
	r.certs = x509_shared_new(o->cert_cache_bytes / 8);
	analysis_share_certs(a, r.certs);
	pthread_mutex_init(&r.mu, NULL);
	pthread_mutex_init(&r.dsb_mu, NULL);
	pthread_cond_init(&r.done, NULL);
	pthread_cond_init(&r.room, NULL);
	/* jobs - 1 threads; the main thread is the last worker (below).
	 * File 0 is the main thread's: it starts at once, with no spool. */
	r.next = 1;
	unsigned started = 0;
	for (unsigned i = 0; i + 1 < jobs; i++) {
		struct worker *w = &wk[started];
		if (!worker_init(w, &r) || pthread_create(&w->th, NULL, worker_main, w) != 0) {
			worker_free(w);
			break;
		}
		started++;
	}
	struct worker *self = &wk[jobs - 1];
	int self_state = 0; /* 1 ready, -1 could not be set up */

	size_t failed = 0;
	for (size_t k = 0; k < n; k++) {
		struct job *jb = &r.jobs[k];
		/* A file no worker has taken yet the main thread analyses itself,
		 * straight into the outputs: no spool to write and copy.  While
		 * it waits for a worker's file it takes a later one, as a worker. */
		pthread_mutex_lock(&r.mu);
		bool mine = k == 0 || r.next == k;
		if (k && mine) r.next++;
		while (!mine && !jb->done) {
			if (self_state >= 0 && r.next < r.n && r.next < r.merged + r.window) {
				if (!self_state) {
					pthread_mutex_unlock(&r.mu);
					self_state = worker_init(self, &r) ? 1 : -1;
					if (self_state < 0) worker_free(self);
					pthread_mutex_lock(&r.mu);
					continue;
				}
				size_t m = r.next++;
				pthread_mutex_unlock(&r.mu);
				analyse(self, m);
				pthread_mutex_lock(&r.mu);
				r.jobs[m].done = true;
				continue;
			}
			pthread_cond_wait(&r.done, &r.mu);
		}
		pthread_mutex_unlock(&r.mu);
		if (mine || !jb->w || analysis_merge_conflict(a, jb->w)) {
			char err[512];
			if (analysis_file(a, jb->path, err, sizeof err) != 0) {
				fprintf(stderr, "ekuscope: %s\n", err);
				failed++;
			}
		} else {
			const struct job *d = dsb_of(&r, k);
			analysis_merge(a, jb->w, jb->path, d->dsb, d->dsb_len);
			for (int s = 0; s < N_SPOOLS; s++)
				if (jb->spool[s] >= 0) analysis_append_spool(a, (enum analysis_spool)s, jb->spool[s]);
			if (jb->warn_len) fwrite(jb->warn, 1, jb->warn_len, stderr);
			/* secrets the file has but the files after it did not get (its own
			 * reader reports a file it cannot read) */
			if (d->dsb_blocks > 0 && d->dsb_err[0]) fprintf(stderr, "ekuscope: warning: %s\n", d->dsb_err);
			if (jb->rc != 0) {
				fprintf(stderr, "ekuscope: %s\n", jb->err);
				failed++;
			}
		}
		job_clear(jb);
		pthread_mutex_lock(&r.mu);
		r.merged = k + 1;
		pthread_cond_broadcast(&r.room);
		pthread_mutex_unlock(&r.mu);
	}

	for (unsigned i = 0; i < started; i++) {
		pthread_join(wk[i].th, NULL);
		worker_free(&wk[i]);
	}
	if (self_state > 0) worker_free(self);
	for (size_t i = 0; i < n; i++) free(r.jobs[i].dsb);
	analysis_share_certs(a, NULL);
	x509_shared_free(r.certs);
	pthread_cond_destroy(&r.room);
	pthread_cond_destroy(&r.done);
	pthread_mutex_destroy(&r.dsb_mu);
	pthread_mutex_destroy(&r.mu);
	free(r.jobs);
	free(wk);
	return failed;
}
