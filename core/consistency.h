/* SPDX-License-Identifier: MIT */
/* Internal: decoding a copy taken while the process ran (a sample without a
 * stop). Every read a task's decoding makes of the copy is logged; when the
 * task's tree is decoded, the logged memory is compared with the process
 * as it is now: equal, the tree is of one moment; changed, the copy is
 * refreshed and the tree decoded again, a bounded number of times, and a
 * tree that kept changing is marked (ad_frame.changed_while_read). The log
 * covers the task's header and list links too: everything read since the
 * previous task's tree. */
#ifndef ASYNCDUMP_CONSISTENCY_H
#define ASYNCDUMP_CONSISTENCY_H

#include "decode.h"

/* Decodings of one tree at most: the first and its re-reads. */
#define AD_CONSISTENCY_ATTEMPTS 3

struct ad_read_log;

/* A log over the snapshot's reader; decoders read through
 * ad_read_log_reader(). */
struct ad_error *ad_read_log_create(struct ad_snapshot *snap, struct ad_read_log **ret);
void ad_read_log_destroy(struct ad_read_log *log);
const struct ad_reader *ad_read_log_reader(const struct ad_read_log *log);
/* Trees decoded, and those that kept changing. */
void ad_read_log_counts(const struct ad_read_log *log, size_t *trees, size_t *inconsistent);

/* d->walk for a sample without a stop (d->read_log set): at depth 0, the
 * checked decoding above; deeper, ad_decode_future(). */
struct ad_error *ad_checked_walk(struct ad_decode *d, const struct ad_type *type,
				 uint64_t address, unsigned depth, struct ad_frame **ret);

#endif
