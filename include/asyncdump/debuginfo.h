/* SPDX-License-Identifier: MIT */
/* The debuginfo of one binary: its DWARF, its symbols and an index over both.
 *
 * Opened once per binary (keyed by build-id by the capture context) and
 * shared by every sample and every process of that binary: the index is
 * built at open, before any process is stopped, and later lookups do no
 * DWARF parsing beyond converting the few DIEs they touch (cached).
 *
 * All addresses here are link-time addresses of the binary; callers add the
 * load bias of the process they read (see ad_debuginfo_load_bias()).
 * Every function may be called from several threads at once. */
#ifndef ASYNCDUMP_DEBUGINFO_H
#define ASYNCDUMP_DEBUGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct ad_debuginfo;
struct ad_type;

/* Opens `path`, finds its debuginfo (in the file, by .gnu_debuglink or under
 * /usr/lib/debug/.build-id) and builds the index. Fails with
 * AD_ERROR_NO_DEBUGINFO (and advice on how to build) when there is no type
 * information. */
struct ad_error *ad_debuginfo_open(const char *path, struct ad_debuginfo **ret);
/* The same, naming the binary `display_name` in messages and in
 * ad_debuginfo_path() (e.g. open /proc/PID/exe, which works for a deleted
 * or namespaced binary, but say what it is). */
struct ad_error *ad_debuginfo_open_as(const char *path, const char *display_name,
				      struct ad_debuginfo **ret);
/* Like ad_debuginfo_open_as, also searching `debuginfo_dirs` (colon-separated,
 * or NULL) for a separate debug file before the standard places. */
struct ad_error *ad_debuginfo_open_in(const char *path, const char *display_name,
				      const char *debuginfo_dirs, struct ad_debuginfo **ret);
/* libdwfl's search path (Dwfl_Callbacks.debuginfo_path) for `debuginfo_dirs`
 * before the standard places, malloc'ed; NULL (and *ret NULL) for none. */
struct ad_error *ad_debuginfo_search_path(const char *debuginfo_dirs, char **ret);
void ad_debuginfo_ref(struct ad_debuginfo *di);
void ad_debuginfo_unref(struct ad_debuginfo *di);

const char *ad_debuginfo_path(const struct ad_debuginfo *di);
/* What was malformed in the DWARF (the first entry found), or NULL when it
 * all read cleanly. Opening succeeds with some damage, as long as it is a
 * Rust program with types; what is then missing is reported as corruption
 * with ad_debuginfo_corrupt_error(), naming the file the DWARF came from,
 * rather than as absent from the program. */
const char *ad_debuginfo_corruption(const struct ad_debuginfo *di);
struct ad_error *ad_debuginfo_corrupt_error(const struct ad_debuginfo *di, const char *missing);
const char *ad_debuginfo_build_id(const struct ad_debuginfo *di); /* hex or NULL */
bool ad_debuginfo_is_rust(const struct ad_debuginfo *di);
/* The directory most of the program's own (non-registry, non-std) sources
 * share, or NULL: used to shorten paths in the text format. */
const char *ad_debuginfo_source_root(const struct ad_debuginfo *di);
/* `file` as an absolute path: itself when it is one or there is no source
 * root, else joined to the source root, once per file (it lives as long as
 * di). NULL only for lack of memory. */
const char *ad_debuginfo_source_path(struct ad_debuginfo *di, const char *file);

/* The load bias of this binary in a process, from the start of its first
 * mapping (file offset 0) and the ELF's first PT_LOAD. */
uint64_t ad_debuginfo_load_bias(const struct ad_debuginfo *di, uint64_t first_mapping_start);

/* Types by fully qualified name ("alloc::sync::ArcInner<T>"). */
struct ad_error *ad_debuginfo_find_type(struct ad_debuginfo *di, const char *name,
					const struct ad_type **ret);
/* Every type whose qualified name starts with `prefix`, for version probing. */
bool ad_debuginfo_has_type_prefix(struct ad_debuginfo *di, const char *prefix);
/* Whether the program polls the type (its path, generic arguments aside)
 * as a future or a stream: it has a `<T as core::future::future::Future>
 * ::poll` or `<T as futures_core::stream::Stream>::poll_next` instance, out
 * of line or inlined, in its debuginfo (legacy symbol mangling, rustc's
 * default). The count is 0 when none could be read. */
bool ad_debuginfo_implements_future(const struct ad_debuginfo *di, const char *type_name);
size_t ad_debuginfo_future_impl_count(const struct ad_debuginfo *di);

/* The function whose code contains `pc`: its qualified name and, for
 * generic functions, the type of template parameter `param` (NULL when
 * only the name is wanted). */
struct ad_error *ad_debuginfo_function_at(struct ad_debuginfo *di, uint64_t pc,
					  const char **name_ret);
struct ad_error *ad_debuginfo_function_template_param(struct ad_debuginfo *di, uint64_t pc,
						      const char *param,
						      const struct ad_type **ret);

/* A trait object's vtable address → the concrete type behind it (from the
 * `<T as Trait>::{vtable}` variable's {vtable_type} DW_AT_containing_type). */
struct ad_error *ad_debuginfo_vtable_type(struct ad_debuginfo *di, uint64_t vtable,
					  const struct ad_type **ret);

/* ELF symbols. */
struct ad_error *ad_debuginfo_symbol_at(struct ad_debuginfo *di, uint64_t address,
					const char **name_ret, uint64_t *offset_ret);

/* A `static` of the executable by its path ("a_crate::spawn::GLOBAL"):
 * the link-time address of its OBJECT symbol (legacy mangling, rustc's
 * default: _ZN7a_crate5spawn6GLOBAL17h…E). AD_ERROR_NOT_FOUND when the
 * program has none. */
struct ad_error *ad_debuginfo_find_object(struct ad_debuginfo *di, const char *path,
					  uint64_t *address_ret);
/* The same, with the symbol's size: which of two types a static has. */
struct ad_error *ad_debuginfo_find_object_sized(struct ad_debuginfo *di, const char *path,
						uint64_t *address_ret, uint64_t *size_ret);
/* A thread-local `static` of the executable: the TLS variable whose
 * qualified DWARF name contains `name_contains` (e.g.
 * a runtime's "…::context::CONTEXT::") and whose STT_TLS symbol is defined
 * (rustc also emits a dead twin). Gives its offset in the executable's TLS
 * block (DTPOFF) and its type. */
struct ad_error *ad_debuginfo_find_tls(struct ad_debuginfo *di, const char *name_contains,
				       uint64_t *dtpoff_ret, const struct ad_type **type_ret);
/* Where the executable's static TLS block starts relative to the thread
 * pointer (x86_64 variant II: negative), or AD_ERROR_NOT_FOUND without TLS. */
struct ad_error *ad_debuginfo_static_tls_offset(struct ad_debuginfo *di, int64_t *ret);

/* Inside the function named `function` (qualified; generic arguments may
 * follow in DWARF), the line of a file ending in `file_suffix` to which the
 * line table attributes the most code, among lines strictly between `after`
 * and `before`. rustc collapses code expanded from another crate's macro
 * (select!, join!) to the macro's call site in the line table, while
 * the suspension point's declaration points into the macro: this recovers
 * the call site. AD_ERROR_NOT_FOUND when no line qualifies. The answer is
 * kept per binary under `key` (non-zero, e.g. the variant's DIE), so the
 * line table is read once per suspension point, not once per task. */
struct ad_error *ad_debuginfo_dominant_line(struct ad_debuginfo *di, uint64_t key,
					    const char *function,
					    const char *file_suffix, unsigned after,
					    unsigned before, unsigned *ret);

#endif
