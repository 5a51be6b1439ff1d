/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "asyncdump/snapshot.h"
#include "debuginfo_internal.h"
#include "decode.h"
#include "heap_scan.h"
#include "u64map.h"

/* Read at once; a chunk that faults is read again page by page. */
#define CHUNK (1u << 20)
#define PAGE 4096u
/* Distinct pointer values judged, at most: past that, new ones are not. */
#define MAX_JUDGED (1u << 16)

struct scan {
	struct ad_decode *d;
	ad_heap_candidate_fn *candidate;
	ad_heap_found_fn *found;
	void *arg;
	/* value → (void *)1 accepted, (void *)2 refused */
	struct ad_u64map judged;
	size_t njudged;
	uint64_t *buf;
};

static bool is_stack(const struct ad_snapshot *snap, const struct ad_mapping *m)
{
	if (m->path && strcmp(m->path, "[stack]") == 0)
		return true;
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct ad_thread *t = &snap->threads[i];
		/* Read on a CPU without a stop: no stack pointer, but glibc puts
		 * a thread's control block at the top of its stack. */
		uint64_t in_stack = t->running ? t->regs.fs_base : t->regs.rsp;
		if (in_stack >= m->start && in_stack < m->end)
			return true;
	}
	return false;
}

/* Heap-like: writable, private, anonymous (or the [heap]), not a stack. */
static bool scanned(const struct ad_snapshot *snap, const struct ad_mapping *m)
{
	return m->perms[0] == 'r' && m->perms[1] == 'w' && m->perms[3] == 'p' &&
	       (!m->path || strcmp(m->path, "[heap]") == 0) && !is_stack(snap, m);
}

static bool points_into_targets(const uint64_t *lo, const uint64_t *hi, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (v >= lo[i] && v < hi[i])
			return true;
	return false;
}

static bool accepted(struct scan *s, uint64_t v)
{
	uintptr_t j = (uintptr_t)ad_u64map_get(&s->judged, v);
	if (j)
		return j == 1;
	if (s->njudged >= MAX_JUDGED)
		return false;
	bool ok = s->candidate(s->d, s->arg, v);
	s->njudged++;
	/* A full map only means judging the value again. */
	(void)ad_u64map_put(&s->judged, v, (void *)(uintptr_t)(ok ? 1 : 2));
	return ok;
}

#define MAX_TARGETS 16

/* Where the values looked for may point: the executable's loaded segments,
 * code (exec) or data (vtables are in RELRO data, read-only once
 * relocated), from its program headers rather than the mappings: a core
 * (gcore's) may leave code out. */
static size_t executable_segments(struct ad_decode *d, bool exec, uint64_t *lo, uint64_t *hi)
{
	size_t nphdrs, n = 0;
	Elf *elf = d->di->elf;
	if (!elf || elf_getphdrnum(elf, &nphdrs) != 0)
		return 0;
	for (size_t i = 0; i < nphdrs && n < MAX_TARGETS; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);
		if (!ph || ph->p_type != PT_LOAD || ((ph->p_flags & PF_X) != 0) != exec)
			continue;
		lo[n] = ph->p_vaddr + d->bias;
		hi[n++] = ph->p_vaddr + ph->p_memsz + d->bias;
	}
	return n;
}

static struct ad_error *scan_words(struct scan *s, uint64_t address, size_t n,
				   const uint64_t *lo, const uint64_t *hi, size_t ntargets)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = s->buf[i];
		if (!v || (v & 7) || !points_into_targets(lo, hi, ntargets, v))
			continue;
		if (!accepted(s, v))
			continue;
		struct ad_error *err = s->found(s->d, s->arg, address + i * 8, v);
		if (err)
			return err;
	}
	return NULL;
}

static struct ad_error *scan_range(struct scan *s, uint64_t start, uint64_t end,
				   const uint64_t *lo, const uint64_t *hi, size_t ntargets)
{
	for (uint64_t a = start; a < end;) {
		size_t len = end - a < CHUNK ? (size_t)(end - a) : CHUNK;
		struct ad_error *err = ad_read(s->d->reader, a, s->buf, len);
		if (ad_error_is_fatal(err))
			return err;
		if (!err) {
			if ((err = scan_words(s, a, len / 8, lo, hi, ntargets)))
				return err;
			a += len;
			continue;
		}
		ad_error_destroy(err);
		/* Some page of the chunk is not in the sample: page by page. */
		for (uint64_t p = a; p < a + len; p += PAGE) {
			size_t plen = a + len - p < PAGE ? (size_t)(a + len - p) : PAGE;
			err = ad_read(s->d->reader, p, s->buf, plen);
			if (ad_error_is_fatal(err))
				return err;
			if (err) {
				ad_error_destroy(err);
				continue;
			}
			if ((err = scan_words(s, p, plen / 8, lo, hi, ntargets)))
				return err;
		}
		a += len;
	}
	return NULL;
}

struct ad_error *ad_heap_scan(struct ad_decode *d, bool exec, ad_heap_candidate_fn *candidate,
			      ad_heap_found_fn *found, void *arg)
{
	const struct ad_snapshot *snap = d->snap;
	uint64_t lo[MAX_TARGETS], hi[MAX_TARGETS];
	size_t ntargets = executable_segments(d, exec, lo, hi);
	if (!ntargets)
		return NULL;
	struct scan s = { .d = d, .candidate = candidate, .found = found, .arg = arg };
	if (!(s.buf = malloc(CHUNK)))
		return &ad_error_nomem;
	ad_u64map_init(&s.judged);
	struct ad_error *err = NULL;
	for (size_t i = 0; i < snap->nmappings && !err; i++) {
		const struct ad_mapping *m = &snap->mappings[i];
		if (scanned(snap, m))
			err = scan_range(&s, m->start & ~(uint64_t)7, m->end, lo, hi, ntargets);
	}
	ad_u64map_deinit(&s.judged);
	free(s.buf);
	return err;
}
