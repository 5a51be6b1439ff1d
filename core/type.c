/* SPDX-License-Identifier: MIT */
/* DIE → struct ad_type, on first use, cached per debuginfo. */
#include <dwarf.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo_internal.h"

#define MAX_MEMBERS 4096
#define MAX_TYPEDEF_CHAIN 16

static struct ad_error *dwarf_error(const char *what, uint64_t die)
{
	return ad_error_create(AD_ERROR_DWARF, "%s of DIE 0x%" PRIx64 ": %s", what, die,
			       dwarf_errmsg(-1));
}

static uint64_t ref_attr(Dwarf_Die *die, int attr)
{
	Dwarf_Attribute a;
	Dwarf_Die target;
	if (!dwarf_attr(die, attr, &a) || !dwarf_formref_die(&a, &target))
		return 0;
	return dwarf_dieoffset(&target);
}

static uint64_t udata_attr(Dwarf_Die *die, int attr, uint64_t dflt)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	if (!dwarf_attr(die, attr, &a) || dwarf_formudata(&a, &w) != 0)
		return dflt;
	return w;
}

static const char *intern(struct ad_debuginfo *di, const char *s)
{
	return s ? ad_strpool_add(&di->pool, s, strlen(s)) : NULL;
}

static uint64_t member_offset(Dwarf_Die *member)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	if (dwarf_attr(member, DW_AT_data_member_location, &a) && dwarf_formudata(&a, &w) == 0)
		return w;
	return 0;
}

static bool flag_attr(Dwarf_Die *die, int attr)
{
	Dwarf_Attribute a;
	bool f = false;
	if (dwarf_attr(die, attr, &a))
		dwarf_formflag(&a, &f);
	return f;
}

/* DW_AT_discr_value is data1..8, udata, sdata or a block (128-bit values,
 * little-endian): low and high 64 bits; the caller masks to the tag's size. */
static bool discr_value(Dwarf_Die *variant, uint64_t *ret, uint64_t *high_ret)
{
	Dwarf_Attribute a;
	if (!dwarf_attr(variant, DW_AT_discr_value, &a))
		return false;
	Dwarf_Word w;
	Dwarf_Sword sw;
	Dwarf_Block b;
	*high_ret = 0;
	switch (dwarf_whatform(&a)) {
	case DW_FORM_sdata:
		if (dwarf_formsdata(&a, &sw) != 0)
			return false;
		*ret = (uint64_t)sw;
		*high_ret = sw < 0 ? UINT64_MAX : 0;
		return true;
	case DW_FORM_block:
	case DW_FORM_block1:
	case DW_FORM_block2:
	case DW_FORM_block4:
		if (dwarf_formblock(&a, &b) != 0)
			return false;
		*ret = 0;
		memcpy(ret, b.data, b.length < 8 ? b.length : 8);
		if (b.length > 8)
			memcpy(high_ret, b.data + 8, b.length < 16 ? b.length - 8 : 8);
		return true;
	default:
		if (dwarf_formudata(&a, &w) != 0)
			return false;
		*ret = w;
		return true;
	}
}

struct builder {
	struct ad_debuginfo *di;
	struct ad_type *t;
	struct ad_field fields[MAX_MEMBERS];
	struct ad_variant variants[MAX_MEMBERS];
	struct ad_template_param tparams[64];
	struct ad_enumerator enumerators[MAX_MEMBERS];
};

static void add_field(struct builder *b, Dwarf_Die *m)
{
	if (b->t->nfields >= MAX_MEMBERS)
		return;
	b->fields[b->t->nfields++] = (struct ad_field){
		.name = intern(b->di, dwarf_diename(m) ?: ""),
		.offset = member_offset(m),
		.artificial = flag_attr(m, DW_AT_artificial),
		.type_die = ref_attr(m, DW_AT_type),
	};
}

static void add_variant(struct builder *b, Dwarf_Die *variant)
{
	Dwarf_Die m;
	if (b->t->nvariants >= MAX_MEMBERS || dwarf_child(variant, &m) != 0)
		return;
	while (dwarf_tag(&m) != DW_TAG_member)
		if (dwarf_siblingof(&m, &m) != 0)
			return;
	struct ad_variant *v = &b->variants[b->t->nvariants++];
	int line = 0;
	dwarf_decl_line(&m, &line);
	*v = (struct ad_variant){
		.name = intern(b->di, dwarf_diename(&m) ?: ""),
		.offset = member_offset(&m),
		.type_die = ref_attr(&m, DW_AT_type),
		.file = intern(b->di, dwarf_decl_file(&m)),
		.line = line > 0 ? (unsigned)line : 0,
	};
	v->has_discr = discr_value(variant, &v->discr, &v->discr_high);
}

static void read_variant_part(struct builder *b, Dwarf_Die *part)
{
	b->t->kind = AD_TYPE_ENUM;
	Dwarf_Attribute a;
	Dwarf_Die discr, child;
	if (dwarf_attr(part, DW_AT_discr, &a) && dwarf_formref_die(&a, &discr)) {
		b->t->discr_offset = member_offset(&discr);
		Dwarf_Die dt;
		if (dwarf_attr(&discr, DW_AT_type, &a) && dwarf_formref_die(&a, &dt))
			b->t->discr_size = (uint32_t)udata_attr(&dt, DW_AT_byte_size, 0);
	}
	if (dwarf_child(part, &child) != 0)
		return;
	do {
		if (dwarf_tag(&child) == DW_TAG_variant)
			add_variant(b, &child);
	} while (dwarf_siblingof(&child, &child) == 0);
}

static void read_children(struct builder *b, Dwarf_Die *die)
{
	Dwarf_Die child;
	if (dwarf_child(die, &child) != 0)
		return;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_member:
			add_field(b, &child);
			break;
		case DW_TAG_variant_part:
			read_variant_part(b, &child);
			break;
		case DW_TAG_template_type_parameter:
			if (b->t->ntemplate_params < 64)
				b->tparams[b->t->ntemplate_params++] = (struct ad_template_param){
					intern(b->di, dwarf_diename(&child) ?: ""),
					ref_attr(&child, DW_AT_type)
				};
			break;
		case DW_TAG_enumerator:
			if (b->t->nenumerators < MAX_MEMBERS)
				b->enumerators[b->t->nenumerators++] = (struct ad_enumerator){
					intern(b->di, dwarf_diename(&child) ?: ""),
					udata_attr(&child, DW_AT_const_value, 0)
				};
			break;
		case DW_TAG_subrange_type:
			if (b->t->kind == AD_TYPE_ARRAY) {
				Dwarf_Attribute a;
				if (dwarf_attr(&child, DW_AT_count, &a))
					b->t->count = udata_attr(&child, DW_AT_count, 0);
				else if (dwarf_attr(&child, DW_AT_upper_bound, &a))
					b->t->count = udata_attr(&child, DW_AT_upper_bound, 0) + 1;
			}
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

static void *copy_array(struct ad_debuginfo *di, const void *src, size_t n, size_t size)
{
	if (!n)
		return NULL;
	void *p = ad_strpool_alloc(&di->pool, n * size);
	if (p)
		memcpy(p, src, n * size);
	return p;
}

static enum ad_type_kind kind_of_tag(int tag)
{
	switch (tag) {
	case DW_TAG_base_type: return AD_TYPE_BASE;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
	case DW_TAG_ptr_to_member_type: return AD_TYPE_POINTER;
	case DW_TAG_structure_type:
	case DW_TAG_class_type: return AD_TYPE_STRUCT;
	case DW_TAG_union_type: return AD_TYPE_UNION;
	case DW_TAG_enumeration_type: return AD_TYPE_CENUM;
	case DW_TAG_array_type: return AD_TYPE_ARRAY;
	case DW_TAG_subroutine_type: return AD_TYPE_FUNCTION;
	case DW_TAG_unspecified_type: return AD_TYPE_VOID;
	default: return AD_TYPE_UNKNOWN;
	}
}

static struct ad_error *convert(struct ad_debuginfo *di, Dwarf_Die *die, struct ad_type **ret)
{
	struct builder *b = malloc(sizeof(*b)); /* large; only the counts in *t matter */
	struct ad_type *t = ad_strpool_alloc(&di->pool, sizeof(*t));
	if (!b || !t) {
		free(b);
		return &ad_error_nomem;
	}
	memset(t, 0, sizeof(*t));
	b->di = di;
	b->t = t;
	int tag = dwarf_tag(die);
	uint64_t off = dwarf_dieoffset(die);
	t->die = off;
	t->kind = kind_of_tag(tag);
	t->name = ad_dwarf_index_name(di, off) ?: intern(di, dwarf_diename(die) ?: "");
	/* Once per type: the decoder asks it of every future of every task. */
	char base[256];
	t->base_name = intern(di, ad_type_base_name(t->name, base, sizeof(base)));
	t->size = udata_attr(die, DW_AT_byte_size, t->kind == AD_TYPE_POINTER ? 8 : 0);
	t->align = (uint32_t)udata_attr(die, DW_AT_alignment, 0);
	t->target_die = ref_attr(die, DW_AT_type);
	t->containing_die = ref_attr(die, DW_AT_containing_type);
	t->decl_file = intern(di, dwarf_decl_file(die));
	int line = 0;
	dwarf_decl_line(die, &line);
	t->decl_line = line > 0 ? (unsigned)line : 0;
	if (tag == DW_TAG_base_type) {
		uint64_t enc = udata_attr(die, DW_AT_encoding, 0);
		t->is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
	}
	read_children(b, die);
	if (t->kind == AD_TYPE_CENUM && t->target_die) {
		/* The underlying integer says the size (when the enum does not)
		 * and the signedness. */
		Dwarf_Die under;
		if (dwarf_offdie(di->dwarf, t->target_die, &under)) {
			if (!t->size)
				t->size = udata_attr(&under, DW_AT_byte_size, 0);
			uint64_t enc = udata_attr(&under, DW_AT_encoding, 0);
			t->is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
		}
	}
	t->fields = copy_array(di, b->fields, t->nfields, sizeof(*t->fields));
	t->variants = copy_array(di, b->variants, t->nvariants, sizeof(*t->variants));
	t->template_params = copy_array(di, b->tparams, t->ntemplate_params, sizeof(*t->template_params));
	t->enumerators = copy_array(di, b->enumerators, t->nenumerators, sizeof(*t->enumerators));
	free(b);
	if ((t->nfields && !t->fields) || (t->nvariants && !t->variants) ||
	    (t->ntemplate_params && !t->template_params) || (t->nenumerators && !t->enumerators))
		return &ad_error_nomem;
	*ret = t;
	return NULL;
}

/* Typedefs and qualifiers are transparent. */
static bool strip_typedefs(struct ad_debuginfo *di, Dwarf_Die *die)
{
	for (int i = 0; i < MAX_TYPEDEF_CHAIN; i++) {
		int tag = dwarf_tag(die);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
		    tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type)
			return true;
		Dwarf_Attribute a;
		if (!dwarf_attr(die, DW_AT_type, &a) || !dwarf_formref_die(&a, die))
			return false;
	}
	return false;
}

static struct ad_type void_type = { .kind = AD_TYPE_VOID, .name = "()" };

struct ad_error *ad_type_from_die_locked(struct ad_debuginfo *di, uint64_t die,
					 const struct ad_type **ret)
{
	if (!die) {
		*ret = &void_type;
		return NULL;
	}
	struct ad_type *t = ad_u64map_get(&di->type_cache, die);
	if (t) {
		*ret = t;
		return NULL;
	}
	Dwarf_Die d;
	if (!dwarf_offdie(di->dwarf, die, &d))
		return dwarf_error("reading type", die);
	if (!strip_typedefs(di, &d)) {
		*ret = &void_type;
		return NULL;
	}
	struct ad_error *err = convert(di, &d, &t);
	if (err)
		return err;
	if (!ad_u64map_put(&di->type_cache, die, t))
		return &ad_error_nomem;
	*ret = t;
	return NULL;
}

struct ad_error *ad_type_from_die(struct ad_debuginfo *di, uint64_t die, const struct ad_type **ret)
{
	pthread_mutex_lock(&di->lock);
	struct ad_error *err = ad_type_from_die_locked(di, die, ret);
	pthread_mutex_unlock(&di->lock);
	return err;
}

/* The type of a field or variant, resolved once and kept beside it: the
 * decoder asks it of every instance, and the lookup takes the debuginfo's
 * lock. Types live as long as the debuginfo, so a published pointer stays
 * valid; threads that race publish the same type. */
static struct ad_error *resolved_type(struct ad_debuginfo *di, uint64_t die,
				      _Atomic(const struct ad_type *) *resolved,
				      const struct ad_type **ret)
{
	const struct ad_type *t = atomic_load_explicit(resolved, memory_order_acquire);
	if (t) {
		*ret = t;
		return NULL;
	}
	struct ad_error *err = ad_type_from_die(di, die, &t);
	if (err)
		return err;
	atomic_store_explicit(resolved, t, memory_order_release);
	*ret = t;
	return NULL;
}

struct ad_error *ad_field_type(struct ad_debuginfo *di, const struct ad_field *f,
			       const struct ad_type **ret)
{
	struct ad_field *mutable = (struct ad_field *)f; /* only its cache is written */
	return resolved_type(di, f->type_die, &mutable->resolved, ret);
}

struct ad_error *ad_variant_type(struct ad_debuginfo *di, const struct ad_variant *v,
				 const struct ad_type **ret)
{
	struct ad_variant *mutable = (struct ad_variant *)v; /* only its cache is written */
	return resolved_type(di, v->type_die, &mutable->resolved, ret);
}

struct ad_error *ad_type_target(struct ad_debuginfo *di, const struct ad_type *t,
				const struct ad_type **ret)
{
	if (!t->target_die)
		return ad_error_create(AD_ERROR_NOT_FOUND, "type %s points to nothing typed",
				       t->name);
	return ad_type_from_die(di, t->target_die, ret);
}

struct ad_error *ad_type_template_param(struct ad_debuginfo *di, const struct ad_type *t,
					const char *name, const struct ad_type **ret)
{
	for (size_t i = 0; i < t->ntemplate_params; i++)
		if (strcmp(t->template_params[i].name, name) == 0)
			return ad_type_from_die(di, t->template_params[i].type_die, ret);
	return ad_error_create(AD_ERROR_NOT_FOUND, "type %s has no template parameter %s", t->name,
			       name);
}

struct ad_error *ad_type_first_param(struct ad_debuginfo *di, const struct ad_type *t,
				     const struct ad_type **ret)
{
	if (t->ntemplate_params)
		return ad_type_from_die(di, t->template_params[0].type_die, ret);
	for (size_t i = 0; i < t->nvariants; i++) {
		const struct ad_type *vt;
		struct ad_error *err = ad_variant_type(di, &t->variants[i], &vt);
		if (err)
			return err;
		if (vt->ntemplate_params)
			return ad_type_from_die(di, vt->template_params[0].type_die, ret);
	}
	return ad_error_create(AD_ERROR_NOT_FOUND, "type %s has no generic parameter", t->name);
}

/* A field's first two bytes rule out most others: strcmp only for those
 * that share them. */
const struct ad_field *ad_type_field(const struct ad_type *t, const char *name)
{
	for (size_t i = 0; i < t->nfields; i++) {
		const char *f = t->fields[i].name;
		if (f[0] == name[0] && (!f[0] || (f[1] == name[1] && strcmp(f, name) == 0)))
			return &t->fields[i];
	}
	return NULL;
}

static uint64_t mask_to(uint64_t v, uint32_t size)
{
	return size >= 8 || size == 0 ? v : v & ((1ull << (size * 8)) - 1);
}

const struct ad_variant *ad_type_variant_for(const struct ad_type *t, uint64_t discr)
{
	return ad_type_variant_for_wide(t, discr, 0);
}

const struct ad_variant *ad_type_variant_for_wide(const struct ad_type *t, uint64_t discr,
						  uint64_t discr_high)
{
	const struct ad_variant *fallback = NULL;
	uint32_t low_size = t->discr_size > 8 ? 8 : t->discr_size;
	uint32_t high_size = t->discr_size > 8 ? t->discr_size - 8 : 0;
	for (size_t i = 0; i < t->nvariants; i++) {
		const struct ad_variant *v = &t->variants[i];
		if (!v->has_discr)
			fallback = v;
		else if (mask_to(v->discr, low_size) == mask_to(discr, low_size) &&
			 (!high_size || mask_to(v->discr_high, high_size) == mask_to(discr_high, high_size)))
			return v;
	}
	return fallback;
}

const struct ad_variant *ad_type_variant_named(struct ad_debuginfo *di, const struct ad_type *t,
					       const char *name)
{
	char buf[256];
	for (size_t i = 0; i < t->nvariants; i++) {
		const struct ad_variant *v = &t->variants[i];
		if (strcmp(v->name, name) == 0)
			return v;
		const struct ad_type *vt;
		struct ad_error *err = ad_variant_type(di, v, &vt);
		if (err) {
			ad_error_destroy(err);
			continue;
		}
		if (strcmp(ad_type_base(vt, buf, sizeof(buf)), name) == 0)
			return v;
	}
	return NULL;
}

/* "a::b::C<x::Y, z::W>" → "C"; "a::E<T>::Variant" → "Variant". Generic
 * arguments may themselves contain "::". */
const char *ad_type_base_name(const char *qualified, char *buf, size_t len)
{
	const char *start = qualified;
	int depth = 0;
	/* From one '<', '>' or ':' to the next (strpbrk skips the rest a
	 * vector at a time: the decoder asks this of long generic names for
	 * every task). */
	for (const char *p = strpbrk(qualified, "<>:"); p; p = strpbrk(p + 1, "<>:")) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && !(p > qualified && p[-1] == '-'))
			depth--; /* "fn(u32) -> T" is no closing bracket */
		else if (depth == 0 && p[0] == ':' && p[1] == ':')
			start = p + 2;
	}
	const char *end = start;
	while (*end && *end != '<')
		end++;
	size_t n = (size_t)(end - start);
	if (n >= len)
		n = len - 1;
	memcpy(buf, start, n);
	buf[n] = '\0';
	return buf;
}

const char *ad_type_base(const struct ad_type *t, char *buf, size_t len)
{
	return t->base_name ? t->base_name : ad_type_base_name(t->name, buf, len);
}

/* One pass, no strlen: the recognisers' and adapters' tables ask this of
 * every future, and most names differ in their first bytes. */
bool ad_name_is(const char *name, const char *path)
{
	while (*path && *name == *path) {
		name++;
		path++;
	}
	return *path == '\0' && (*name == '\0' || *name == '<');
}

bool ad_type_is(const struct ad_type *t, const char *path)
{
	return ad_name_is(t->name, path);
}
