/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "consistency.h"

struct ad_read_log {
	struct ad_reader reader;   /* what decoders read through */
	const struct ad_reader *inner;
	struct ad_snapshot *snap;
	struct ad_span *spans;     /* read since the last tree, merged when adjacent */
	size_t n, cap;
	bool lost;                 /* a span could not be logged (no memory) */
	size_t trees, inconsistent;
};

static void log_span(struct ad_read_log *log, uint64_t start, uint64_t end)
{
	if (log->n) {
		struct ad_span *last = &log->spans[log->n - 1];
		if (start <= last->end && end >= last->start) {
			if (start < last->start)
				last->start = start;
			if (end > last->end)
				last->end = end;
			return;
		}
	}
	if (log->n == log->cap) {
		size_t cap = log->cap ? 2 * log->cap : 256;
		struct ad_span *spans = realloc(log->spans, cap * sizeof(*spans));
		if (!spans) {
			log->lost = true;
			return;
		}
		log->spans = spans;
		log->cap = cap;
	}
	log->spans[log->n++] = (struct ad_span){ start, end };
}

static struct ad_error *logged_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	struct ad_read_log *log = ctx;
	struct ad_error *err = ad_read(log->inner, address, buf, len);
	if (!err && len && address + len > address)
		log_span(log, address, address + len);
	return err;
}

static void no_destroy(void *ctx)
{
	(void)ctx; /* the log is destroyed by ad_read_log_destroy() */
}

static const struct ad_reader_ops logged_ops = {
	.read = logged_read,
	.destroy = no_destroy,
};

struct ad_error *ad_read_log_create(struct ad_snapshot *snap, struct ad_read_log **ret)
{
	struct ad_read_log *log = calloc(1, sizeof(*log));
	if (!log)
		return &ad_error_nomem;
	log->inner = snap->reader;
	log->snap = snap;
	log->reader = (struct ad_reader){ &logged_ops, log };
	*ret = log;
	return NULL;
}

void ad_read_log_destroy(struct ad_read_log *log)
{
	if (!log)
		return;
	free(log->spans);
	free(log);
}

const struct ad_reader *ad_read_log_reader(const struct ad_read_log *log)
{
	return &log->reader;
}

void ad_read_log_counts(const struct ad_read_log *log, size_t *trees, size_t *inconsistent)
{
	*trees = log->trees;
	*inconsistent = log->inconsistent;
}

/* Whether the memory read since the last tree is still what the copy holds
 * (the copy now holds what the process does, either way); *checked false
 * when the process could not be read again (gone, say): the tree stands,
 * unchecked. Only lack of memory fails. */
static struct ad_error *still_the_same(struct ad_read_log *log, bool *same, bool *checked)
{
	bool changed;
	struct ad_error *err = ad_snapshot_refresh(log->snap, log->spans, log->n, &changed);
	*checked = !err;
	*same = !err && !changed && !log->lost;
	if (err && !ad_error_is_fatal(err)) {
		ad_error_destroy(err);
		err = NULL;
	}
	return err;
}

struct ad_error *ad_checked_walk(struct ad_decode *d, const struct ad_type *type,
				 uint64_t address, unsigned depth, struct ad_frame **ret)
{
	struct ad_read_log *log = d->read_log;
	if (depth > 0 || !log)
		return ad_decode_future(d, type, address, depth, ret);
	/* The task's header and list links, read before its tree: checked
	 * with each decoding of it. */
	size_t before = log->n;
	size_t nodes = d->nodes;
	bool trial = d->trial;
	struct ad_error *err;
	for (unsigned attempt = 1;; attempt++) {
		err = ad_decode_future(d, type, address, 0, ret);
		bool same = false, checked = false;
		if (!err)
			err = still_the_same(log, &same, &checked);
		if (!err)
			(*ret)->reads = attempt;
		if (err || same)
			break;
		if (attempt == AD_CONSISTENCY_ATTEMPTS || !checked) {
			(*ret)->changed_while_read = true;
			log->inconsistent++;
			break;
		}
		ad_frame_destroy(*ret);
		*ret = NULL;
		d->nodes = nodes;
		log->n = before;
		log->lost = false;
		/* What the first decoding noted for later stands. */
		d->trial = true;
	}
	d->trial = trial;
	log->trees++;
	log->n = 0;
	log->lost = false;
	return err;
}
