/* SPDX-License-Identifier: MIT */
/* Decoding at a low priority once the target runs again: the target has
 * been resumed, and what is left (decoding, rendering) should not compete
 * with it for the CPUs. Only the calling thread is lowered, and only when it
 * can be raised back afterwards (root, CAP_SYS_NICE or RLIMIT_NICE): the
 * next sample's pause must run at the normal priority. */
#ifndef ASYNCDUMP_PRIORITY_H
#define ASYNCDUMP_PRIORITY_H

#include <stdbool.h>

#include "asyncdump/capture.h"

struct ad_priority_saved {
	bool lowered;
	int policy;
	int nice;
};

/* Lowers the calling thread as `how` says; *saved says how to undo it. */
void ad_priority_lower(enum ad_decode_priority how, struct ad_priority_saved *saved);
/* Undoes ad_priority_lower(); nothing when it lowered nothing. */
void ad_priority_restore(const struct ad_priority_saved *saved);

#endif
