/* SPDX-License-Identifier: MIT */
/* Internal: a second thread for the pause's copy (copier.c). While a process
 * is stopped its threads take no CPU, and a sampler copying alone leaves the
 * other CPUs idle: the copier takes a share of the ranges. It is started
 * before the stop (creating a thread costs more than a small pause can
 * spare), woken as the pause begins, given its share once the copy is
 * planned, waited for before the resume and joined after it. */
#ifndef ASYNCDUMP_COPIER_H
#define ASYNCDUMP_COPIER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc.h"

struct ad_copier;

/* A copier for pid, waiting for its share; NULL when there is no second
 * CPU to run it on or it could not be started (the caller copies alone). */
struct ad_copier *ad_copier_start(pid_t pid);
/* Wakes it at the start of the pause, to wait for its share on a CPU the
 * stopped process leaves idle. NULL is ignored. */
void ad_copier_arm(struct ad_copier *c);
/* Hands over its share (the first range and the n after it, which must
 * stay valid until ad_copier_finish()); it starts copying at once. */
void ad_copier_give(struct ad_copier *c, const struct ad_vm_range *first,
		    const struct ad_vm_range *rest, size_t n);
/* Waits until its share is copied: true when all of it was. */
bool ad_copier_wait(struct ad_copier *c);
/* Ends the thread (given a share or not; after ad_copier_wait() when it was)
 * and frees it. NULL is ignored. */
void ad_copier_finish(struct ad_copier *c);

#endif
