/* SPDX-License-Identifier: MIT */
/* Internal: unwinding the native stack of a thread captured in a snapshot.
 *
 * libdwfl does the unwinding (CFI from .eh_frame / .debug_frame) over the
 * registers and the stack memory the snapshot holds, so it runs after the
 * target has been resumed. Every physical frame is expanded into its inline
 * chain: release builds inline most of what we look for (a runtime's
 * block_on among it), so an inlined function counts as a frame of its own.
 *
 * An ad_unwinder is the expensive part: one Dwfl with every ELF module the
 * process maps (the executable, libc, the vDSO, ...) for their CFI, loaded
 * lazily and kept. Functions, their scopes and names come from the
 * executable's debuginfo (ad_debuginfo: one DWARF index per binary), so a
 * frame's DIEs are DIEs of that debuginfo's Dwarf and every libdw call on
 * them is made under its lock (debuginfo_internal.h); frames in other
 * modules have no function. An unwinder is built from one snapshot and may
 * then unwind threads of any later snapshot of the same process whose ELF
 * mappings are the same (ad_unwinder_matches()): that is what a cache keyed
 * by pid keeps between samples. Not thread-safe: one thread at a time
 * (libdwfl keeps per-Dwfl state). */
#ifndef ASYNCDUMP_UNWIND_H
#define ASYNCDUMP_UNWIND_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "asyncdump/error.h"
#include "asyncdump/snapshot.h"

/* x86_64 DWARF register numbers (System V psABI, figure 3.36). */
enum ad_dwarf_reg {
	AD_DWARF_RAX, AD_DWARF_RDX, AD_DWARF_RCX, AD_DWARF_RBX,
	AD_DWARF_RSI, AD_DWARF_RDI, AD_DWARF_RBP, AD_DWARF_RSP,
	AD_DWARF_R8, AD_DWARF_R9, AD_DWARF_R10, AD_DWARF_R11,
	AD_DWARF_R12, AD_DWARF_R13, AD_DWARF_R14, AD_DWARF_R15,
	AD_DWARF_RIP,
	AD_DWARF_NREGS,
};

/* Physical frames unwound at most: deeper stacks are cut (ad_unwind.truncated). */
#define AD_UNWIND_MAX_FRAMES 256

/* One function activation: a physical frame, or a function inlined into one.
 * The DIEs are of the unwinder's debuginfo and stay valid as long as it. */
struct ad_unwind_frame {
	uint64_t pc;              /* as unwound: a return address unless is_activation */
	bool is_activation;       /* pc is exact (innermost frame, signal frame) */
	uint64_t lookup_pc;       /* pc, or pc - 1 for a return address: use for lookups */
	size_t physical;          /* index of the physical frame (0 innermost) */
	bool inlined;             /* an inlined call inside physical frame `physical` */

	/* Module of lookup_pc, or NULL (no ELF mapped there). */
	Dwfl_Module *module;
	uint64_t bias;            /* DWARF address = lookup_pc - bias (has_function) */
	bool has_function;        /* DWARF describes the function at lookup_pc */
	Dwarf_Die function;       /* DW_TAG_subprogram or DW_TAG_inlined_subroutine */
	Dwarf_Die subprogram;     /* the out-of-line function holding it (frame base) */
	/* Scopes containing lookup_pc, innermost first, from the innermost lexical
	 * block of `function` up to and including `function`. */
	size_t nscopes;
	Dwarf_Die *scopes;

	/* Register values in this frame (DWARF numbering); callee-saved ones
	 * only in outer frames, the others are unknown. */
	uint64_t regs[AD_DWARF_NREGS];
	uint32_t regs_known;      /* bit n: regs[n] is valid */
	bool has_cfa;
	uint64_t cfa;             /* canonical frame address, from the module's CFI */
};

struct ad_unwind {
	pid_t tid;
	size_t nframes;
	struct ad_unwind_frame *frames; /* innermost first */
	size_t nphysical;
	bool truncated;           /* AD_UNWIND_MAX_FRAMES reached */
	bool complete;            /* reached where the stack starts (_start, clone3) */
	char *end_reason;         /* why unwinding stopped before the outermost frame, or NULL */
	struct ad_unwinder *unwinder; /* that unwound it: outlives it */
	struct ad_debuginfo *debuginfo; /* whose Dwarf the frames' DIEs are of */
};

struct ad_unwinder;

/* Reports every ELF module mapped in `snap` (the executable must be one of
 * them) and prepares unwinding; no thread is unwound yet. `di` is the
 * executable's debuginfo (the unwinder keeps a reference); `debuginfo_dirs`:
 * see ad_context_options (NULL: the standard places), for CFI that only a
 * separate debug file has. */
struct ad_error *ad_unwinder_create(const struct ad_snapshot *snap, const char *debuginfo_dirs,
				    struct ad_debuginfo *di, struct ad_unwinder **ret);
void ad_unwinder_destroy(struct ad_unwinder *u);

/* Whether `snap` is of the same process with the same ELF files mapped at
 * the same places as the unwinder's first snapshot, and `di` its
 * debuginfo, so that the unwinder can be reused for it. */
bool ad_unwinder_matches(const struct ad_unwinder *u, const struct ad_snapshot *snap,
			 const struct ad_debuginfo *di);

/* Unwinds thread `tid` of `snap`. AD_ERROR_NOT_FOUND when `snap` has no such
 * thread; a thread whose innermost frame cannot be unwound gives one frame
 * and an end_reason, not an error. */
struct ad_error *ad_unwind_thread(struct ad_unwinder *u, const struct ad_snapshot *snap,
				  pid_t tid, struct ad_unwind **ret);
void ad_unwind_destroy(struct ad_unwind *uw);

#endif
