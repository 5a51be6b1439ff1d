/* SPDX-License-Identifier: MIT */
/* The inside of struct ad_debuginfo, shared by debuginfo.c (open, symbols,
 * lookups), dwarf_index.c (the index walk) and type.c (DIE → ad_type). */
#ifndef ASYNCDUMP_DEBUGINFO_INTERNAL_H
#define ASYNCDUMP_DEBUGINFO_INTERNAL_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdatomic.h>

#include "asyncdump/debuginfo.h"
#include "asyncdump/type.h"
#include "strmap.h"
#include "strpool.h"
#include "u64map.h"

struct ad_die_name {
	uint64_t die;
	const char *name;   /* qualified */
};

struct ad_func_range {
	uint64_t low, high; /* [low, high) */
	uint64_t die;
};

struct ad_addr_die {
	uint64_t address;
	uint64_t die;
};

struct ad_tls_var {
	const char *name;   /* qualified */
	uint64_t die;
	uint64_t dtpoff;
};

struct ad_symbol {
	uint64_t address, size;
	const char *name;
	unsigned char type; /* STT_* */
};

struct ad_debuginfo {
	atomic_int refcount;
	pthread_mutex_t lock; /* guards libdw calls and the type cache */
	char *path;
	char *build_id;
	char *source_root;
	bool is_rust;
	bool has_types;
	/* The first malformed entry the index walk met (NULL: none): a
	 * truncated or corrupt file must not be taken for a missing type. */
	char *corrupt;

	Dwfl_Callbacks callbacks;  /* offline, with this binary's search path */
	char *search_path;         /* callbacks.debuginfo_path; NULL: the default */
	Dwfl *dwfl;
	Dwfl_Module *module;
	Dwarf *dwarf;
	Dwarf_Addr dwarf_bias;  /* module address = DWARF address + dwarf_bias */
	int fd;
	Elf *elf;               /* the main file (program headers, symbols) */
	uint64_t first_load_vaddr;
	bool has_tls;
	uint64_t tls_vaddr, tls_memsz, tls_align;

	struct ad_strpool pool;
	struct ad_strmap types;      /* qualified name → DIE (definitions only) */
	struct ad_die_name *names;   /* DIE → qualified name, sorted by DIE */
	size_t nnames, names_cap;
	struct ad_func_range *funcs; /* sorted by low */
	size_t nfuncs, funcs_cap;
	struct ad_addr_die *vars;    /* static variables by address, sorted */
	size_t nvars, vars_cap;
	struct ad_tls_var *tls_vars;
	size_t ntls_vars, tls_vars_cap;
	struct ad_symbol *symbols;   /* FUNC/OBJECT symbols sorted by address */
	size_t nsymbols;
	struct ad_symbol *tls_symbols;
	size_t ntls_symbols;

	/* Paths (no generic arguments) of the types with a `<T as Future>
	 * ::poll` or `<T as Stream>::poll_next` in the debuginfo. */
	struct ad_strmap future_impls;
	struct ad_u64map type_cache; /* DIE → struct ad_type * */
	struct ad_u64map line_cache; /* dominant-line key → line + 1 (1: none) */
	/* find_member.c: type DIE → where its members were found */
	struct ad_u64map member_cache;
	struct ad_strmap source_paths; /* relative file → absolute (both pooled) */
};

/* debuginfo.c: from the ELF alone (also for process lists). */
bool ad_elf_looks_like_rust(Elf *elf);
bool ad_elf_section_contains(Elf *elf, const char *section, const char *needle);

/* dwarf_index.c */
struct ad_error *ad_dwarf_index_build(struct ad_debuginfo *di);
const char *ad_dwarf_index_name(const struct ad_debuginfo *di, uint64_t die);

/* debuginfo.c, for the unwinder and block_on.c, which read the frames' DIEs
 * of this Dwarf: the caller holds di->lock (libdw caches locations and
 * abbreviations without locks of its own). */
/* The out-of-line function whose code holds DWARF address `pc`. */
struct ad_error *ad_debuginfo_function_die_locked(struct ad_debuginfo *di, uint64_t pc,
						  Dwarf_Die *ret);
/* The qualified name the index gives a DIE or the declaration it is an
 * instance of (abstract origin, specification); NULL: not indexed. Lives
 * as long as di. */
const char *ad_debuginfo_die_name_locked(struct ad_debuginfo *di, Dwarf_Die *die);

/* Whether the program has code of `module` (a legacy-mangled path prefix,
 * "_ZN5crate6module"): types stay in DWARF when the linker drops unused
 * code, symbols do not. When the crate itself is v0-mangled (its paths
 * have backreferences no prefix matches), any code of it is taken as the
 * module's. */
bool ad_debuginfo_has_code_of(const struct ad_debuginfo *di, const char *module);

/* type.c: the caller holds di->lock */
struct ad_error *ad_type_from_die_locked(struct ad_debuginfo *di, uint64_t die,
					 const struct ad_type **ret);

#endif
