/* SPDX-License-Identifier: MIT */
/* A sample: stop, copy the writable memory in bulk, resume.
 *
 * Before the stop, the copy is planned once from /proc/PID/maps (and refused
 * when too large), the copy buffer is reserved, the pages the copy will
 * write are faulted in, and the arrays the pause needs are allocated. During
 * the stop, maps is read again (threads and mappings may have changed since;
 * it is one fast read), the plan is redone with the threads' stack pointers,
 * and the ranges are copied with batched process_vm_readv. After the resume,
 * the mapping list and the reader are built.
 *
 * What is copied: every readable, writable, private mapping but the kernel's
 * ([vvar], [vdso], …). Two refinements keep the pause short:
 *  - a mapping holding a thread's stack pointer is copied only from that
 *    pointer minus the red zone: the rest of a stack is dead;
 *  - in anonymous mappings, /proc/PID/pagemap tells which pages exist; a
 *    page never touched reads as zeros and is not copied. This is what
 *    makes the stacks glibc keeps for ended threads, and untouched heap
 *    reservations, cost nothing.
 * The copy buffer keeps every mapping at its own offset (MAP_NORESERVE), so
 * the parts never copied cost no memory. A copy of a megabyte or more is
 * shared with a second thread (copier.h): the stopped process leaves a CPU
 * idle. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "asyncdump/snapshot.h"
#include "copier.h"
#include "proc.h"
#include "search.h"
#include "segments.h"
#include "huge_pages.h"
#include "sockets.h"
#include "spare.h"
#include "unstopped.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define DEFAULT_MAX_BYTES ((uint64_t)4 << 30)
#define RED_ZONE 128 /* x86_64 SysV: leaf functions use 128 bytes below rsp */
#define LIVE_BLOCK_SIZE 4096
/* pagemap: bit 63 page present, bit 62 page swapped. */
#define PM_PRESENT_OR_SWAPPED (((uint64_t)1 << 63) | ((uint64_t)1 << 62))
#define PM_CHUNK 8192 /* pagemap entries read per call: 32 MiB of memory */
/* Absent runs shorter than this are copied anyway: fewer, larger ranges. */
#define MERGE_GAP_PAGES 16
/* Larger anonymous mappings are copied whole, not scanned page by page. */
#define SPARSE_MAX_BYTES ((uint64_t)4 << 30)

/* ---- the snapshot's reader */

struct segment {
	uint64_t start, end;
	const char *data; /* NULL: never-touched memory, zeros */
};

AD_RANGE_TYPE(struct segment);
AD_RANGE_TYPE(struct ad_span);

struct snap_memory {
	size_t nsegments;
	struct segment *segments; /* copied memory, sorted, disjoint */
	/* The segment the last read was served from: most reads are near the
	 * one before (a task's header, its future, its timer entry). Any
	 * thread's store is one of these segments, which snap_read checks. */
	_Atomic(const struct segment *) last;
	size_t nlive;
	struct ad_span *live;        /* readable, not writable: read live; sorted */
	struct ad_reader *live_reader;
	struct ad_reader *cache;  /* over live_reader */
	char *buf;
	size_t buf_len;
	char *extra;
	size_t extra_len;
	struct ad_spare *spare;      /* where buf and extra go back to, or NULL */
	pid_t pid;
	/* ad_snapshot_refresh()'s: reads of the process now, and their buffer. */
	struct ad_vm vm;
	char *scratch;
	size_t scratch_cap;
	struct ad_vm_range *pieces;
	size_t pieces_cap;
};

/* What one copied segment, or else one read-only span read live, holds of
 * a read (segments.h). */
static struct ad_error *snap_piece(void *ctx, const struct ad_piece_read *r, size_t *got)
{
	struct snap_memory *m = ctx;
	const struct segment *s = ad_range_find(m->segments, m->nsegments, sizeof(*m->segments),
						r->at);
	if (s) {
		atomic_store_explicit(&m->last, s, memory_order_relaxed);
		*got = ad_range_clip(s->end, r->at, r->want);
		if (s->data)
			memcpy(r->buf, s->data + (r->at - s->start), *got);
		else
			memset(r->buf, 0, *got);
		return NULL;
	}
	const struct ad_span *l = ad_range_find(m->live, m->nlive, sizeof(*m->live), r->at);
	if (!l)
		return ad_error_fault(r->at, r->want,
				      "snapshot of pid %d: 0x%" PRIx64 " was not copied and "
				      "is not read-only memory (reading %zu bytes at 0x%"
				      PRIx64 ")", (int)m->pid, r->at, r->len, r->address);
	*got = ad_range_clip(l->end, r->at, r->want);
	return ad_read(m->cache, r->at, r->buf, *got);
}

static struct ad_error *snap_wraps(void *ctx, const struct ad_piece_read *r)
{
	const struct snap_memory *m = ctx;
	return ad_error_fault(r->at, r->want, "snapshot of pid %d: reading %zu bytes at "
			      "0x%" PRIx64 " wraps around", (int)m->pid, r->len, r->address);
}

static struct ad_error *snap_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	struct snap_memory *m = ctx;
	const struct segment *s = atomic_load_explicit(&m->last, memory_order_relaxed);
	if (s && s->data && address >= s->start && address < s->end && len <= s->end - address) {
		memcpy(buf, s->data + (address - s->start), len);
		return NULL;
	}
	return ad_read_pieces(ctx, address, buf, len, snap_piece, snap_wraps);
}

/* Copied memory is read once, long after the copy: a decoder's reads of a
 * task miss the CPU's caches one line after another. Asked ahead, the
 * lines come in while the task before is decoded. Bounded: a hint. */
#define MAX_PREFETCH 2048

static void snap_prefetch(void *ctx, uint64_t address, size_t len)
{
	struct snap_memory *m = ctx;
	const struct segment *s = ad_range_find(m->segments, m->nsegments, sizeof(*m->segments),
						address);
	if (!s || !s->data)
		return;
	size_t n = ad_range_clip(s->end, address, len < MAX_PREFETCH ? len : MAX_PREFETCH);
	const char *from = s->data + (address - s->start);
	for (size_t at = 0; at < n; at += 64)
		__builtin_prefetch(from + at);
}

static void snap_memory_destroy(void *ctx)
{
	struct snap_memory *m = ctx;
	if (!m)
		return;
	ad_reader_destroy(m->cache);
	ad_reader_destroy(m->live_reader);
	ad_spare_give(m->spare, m->buf, m->buf_len);
	ad_spare_give(m->spare, m->extra, m->extra_len);
	ad_spare_unref(m->spare);
	free(m->segments);
	free(m->live);
	ad_vm_deinit(&m->vm);
	free(m->scratch);
	free(m->pieces);
	free(m);
}

static const struct ad_reader_ops snap_ops = {
	.read = snap_read,
	.destroy = snap_memory_destroy,
	.prefetch = snap_prefetch,
};

/* ---- planning */

static bool is_copied_kind(const struct ad_maps_line *l)
{
	return l->perms[0] == 'r' && l->perms[1] == 'w' && l->perms[3] == 'p' &&
	       !ad_proc_is_special_mapping(l->path);
}

/* Memory whose untouched pages are zeros (not a file's contents). */
static bool is_anonymous(const struct ad_maps_line *l)
{
	return !l->path || strcmp(l->path, "[heap]") == 0 || strcmp(l->path, "[stack]") == 0 ||
	       strncmp(l->path, "[anon:", 6) == 0;
}

static bool is_live_kind(const struct ad_maps_line *l)
{
	const char *p = l->path;
	bool kernel = p && (strcmp(p, "[vvar]") == 0 || strcmp(p, "[vvar_vclock]") == 0 ||
			    strcmp(p, "[vsyscall]") == 0);
	return l->perms[0] == 'r' && l->perms[1] != 'w' && !kernel;
}

/* One copied mapping: [start, end) of it is copied. */
struct planned {
	uint64_t start, end;
	bool sparse;       /* absent pages were skipped: they read as zeros */
};

/* Everything the pause needs, allocated before it. */
struct plan {
	pid_t pid;
	uint64_t max_bytes;
	uint64_t page_size;
	int pagemap_fd;              /* -1: copy anonymous mappings whole */
	uint64_t *pagemap;           /* PM_CHUNK entries */
	char *text;                  /* /proc/PID/maps */
	size_t text_cap, text_len;
	size_t nlines, lines_cap;
	struct ad_maps_line *lines;  /* pointing into text */
	uint64_t *copy_from;         /* per line: lowest stack pointer - red zone */
	size_t nplanned, planned_cap;
	struct planned *planned;
	size_t nranges, ranges_cap;
	struct ad_vm_range *ranges;  /* what to copy, in address order; .buf: offset */
	struct ad_vm_range *todo;    /* the same, rebased, advanced past faults */
	size_t nholes, holes_cap;
	struct ad_span *holes;          /* unreadable pages inside copied ranges */
	uint64_t slots;              /* bytes of buffer the plan lays out */
	uint64_t copied_bytes;
	char *buf;                   /* the copy buffer */
	size_t buf_len;
	char *extra;                 /* replaces buf if the mappings outgrew it */
	size_t extra_len;
	struct ad_spare *spare;      /* buffers kept from earlier samples, or NULL */
	size_t nthreads;
	struct ad_thread *threads;
	struct ad_copier *copier;    /* shares the pause's copy, or NULL */
};

static void plan_deinit(struct plan *p)
{
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	free(p->pagemap);
	free(p->text);
	free(p->lines);
	free(p->copy_from);
	free(p->planned);
	free(p->ranges);
	free(p->todo);
	free(p->holes);
	ad_spare_give(p->spare, p->buf, p->buf_len);
	ad_spare_give(p->spare, p->extra, p->extra_len);
	free(p->threads);
}

/* Grows an array to hold `need` elements; rare during the pause. */
static bool reserve(void **array, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	void *a = realloc(*array, ncap * size);
	if (!a)
		return false;
	*array = a;
	*cap = ncap;
	return true;
}

static struct ad_error *read_maps(struct plan *p)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	struct ad_error *err = ad_proc_slurp(path, &p->text, &p->text_cap, &p->text_len);
	if (err) {
		int e = err->errnum;
		ad_error_destroy(err);
		return e ? ad_proc_explain(p->pid, 0, e, "reading /proc/PID/maps") : &ad_error_nomem;
	}
	p->nlines = 0;
	for (char *line = p->text, *next; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		size_t cap = p->lines_cap;
		if (!reserve((void **)&p->lines, &p->lines_cap, p->nlines + 1, sizeof(*p->lines)) ||
		    !reserve((void **)&p->copy_from, &cap, p->lines_cap, sizeof(*p->copy_from)))
			return &ad_error_nomem;
		if (ad_proc_parse_maps_line(line, &p->lines[p->nlines]))
			p->nlines++;
	}
	return NULL;
}

static bool line_ends_at_or_before(const void *element, const void *address)
{
	return ((const struct ad_maps_line *)element)->end <= *(const uint64_t *)address;
}

static const struct ad_maps_line *line_containing(const struct plan *p, uint64_t address,
						  size_t *index)
{
	size_t i = ad_partition_point(p->lines, p->nlines, sizeof(*p->lines), &address,
				      line_ends_at_or_before);
	if (i == p->nlines || address < p->lines[i].start)
		return NULL;
	*index = i;
	return &p->lines[i];
}

/* A stack mapping is copied from its lowest stack pointer (of p->threads),
 * red zone included; UINT64_MAX marks a mapping that holds no stack pointer. */
static void find_stack_starts(struct plan *p)
{
	for (size_t i = 0; i < p->nlines; i++)
		p->copy_from[i] = UINT64_MAX;
	for (size_t t = 0; t < p->nthreads; t++) {
		uint64_t sp = p->threads[t].regs.rsp;
		size_t i;
		const struct ad_maps_line *l = line_containing(p, sp, &i);
		if (!l)
			continue;
		uint64_t from = sp - l->start > RED_ZONE ? (sp - RED_ZONE) & ~(uint64_t)15 : l->start;
		if (from < p->copy_from[i])
			p->copy_from[i] = from;
	}
}

static struct ad_error *add_range(struct plan *p, uint64_t start, uint64_t end, uint64_t offset)
{
	size_t cap = p->ranges_cap;
	if (!reserve((void **)&p->ranges, &p->ranges_cap, p->nranges + 1, sizeof(*p->ranges)) ||
	    !reserve((void **)&p->todo, &cap, p->ranges_cap, sizeof(*p->todo)))
		return &ad_error_nomem;
	/* .buf holds the offset in the copy buffer until rebase(). */
	p->ranges[p->nranges++] = (struct ad_vm_range){
		.address = start, .buf = (void *)(uintptr_t)offset, .len = (size_t)(end - start),
	};
	p->copied_bytes += end - start;
	return NULL;
}

/* Adds the runs of present or swapped pages of [from, end) (merged across
 * small gaps); *ok is false when pagemap could not be read. */
static struct ad_error *add_present_runs(struct plan *p, uint64_t from, uint64_t end,
					 uint64_t slot_of_from, bool *ok)
{
	uint64_t page = p->page_size;
	uint64_t first = from / page, last = (end + page - 1) / page; /* pages [first, last) */
	uint64_t run_start = 0, run_end = 0; /* current run, in pages; empty when equal */
	*ok = false;
	for (uint64_t at = first; at < last;) {
		size_t n = last - at < PM_CHUNK ? (size_t)(last - at) : PM_CHUNK;
		ssize_t r = pread(p->pagemap_fd, p->pagemap, n * 8, (off_t)(at * 8));
		if (r < 8)
			return NULL;
		n = (size_t)r / 8;
		for (size_t i = 0; i < n; i++, at++) {
			if (!(p->pagemap[i] & PM_PRESENT_OR_SWAPPED))
				continue;
			if (run_end > run_start && at - run_end < MERGE_GAP_PAGES) {
				run_end = at + 1;
				continue;
			}
			if (run_end > run_start) {
				uint64_t s = run_start * page > from ? run_start * page : from;
				struct ad_error *err = add_range(p, s, run_end * page,
								 slot_of_from + (s - from));
				if (err)
					return err;
			}
			run_start = at;
			run_end = at + 1;
		}
	}
	if (run_end > run_start) {
		uint64_t s = run_start * page > from ? run_start * page : from;
		uint64_t e = run_end * page < end ? run_end * page : end;
		struct ad_error *err = add_range(p, s, e, slot_of_from + (s - from));
		if (err)
			return err;
	}
	*ok = true;
	return NULL;
}

/* Plans the copy from p->lines and the stack pointers of p->threads (none
 * before the stop). Ranges come out in address order. */
static struct ad_error *plan_copy(struct plan *p)
{
	find_stack_starts(p);
	p->nplanned = p->nranges = 0;
	p->copied_bytes = p->slots = 0;
	for (size_t i = 0; i < p->nlines; i++) {
		const struct ad_maps_line *l = &p->lines[i];
		if (!is_copied_kind(l))
			continue;
		uint64_t from = p->copy_from[i] == UINT64_MAX ? l->start : p->copy_from[i];
		uint64_t slot_of_from = p->slots + (from - l->start);
		if (!reserve((void **)&p->planned, &p->planned_cap, p->nplanned + 1,
			     sizeof(*p->planned)))
			return &ad_error_nomem;
		struct planned *pl = &p->planned[p->nplanned++];
		*pl = (struct planned){ .start = from, .end = l->end };
		bool sparse = false;
		/* What is no larger than a gap that is copied anyway (the used
		 * part of a thread's stack, mostly) is copied whole: in the
		 * pause, reading its pagemap costs more than the copy. */
		if (p->pagemap_fd >= 0 && is_anonymous(l) && l->end - from <= SPARSE_MAX_BYTES &&
		    l->end - from > MERGE_GAP_PAGES * p->page_size) {
			size_t before = p->nranges;
			uint64_t bytes_before = p->copied_bytes;
			struct ad_error *err = add_present_runs(p, from, l->end, slot_of_from,
								&sparse);
			if (err)
				return err;
			if (!sparse) { /* pagemap failed: copy it whole */
				p->nranges = before;
				p->copied_bytes = bytes_before;
			}
		}
		pl->sparse = sparse;
		if (!sparse) {
			struct ad_error *err = add_range(p, from, l->end, slot_of_from);
			if (err)
				return err;
		}
		p->slots += l->end - l->start;
	}
	return NULL;
}

static struct ad_error *too_large(pid_t pid, uint64_t bytes, uint64_t max)
{
	return ad_error_create(AD_ERROR_TOO_LARGE,
			       "pid %d: the snapshot would copy %" PRIu64 " bytes (%.1f MiB) of "
			       "writable memory, over the limit of %" PRIu64 " bytes (%.1f MiB); "
			       "raise max_snapshot_bytes (ad_snapshot_options.max_bytes) to sample "
			       "it", (int)pid, bytes, (double)bytes / (1 << 20), max,
			       (double)max / (1 << 20));
}

/* A buffer of at least *len bytes (*len: its length), kept from an earlier
 * sample when one fits: its pages are written again without the kernel
 * zeroing them (spare.h). */
static char *map_buffer(struct ad_spare *spare, size_t *len)
{
	size_t got;
	char *p = ad_spare_take(spare, *len ? *len : 1, &got);
	if (p) {
		*len = got;
		return p;
	}
	p = mmap(NULL, *len ? *len : 1, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void open_pagemap(struct plan *p)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)p->pid);
	p->pagemap = malloc(PM_CHUNK * sizeof(*p->pagemap));
	p->pagemap_fd = p->pagemap ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

/* A page's first touch costs the kernel far more than its copy: on a
 * virtual machine here, 4 KiB pages took 300 ms to fault in for a 160 MB
 * heap, 2 MiB ones a tenth of that, and the pause's copy into them was
 * faster too. The copy buffer takes huge pages (huge_pages.h) where the
 * planned ranges fill at least four fifths of one: sparse memory (a
 * thread's stack, a malloc arena's few used pages) does not grow to 2 MiB
 * a piece, and what a huge page adds stays within the quarter more than the
 * copy that admit() asks the memory budget for. Ranges are in buffer order. */
#define HUGE_PAGE ((uint64_t)AD_HUGE_PAGE_SIZE)

static void advise_huge_window(const struct plan *p, uint64_t window, uint64_t filled)
{
	if (filled < HUGE_PAGE / 5 * 4)
		return;
	uint64_t start = window * HUGE_PAGE, end = start + HUGE_PAGE;
	uint64_t buf = (uintptr_t)p->buf;
	if (start < buf)
		start = buf;
	if (end > buf + p->buf_len)
		end = buf + p->buf_len;
	ad_advise_huge_pages((void *)(uintptr_t)start, (size_t)(end - start));
}

/* Windows are of addresses: a huge page is one only when aligned. */
static void advise_filled_huge_pages(const struct plan *p)
{
	uint64_t window = 0, filled = 0;
	for (size_t i = 0; i < p->nranges; i++) {
		uint64_t at = (uintptr_t)p->buf + (uintptr_t)p->ranges[i].buf;
		uint64_t end = at + p->ranges[i].len;
		while (at < end) {
			uint64_t w = at / HUGE_PAGE;
			if (w != window) {
				advise_huge_window(p, window, filled);
				window = w;
				filled = 0;
			}
			uint64_t stop = (w + 1) * HUGE_PAGE < end ? (w + 1) * HUGE_PAGE : end;
			filled += stop - at;
			at = stop;
		}
	}
	advise_huge_window(p, window, filled);
}

/* A page the kernel has not yet written for us can cost it several
 * microseconds on its first write, even when present: measured on a
 * virtual machine here, process_vm_readv of a 16 MiB heap into a freshly
 * faulted-in buffer took 25 ms, into one the kernel had written once 3 ms.
 * The first write is made here, one byte a page from our own memory, so
 * that the pause's copy does not pay it. Best effort. */
static void warm_for_kernel_writes(char *from, char *to, uint64_t page_size)
{
	static const char zero;
	enum { BATCH = 512 };
	struct iovec local[BATCH], remote[BATCH];
	while (from < to) {
		size_t n = 0;
		for (; n < BATCH && from < to; n++, from += page_size) {
			local[n] = (struct iovec){ .iov_base = from, .iov_len = 1 };
			remote[n] = (struct iovec){ .iov_base = (void *)&zero, .iov_len = 1 };
		}
		if (process_vm_readv(getpid(), local, n, remote, n, 0) < 0)
			return;
	}
}

/* Plans once before the stop: refuses what is too large, reserves the
 * buffer, and faults in the pages the copy will write. */
static struct ad_error *prepare(struct plan *p)
{
	open_pagemap(p);
	struct ad_error *err = read_maps(p);
	if (!err)
		err = plan_copy(p);
	if (err)
		return err;
	if (p->copied_bytes > p->max_bytes)
		return too_large(p->pid, p->copied_bytes, p->max_bytes);
	/* Headroom for what changes before the stop; the pause rarely grows
	 * these arrays. */
	size_t cap = p->lines_cap;
	size_t rcap = p->ranges_cap;
	if (!reserve((void **)&p->lines, &p->lines_cap, 2 * p->nlines + 64, sizeof(*p->lines)) ||
	    !reserve((void **)&p->copy_from, &cap, p->lines_cap, sizeof(*p->copy_from)) ||
	    !reserve((void **)&p->planned, &p->planned_cap, 2 * p->nplanned + 64,
		     sizeof(*p->planned)) ||
	    !reserve((void **)&p->ranges, &p->ranges_cap, 2 * p->nranges + 256,
		     sizeof(*p->ranges)) ||
	    !reserve((void **)&p->todo, &rcap, p->ranges_cap, sizeof(*p->todo)) ||
	    !reserve((void **)&p->holes, &p->holes_cap, 16, sizeof(*p->holes)) ||
	    !reserve((void **)&p->text, &p->text_cap, 2 * p->text_len + 65536, 1))
		return &ad_error_nomem;
	p->buf_len = (size_t)(p->slots + p->slots / 4) + ((size_t)64 << 20);
	p->buf = map_buffer(p->spare, &p->buf_len);
	if (!p->buf)
		return ad_error_os(errno, "pid %d: reserving %zu bytes for the snapshot",
				   (int)p->pid, p->buf_len);
	advise_filled_huge_pages(p);
	for (size_t i = 0; i < p->nranges; i++) {
		uint64_t off = (uintptr_t)p->ranges[i].buf;
		uint64_t start = off & ~(p->page_size - 1);
		uint64_t end = (off + p->ranges[i].len + p->page_size - 1) & ~(p->page_size - 1);
		/* Best effort: kernels before 5.14 lack MADV_POPULATE_WRITE. */
		madvise(p->buf + start, (size_t)(end - start), MADV_POPULATE_WRITE);
		warm_for_kernel_writes(p->buf + start, p->buf + end, p->page_size);
	}
	return NULL;
}

/* ---- the pause (no formatting, no allocation on the common path) */

/* Turns buffer offsets into pointers. */
static struct ad_error *rebase(struct plan *p)
{
	char *base = p->buf;
	if (p->slots > p->buf_len) {
		/* The mappings outgrew the reservation since the first read:
		 * map one buffer that holds them all (rare; costs page faults). */
		p->extra_len = (size_t)p->slots;
		p->extra = map_buffer(p->spare, &p->extra_len);
		if (!p->extra)
			return &ad_error_nomem;
		base = p->extra;
	}
	for (size_t i = 0; i < p->nranges; i++) {
		p->ranges[i].buf = base + (uintptr_t)p->ranges[i].buf;
		p->todo[i] = p->ranges[i];
	}
	return NULL;
}

static struct ad_error *add_hole(struct plan *p, uint64_t start, uint64_t end)
{
	if (!reserve((void **)&p->holes, &p->holes_cap, p->nholes + 1, sizeof(*p->holes)))
		return &ad_error_nomem;
	p->holes[p->nholes++] = (struct ad_span){ start, end };
	return NULL;
}

/* Copies ranges [i, end); a page that cannot be read (a file mapping past
 * its end, say) becomes a hole, and the copy goes on after it. */
static struct ad_error *copy_ranges(struct plan *p, struct ad_vm *vm, size_t i, size_t end)
{
	while (i < end) {
		struct ad_error *err = ad_vm_read(vm, p->todo + i, end - i);
		if (!err)
			return NULL;
		if (err->code != AD_ERROR_FAULT)
			return err;
		uint64_t bad = err->address;
		ad_error_destroy(err);
		while (i < end && bad >= p->todo[i].address + p->todo[i].len)
			i++;
		if (i == end || bad < p->todo[i].address)
			return ad_error_fault(bad, 1, "pid %d: copying 0x%" PRIx64 " failed outside "
					      "the planned ranges", (int)p->pid, bad);
		struct ad_vm_range *r = &p->todo[i];
		uint64_t r_end = r->address + r->len;
		uint64_t next = (bad | (p->page_size - 1)) + 1;
		if (next > r_end)
			next = r_end;
		err = add_hole(p, bad, next);
		if (err)
			return err;
		r->buf = (char *)r->buf + (next - r->address);
		r->len = (size_t)(r_end - next);
		r->address = next;
	}
	return NULL;
}

/* Below this, handing half the copy to the copier saves less than waking it
 * and waiting for it cost. */
#define SHARED_COPY_MIN_BYTES ((uint64_t)1 << 20)

/* The pause's copy. With a copier, it takes the second half of the bytes
 * (from the middle of the range that holds the middle byte); a share it
 * could not copy whole (a page that cannot be read) is copied again here,
 * where holes are noted. The copier is done with its share when this
 * returns. */
static struct ad_error *copy(struct plan *p, struct ad_vm *vm)
{
	uint64_t total = 0, before = 0;
	for (size_t i = 0; i < p->nranges; i++)
		total += p->todo[i].len;
	if (!p->copier || total < SHARED_COPY_MIN_BYTES)
		return copy_ranges(p, vm, 0, p->nranges);
	size_t k = 0;
	while (before + p->todo[k].len <= total / 2)
		before += p->todo[k++].len;
	size_t cut = (size_t)(total / 2 - before); /* of range k, copied here */
	struct ad_vm_range tail = p->todo[k];
	tail.address += cut;
	tail.buf = (char *)tail.buf + cut;
	tail.len -= cut;
	ad_copier_give(p->copier, &tail, p->todo + k + 1, p->nranges - k - 1);
	p->todo[k].len = cut;
	struct ad_error *err = copy_ranges(p, vm, 0, k + 1);
	bool shared = ad_copier_wait(p->copier);
	if (err || shared)
		return err;
	p->todo[k] = tail;
	return copy_ranges(p, vm, k, p->nranges);
}

static struct ad_error *copy_threads(struct plan *p, const struct ad_stopped *s)
{
	p->nthreads = ad_stopped_thread_count(s);
	p->threads = calloc(p->nthreads ? p->nthreads : 1, sizeof(*p->threads));
	if (!p->threads)
		return &ad_error_nomem;
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i] = *ad_stopped_thread(s, i);
	return NULL;
}

/* Once the threads are known: maps again (threads and mappings may have
 * changed since the first plan; it is one fast read), the plan with their
 * stack pointers, the copy. */
static struct ad_error *replan_and_copy(struct plan *p, struct ad_vm *vm)
{
	struct ad_error *err = read_maps(p);
	if (err && err->code == AD_ERROR_NO_PROCESS) {
		ad_error_destroy(err);
		return ad_proc_exited_error(p->pid, "re-reading /proc/PID/maps");
	}
	if (!err)
		err = plan_copy(p);
	if (!err && p->copied_bytes > p->max_bytes)
		err = too_large(p->pid, p->copied_bytes, p->max_bytes);
	if (!err)
		err = rebase(p);
	if (!err)
		err = copy(p, vm);
	return err;
}

static struct ad_error *during_pause(struct plan *p, const struct ad_stopped *s, struct ad_vm *vm)
{
	ad_copier_arm(p->copier); /* awake by the time the copy is planned */
	struct ad_error *err = copy_threads(p, s);
	return err ? err : replan_and_copy(p, vm);
}

/* ---- after the resume */

static struct ad_error *build_mappings(const struct plan *p, struct ad_snapshot *snap)
{
	snap->mappings = calloc(p->nlines ? p->nlines : 1, sizeof(*snap->mappings));
	if (!snap->mappings)
		return &ad_error_nomem;
	for (size_t i = 0; i < p->nlines; i++) {
		const struct ad_maps_line *l = &p->lines[i];
		struct ad_mapping *m = &snap->mappings[i];
		*m = (struct ad_mapping){ .start = l->start, .end = l->end, .offset = l->offset };
		memcpy(m->perms, l->perms, sizeof(m->perms));
		if (l->path && !(m->path = strdup(l->path)))
			return &ad_error_nomem;
		snap->nmappings = i + 1;
	}
	return NULL;
}

static void add_segment(struct snap_memory *m, uint64_t start, uint64_t end, const char *data)
{
	if (start < end)
		m->segments[m->nsegments++] = (struct segment){ start, end, data };
}

/* Copied ranges minus their holes, and, in sparse mappings, zeros between
 * them; in address order. */
static struct ad_error *build_segments(const struct plan *p, struct snap_memory *m)
{
	m->segments = calloc(2 * (p->nranges + p->nholes + p->nplanned) + 1,
			     sizeof(*m->segments));
	if (!m->segments)
		return &ad_error_nomem;
	size_t r = 0, h = 0;
	for (size_t k = 0; k < p->nplanned; k++) {
		const struct planned *pl = &p->planned[k];
		uint64_t at = pl->start;
		for (; r < p->nranges && p->ranges[r].address < pl->end; r++) {
			const struct ad_vm_range *rg = &p->ranges[r];
			uint64_t end = rg->address + rg->len;
			if (pl->sparse)
				add_segment(m, at, rg->address, NULL);
			at = rg->address;
			for (; h < p->nholes && p->holes[h].start < end; h++) {
				add_segment(m, at, p->holes[h].start,
					    (const char *)rg->buf + (at - rg->address));
				at = p->holes[h].end;
			}
			add_segment(m, at, end, (const char *)rg->buf + (at - rg->address));
			at = end;
		}
		if (pl->sparse)
			add_segment(m, at, pl->end, NULL);
	}
	return NULL;
}

static struct ad_error *build_live(const struct plan *p, struct snap_memory *m)
{
	m->live = calloc(p->nlines + 1, sizeof(*m->live));
	if (!m->live)
		return &ad_error_nomem;
	for (size_t i = 0; i < p->nlines; i++) {
		const struct ad_maps_line *l = &p->lines[i];
		if (is_live_kind(l))
			m->live[m->nlive++] = (struct ad_span){ l->start, l->end };
	}
	struct ad_error *err = ad_reader_live_create(p->pid, &m->live_reader);
	if (!err)
		err = ad_reader_cached_create(m->live_reader, LIVE_BLOCK_SIZE, &m->cache);
	return err;
}

static struct ad_error *build_reader(struct plan *p, struct ad_snapshot *snap)
{
	struct snap_memory *m = calloc(1, sizeof(*m));
	struct ad_reader *r = malloc(sizeof(*r));
	if (!m || !r) {
		free(m);
		free(r);
		return &ad_error_nomem;
	}
	m->pid = p->pid;
	ad_vm_init(&m->vm, p->pid);
	/* The buffers move to the reader. */
	m->buf = p->buf;
	m->buf_len = p->buf_len;
	m->extra = p->extra;
	m->extra_len = p->extra_len;
	m->spare = ad_spare_ref(p->spare);
	p->buf = p->extra = NULL;
	struct ad_error *err = build_segments(p, m);
	if (!err)
		err = build_live(p, m);
	if (err) {
		snap_memory_destroy(m);
		free(r);
		return err;
	}
	r->ops = &snap_ops;
	r->ctx = m;
	snap->reader = r;
	return NULL;
}

/* ---- the API */

/* While the target is stopped, the tracing thread must not be pre-empted:
 * on a loaded machine that stretched a 0.5 ms pause to 10 ms. Run it at
 * the lowest real-time priority for the pause when allowed (root,
 * CAP_SYS_NICE, no RestrictRealtime=), as it was otherwise; the pause is
 * bounded and does nothing but ptrace and bulk reads; while the target's
 * threads make their way to their stops it sleeps (attach.c). */
struct realtime {
	bool raised;
	int policy;
	struct sched_param param;
};

static void enter_realtime(struct realtime *rt)
{
	struct sched_param fifo = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };
	rt->raised = pthread_getschedparam(pthread_self(), &rt->policy, &rt->param) == 0 &&
		     rt->policy != SCHED_FIFO && rt->policy != SCHED_RR &&
		     pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) == 0;
}

static void leave_realtime(struct realtime *rt)
{
	if (rt->raised)
		pthread_setschedparam(pthread_self(), rt->policy, &rt->param);
	rt->raised = false;
}

/* Asks the caller's budget for the planned copy and a quarter more; the
 * copy is then held to what was admitted. */
static struct ad_error *admit(struct plan *p, const struct ad_snapshot_options *options,
			      struct ad_snapshot *snap)
{
	uint64_t want = p->copied_bytes + p->copied_bytes / 4 + ((uint64_t)1 << 20);
	if (want > p->max_bytes)
		want = p->max_bytes;
	struct ad_error *err = options->admit_memory(options->memory_arg, want);
	if (err)
		return err;
	snap->admitted_bytes = want;
	snap->release_memory = options->release_memory;
	snap->memory_arg = options->memory_arg;
	p->max_bytes = want;
	return NULL;
}

static struct ad_error *copy_stopped(struct plan *p, struct ad_vm *vm, struct ad_snapshot *snap)
{
	struct ad_stopped *stopped = NULL;
	struct realtime rt = { 0 };
	enter_realtime(&rt);
	/* Started real-time, it runs so. */
	if (p->copied_bytes >= SHARED_COPY_MIN_BYTES)
		p->copier = ad_copier_start(p->pid);
	struct ad_error *err = ad_process_stop_checked(p->pid, &stopped);
	if (!err) {
		clock_gettime(CLOCK_REALTIME, &snap->captured_at);
		clock_gettime(CLOCK_MONOTONIC, &snap->monotonic);
		err = during_pause(p, stopped, vm);
		struct ad_error *resume_err = ad_process_resume_timed(stopped, &snap->pause_us);
		if (!err)
			err = resume_err;
		else
			ad_error_destroy(resume_err);
	}
	ad_copier_finish(p->copier);
	p->copier = NULL;
	leave_realtime(&rt);
	return err;
}

/* The copy while the process runs. The threads are read first: a thread
 * that stays blocked keeps its stack as it was then; the stacks of those
 * running are copied whole. */
static struct ad_error *copy_running(struct plan *p, struct ad_vm *vm, struct ad_snapshot *snap)
{
	struct ad_error *err = ad_unstopped_threads(p->pid, &p->threads, &p->nthreads,
						    &snap->nthreads_running);
	if (err)
		return err;
	clock_gettime(CLOCK_REALTIME, &snap->captured_at);
	clock_gettime(CLOCK_MONOTONIC, &snap->monotonic);
	return replan_and_copy(p, vm);
}

/* ---- refreshing a copy taken without a stop */

/* The pieces of [start, end) that lie in copied segments, appended to
 * m->pieces with their place in the scratch buffer (as an offset). */
static struct ad_error *add_refresh_pieces(struct snap_memory *m, uint64_t start, uint64_t end,
					   size_t *npieces, size_t *bytes)
{
	for (uint64_t at = start; at < end;) {
		size_t i = ad_partition_point(m->segments, m->nsegments, sizeof(*m->segments), &at,
					      ad_range_ends_at_or_before);
		if (i == m->nsegments)
			return NULL;
		const struct segment *sg = &m->segments[i];
		if (sg->start >= end)
			return NULL;
		uint64_t from = sg->start > at ? sg->start : at;
		uint64_t to = sg->end < end ? sg->end : end;
		if (!reserve((void **)&m->pieces, &m->pieces_cap, *npieces + 1, sizeof(*m->pieces)))
			return &ad_error_nomem;
		m->pieces[(*npieces)++] = (struct ad_vm_range){
			.address = from, .buf = (void *)(uintptr_t)*bytes, .len = (size_t)(to - from),
		};
		*bytes += (size_t)(to - from);
		at = to;
	}
	return NULL;
}

/* The copy's bytes at `address` (in a copied segment), or NULL where the
 * page was untouched when planned (zeros, with nothing behind them). */
static char *copied_bytes_at(struct snap_memory *m, uint64_t address)
{
	const struct segment *sg = ad_range_find(m->segments, m->nsegments, sizeof(*m->segments),
						 address);
	return sg->data ? (char *)sg->data + (address - sg->start) : NULL;
}

static bool all_zero(const char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Whether one piece still holds what the copy does; the copy takes what it
 * holds now where it can. */
static bool refresh_piece(struct snap_memory *m, const struct ad_vm_range *now)
{
	char *copy = copied_bytes_at(m, now->address);
	if (!copy) /* a page first touched since: nowhere to put it */
		return all_zero(now->buf, now->len);
	if (memcmp(copy, now->buf, now->len) == 0)
		return true;
	memcpy(copy, now->buf, now->len);
	return false;
}

struct ad_error *ad_snapshot_refresh(struct ad_snapshot *snap, const struct ad_span *spans,
				     size_t n, bool *changed)
{
	*changed = false;
	if (snap->stopped || !snap->reader || snap->reader->ops != &snap_ops)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "only a snapshot taken without a stop can be refreshed");
	struct snap_memory *m = snap->reader->ctx;
	size_t npieces = 0, bytes = 0;
	for (size_t i = 0; i < n; i++) {
		struct ad_error *err = add_refresh_pieces(m, spans[i].start, spans[i].end, &npieces,
							  &bytes);
		if (err)
			return err;
	}
	if (!reserve((void **)&m->scratch, &m->scratch_cap, bytes ? bytes : 1, 1))
		return &ad_error_nomem;
	for (size_t i = 0; i < npieces; i++)
		m->pieces[i].buf = m->scratch + (uintptr_t)m->pieces[i].buf;
	struct ad_error *err = ad_vm_read(&m->vm, m->pieces, npieces);
	if (err) {
		/* Unmapped since, or the process is gone: cannot say the copy held. */
		bool fault = err->code == AD_ERROR_FAULT;
		if (!fault)
			return err;
		ad_error_destroy(err);
		*changed = true;
		return NULL;
	}
	for (size_t i = 0; i < npieces; i++)
		if (!refresh_piece(m, &m->pieces[i]))
			*changed = true;
	return NULL;
}

/* Right after the resume, so that io leaves' fds say what they are connected
 * to as of this sample (the net tables follow when a leaf first asks).
 * Best effort: a process whose fds we may not list still gets its trace,
 * with bare fds. */
static void read_sockets(struct ad_snapshot *snap)
{
	ad_error_destroy(ad_sockets_read(snap->pid, &snap->sockets));
}

struct ad_error *ad_snapshot_take(pid_t pid, const struct ad_snapshot_options *options,
				  struct ad_snapshot **ret)
{
	struct plan p = {
		.pid = pid,
		.max_bytes = options && options->max_bytes ? options->max_bytes : DEFAULT_MAX_BYTES,
		.page_size = (uint64_t)sysconf(_SC_PAGESIZE),
		.pagemap_fd = -1,
		.spare = options ? options->spare : NULL,
	};
	struct ad_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return &ad_error_nomem;
	snap->pid = pid;
	struct ad_vm vm;
	ad_vm_init(&vm, pid);

	struct ad_error *err = options && options->process_checked ? NULL : ad_process_check(pid);
	if (!err)
		err = ad_proc_read_exe(pid, &snap->exe);
	if (!err)
		err = prepare(&p);
	if (!err && options && options->admit_memory)
		err = admit(&p, options, snap);
	if (!err && options && options->no_stop)
		err = copy_running(&p, &vm, snap);
	else if (!err)
		err = copy_stopped(&p, &vm, snap);
	ad_vm_deinit(&vm);
	if (!err)
		read_sockets(snap);
	if (!err) {
		snap->stopped = !(options && options->no_stop);
		snap->copied_bytes = p.copied_bytes;
		snap->nthreads = p.nthreads;
		snap->threads = p.threads;
		p.threads = NULL;
		err = build_mappings(&p, snap);
	}
	if (!err)
		err = build_reader(&p, snap);
	plan_deinit(&p);
	if (err) {
		ad_snapshot_destroy(snap);
		return err;
	}
	*ret = snap;
	return NULL;
}

void ad_snapshot_destroy(struct ad_snapshot *snap)
{
	if (!snap)
		return;
	ad_reader_destroy(snap->reader);
	ad_socket_table_destroy(snap->sockets);
	ad_mappings_free(snap->mappings, snap->nmappings);
	free(snap->threads);
	free(snap->exe);
	if (snap->admitted_bytes && snap->release_memory)
		snap->release_memory(snap->memory_arg, snap->admitted_bytes);
	free(snap);
}

static bool mapping_ends_at_or_before(const void *element, const void *address)
{
	return ((const struct ad_mapping *)element)->end <= *(const uint64_t *)address;
}

const struct ad_mapping *ad_snapshot_mapping(const struct ad_snapshot *snap, uint64_t address)
{
	size_t i = ad_partition_point(snap->mappings, snap->nmappings, sizeof(*snap->mappings),
				      &address, mapping_ends_at_or_before);
	return i < snap->nmappings && snap->mappings[i].start <= address ? &snap->mappings[i] : NULL;
}

const struct ad_mapping *ad_snapshot_exe_mapping(const struct ad_snapshot *snap)
{
	for (size_t i = 0; snap->exe && i < snap->nmappings; i++) {
		const struct ad_mapping *m = &snap->mappings[i];
		if (m->path && m->offset == 0 && strcmp(m->path, snap->exe) == 0)
			return m;
	}
	return NULL;
}
