/* SPDX-License-Identifier: MIT */
/* One walk over every compilation unit at open: qualified names of types,
 * functions by address range, static variables by address, thread-locals.
 * Rust nests items in DW_TAG_namespace, so a qualified name is the chain of
 * enclosing namespace (and type) names joined with "::". */
#include <dwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo_internal.h"
#include "search.h"

#define MAX_NAME_DEPTH 64
#define MAX_QUALIFIED 4096

struct walk {
	struct ad_debuginfo *di;
	char qual[MAX_QUALIFIED];
	struct ad_error *err;
};

/* Remembers the first malformed entry; the walk goes on with what it can
 * read, and the caller decides what the damage means. */
static void note_corrupt(struct walk *w, Dwarf_Off die, const char *what)
{
	if (w->di->corrupt)
		return;
	if (asprintf(&w->di->corrupt, "%s at DIE 0x%llx (libdw: %s)", what,
		     (unsigned long long)die, dwarf_errmsg(-1)) < 0)
		w->di->corrupt = NULL;
}

/* A DIE that has a name attribute whose string cannot be read. */
static bool name_unreadable(struct walk *w, Dwarf_Die *die)
{
	if (!dwarf_hasattr(die, DW_AT_name))
		return false;
	note_corrupt(w, dwarf_dieoffset(die), "an unreadable name");
	return true;
}

#define GROW(arr, n, cap)                                                              \
	((n) < (cap) ? true                                                            \
		     : ((cap) = (cap) ? (cap) * 2 : 1024,                               \
			(arr = realloc(arr, (cap) * sizeof(*(arr)))) != NULL))

static bool add_name(struct ad_debuginfo *di, uint64_t die, const char *qual, size_t len,
		     const char **interned)
{
	const char *s = ad_strpool_add(&di->pool, qual, len);
	if (!s || !GROW(di->names, di->nnames, di->names_cap))
		return false;
	di->names[di->nnames++] = (struct ad_die_name){ die, s };
	*interned = s;
	return true;
}

static bool is_declaration(Dwarf_Die *die)
{
	bool decl = false;
	Dwarf_Attribute a;
	if (dwarf_attr(die, DW_AT_declaration, &a))
		dwarf_formflag(&a, &decl);
	return decl;
}

static bool is_definition_of_elsewhere(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	return dwarf_attr(die, DW_AT_specification, &a) || dwarf_attr(die, DW_AT_abstract_origin, &a);
}

static void index_function(struct walk *w, Dwarf_Die *die)
{
	Dwarf_Addr base, low, high;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(die, off, &base, &low, &high)) > 0) {
		if (low >= high || low == 0)
			continue;
		if (!GROW(w->di->funcs, w->di->nfuncs, w->di->funcs_cap)) {
			w->err = &ad_error_nomem;
			return;
		}
		w->di->funcs[w->di->nfuncs++] =
			(struct ad_func_range){ low, high, dwarf_dieoffset(die) };
	}
}

/* DW_OP_addr X → static variable at X; DW_OP_const*u X + push_tls_address →
 * thread-local at DTPOFF X. */
static void index_variable(struct walk *w, Dwarf_Die *die, const char *qual)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t nops;
	if (!dwarf_attr(die, DW_AT_location, &a) || dwarf_getlocation(&a, &ops, &nops) != 0)
		return;
	struct ad_debuginfo *di = w->di;
	if (nops == 1 && ops[0].atom == DW_OP_addr) {
		if (!GROW(di->vars, di->nvars, di->vars_cap)) {
			w->err = &ad_error_nomem;
			return;
		}
		di->vars[di->nvars++] = (struct ad_addr_die){ ops[0].number, dwarf_dieoffset(die) };
	} else if (nops == 2 &&
		   (ops[1].atom == DW_OP_GNU_push_tls_address || ops[1].atom == DW_OP_form_tls_address) &&
		   (ops[0].atom == DW_OP_const8u || ops[0].atom == DW_OP_const4u ||
		    ops[0].atom == DW_OP_constu)) {
		if (!qual)
			return;
		if (!GROW(di->tls_vars, di->ntls_vars, di->tls_vars_cap)) {
			w->err = &ad_error_nomem;
			return;
		}
		di->tls_vars[di->ntls_vars++] =
			(struct ad_tls_var){ qual, dwarf_dieoffset(die), ops[0].number };
	}
}

/* One component of a legacy-mangled Rust path ("_$LT$a..b$u20$as$u20$c$GT$")
 * back to source form ("<a::b as c>"); false when it does not fit. */
static bool demangle_component(const char *in, size_t n, char *out, size_t cap)
{
	static const struct { const char *code; char c; } escapes[] = {
		{ "$LT$", '<' }, { "$GT$", '>' }, { "$RF$", '&' }, { "$BP$", '*' },
		{ "$C$", ',' },  { "$SP$", '@' }, { "$LP$", '(' }, { "$RP$", ')' },
	};
	size_t o = 0, i = 0;
	if (n >= 2 && in[0] == '_' && in[1] == '$')
		i = 1;
	while (i < n) {
		if (o + 3 > cap)
			return false;
		if (in[i] == '.' && i + 1 < n && in[i + 1] == '.') {
			out[o++] = ':';
			out[o++] = ':';
			i += 2;
			continue;
		}
		if (in[i] != '$') {
			out[o++] = in[i++];
			continue;
		}
		bool known = false;
		for (size_t k = 0; k < sizeof(escapes) / sizeof(escapes[0]) && !known; k++) {
			size_t len = strlen(escapes[k].code);
			if (i + len <= n && strncmp(in + i, escapes[k].code, len) == 0) {
				out[o++] = escapes[k].c;
				i += len;
				known = true;
			}
		}
		if (!known && i + 5 <= n && in[i + 1] == 'u' && in[i + 4] == '$') {
			char hex[3] = { in[i + 2], in[i + 3], 0 };
			out[o++] = (char)strtoul(hex, NULL, 16);
			i += 5;
			known = true;
		}
		if (!known)
			return false;
	}
	out[o] = '\0';
	return true;
}

/* `<T as core::future::future::Future>::poll` ("poll<…>" when generic) or
 * `<T as futures_core::stream::Stream>::poll_next`, inlined or not: T's
 * path (generic arguments aside) is a type the program polls. Read from
 * the linkage name: DWARF nests an impl's items in "{impl#N}", which does
 * not say for which type. */
static void index_polled_type(struct walk *w, Dwarf_Die *die)
{
	static const struct { const char *as_trait, *method; } traits[] = {
		{ " as core::future::future::Future>", "4poll17h" },
		{ " as futures_core::stream::Stream>", "9poll_next17h" },
	};
	Dwarf_Attribute a;
	const char *link = dwarf_formstring(dwarf_attr(die, DW_AT_linkage_name, &a));
	if (!link || strncmp(link, "_ZN", 3) != 0)
		return;
	char *end;
	unsigned long n = strtoul(link + 3, &end, 10);
	char impl[MAX_QUALIFIED];
	if (!n || n > strlen(end) || !demangle_component(end, n, impl, sizeof(impl)) || impl[0] != '<')
		return;
	/* Blanket impls (&mut F, Pin<P>) say nothing about a type. */
	if (!(impl[1] == '_' || (impl[1] >= 'a' && impl[1] <= 'z') || (impl[1] >= 'A' && impl[1] <= 'Z')))
		return;
	for (size_t k = 0; k < sizeof(traits) / sizeof(traits[0]); k++) {
		const char *as = strstr(impl, traits[k].as_trait);
		if (!as || as[strlen(traits[k].as_trait)] != '\0' ||
		    strncmp(end + n, traits[k].method, strlen(traits[k].method)) != 0)
			continue;
		const char *path = ad_strpool_add(&w->di->pool, impl + 1, strcspn(impl + 1, "< "));
		if (!path || !ad_strmap_insert_new(&w->di->future_impls, path, 1))
			w->err = &ad_error_nomem;
		return;
	}
}

static void walk_children(struct walk *w, Dwarf_Die *parent, size_t qlen, int depth);

static size_t append_name(struct walk *w, size_t qlen, const char *name)
{
	size_t n = strlen(name);
	size_t sep = qlen ? 2 : 0;
	if (qlen + sep + n + 1 > sizeof(w->qual))
		return 0;
	if (sep)
		memcpy(w->qual + qlen, "::", 2);
	memcpy(w->qual + qlen + sep, name, n + 1);
	return qlen + sep + n;
}

static void walk_die(struct walk *w, Dwarf_Die *die, size_t qlen, int depth)
{
	int tag = dwarf_tag(die);
	const char *name;
	size_t len;
	const char *interned = NULL;

	if (tag == DW_TAG_invalid) {
		note_corrupt(w, dwarf_dieoffset(die), "an entry with no valid abbreviation");
		return;
	}

	switch (tag) {
	case DW_TAG_namespace:
		name = dwarf_diename(die);
		if (!name && name_unreadable(w, die))
			return;
		if (!name || !(len = append_name(w, qlen, name)))
			return;
		walk_children(w, die, len, depth + 1);
		break;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
	case DW_TAG_base_type:
	case DW_TAG_pointer_type:
	case DW_TAG_typedef:
	case DW_TAG_array_type:
	case DW_TAG_subroutine_type:
		name = dwarf_diename(die);
		if (!name && name_unreadable(w, die))
			return;
		if (!name || !(len = append_name(w, qlen, name)))
			return;
		if (!add_name(w->di, dwarf_dieoffset(die), w->qual, len, &interned)) {
			w->err = &ad_error_nomem;
			return;
		}
		if (!is_declaration(die) &&
		    !ad_strmap_insert_new(&w->di->types, interned, dwarf_dieoffset(die))) {
			w->err = &ad_error_nomem;
			return;
		}
		/* Members, and the methods older rustc (1.63) defines inside their type. */
		if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
		    tag == DW_TAG_enumeration_type)
			walk_children(w, die, len, depth + 1);
		break;
	case DW_TAG_subprogram:
		/* A definition of a declaration made elsewhere (a method declared in
		 * its type, defined at the top level) is named where it was declared:
		 * its name here (dwarf_diename integrates) would lack the path. */
		name = dwarf_diename(die);
		if (name && !is_definition_of_elsewhere(die) && (len = append_name(w, qlen, name)) &&
		    !add_name(w->di, dwarf_dieoffset(die), w->qual, len, &interned)) {
			w->err = &ad_error_nomem;
			return;
		}
		index_function(w, die);
		if (name && strncmp(name, "poll", 4) == 0)
			index_polled_type(w, die);
		break;
	case DW_TAG_variable:
		name = dwarf_diename(die);
		if (name && (len = append_name(w, qlen, name)) &&
		    !add_name(w->di, dwarf_dieoffset(die), w->qual, len, &interned)) {
			w->err = &ad_error_nomem;
			return;
		}
		index_variable(w, die, interned);
		break;
	default:
		break;
	}
}

static void walk_children(struct walk *w, Dwarf_Die *parent, size_t qlen, int depth)
{
	Dwarf_Die child;
	if (depth > MAX_NAME_DEPTH)
		return;
	int r = dwarf_child(parent, &child);
	if (r < 0)
		note_corrupt(w, dwarf_dieoffset(parent), "unreadable children");
	if (r != 0)
		return;
	do {
		walk_die(w, &child, qlen, depth);
		if (w->err)
			return;
	} while ((r = dwarf_siblingof(&child, &child)) == 0);
	if (r < 0)
		note_corrupt(w, dwarf_dieoffset(&child), "an unreadable sibling");
}

static int cmp_names(const void *a, const void *b)
{
	uint64_t x = ((const struct ad_die_name *)a)->die, y = ((const struct ad_die_name *)b)->die;
	return x < y ? -1 : x > y;
}

static int cmp_funcs(const void *a, const void *b)
{
	uint64_t x = ((const struct ad_func_range *)a)->low, y = ((const struct ad_func_range *)b)->low;
	return x < y ? -1 : x > y;
}

static int cmp_vars(const void *a, const void *b)
{
	uint64_t x = ((const struct ad_addr_die *)a)->address, y = ((const struct ad_addr_die *)b)->address;
	return x < y ? -1 : x > y;
}

static bool is_rust_cu(Dwarf_Die *cu)
{
	Dwarf_Word lang;
	Dwarf_Attribute a;
	if (dwarf_attr(cu, DW_AT_language, &a) && dwarf_formudata(&a, &lang) == 0 &&
	    lang == DW_LANG_Rust)
		return true;
	const char *producer = dwarf_formstring(dwarf_attr(cu, DW_AT_producer, &a));
	return producer && strstr(producer, "rustc");
}

struct ad_error *ad_dwarf_index_build(struct ad_debuginfo *di)
{
	struct walk *w = calloc(1, sizeof(*w));
	if (!w)
		return &ad_error_nomem;
	w->di = di;
	Dwarf_Off off = 0, next;
	size_t hsize;
	int r;
	while ((r = dwarf_nextcu(di->dwarf, off, &next, &hsize, NULL, NULL, NULL)) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(di->dwarf, off + hsize, &cu)) {
			if (is_rust_cu(&cu))
				di->is_rust = true;
			walk_children(w, &cu, 0, 0);
			if (w->err)
				break;
		} else {
			note_corrupt(w, off + hsize, "an unreadable compilation unit");
		}
		off = next;
	}
	if (r < 0 && !w->err)
		note_corrupt(w, off, "an unreadable compilation unit header");
	struct ad_error *err = w->err;
	free(w);
	if (err)
		return err;
	/* CUs are visited in offset order, but be robust to odd producers. */
	if (di->nnames)
		qsort(di->names, di->nnames, sizeof(*di->names), cmp_names);
	if (di->nfuncs)
		qsort(di->funcs, di->nfuncs, sizeof(*di->funcs), cmp_funcs);
	if (di->nvars)
		qsort(di->vars, di->nvars, sizeof(*di->vars), cmp_vars);
	di->has_types = di->types.len > 0;
	return NULL;
}

static bool name_before(const void *element, const void *die)
{
	return ((const struct ad_die_name *)element)->die < *(const uint64_t *)die;
}

const char *ad_dwarf_index_name(const struct ad_debuginfo *di, uint64_t die)
{
	size_t lo = ad_partition_point(di->names, di->nnames, sizeof(*di->names), &die, name_before);
	return lo < di->nnames && di->names[lo].die == die ? di->names[lo].name : NULL;
}
