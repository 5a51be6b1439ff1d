/* SPDX-License-Identifier: MIT */
/* Internal: the cheap look at a binary that process lists need (struct
 * ad_binary_info, capture.h): whether it is a Rust program with type
 * debuginfo and which runtimes the adapters' probes find in it, from the
 * ELF file alone, in milliseconds. No DWARF is indexed. */
#ifndef ASYNCDUMP_BINARY_PROBE_H
#define ASYNCDUMP_BINARY_PROBE_H

#include "asyncdump/capture.h"
#include "asyncdump/error.h"

/* Fills `info` (zeroed by the caller) from the executable `exe`; the caller
 * deinits it, also on error. */
struct ad_error *ad_binary_probe(const char *exe, struct ad_binary_info *info);
/* A deep copy of `from` into `to`. */
struct ad_error *ad_binary_info_copy(const struct ad_binary_info *from, struct ad_binary_info *to);

#endif
