/* SPDX-License-Identifier: MIT */
/* The whole pipeline behind one call: stop → snapshot → resume → decode.
 *
 * An ad_context lives as long as the program (the daemon, the CLI): it owns
 * the per-binary debuginfo cache (keyed by the executable file as it is on
 * disk, bounded) that every capture shares. A context may be used from
 * several threads at once; captures of different processes proceed in
 * parallel, also while a binary is being indexed (captures of that binary
 * wait for it: it is indexed once). The caller serialises captures of one
 * pid (only one tracer may hold a process). */
#ifndef ASYNCDUMP_CAPTURE_H
#define ASYNCDUMP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "trace.h"

struct ad_context;

struct ad_context_options {
	size_t max_cached_binaries; /* 0: default (16) */
	/* Directories of separate debug files (DIR/.build-id/xx/yyyy.debug, or
	 * by .gnu_debuglink), searched before /usr/lib/debug, colon-separated:
	 * where the debuginfo of a core that travelled to another machine is.
	 * NULL: the standard places only. */
	const char *debuginfo_dirs;
};

struct ad_error *ad_context_create(const struct ad_context_options *options,
				   struct ad_context **ret);
void ad_context_destroy(struct ad_context *ctx);
/* A context keeps the large memory of a finished sample (its copy buffer,
 * its trace's pool) for the next one, where the kernel would otherwise zero
 * every page of it afresh; the kernel may take kept pages back whenever it
 * needs memory. This unmaps what no sample has used for idle_ms (0: all):
 * long-lived callers call it now and then. */
void ad_context_trim(struct ad_context *ctx, uint64_t idle_ms);

/* The priority of the capturing thread while it decodes, after the target
 * has been resumed (the pause itself always runs at the caller's priority). */
enum ad_decode_priority {
	AD_DECODE_PRIORITY_NORMAL, /* the caller's (the default) */
	/* nice 19: a small share of busy CPUs, never none; on a saturated
	 * machine decoding takes many times longer */
	AD_DECODE_PRIORITY_NICE,
	/* SCHED_IDLE: only CPU time nobody else wants; on a saturated machine a
	 * sample may wait for seconds */
	AD_DECODE_PRIORITY_IDLE,
};

struct ad_capture_options {
	bool locals;            /* also decode not-yet-polled futures */
	enum ad_decode_priority decode_priority; /* lowered only where it can be restored */
	uint64_t max_snapshot_bytes; /* 0: default */
	/* Read while the process runs, never stopping it: each task's tree is
	 * checked against the process after it is decoded, decoded again when
	 * its memory changed meanwhile, and marked inconsistent when it kept
	 * changing; only threads blocked in a system call are unwound (their
	 * block_on futures). For frequent sampling of a busy service. */
	bool no_stop;
	/* Optional memory admission of the snapshot (see ad_snapshot_options). */
	struct ad_error *(*admit_memory)(void *arg, uint64_t bytes);
	void (*release_memory)(void *arg, uint64_t bytes);
	void *memory_arg;
};

/* Samples `pid` and decodes every task of every runtime into a trace. */
struct ad_error *ad_capture(struct ad_context *ctx, pid_t pid,
			    const struct ad_capture_options *options, struct ad_trace **ret);

/* Decodes a core (include/asyncdump/core.h) as ad_capture() decodes a live
 * sample: the same document, with the core's warnings, from_core set and no
 * pause. Its executable must have the build-id the core holds. The core is
 * read, not changed; one capture of a core at a time. */
struct ad_core;
struct ad_error *ad_capture_core(struct ad_context *ctx, struct ad_core *core,
				 const struct ad_capture_options *options, struct ad_trace **ret);

/* What can be said of a process from its binary alone, without stopping it. */
struct ad_binary_info {
	bool is_rust;
	bool has_type_debuginfo;
	bool has_runtime;     /* an async runtime asyncdump reads is linked in */
	char *runtime_kinds;  /* their kinds (ad_runtime.kind), comma-separated, or NULL */
	char *build_id;   /* hex or NULL */
	char *reason;     /* why it is not traceable, or NULL */
};
struct ad_error *ad_inspect_process(struct ad_context *ctx, pid_t pid,
				    struct ad_binary_info *ret);
/* The same look at an executable by path (a core's). */
struct ad_error *ad_inspect_binary(struct ad_context *ctx, const char *path,
				   struct ad_binary_info *ret);
void ad_binary_info_deinit(struct ad_binary_info *info);

#endif
