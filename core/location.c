/* SPDX-License-Identifier: MIT */
#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "location.h"

/* DWARF expression stack depth: real locations use two or three entries. */
#define EXPR_STACK_MAX 64

static const char *op_name(unsigned atom)
{
	switch (atom) {
	case DW_OP_entry_value: return "DW_OP_entry_value";
	case DW_OP_GNU_entry_value: return "DW_OP_GNU_entry_value";
	case DW_OP_implicit_value: return "DW_OP_implicit_value";
	case DW_OP_implicit_pointer: return "DW_OP_implicit_pointer";
	case DW_OP_GNU_implicit_pointer: return "DW_OP_GNU_implicit_pointer";
	case DW_OP_bit_piece: return "DW_OP_bit_piece";
	case DW_OP_form_tls_address: return "DW_OP_form_tls_address";
	case DW_OP_GNU_push_tls_address: return "DW_OP_GNU_push_tls_address";
	case DW_OP_call_frame_cfa: return "DW_OP_call_frame_cfa";
	case DW_OP_fbreg: return "DW_OP_fbreg";
	case DW_OP_deref: return "DW_OP_deref";
	case DW_OP_regx: return "DW_OP_regx";
	case DW_OP_bregx: return "DW_OP_bregx";
	case DW_OP_piece: return "DW_OP_piece";
	case DW_OP_stack_value: return "DW_OP_stack_value";
	case DW_OP_convert: return "DW_OP_convert";
	case DW_OP_GNU_convert: return "DW_OP_GNU_convert";
	case DW_OP_GNU_parameter_ref: return "DW_OP_GNU_parameter_ref";
	}
	return NULL;
}

struct expr_eval {
	const struct ad_unwind_frame *frame;
	const struct ad_reader *reader;
	const char *what;          /* "variable `f`" for messages */
	uint64_t stack[EXPR_STACK_MAX];
	size_t depth;
};

static struct ad_error *unsupported_op(const struct expr_eval *e, unsigned atom)
{
	const char *name = op_name(atom);
	if (name)
		return ad_error_create(AD_ERROR_DWARF,
				       "the location of %s uses %s, which asyncdump does not "
				       "evaluate; a build with opt-level = 0 keeps variables in "
				       "memory",
				       e->what, name);
	return ad_error_create(AD_ERROR_DWARF,
			       "the location of %s uses DWARF operation 0x%x, which asyncdump does "
			       "not evaluate; a build with opt-level = 0 keeps variables in memory",
			       e->what, atom);
}

static struct ad_error *push(struct expr_eval *e, uint64_t v)
{
	if (e->depth == EXPR_STACK_MAX)
		return ad_error_create(AD_ERROR_TOO_LARGE,
				       "the location expression of %s overflows its stack",
				       e->what);
	e->stack[e->depth++] = v;
	return NULL;
}

static struct ad_error *need(const struct expr_eval *e, size_t n)
{
	if (e->depth < n)
		return ad_error_create(AD_ERROR_DWARF,
				       "the location expression of %s is malformed (stack "
				       "underflow)",
				       e->what);
	return NULL;
}

static struct ad_error *frame_reg(const struct expr_eval *e, uint64_t reg, uint64_t *ret)
{
	const struct ad_unwind_frame *f = e->frame;
	if (reg >= AD_DWARF_NREGS)
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "%s is in DWARF register %" PRIu64 ", which is not "
				       "recorded in the snapshot",
				       e->what, reg);
	if (!(f->regs_known & (1u << reg)))
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "%s is in DWARF register %" PRIu64 ", whose value in "
				       "frame #%zu (pc 0x%" PRIx64 ") was not saved by its callee",
				       e->what, reg, f->physical, f->pc);
	*ret = f->regs[reg];
	return NULL;
}

static struct ad_error *eval_ops(struct expr_eval *e, const Dwarf_Op *ops, size_t nops,
				 bool allow_fbreg, struct ad_location_value *ret);

/* DW_AT_frame_base of the out-of-line function: a register (rsp/rbp) is
 * the frame base's value, as compilers use it. */
static struct ad_error *frame_base(struct expr_eval *e, uint64_t *ret)
{
	const struct ad_unwind_frame *f = e->frame;
	Dwarf_Attribute attr;
	Dwarf_Die sub = f->subprogram;
	if (!dwarf_attr_integrate(&sub, DW_AT_frame_base, &attr))
		return ad_error_create(AD_ERROR_DWARF,
				       "the function holding %s has no DW_AT_frame_base", e->what);
	Dwarf_Op *ops;
	size_t nops;
	int n = dwarf_getlocation_addr(&attr, f->lookup_pc - f->bias, &ops, &nops, 1);
	if (n <= 0)
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "the frame base of the function holding %s is unknown at "
				       "pc 0x%" PRIx64,
				       e->what, f->lookup_pc);
	struct expr_eval inner = {.frame = f, .reader = e->reader, .what = e->what};
	struct ad_location_value v;
	struct ad_error *err = eval_ops(&inner, ops, nops, false, &v);
	if (err)
		return err;
	*ret = v.value;
	return NULL;
}

static struct ad_error *eval_op(struct expr_eval *e, const Dwarf_Op *op, bool allow_fbreg)
{
	struct ad_error *err;
	uint64_t v;
	unsigned atom = op->atom;
	if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31)
		return push(e, atom - DW_OP_lit0);
	if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) {
		if ((err = frame_reg(e, atom - DW_OP_breg0, &v)))
			return err;
		return push(e, v + op->number);
	}
	switch (atom) {
	case DW_OP_addr:
		return push(e, op->number + e->frame->bias);
	case DW_OP_const1u: case DW_OP_const2u: case DW_OP_const4u: case DW_OP_const8u:
	case DW_OP_const1s: case DW_OP_const2s: case DW_OP_const4s: case DW_OP_const8s:
	case DW_OP_constu: case DW_OP_consts:
		return push(e, op->number);
	case DW_OP_bregx:
		if ((err = frame_reg(e, op->number, &v)))
			return err;
		return push(e, v + op->number2);
	case DW_OP_fbreg:
		if (!allow_fbreg)
			return unsupported_op(e, atom);
		if ((err = frame_base(e, &v)))
			return err;
		return push(e, v + op->number);
	case DW_OP_call_frame_cfa:
		if (!e->frame->has_cfa)
			return ad_error_create(AD_ERROR_NOT_FOUND,
					       "the location of %s needs the frame's CFA, which "
					       "the call frame information does not give at "
					       "pc 0x%" PRIx64,
					       e->what, e->frame->lookup_pc);
		return push(e, e->frame->cfa);
	case DW_OP_plus_uconst:
		if ((err = need(e, 1)))
			return err;
		e->stack[e->depth - 1] += op->number;
		return NULL;
	case DW_OP_plus:
	case DW_OP_minus:
		if ((err = need(e, 2)))
			return err;
		v = e->stack[--e->depth];
		e->stack[e->depth - 1] += atom == DW_OP_plus ? v : -v;
		return NULL;
	case DW_OP_deref:
	case DW_OP_deref_size: {
		if ((err = need(e, 1)))
			return err;
		size_t size = atom == DW_OP_deref ? 8 : (size_t)op->number;
		uint64_t word = 0;
		if (size == 0 || size > 8)
			return unsupported_op(e, atom);
		if ((err = ad_read(e->reader, e->stack[e->depth - 1], &word, size)))
			return ad_error_wrap(err, "evaluating the location of %s", e->what);
		e->stack[e->depth - 1] = word;
		return NULL;
	}
	case DW_OP_dup:
		if ((err = need(e, 1)))
			return err;
		return push(e, e->stack[e->depth - 1]);
	case DW_OP_drop:
		if ((err = need(e, 1)))
			return err;
		e->depth--;
		return NULL;
	case DW_OP_nop:
		return NULL;
	}
	return unsupported_op(e, atom);
}

/* Evaluates until the end or the first DW_OP_piece: the value at offset 0. */
static struct ad_error *eval_ops(struct expr_eval *e, const Dwarf_Op *ops, size_t nops,
				 bool allow_fbreg, struct ad_location_value *ret)
{
	struct ad_location_value v = {.kind = AD_LOCATION_MEMORY};
	bool in_register = false, implicit = false;
	size_t i;
	for (i = 0; i < nops; i++) {
		const Dwarf_Op *op = &ops[i];
		struct ad_error *err;
		if (op->atom == DW_OP_piece) {
			v.size = op->number;
			break;
		}
		if (in_register || implicit)
			return ad_error_create(AD_ERROR_DWARF,
					       "the location of %s continues after a register or "
					       "value description without DW_OP_piece",
					       e->what);
		if ((op->atom >= DW_OP_reg0 && op->atom <= DW_OP_reg31) || op->atom == DW_OP_regx) {
			v.reg = op->atom == DW_OP_regx ? (unsigned)op->number
						      : (unsigned)(op->atom - DW_OP_reg0);
			if ((err = frame_reg(e, v.reg, &v.value)))
				return err;
			v.kind = AD_LOCATION_REGISTER;
			in_register = true;
			continue;
		}
		if (op->atom == DW_OP_stack_value) {
			if ((err = need(e, 1)))
				return err;
			v.kind = AD_LOCATION_IMPLICIT;
			v.value = e->stack[e->depth - 1];
			implicit = true;
			continue;
		}
		if ((err = eval_op(e, op, allow_fbreg)))
			return err;
	}
	if (!in_register && !implicit) {
		/* An empty piece: that part of the variable is optimised out. */
		if (e->depth == 0)
			return ad_error_create(AD_ERROR_NOT_FOUND,
					       "%s is optimised out at pc 0x%" PRIx64, e->what,
					       e->frame->lookup_pc);
		v.value = e->stack[e->depth - 1];
	}
	*ret = v;
	return NULL;
}

struct ad_error *ad_unwind_variable_location(const struct ad_unwind_frame *frame,
					     Dwarf_Die *var, const struct ad_reader *reader,
					     struct ad_location_value *ret)
{
	const char *name = dwarf_diename(var);
	char what[128];
	snprintf(what, sizeof(what), "variable `%s`", name ? name : "?");
	Dwarf_Attribute attr;
	/* The concrete DIE holds the location: never the abstract origin's. */
	if (!dwarf_attr(var, DW_AT_location, &attr))
		return ad_error_create(AD_ERROR_NOT_FOUND, "%s is optimised out (no location)",
				       what);
	Dwarf_Op *ops;
	size_t nops;
	int n = dwarf_getlocation_addr(&attr, frame->lookup_pc - frame->bias, &ops, &nops, 1);
	if (n < 0)
		return ad_error_create(AD_ERROR_DWARF, "reading the location of %s failed: %s",
				       what, dwarf_errmsg(-1));
	if (n == 0)
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "%s is optimised out at pc 0x%" PRIx64, what,
				       frame->lookup_pc);
	struct expr_eval e = {.frame = frame, .reader = reader, .what = what};
	return eval_ops(&e, ops, nops, true, ret);
}

/* A location that is the stack pointer or the frame base plus a constant. */
static bool is_stack_slot(const Dwarf_Op *ops, size_t nops)
{
	if (nops == 0 || (ops[0].atom != DW_OP_breg0 + AD_DWARF_RSP && ops[0].atom != DW_OP_fbreg))
		return false;
	for (size_t i = 1; i < nops; i++)
		if (ops[i].atom != DW_OP_plus_uconst && !(ops[i].atom == DW_OP_piece && i == nops - 1))
			return false;
	return true;
}

size_t ad_unwind_variable_stack_slots(const struct ad_unwind_frame *frame, Dwarf_Die *var,
				      const struct ad_reader *reader, uint64_t *ret, size_t max)
{
	Dwarf_Attribute attr;
	if (!dwarf_attr(var, DW_AT_location, &attr))
		return 0;
	size_t n = 0;
	Dwarf_Addr base, start, end;
	Dwarf_Op *ops;
	size_t nops;
	ptrdiff_t offset = 0;
	while (n < max &&
	       (offset = dwarf_getlocations(&attr, offset, &base, &start, &end, &ops, &nops)) > 0) {
		if (!is_stack_slot(ops, nops))
			continue;
		struct expr_eval e = {.frame = frame, .reader = reader, .what = "a stack slot"};
		struct ad_location_value v;
		struct ad_error *err = eval_ops(&e, ops, nops, true, &v);
		if (err) {
			ad_error_destroy(err);
			continue;
		}
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = ret[i] == v.value;
		if (!seen)
			ret[n++] = v.value;
	}
	return n;
}

