/* SPDX-License-Identifier: MIT */
/* Progress tracking across samples (include/asyncdump/progress.h). */
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/progress.h"
#include "u64map.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* What a tracker remembers of a task from the previous sample. */
struct record {
	bool has_id;
	enum ad_task_kind kind;
	uint64_t id, address;
	uint64_t fingerprint;
	enum ad_task_state state;
	int64_t since_ns; /* the first sample that saw this fingerprint and state */
};

struct ad_progress {
	uint64_t threshold_ms;
	size_t nexpected;
	struct ad_expected_wait *expected;
	bool sampled;
	int64_t last_ns;
	size_t nrecords;
	struct record *records;
	struct ad_u64map index; /* task key → record index + 1 */
};

/* ---------------------------------------------------------------- fingerprint */

static void mix_bytes(uint64_t *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		*h ^= p[i];
		*h *= FNV_PRIME;
	}
}

static void mix_u64(uint64_t *h, uint64_t v)
{
	mix_bytes(h, &v, sizeof(v));
}

/* Length first, so that NULL, "" and adjacent strings never collide. */
static void mix_str(uint64_t *h, const char *s)
{
	if (!s) {
		mix_u64(h, 0);
		return;
	}
	size_t n = strlen(s);
	mix_u64(h, n + 1);
	mix_bytes(h, s, n);
}

static void mix_location(uint64_t *h, const struct ad_location *loc)
{
	mix_u64(h, loc != NULL);
	if (!loc)
		return;
	mix_str(h, loc->file);
	mix_u64(h, loc->line);
	mix_u64(h, loc->column);
}

/* The resource, never what changes by itself between samples (time left,
 * permits available): only a new resource or a moved deadline is progress. */
static void mix_blocked_on(uint64_t *h, const struct ad_blocked_on *b)
{
	mix_u64(h, b != NULL);
	if (!b)
		return;
	mix_u64(h, b->kind);
	mix_u64(h, b->address);
	mix_u64(h, b->has_task_id);
	mix_u64(h, b->has_task_id ? b->task_id : 0);
	mix_u64(h, b->has_deadline);
	mix_u64(h, b->has_deadline ? (uint64_t)b->deadline_ns : 0);
}

/* Recursion is bounded by AD_FRAME_MAX_DEPTH, the work by *budget. */
static void mix_frame(uint64_t *h, const struct ad_frame *f, unsigned depth, size_t *budget)
{
	if (depth > AD_FRAME_MAX_DEPTH || *budget == 0) {
		mix_u64(h, 0xdeadull); /* the same cut in the same tree hashes the same */
		return;
	}
	(*budget)--;
	mix_u64(h, f->kind);
	mix_u64(h, f->state);
	mix_str(h, f->type ? f->type : f->name);
	mix_location(h, f->location);
	mix_location(h, f->macro_location);
	mix_u64(h, f->has_awaits_task);
	mix_u64(h, f->has_awaits_task ? f->awaits_task : 0);
	mix_blocked_on(h, f->blocked_on);
	mix_u64(h, f->nchildren);
	for (size_t i = 0; i < f->nchildren; i++)
		mix_frame(h, f->children[i], depth + 1, budget);
}

uint64_t ad_task_fingerprint(const struct ad_task *task)
{
	uint64_t h = FNV_OFFSET;
	size_t budget = AD_PROGRESS_MAX_FRAMES;
	mix_u64(&h, task->root != NULL);
	if (task->root)
		mix_frame(&h, task->root, 1, &budget);
	return h ? h : 1;
}

/* ---------------------------------------------------------------- expected waits */

/* The whole path, or any trailing part of it after a '/'. */
static bool path_matches(const char *pattern, const char *file)
{
	if (fnmatch(pattern, file, 0) == 0)
		return true;
	for (const char *p = strchr(file, '/'); p; p = strchr(p + 1, '/'))
		if (p[1] && fnmatch(pattern, p + 1, 0) == 0)
			return true;
	return false;
}

static bool location_matches(const struct ad_expected_wait *w, const struct ad_location *loc)
{
	return loc && loc->file && (w->line == 0 || w->line == loc->line) &&
	       path_matches(w->pattern, loc->file);
}

bool ad_expected_wait_matches(const struct ad_expected_wait *w, const struct ad_frame *f)
{
	switch (w->kind) {
	case AD_EXPECTED_WAIT_FUNCTION:
		return f->name && fnmatch(w->pattern, f->name, 0) == 0;
	case AD_EXPECTED_WAIT_LOCATION:
		return location_matches(w, f->location) || location_matches(w, f->macro_location);
	}
	return false;
}

static bool matches_any(const struct ad_frame *f, const struct ad_expected_wait *expected,
			size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ad_expected_wait_matches(&expected[i], f))
			return true;
	return false;
}

static bool finished(const struct ad_frame *f)
{
	return f->state == AD_FRAME_COMPLETED || f->state == AD_FRAME_READY;
}

struct expected_walk {
	const struct ad_expected_wait *expected;
	size_t nexpected;
	size_t budget;
	size_t matched_branches;
};

/* False as soon as a branch that has not finished waits somewhere not
 * expected; a tree too deep or too big to walk is not known to be expected. */
static bool branches_expected(struct expected_walk *w, const struct ad_frame *f, unsigned depth)
{
	if (depth > AD_FRAME_MAX_DEPTH || w->budget == 0)
		return false;
	w->budget--;
	if (matches_any(f, w->expected, w->nexpected)) {
		w->matched_branches++;
		return true;
	}
	if (f->nchildren == 0)
		return finished(f);
	for (size_t i = 0; i < f->nchildren; i++)
		if (!branches_expected(w, f->children[i], depth + 1))
			return false;
	return true;
}

bool ad_task_in_expected_wait(const struct ad_task *task, const struct ad_expected_wait *expected,
			      size_t nexpected)
{
	if (!task->root || nexpected == 0)
		return false;
	struct expected_walk w = {
		.expected = expected, .nexpected = nexpected, .budget = AD_PROGRESS_MAX_FRAMES,
	};
	return branches_expected(&w, task->root, 1) && w.matched_branches > 0;
}

/* ---------------------------------------------------------------- where it waits */

struct wait_search {
	const struct ad_frame *located; /* innermost frame with a location on the path */
	const struct ad_frame *leaf;
	size_t budget;
};

/* Depth first to the first frame that says what it waits on; on the way
 * back, the innermost frame of that path with a location. */
static bool find_blocked(struct wait_search *s, const struct ad_frame *f, unsigned depth)
{
	if (depth > AD_FRAME_MAX_DEPTH || s->budget == 0)
		return false;
	s->budget--;
	bool found = f->blocked_on != NULL;
	for (size_t i = 0; !found && i < f->nchildren; i++)
		found = find_blocked(s, f->children[i], depth + 1);
	if (!found)
		return false;
	if (!s->leaf)
		s->leaf = f;
	if (!s->located && f->location)
		s->located = f;
	return true;
}

const struct ad_frame *ad_task_wait_frame(const struct ad_task *task)
{
	if (!task->root)
		return NULL;
	struct wait_search s = { .budget = AD_PROGRESS_MAX_FRAMES };
	if (!find_blocked(&s, task->root, 1)) {
		/* Nothing says what it waits on: the first leaf. */
		s.located = NULL;
		const struct ad_frame *f = task->root;
		for (unsigned depth = 1;; depth++) {
			if (f->location)
				s.located = f;
			if (!f->nchildren || depth >= AD_FRAME_MAX_DEPTH)
				break;
			f = f->children[0];
		}
		s.leaf = f;
	}
	return s.located ? s.located : s.leaf;
}

/* ---------------------------------------------------------------- the tracker */

static void free_expected(struct ad_expected_wait *expected, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(expected[i].pattern);
	free(expected);
}

struct ad_error *ad_progress_create(const struct ad_progress_options *options,
				    struct ad_progress **ret)
{
	struct ad_progress *p = calloc(1, sizeof(*p));
	if (!p)
		return &ad_error_nomem;
	p->threshold_ms = options->stuck_threshold_ms;
	ad_u64map_init(&p->index);
	if (options->nexpected) {
		p->expected = calloc(options->nexpected, sizeof(*p->expected));
		if (!p->expected)
			goto nomem;
		for (size_t i = 0; i < options->nexpected; i++) {
			p->expected[i] = options->expected[i];
			p->expected[i].pattern = strdup(options->expected[i].pattern);
			p->nexpected++;
			if (!p->expected[i].pattern)
				goto nomem;
		}
	}
	*ret = p;
	return NULL;
nomem:
	ad_progress_destroy(p);
	return &ad_error_nomem;
}

void ad_progress_destroy(struct ad_progress *p)
{
	if (!p)
		return;
	free_expected(p->expected, p->nexpected);
	free(p->records);
	ad_u64map_deinit(&p->index);
	free(p);
}

void ad_progress_report_deinit(struct ad_progress_report *report)
{
	free(report->tasks);
	memset(report, 0, sizeof(*report));
}

/* Never 0 (the map's empty key); collisions are caught by same_task(). */
static uint64_t task_key(const struct ad_task *t)
{
	uint64_t h = FNV_OFFSET;
	mix_u64(&h, t->has_id);
	mix_u64(&h, t->has_id ? t->id : t->address);
	mix_u64(&h, t->has_id ? 0 : t->kind);
	return h ? h : 1;
}

/* Ids are never reused by a runtime, but a task at another address under a
 * known id is a new one all the same. */
static bool same_task(const struct record *r, const struct ad_task *t)
{
	if (r->has_id != t->has_id || r->address != t->address)
		return false;
	return t->has_id ? r->id == t->id : r->kind == t->kind;
}

static const struct record *previous(const struct ad_progress *p, const struct ad_task *t)
{
	uintptr_t slot = (uintptr_t)ad_u64map_get(&p->index, task_key(t));
	if (!slot || slot > p->nrecords)
		return NULL;
	const struct record *r = &p->records[slot - 1];
	return same_task(r, t) ? r : NULL;
}

static bool is_tracked(const struct ad_task *t)
{
	return t->state != AD_TASK_COMPLETE && t->state != AD_TASK_CANCELLED;
}

static int64_t threshold_ns(const struct ad_progress *p)
{
	if (p->threshold_ms > (uint64_t)INT64_MAX / 1000000u)
		return INT64_MAX;
	return (int64_t)p->threshold_ms * 1000000;
}

static void assess(const struct ad_progress *p, const struct ad_task *task,
		   const struct record *r, int64_t now, struct ad_task_progress *ret)
{
	ret->wait_frame = ad_task_wait_frame(task);
	ret->tracked = is_tracked(task);
	if (!ret->tracked)
		return;
	int64_t unchanged_ns = now - r->since_ns;
	ret->unchanged_for_s = (double)unchanged_ns / 1e9;
	ret->expected_wait = ad_task_in_expected_wait(task, p->expected, p->nexpected);
	ret->stuck = !ret->expected_wait && unchanged_ns >= threshold_ns(p);
}

struct ad_error *ad_progress_update(struct ad_progress *p, struct ad_trace *trace,
				    int64_t sampled_at_ns, struct ad_progress_report *ret)
{
	int64_t now = p->sampled && sampled_at_ns < p->last_ns ? p->last_ns : sampled_at_ns;
	size_t n = trace->ntasks;
	struct record *records = calloc(n ? n : 1, sizeof(*records));
	struct ad_task_progress *tasks = calloc(n ? n : 1, sizeof(*tasks));
	struct ad_u64map index;
	ad_u64map_init(&index);
	if (!records || !tasks)
		goto nomem;

	struct ad_progress_report report = { .ntasks = n, .tasks = tasks };
	for (size_t i = 0; i < n; i++) {
		const struct ad_task *task = &trace->tasks[i];
		struct record *r = &records[i];
		*r = (struct record){
			.has_id = task->has_id, .kind = task->kind, .id = task->id,
			.address = task->address, .fingerprint = ad_task_fingerprint(task),
			.state = task->state, .since_ns = now,
		};
		const struct record *old = previous(p, task);
		/* One that changed while it was read is running, not stuck. */
		if (old && old->fingerprint == r->fingerprint && old->state == r->state &&
		    !task->inconsistent)
			r->since_ns = old->since_ns;
		if (!ad_u64map_put(&index, task_key(task), (void *)(uintptr_t)(i + 1)))
			goto nomem;

		struct ad_task_progress *tp = &tasks[i];
		assess(p, task, r, now, tp);
		if (!tp->tracked)
			continue;
		report.nstuck += tp->stuck;
		report.nexpected_waits += tp->expected_wait;
		if (!tp->expected_wait && tp->unchanged_for_s > report.longest_unchanged_s)
			report.longest_unchanged_s = tp->unchanged_for_s;
	}

	/* Nothing can fail from here on. */
	for (size_t i = 0; i < n; i++) {
		struct ad_task *task = &trace->tasks[i];
		task->has_unchanged_for = tasks[i].tracked;
		task->unchanged_for_s = tasks[i].tracked ? tasks[i].unchanged_for_s : 0;
		task->expected_wait = tasks[i].tracked
					      ? tasks[i].expected_wait
					      : ad_task_in_expected_wait(task, p->expected, p->nexpected);
	}
	free(p->records);
	ad_u64map_deinit(&p->index);
	p->records = records;
	p->nrecords = n;
	p->index = index;
	p->sampled = true;
	p->last_ns = now;
	*ret = report;
	return NULL;

nomem:
	free(records);
	free(tasks);
	ad_u64map_deinit(&index);
	return &ad_error_nomem;
}
