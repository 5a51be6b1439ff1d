/* SPDX-License-Identifier: MIT */
#include <dwarf.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "block_on.h"
#include "debuginfo_internal.h"
#include "decode.h"
#include "location.h"
#include "runtime.h"

/* "name" or "name<generic arguments>". */
static bool name_is(const char *qualified, const char *name)
{
	size_t len = strlen(name);
	return strncmp(qualified, name, len) == 0 &&
	       (qualified[len] == '\0' || qualified[len] == '<');
}

/* The functions that pin the future they are given, and the name of the
 * pinned variable (see block_on.h): the runtime adapters'. Names without
 * generic arguments. */
#define pinning_function ad_block_on_function

static const struct pinning_function *pinning_function_named(const char *name,
							     const struct pinning_function *fns)
{
	for (; fns && fns->name; fns++)
		if (name_is(name, fns->name))
			return fns;
	return NULL;
}

static const struct pinning_function *find_pinning_function(const char *name)
{
	for (const struct ad_runtime_ops *const *a = ad_runtime_adapters; *a; a++) {
		const struct pinning_function *fn = pinning_function_named(name, (*a)->block_on_functions);
		if (fn)
			return fn;
	}
	return NULL;
}

/* Hops from an instance to its declaration (abstract origin, specification). */
#define MAX_ORIGIN_HOPS 4

/* The last component of a path: "run_until" of "a::B::run_until". */
static const char *last_component(const char *path)
{
	const char *last = path;
	for (const char *p = strstr(path, "::"); p; p = strstr(p + 2, "::"))
		last = p + 2;
	return last;
}

static bool leaf_names_pinning_function(const char *leaf)
{
	for (const struct ad_runtime_ops *const *a = ad_runtime_adapters; *a; a++)
		for (const struct pinning_function *fn = (*a)->block_on_functions; fn && fn->name; fn++)
			if (name_is(leaf, last_component(fn->name)))
				return true;
	return false;
}

/* Cheap test before building the qualified name. */
static bool leaf_is_block_on(Dwarf_Die *function)
{
	Dwarf_Die die = *function;
	const char *leaf = dwarf_diename(&die);
	/* or a closure of one (pinning_closure) */
	return leaf && (strncmp(leaf, "{closure#", 9) == 0 || leaf_names_pinning_function(leaf));
}

static const struct pinning_function *pinning_function_of(const struct ad_unwind *uw,
							   const struct ad_unwind_frame *f,
							   char **name_ret)
{
	if (!f->has_function)
		return NULL;
	Dwarf_Die function = f->function;
	if (!leaf_is_block_on(&function))
		return NULL;
	const char *name = ad_debuginfo_die_name_locked(uw->debuginfo, &function);
	if (!name)
		return NULL;
	const struct pinning_function *fn = find_pinning_function(name);
	if (fn && name_ret && !(*name_ret = strdup(name)))
		return NULL;
	return fn;
}

/* A block_on may pin its future in a closure it runs rather than in its own
 * frame (e.g. in the closure it passes its thread-local parker
 * cache): a pinning function of its own a few frames inside, preferred. */
#define MAX_CLOSURE_HOPS 4
static size_t pinning_closure(const struct ad_unwind *uw, size_t outer,
			      const struct pinning_function **fn_ret, char **name_ret)
{
	for (size_t j = outer; j-- > 0 && outer - j <= MAX_CLOSURE_HOPS;) {
		char *name = NULL;
		const struct pinning_function *fn = pinning_function_of(uw, &uw->frames[j], &name);
		if (!fn || !strstr(fn->name, "::{closure#")) {
			free(name);
			continue;
		}
		if (name_ret) {
			free(*name_ret);
			*name_ret = name;
		} else {
			free(name);
		}
		*fn_ret = fn;
		return j;
	}
	return outer;
}

/* The outermost block_on frame: a nested block_on (current_thread's
 * fallback that block_ons a PollFn wrapping the user's future) is inside. */
static size_t outermost_block_on(const struct ad_unwind *uw,
				 const struct pinning_function **fn_ret, char **name_ret)
{
	for (size_t i = uw->nframes; i-- > 0;) {
		const struct pinning_function *fn = pinning_function_of(uw, &uw->frames[i], name_ret);
		if (fn) {
			*fn_ret = fn;
			return pinning_closure(uw, i, fn_ret, name_ret);
		}
	}
	return SIZE_MAX;
}

bool ad_block_on_present(const struct ad_unwind *uw)
{
	const struct pinning_function *fn;
	pthread_mutex_lock(&uw->debuginfo->lock);
	bool present = outermost_block_on(uw, &fn, NULL) != SIZE_MAX;
	pthread_mutex_unlock(&uw->debuginfo->lock);
	return present;
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
static bool same_type(struct ad_debuginfo *di, Dwarf_Die *a, Dwarf_Die *b)
{
	if (dwarf_dieoffset(a) == dwarf_dieoffset(b))
		return true;
	const char *na = ad_debuginfo_die_name_locked(di, a);
	const char *nb = ad_debuginfo_die_name_locked(di, b);
	return na && nb && strcmp(na, nb) == 0;
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
static bool classify(struct ad_debuginfo *di, Dwarf_Die *var, Dwarf_Die *f, bool have_f,
		     struct candidate *ret)
{
	Dwarf_Die type, pointer, pointee;
	if (!type_of(var, &type))
		return false;
	if (pin_pointer_type(&type, &pointer) || is_pointer(&type)) {
		if (!is_pointer(&type))
			type = pointer;
		if (!type_of(&type, &pointee) || (have_f && !same_type(di, &pointee, f)))
			return false;
		*ret = (struct candidate){*var, pointee, HOLDS_POINTER};
		return true;
	}
	if (have_f && !same_type(di, &type, f))
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
			if (!classify(s->uw->debuginfo, &child, f, have_f, &c))
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
	const char *type_name = have_f ? ad_debuginfo_die_name_locked(s->uw->debuginfo, f) : NULL;
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
	return err;
}

/* ---- the frame to search when DWARF gives no address */

/* Frames of the block_on call chain, from the pinning frame outwards, are
 * generic over F or take an F: Runtime::block_on<F>, Handle::block_on<F>. */
static bool frame_takes_f(struct ad_debuginfo *di, const struct ad_unwind_frame *f,
			  Dwarf_Die *type)
{
	if (!f->has_function)
		return false;
	Dwarf_Die param;
	if (template_param_f(f->function, &param) && same_type(di, &param, type))
		return true;
	Dwarf_Die function = f->function, child;
	if (dwarf_child(&function, &child) != 0)
		return false;
	do {
		Dwarf_Die t;
		if (dwarf_tag(&child) == DW_TAG_formal_parameter && type_of(&child, &t) &&
		    same_type(di, &t, type))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* Adds `value` to array[0..*n) unless there, or the array (of `cap`) is full. */
static void add_once(uint64_t *array, size_t *n, size_t cap, uint64_t value)
{
	for (size_t i = 0; i < *n; i++)
		if (array[i] == value)
			return;
	if (*n < cap)
		array[(*n)++] = value;
}

#define ADD_ONCE(b, field, value) \
	add_once((b)->field, &(b)->n##field, sizeof((b)->field) / sizeof((b)->field[0]), (value))

/* Where DWARF puts the variables of type F (or pointing to one) in frames
 * outside the call chain (the caller that holds another future of the same
 * type): those addresses are other futures. */
static void collect_exclusions(const struct ad_unwind *uw, size_t index, Dwarf_Die *f,
			       const struct ad_reader *reader, struct ad_block_on *b)
{
	size_t k = index + 1;
	while (k < uw->nframes && frame_takes_f(uw->debuginfo, &uw->frames[k], f))
		k++;
	for (; k < uw->nframes; k++) {
		const struct ad_unwind_frame *frame = &uw->frames[k];
		for (size_t i = 0; i < frame->nscopes; i++) {
			Dwarf_Die scope = frame->scopes[i], child;
			if (dwarf_child(&scope, &child) != 0)
				continue;
			do {
				int tag = dwarf_tag(&child);
				struct candidate c;
				if ((tag != DW_TAG_variable && tag != DW_TAG_formal_parameter) ||
				    !classify(uw->debuginfo, &child, f, true, &c))
					continue;
				struct search s = {.uw = uw, .frame = frame, .reader = reader,
						   .function = "the caller"};
				uint64_t address;
				if (address_from(&s, &c, &address))
					ADD_ONCE(b, excluded, address);
				ad_error_destroy(s.hard_error);
			} while (dwarf_siblingof(&child, &child) == 0);
		}
	}
}

/* The places the pinned variable (F, or a pointer to it) has at the other
 * pcs of the pinning function, from its location list. */
static void collect_hints(struct ad_debuginfo *di, const struct ad_unwind_frame *frame,
			  const char *variable, Dwarf_Die *f, const struct ad_reader *reader,
			  struct ad_block_on *b)
{
	for (size_t i = 0; i < frame->nscopes; i++) {
		Dwarf_Die scope = frame->scopes[i], child;
		if (dwarf_child(&scope, &child) != 0)
			continue;
		do {
			const char *name = dwarf_diename(&child);
			struct candidate c;
			if (dwarf_tag(&child) != DW_TAG_variable || !name ||
			    strcmp(name, variable) != 0 || !classify(di, &child, f, true, &c))
				continue;
			uint64_t slots[8];
			size_t n = ad_unwind_variable_stack_slots(frame, &child, reader, slots, 8);
			for (size_t k = 0; k < n; k++) {
				uint64_t address = slots[k];
				struct ad_error *err = NULL;
				if (c.holds == HOLDS_POINTER)
					err = ad_read(reader, slots[k], &address, sizeof(address));
				if (!err)
					ADD_ONCE(b, hinted, address);
				ad_error_destroy(err);
			}
		} while (dwarf_siblingof(&child, &child) == 0);
	}
}

/* The stack of the physical frame holding frame `index`: from its stack
 * pointer to its CFA. */
static bool frame_stack(const struct ad_unwind *uw, size_t index, uint64_t *low, uint64_t *high)
{
	const struct ad_unwind_frame *f = &uw->frames[index];
	if (!(f->regs_known & (1u << AD_DWARF_RSP)) || !f->has_cfa || f->cfa <= f->regs[AD_DWARF_RSP])
		return false;
	*low = f->regs[AD_DWARF_RSP];
	*high = f->cfa;
	return true;
}

/* What the calls the pinning frame (`index`) is inside hold: the stack
 * below it, and the registers known in it and in them. */
static void collect_inner_calls(const struct ad_unwind *uw, size_t index, struct ad_block_on *b)
{
	const struct ad_unwind_frame *innermost = &uw->frames[0];
	b->inner_low = b->frame_low;
	if ((innermost->regs_known & (1u << AD_DWARF_RSP)) &&
	    innermost->regs[AD_DWARF_RSP] < b->frame_low)
		b->inner_low = innermost->regs[AD_DWARF_RSP];
	for (size_t k = 0; k <= index; k++)
		for (unsigned r = 0; r < AD_DWARF_NREGS; r++)
			if (r != AD_DWARF_RSP && r != AD_DWARF_RIP &&
			    (uw->frames[k].regs_known & (1u << r)))
				ADD_ONCE(b, registers, uw->frames[k].regs[r]);
}

static struct ad_error *find_locked(const struct ad_unwind *uw, const struct ad_reader *reader,
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
	uint64_t address = 0;
	struct ad_error *err = NULL;
	bool located = search_scopes(&s, fn->variable, &f, have_f, &found, &address);
	char *no_location = NULL;
	uint64_t low = 0, high = 0;
	if (!located) {
		err = s.hard_error ? s.hard_error : not_available(&s, &f, have_f);
		if (s.hard_error)
			err = ad_error_wrap(err,
					    "finding the future passed to block_on on thread %d",
					    (int)uw->tid);
		/* With F known, the frame can still be searched for it. */
		if (!have_f || ad_error_is_fatal(err) || !frame_stack(uw, index, &low, &high)) {
			free(function);
			return err;
		}
		no_location = strdup(err->message);
		ad_error_destroy(err);
		if (!no_location) {
			free(function);
			return &ad_error_nomem;
		}
		found.future_type = f;
	} else {
		ad_error_destroy(s.hard_error);
	}
	const char *type_name = ad_debuginfo_die_name_locked(uw->debuginfo, &found.future_type);
	if (!type_name)
		type_name = dwarf_diename(&found.future_type) ?: "a future of no name";
	*ret = (struct ad_block_on){
		.has_address = located,
		.address = address,
		.type_die = dwarf_dieoffset(&found.future_type),
		.type_name = type_name,
		.function = function,
		.frame = index,
		.no_location = no_location,
		.frame_low = low,
		.frame_high = high,
	};
	if (!located) {
		collect_exclusions(uw, index, &f, reader, ret);
		collect_hints(uw->debuginfo, s.frame, fn->variable, &f, reader, ret);
		collect_inner_calls(uw, index, ret);
	}
	return NULL;
}

struct ad_error *ad_block_on_find(const struct ad_unwind *uw, const struct ad_reader *reader,
				  struct ad_block_on *ret)
{
	pthread_mutex_lock(&uw->debuginfo->lock);
	struct ad_error *err = find_locked(uw, reader, ret);
	pthread_mutex_unlock(&uw->debuginfo->lock);
	return err;
}

void ad_block_on_deinit(struct ad_block_on *b)
{
	if (!b)
		return;
	free(b->function);
	free(b->no_location);
	b->type_name = NULL;
	b->function = NULL;
	b->no_location = NULL;
}

/* ---- searching the frame for the future */

/* Bounds of the search: a frame larger than this is not a frame we know. */
#define SCAN_MAX_BYTES (1u << 20)
/* Levels of fields checked in a candidate, and fields checked in all. */
#define PLAUSIBLE_MAX_DEPTH 6
#define PLAUSIBLE_MAX_FIELDS 512
/* Memory searched for pointers to candidates, at most, and per read. */
#define REFERENCE_MAX_BYTES (256u << 20)
#define REFERENCE_CHUNK (64u << 10)
/* Candidates kept to choose from, and named in a message. */
#define SCAN_MAX_FOUND 16
#define SCAN_MAX_REPORTED 4

struct plausibility {
	struct ad_decode *d;
	size_t budget;
};

static bool readable(struct ad_decode *d, uint64_t address)
{
	uint8_t byte;
	struct ad_error *err = ad_read(d->reader, address, &byte, 1);
	ad_error_destroy(err);
	return !err;
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool plausible(struct plausibility *p, const struct ad_type *t, uint64_t address, int depth);

static bool plausible_fields(struct plausibility *p, const struct ad_type *t, uint64_t base,
			     int depth)
{
	for (size_t i = 0; i < t->nfields; i++) {
		const struct ad_type *ft;
		struct ad_error *err = ad_field_type(p->d->di, &t->fields[i], &ft);
		if (err) {
			ad_error_destroy(err);
			continue;
		}
		if (!plausible(p, ft, base + t->fields[i].offset, depth + 1))
			return false;
	}
	return true;
}

/* Whether the bytes at `address` can be a value of type t: every enum's
 * discriminant names a variant, bools are 0 or 1, chars are scalar values,
 * references and NonNull pointers (Box, Arc, Vec's buffer) are not null and
 * point to readable memory. Unions and raw pointers can hold anything. */
static bool plausible(struct plausibility *p, const struct ad_type *t, uint64_t address, int depth)
{
	if (depth > PLAUSIBLE_MAX_DEPTH || p->budget == 0)
		return true;
	p->budget--;
	struct ad_value v = ad_decode_value(p->d, t, address);
	uint64_t word;
	struct ad_error *err;
	switch (t->kind) {
	case AD_TYPE_BASE:
		if (t->name && (strcmp(t->name, "bool") == 0 || strcmp(t->name, "char") == 0)) {
			if ((err = ad_value_uint(&v, &word))) {
				ad_error_destroy(err);
				return false;
			}
			if (t->name[0] == 'b')
				return word <= 1;
			return word <= 0x10ffff && !(word >= 0xd800 && word <= 0xdfff);
		}
		return readable(p->d, address);
	case AD_TYPE_POINTER:
		if (!starts_with(t->name, "&"))
			return readable(p->d, address);
		if ((err = ad_value_uint(&v, &word))) {
			ad_error_destroy(err);
			return false;
		}
		return word != 0 && readable(p->d, word);
	case AD_TYPE_STRUCT:
		if (ad_type_is(t, "core::ptr::non_null::NonNull")) {
			if ((err = ad_value_pointer(&v, &word))) {
				ad_error_destroy(err);
				return false;
			}
			/* Dangling but aligned is how empty Vecs and ZST boxes look. */
			return word != 0 && (word < 4096 || readable(p->d, word));
		}
		return plausible_fields(p, t, address, depth);
	case AD_TYPE_ENUM: {
		const struct ad_variant *variant;
		struct ad_value inner;
		if ((err = ad_value_variant(&v, &variant, &inner))) {
			ad_error_destroy(err);
			return false;
		}
		return plausible_fields(p, inner.type, address, depth);
	}
	case AD_TYPE_CENUM:
		if ((err = ad_value_uint(&v, &word))) {
			ad_error_destroy(err);
			return false;
		}
		for (size_t i = 0; i < t->nenumerators; i++)
			if (t->enumerators[i].value == word)
				return true;
		return t->nenumerators == 0;
	case AD_TYPE_ARRAY: {
		const struct ad_type *element;
		if (t->count == 0)
			return true;
		if ((err = ad_type_target(p->d->di, t, &element))) {
			ad_error_destroy(err);
			return true;
		}
		for (uint64_t i = 0; i < t->count && i < 4; i++)
			if (!plausible(p, element, address + i * element->size, depth + 1))
				return false;
		return true;
	}
	default:
		return true;
	}
}

/* The state machine of F: F itself, or inside rustc < 1.67's GenFuture. */
static const struct ad_type *coroutine_of(struct ad_decode *d, const struct ad_type *t,
					  uint64_t *offset)
{
	*offset = 0;
	if (ad_is_coroutine_env(t))
		return t;
	if (!ad_type_is(t, "core::future::from_generator::GenFuture"))
		return NULL;
	const struct ad_field *inner = ad_type_field(t, "__0");
	const struct ad_type *it;
	if (!inner)
		return NULL;
	struct ad_error *err = ad_field_type(d->di, inner, &it);
	if (err) {
		ad_error_destroy(err);
		return NULL;
	}
	*offset = inner->offset;
	return ad_is_coroutine_env(it) ? it : NULL;
}

enum poll_state { STATE_UNKNOWN, STATE_UNREADABLE, STATE_UNRESUMED, STATE_SUSPENDED, STATE_ENDED };

/* Where the state machine at `address` stands: STATE_UNKNOWN when the type
 * is no state machine (nothing to tell from it). */
static enum poll_state poll_state_at(struct ad_decode *d, const struct ad_type *type,
				     uint64_t address)
{
	uint64_t offset;
	const struct ad_type *env = coroutine_of(d, type, &offset);
	if (!env)
		return STATE_UNKNOWN;
	struct ad_value v = ad_decode_value(d, env, address + offset), inner;
	const struct ad_variant *variant;
	struct ad_error *err = ad_value_variant(&v, &variant, &inner);
	if (err) {
		ad_error_destroy(err);
		return STATE_UNREADABLE;
	}
	char buf[64];
	const char *state = ad_type_base(inner.type, buf, sizeof(buf));
	if (strncmp(state, "Suspend", 7) == 0)
		return STATE_SUSPENDED;
	return strcmp(state, "Unresumed") == 0 ? STATE_UNRESUMED : STATE_ENDED;
}

/* Which values may be the future block_on polls. A state machine that
 * block_on polled and that returned Pending is in a Suspend state; an
 * Unresumed one can be only while block_on polls it the first time — and
 * it is what the moved-from copies (the argument block_on moved into its
 * pinned local) are in; Returned/Panicked no future block_on waits on. */
enum candidate_kind { NOT_CANDIDATE, POLLED, UNPOLLED };

static enum candidate_kind candidate_at(struct ad_decode *d, const struct ad_type *type,
				   uint64_t address, bool parked)
{
	switch (poll_state_at(d, type, address)) {
	case STATE_UNKNOWN: /* no state machine: nothing to tell from it */
	case STATE_SUSPENDED:
		return POLLED;
	case STATE_UNRESUMED:
		return parked ? NOT_CANDIDATE : UNPOLLED;
	default:
		return NOT_CANDIDATE;
	}
}

static bool is_async(const struct ad_frame *f)
{
	return f->kind == AD_FRAME_ASYNC_FN || f->kind == AD_FRAME_ASYNC_BLOCK ||
	       f->kind == AD_FRAME_ASYNC_CLOSURE;
}

/* A task of an active runtime adapter. */
static bool is_task(struct ad_decode *d, uint64_t address)
{
	for (size_t i = 0; i < d->nadapters; i++)
		if (d->adapters[i].ops->is_task && d->adapters[i].ops->is_task(d, &d->adapters[i], address))
			return true;
	return false;
}

/* Every JoinHandle of a tree points at a task header of the runtime; no
 * frame is undecodable; and, the thread being parked, no async frame
 * suspended on an await holds a finished or never-started async awaitee
 * (a poll that got Ready moves past the await in the same poll). */
static bool tree_valid(struct ad_decode *d, const struct ad_frame *f, bool parked, int depth)
{
	if (depth > AD_FRAME_MAX_DEPTH || f->error)
		return false;
	if (f->blocked_on && f->blocked_on->kind == AD_RESOURCE_TASK &&
	    !is_task(d, f->blocked_on->address))
		return false;
	if (parked && is_async(f) && f->state == AD_FRAME_SUSPENDED && f->nchildren == 1 &&
	    is_async(f->children[0]) && f->children[0]->state != AD_FRAME_SUSPENDED)
		return false;
	for (size_t i = 0; i < f->nchildren; i++)
		if (!tree_valid(d, f->children[i], parked, depth + 1))
			return false;
	return true;
}

/* Decodes the candidate as the trace would, without keeping anything but
 * the address of what its innermost future waits on (*leaf, 0 none). */
static struct ad_error *decodes_validly(struct ad_decode *d, const struct ad_type *type,
					uint64_t address, bool parked, bool *ret, uint64_t *leaf)
{
	size_t nodes = d->nodes;
	bool trial = d->trial;
	struct ad_frame *root = NULL;
	d->trial = true;
	struct ad_error *err = d->walk(d, type, address, 0, &root);
	d->nodes = nodes;
	d->trial = trial;
	if (err)
		return err;
	*ret = root && tree_valid(d, root, parked, 0);
	const struct ad_blocked_on *b = root ? ad_frame_first_blocked_on(root) : NULL;
	*leaf = b ? b->address : 0;
	ad_frame_destroy(root);
	return NULL;
}

static bool is_excluded(const struct ad_block_on *b, uint64_t address)
{
	for (size_t i = 0; i < b->nexcluded; i++)
		if (b->excluded[i] == address)
			return true;
	return false;
}

/* Marks in `marks` the values that some aligned word of [low, high) holds,
 * read through `chunk` (REFERENCE_CHUNK bytes); what cannot be read is
 * passed over. */
static void mark_words_in(struct ad_decode *d, uint64_t *chunk, uint64_t low, uint64_t high,
			  const uint64_t *values, size_t n, bool *marks)
{
	for (uint64_t a = (low + 7) & ~UINT64_C(7); a + 8 <= high; a += REFERENCE_CHUNK) {
		uint64_t len = high - a < REFERENCE_CHUNK ? high - a : REFERENCE_CHUNK;
		len &= ~UINT64_C(7);
		struct ad_error *err = ad_read(d->reader, a, chunk, len);
		if (err) {
			ad_error_destroy(err);
			continue;
		}
		for (size_t w = 0; w < len / sizeof(*chunk); w++)
			for (size_t i = 0; i < n; i++)
				if (chunk[w] == values[i])
					marks[i] = true;
	}
}

/* Marks in `referenced` the candidates whose resource (leaves[i]: the
 * timer entry, the waiter inside it) some pointer outside the thread's own
 * stack mapping points at. A pinned future registers itself with its
 * runtime (a timer wheel or a waiter list links to the entry inside it),
 * while a stale copy left on the stack by a move, or a place overlapping
 * the real one, is pointed at by nothing else. */
static struct ad_error *find_references(struct ad_decode *d, const uint64_t *found,
					const uint64_t *leaves, size_t n, bool *referenced)
{
	const struct ad_snapshot *snap = d->snap;
	uint64_t *chunk = malloc(REFERENCE_CHUNK);
	if (!chunk)
		return &ad_error_nomem;
	uint64_t budget = REFERENCE_MAX_BYTES;
	for (size_t m = 0; m < snap->nmappings && budget; m++) {
		const struct ad_mapping *map = &snap->mappings[m];
		if (map->perms[1] != 'w' || (found[0] >= map->start && found[0] < map->end))
			continue;
		uint64_t len = map->end - map->start < budget ? map->end - map->start : budget;
		budget -= len;
		mark_words_in(d, chunk, map->start, map->start + len, leaves, n, referenced);
	}
	free(chunk);
	return NULL;
}

/* Marks in `pointed` the candidates whose address the calls the pinning
 * frame is inside hold, in a register or in their stack. */
static struct ad_error *find_inner_pointers(struct ad_decode *d, const struct ad_block_on *b,
					    const uint64_t *found, size_t n, bool *pointed)
{
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < b->nregisters; r++)
			if (b->registers[r] == found[i])
				pointed[i] = true;
	if (b->frame_low <= b->inner_low || b->frame_low - b->inner_low > SCAN_MAX_BYTES)
		return NULL;
	uint64_t *chunk = malloc(REFERENCE_CHUNK);
	if (!chunk)
		return &ad_error_nomem;
	mark_words_in(d, chunk, b->inner_low, b->frame_low, found, n, pointed);
	free(chunk);
	return NULL;
}

/* The one candidate set in `marks`, or 0 unless exactly one is. */
static uint64_t only_marked(const uint64_t *found, const bool *marks, size_t n)
{
	uint64_t ret = 0;
	size_t nmarked = 0;
	for (size_t i = 0; i < n; i++)
		if (marks[i]) {
			nmarked++;
			ret = found[i];
		}
	return nmarked == 1 ? ret : 0;
}

static bool same_location(const struct ad_location *a, const struct ad_location *b)
{
	if (!a || !b)
		return a == b;
	return a->line == b->line && a->column == b->column &&
	       strcmp(a->file ? a->file : "", b->file ? b->file : "") == 0;
}

static bool has_no_identity(const struct ad_blocked_on *b)
{
	return b->kind == AD_RESOURCE_OTHER || b->kind == AD_RESOURCE_NEVER;
}

/* Two trees that say the same thing: same frames, states, lines and tasks
 * awaited, and no resource with an identity of its own anywhere (a timer, a
 * lock, a socket would tell copies apart; pending() and `other` leaves
 * hold none). Addresses aside. */
static bool same_tree(const struct ad_frame *a, const struct ad_frame *b, unsigned depth)
{
	if (depth > 64 || a->kind != b->kind || a->state != b->state ||
	    strcmp(a->name ? a->name : "", b->name ? b->name : "") != 0 ||
	    !same_location(a->location, b->location) ||
	    !same_location(a->macro_location, b->macro_location) || a->error || b->error ||
	    a->has_awaits_task != b->has_awaits_task || a->awaits_task != b->awaits_task ||
	    a->nchildren != b->nchildren)
		return false;
	if (a->blocked_on || b->blocked_on) {
		if (!a->blocked_on || !b->blocked_on || !has_no_identity(a->blocked_on) ||
		    a->blocked_on->kind != b->blocked_on->kind)
			return false;
	}
	for (size_t i = 0; i < a->nchildren; i++)
		if (!same_tree(a->children[i], b->children[i], depth + 1))
			return false;
	return true;
}

/* Whether every valid place decodes to the same tree: then whichever holds
 * the real future, the trace is the same (a future that holds nothing but
 * its state, as `async { pending().await }`). */
static struct ad_error *all_decode_alike(struct ad_decode *d, const struct ad_type *type,
					 const uint64_t *found, size_t n, bool *ret)
{
	struct ad_frame *first = NULL, *other = NULL;
	bool trial = d->trial;
	d->trial = true;
	struct ad_error *err = d->walk(d, type, found[0], 0, &first);
	*ret = !err;
	for (size_t i = 1; i < n && *ret; i++) {
		if ((err = d->walk(d, type, found[i], 0, &other)))
			*ret = false;
		else
			*ret = same_tree(first, other, 0);
		ad_frame_destroy(other);
		other = NULL;
	}
	d->trial = trial;
	ad_frame_destroy(first);
	return err;
}

/* Of several valid places, the one the location list gives, or else the
 * one whose resource the runtime points at: its address, or 0 when that
 * does not tell. */
static struct ad_error *choose(struct ad_decode *d, const struct ad_block_on *b,
			       const struct ad_type *type, const uint64_t *found,
			       const uint64_t *leaves, size_t n, uint64_t *ret, const char **why)
{
	size_t nhinted = 0;
	*ret = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < b->nhinted; k++)
			if (found[i] == b->hinted[k]) {
				nhinted++;
				*ret = found[i];
			}
	if (nhinted == 1) {
		*why = "the one at the place its location list gives at other pcs";
		return NULL;
	}
	bool pointed[SCAN_MAX_FOUND] = {false};
	struct ad_error *e = find_inner_pointers(d, b, found, n, pointed);
	if (e)
		return e;
	if ((*ret = only_marked(found, pointed, n))) {
		*why = "the only one the calls below its frame point at (the others are stale copies)";
		return NULL;
	}
	bool alike;
	e = all_decode_alike(d, type, found, n, &alike);
	if (e)
		return e;
	if (alike) {
		*ret = found[0];
		*why = "they all decode to the same frames, with no resource to tell them apart "
		       "(the address shown is the first)";
		return NULL;
	}
	/* Only places that each hold a resource can be told apart this way. */
	for (size_t i = 0; i < n; i++)
		if (!leaves[i])
			return NULL;
	bool referenced[SCAN_MAX_FOUND] = {false};
	struct ad_error *err = find_references(d, found, leaves, n, referenced);
	if (err)
		return err;
	*ret = only_marked(found, referenced, n);
	*why = "the only one whose timer or waiter its runtime points at (the others are "
	       "stale copies)";
	return NULL;
}

/* The first SCAN_MAX_FOUND valid values of a kind, and how many there were. */
struct candidates {
	uint64_t at[SCAN_MAX_FOUND];
	uint64_t leaves[SCAN_MAX_FOUND]; /* a resource inside each, or 0 */
	size_t n;
};

static void candidates_add(struct candidates *c, uint64_t address, uint64_t leaf)
{
	if (c->n < SCAN_MAX_FOUND) {
		c->at[c->n] = address;
		c->leaves[c->n] = leaf;
	}
	c->n++;
}

struct ad_error *ad_block_on_scan(struct ad_decode *d, const struct ad_block_on *b,
				  const struct ad_type *type, bool parked, uint64_t *ret,
				  char **how)
{
	uint64_t size = type->size, align = type->align ? type->align : 1;
	if (b->frame_high <= b->frame_low || b->frame_high - b->frame_low > SCAN_MAX_BYTES)
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "%s; the frame of %s (0x%" PRIx64 "-0x%" PRIx64 ") is too "
				       "large to search",
				       b->no_location, b->function, b->frame_low, b->frame_high);
	/* found[POLLED], found[UNPOLLED]: a future is moved only before its
	 * first poll (it is pinned for it), so once one value was polled the
	 * unpolled ones are the copies it was moved from. */
	struct candidates found[3] = {0};
	size_t nexcluded = 0;
	uint64_t first = (b->frame_low + align - 1) / align * align;
	for (uint64_t a = first; size && a + size <= b->frame_high; a += align) {
		if (is_excluded(b, a)) {
			nexcluded++;
			continue;
		}
		enum candidate_kind c = candidate_at(d, type, a, parked);
		struct plausibility p = {.d = d, .budget = PLAUSIBLE_MAX_FIELDS};
		if (c == NOT_CANDIDATE || !plausible(&p, type, a, 0))
			continue;
		bool valid = false;
		uint64_t leaf = 0;
		struct ad_error *err = decodes_validly(d, type, a, parked, &valid, &leaf);
		if (err)
			return err;
		if (valid)
			/* A resource inside the future: a timer entry, a waiter. */
			candidates_add(&found[c], a, leaf >= a && leaf - a < size ? leaf : 0);
	}
	const struct candidates *set = found[POLLED].n ? &found[POLLED] : &found[UNPOLLED];
	size_t nfound = set->n;
	char unpolled[128] = "";
	if (set == &found[POLLED] && found[UNPOLLED].n)
		snprintf(unpolled, sizeof(unpolled),
			 "; left out: %zu places that read as one never polled, as the copy it "
			 "was moved from does",
			 found[UNPOLLED].n);
	if (nfound > 1 && nfound <= SCAN_MAX_FOUND) {
		uint64_t chosen;
		const char *why;
		struct ad_error *err = choose(d, b, type, set->at, set->leaves, nfound, &chosen, &why);
		if (err)
			return err;
		if (chosen) {
			if (asprintf(how, "found by searching the stack of %s's frame for a valid %s "
					  "(DWARF gives it no location at this pc): of %zu valid "
					  "values, %s%s",
				     b->function, type->name, nfound, why, unpolled) < 0)
				return &ad_error_nomem;
			*ret = chosen;
			return NULL;
		}
	}
	if (nfound == 1) {
		if (asprintf(how, "found by searching the stack of %s's frame for a valid %s "
				  "(DWARF gives it no location at this pc%s)",
			     b->function, type->name, unpolled) < 0)
			return &ad_error_nomem;
		*ret = set->at[0];
		return NULL;
	}
	if (nfound == 0)
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "%s, and no value in the stack of its frame (0x%" PRIx64
				       "-0x%" PRIx64 ") validates as one%s: it is kept in registers "
				       "only at this pc",
				       b->no_location, b->frame_low, b->frame_high,
				       nexcluded ? " (leaving out other variables of its type)" : "");
	char list[SCAN_MAX_REPORTED * 24] = "";
	for (size_t i = 0; i < nfound && i < SCAN_MAX_REPORTED; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s0x%" PRIx64,
			 i ? ", " : "", set->at[i]);
	return ad_error_create(AD_ERROR_NOT_FOUND,
			       "%s, and %zu values in the stack of its frame validate as one "
			       "(%s%s): not guessing which",
			       b->no_location, nfound, list, nfound > SCAN_MAX_REPORTED ? ", …" : "");
}
