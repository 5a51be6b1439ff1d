/* SPDX-License-Identifier: MIT */
/* Thread-locals of the executable in another process (x86_64, glibc).
 * The thread pointer is fs_base; the executable is TLS module 1, whose block
 * glibc places at a fixed offset below the thread pointer (static TLS,
 * variant II). The DTV says the same and is checked first. */
#include <inttypes.h>

#include "decode.h"

/* A read whose failure only means "use the other source". */
static bool try_read_u64(const struct ad_reader *r, uint64_t address, uint64_t *ret)
{
	struct ad_error *err = ad_read_u64(r, address, ret);
	ad_error_destroy(err);
	return !err;
}

struct ad_error *ad_thread_local_address(struct ad_decode *d, const struct ad_thread *thread,
					 uint64_t dtpoff, uint64_t *ret)
{
	uint64_t tp = thread->regs.fs_base, self;
	struct ad_error *err = ad_read_u64(d->reader, tp, &self);
	if (err)
		return ad_error_wrap(err, "reading the thread pointer of thread %d", (int)thread->tid);
	if (self != tp)
		return ad_error_create(AD_ERROR_UNKNOWN_LAYOUT,
				       "thread %d: fs_base 0x%" PRIx64 " does not point to a glibc "
				       "thread control block (only glibc x86_64 is supported)",
				       (int)thread->tid, tp);
	int64_t static_offset;
	if ((err = ad_debuginfo_static_tls_offset(d->di, &static_offset)))
		return err;
	uint64_t block = tp + (uint64_t)static_offset;
	/* dtv = tp->dtv; dtv[1] is module 1's block ({void *val; void *to_free}). */
	uint64_t dtv, dtv_block;
	if (try_read_u64(d->reader, tp + 8, &dtv) && dtv &&
	    try_read_u64(d->reader, dtv + 16, &dtv_block) && dtv_block && dtv_block != (uint64_t)-1)
		block = dtv_block;
	*ret = block + dtpoff;
	return NULL;
}
