/* SPDX-License-Identifier: MIT */
#include <dwarf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "block_on.h"

/* The functions that pin the future they are given, and the name of the
 * pinned variable (see block_on.h). Names without generic arguments. */
static const struct pinning_function {
	const char *name;
	const char *variable;
} pinning_functions[] = {
	{"tokio::runtime::park::CachedParkThread::block_on", "f"},
	{"tokio::runtime::scheduler::current_thread::CurrentThread::block_on", "future"},
	{"futures_executor::local_pool::block_on", "f"},
};

#define LEAF_NAME "block_on"
/* Hops from an instance to its declaration (abstract origin, specification). */
#define MAX_ORIGIN_HOPS 4

/* "name" or "name<generic arguments>". */
static bool name_is(const char *qualified, const char *name)
{
	size_t len = strlen(name);
	return strncmp(qualified, name, len) == 0 &&
	       (qualified[len] == '\0' || qualified[len] == '<');
}

/* Cheap test before building the qualified name. */
static bool leaf_is_block_on(Dwarf_Die *function)
{
	Dwarf_Die die = *function;
	const char *leaf = dwarf_diename(&die);
	return leaf && name_is(leaf, LEAF_NAME);
}

static const struct pinning_function *pinning_function_of(const struct ad_unwind_frame *f,
							   char **name_ret)
{
	if (!f->has_function)
		return NULL;
	Dwarf_Die function = f->function;
	if (!leaf_is_block_on(&function))
		return NULL;
	char *name;
	struct ad_error *err = ad_unwind_qualified_name(&function, &name);
	if (err) {
		ad_error_destroy(err);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(pinning_functions) / sizeof(pinning_functions[0]); i++) {
		if (name_is(name, pinning_functions[i].name)) {
			if (name_ret)
				*name_ret = name;
			else
				free(name);
			return &pinning_functions[i];
		}
	}
	free(name);
	return NULL;
}

/* The outermost block_on frame: a nested block_on (current_thread's
 * fallback that block_ons a PollFn wrapping the user's future) is inside. */
static size_t outermost_block_on(const struct ad_unwind *uw,
				 const struct pinning_function **fn_ret, char **name_ret)
{
	for (size_t i = uw->nframes; i-- > 0;) {
		const struct pinning_function *fn = pinning_function_of(&uw->frames[i], name_ret);
		if (fn) {
			*fn_ret = fn;
			return i;
		}
	}
	return SIZE_MAX;
}

bool ad_block_on_present(const struct ad_unwind *uw)
{
	const struct pinning_function *fn;
	return outermost_block_on(uw, &fn, NULL) != SIZE_MAX;
}

/* ---- types */

static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;
	return dwarf_attr_integrate(die, DW_AT_type, &attr) && dwarf_formref_die(&attr, ret);
}

static bool is_pointer(Dwarf_Die *type)
{
	int tag = dwarf_tag(type);
	return tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type ||
	       tag == DW_TAG_rvalue_reference_type;
}

/* Template parameter F of the function, from the instance or the
 * declaration it points to. */
static bool template_param_f(Dwarf_Die function, Dwarf_Die *ret)
{
	for (int hops = 0; hops <= MAX_ORIGIN_HOPS; hops++) {
		Dwarf_Die child;
		if (dwarf_child(&function, &child) == 0) {
			do {
				const char *name = dwarf_diename(&child);
				if (dwarf_tag(&child) == DW_TAG_template_type_parameter && name &&
				    strcmp(name, "F") == 0)
					return type_of(&child, ret);
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		Dwarf_Attribute attr;
		if (!((dwarf_attr(&function, DW_AT_abstract_origin, &attr) ||
		       dwarf_attr(&function, DW_AT_specification, &attr)) &&
		      dwarf_formref_die(&attr, &function)))
			return false;
	}
	return false;
}

/* Same type: the same DIE, or (a type repeated in another compilation
 * unit) the same qualified name. */
static bool same_type(Dwarf_Die *a, Dwarf_Die *b)
{
	if (dwarf_dieoffset(a) == dwarf_dieoffset(b))
		return true;
	char *na = NULL, *nb = NULL;
	struct ad_error *ea = ad_unwind_qualified_name(a, &na);
	struct ad_error *eb = ad_unwind_qualified_name(b, &nb);
	bool same = !ea && !eb && strcmp(na, nb) == 0;
	ad_error_destroy(ea);
	ad_error_destroy(eb);
	free(na);
	free(nb);
	return same;
}

/* Pin<P>: its pointer member, at offset 0. */
static bool pin_pointer_type(Dwarf_Die *type, Dwarf_Die *ret)
{
	const char *name = dwarf_diename(type);
	if (dwarf_tag(type) != DW_TAG_structure_type || !name || strncmp(name, "Pin<", 4) != 0)
		return false;
	Dwarf_Die child;
	if (dwarf_child(type, &child) != 0)
		return false;
	do {
		Dwarf_Die member_type;
		if (dwarf_tag(&child) == DW_TAG_member && type_of(&child, &member_type) &&
		    is_pointer(&member_type)) {
			*ret = member_type;
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

enum holding { HOLDS_VALUE, HOLDS_POINTER };

struct candidate {
	Dwarf_Die variable;
	Dwarf_Die future_type;
	enum holding holds;
};

/* Whether `var` holds the future (F by value) or points to it (Pin<&mut F>,
 * &mut F); F unknown (no template parameters in the DWARF) accepts any. */
static bool classify(Dwarf_Die *var, Dwarf_Die *f, bool have_f, struct candidate *ret)
{
	Dwarf_Die type, pointer, pointee;
	if (!type_of(var, &type))
		return false;
	if (pin_pointer_type(&type, &pointer) || is_pointer(&type)) {
		if (!is_pointer(&type))
			type = pointer;
		if (!type_of(&type, &pointee) || (have_f && !same_type(&pointee, f)))
			return false;
		*ret = (struct candidate){*var, pointee, HOLDS_POINTER};
		return true;
	}
	if (have_f && !same_type(&type, f))
		return false;
	*ret = (struct candidate){*var, type, HOLDS_VALUE};
	return true;
}

/* ---- reading the future's address */

struct search {
	const struct ad_unwind *uw;
	const struct ad_unwind_frame *frame;
	const struct ad_reader *reader;
	const char *function;
	size_t ncandidates;
	struct ad_error *hard_error;  /* the first error that is not "optimised out" */
};

static void note_error(struct search *s, struct ad_error *err)
{
	if (err->code != AD_ERROR_NOT_FOUND && !s->hard_error)
		s->hard_error = err;
	else
		ad_error_destroy(err);
}

/* The future's address from one candidate, or false. */
static bool address_from(struct search *s, struct candidate *c, uint64_t *ret)
{
	struct ad_location_value loc;
	struct ad_error *err = ad_unwind_variable_location(s->frame, &c->variable, s->reader, &loc);
	if (err) {
		note_error(s, err);
		return false;
	}
	if (loc.size != 0 && loc.size < sizeof(uint64_t))
		return false;
	uint64_t address;
	if (c->holds == HOLDS_VALUE) {
		/* A future kept in registers has no address to decode from. */
		if (loc.kind != AD_LOCATION_MEMORY)
			return false;
		address = loc.value;
	} else if (loc.kind == AD_LOCATION_MEMORY) {
		err = ad_read(s->reader, loc.value, &address, sizeof(address));
		if (err) {
			note_error(s, ad_error_wrap(err, "reading the pointer to the future "
						       "pinned by %s on thread %d",
						       s->function, (int)s->uw->tid));
			return false;
		}
	} else {
		address = loc.value;
	}
	uint8_t byte;
	err = ad_read(s->reader, address, &byte, 1);
	if (err) {
		note_error(s, ad_error_wrap(err, "the future pinned by %s on thread %d is at an "
						 "unreadable address",
					    s->function, (int)s->uw->tid));
		return false;
	}
	*ret = address;
	return true;
}

/* Variables in the scopes at pc, innermost first: the Pin shadows the
 * pinned value, both point to the same place. */
static bool search_scopes(struct search *s, const char *variable, Dwarf_Die *f, bool have_f,
			  struct candidate *found, uint64_t *address)
{
	for (size_t i = 0; i < s->frame->nscopes; i++) {
		Dwarf_Die child;
		Dwarf_Die scope = s->frame->scopes[i];
		if (dwarf_child(&scope, &child) != 0)
			continue;
		do {
			const char *name = dwarf_diename(&child);
			/* The parameter is the moved-from copy: only the local is pinned. */
			if (dwarf_tag(&child) != DW_TAG_variable || !name ||
			    strcmp(name, variable) != 0)
				continue;
			struct candidate c;
			if (!classify(&child, f, have_f, &c))
				continue;
			s->ncandidates++;
			if (address_from(s, &c, address)) {
				*found = c;
				return true;
			}
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	return false;
}

static struct ad_error *not_available(const struct search *s, Dwarf_Die *f, bool have_f)
{
	char *type_name = NULL;
	if (have_f) {
		struct ad_error *err = ad_unwind_qualified_name(f, &type_name);
		ad_error_destroy(err);
	}
	const char *type = type_name ? type_name : "its future";
	struct ad_error *err;
	if (s->ncandidates == 0)
		err = ad_error_create(AD_ERROR_NOT_FOUND,
				      "the future passed to block_on on thread %d (%s) is not in "
				      "scope at pc 0x%" PRIx64 " of %s: not pinned yet, or "
				      "optimised out in this build",
				      (int)s->uw->tid, type, s->frame->lookup_pc, s->function);
	else
		err = ad_error_create(AD_ERROR_NOT_FOUND,
				      "the future passed to block_on on thread %d (%s, pinned in "
				      "%s) is optimised out in this build; a build with "
				      "opt-level = 0 keeps it",
				      (int)s->uw->tid, type, s->function);
	free(type_name);
	return err;
}

struct ad_error *ad_block_on_find(const struct ad_unwind *uw, const struct ad_reader *reader,
				  struct ad_block_on *ret)
{
	const struct pinning_function *fn;
	char *function = NULL;
	size_t index = outermost_block_on(uw, &fn, &function);
	if (index == SIZE_MAX)
		return ad_error_create(AD_ERROR_NOT_FOUND, "thread %d is not in a block_on call",
				       (int)uw->tid);
	/* Drop the generic arguments: the future's type is reported apart. */
	function[strcspn(function, "<")] = '\0';
	struct search s = {
		.uw = uw, .frame = &uw->frames[index], .reader = reader, .function = function,
	};
	Dwarf_Die f;
	bool have_f = template_param_f(s.frame->function, &f);
	struct candidate found;
	uint64_t address;
	struct ad_error *err = NULL;
	if (!search_scopes(&s, fn->variable, &f, have_f, &found, &address)) {
		err = s.hard_error ? s.hard_error : not_available(&s, &f, have_f);
		if (s.hard_error)
			err = ad_error_wrap(err,
					    "finding the future passed to block_on on thread %d",
					    (int)uw->tid);
		free(function);
		return err;
	}
	ad_error_destroy(s.hard_error);
	char *type_name;
	if ((err = ad_unwind_qualified_name(&found.future_type, &type_name))) {
		free(function);
		return err;
	}
	*ret = (struct ad_block_on){
		.address = address,
		.type = found.future_type,
		.type_name = type_name,
		.function = function,
		.frame = index,
	};
	return NULL;
}

void ad_block_on_deinit(struct ad_block_on *b)
{
	if (!b)
		return;
	free(b->type_name);
	free(b->function);
	b->type_name = NULL;
	b->function = NULL;
}
