/* SPDX-License-Identifier: MIT */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asyncdump/debuginfo.h"
#include "debuginfo_internal.h"
#include "strpool.h"
#include "u64map.h"
#include "unwind.h"

/* A vDSO is two pages; anything much larger is not one. */
#define VDSO_MAX_SIZE (64 * 1024)
/* Enclosing scopes of one DIE: namespaces, types, inline chain. */
#define SCOPE_MAX_DEPTH 128
/* Scope chains kept per unwinder, by pc; emptied when full. */
#define SCOPE_CACHE_MAX 4096

struct ad_unwinder {
	Dwfl_Callbacks callbacks;      /* dwfl_callbacks with this unwinder's search path */
	char *search_path;
	Dwfl *dwfl;                    /* every mapped module, for its CFI only */
	pid_t pid;
	uint64_t modules_signature;    /* of the ELF mappings it knows (modules_signature()) */
	const struct ad_snapshot *snap; /* the snapshot being unwound, during a call only */
	/* The executable's DWARF: its functions, scopes and names, read
	 * through the binary's debuginfo (one index, shared by every process of
	 * the binary). */
	struct ad_debuginfo *di;       /* a reference */
	Dwfl_Module *exe_module;
	uint64_t exe_bias;             /* process address = DWARF address + exe_bias */
	/* The scope chain of each DWARF pc seen (struct scope_chain, in
	 * scope_pool): a process's parked threads stop at the same few pcs
	 * sample after sample, and walking a CU's DIEs to find their scopes
	 * was most of a warm sample's unwinding. Guarded by di->lock. */
	struct ad_u64map scopes;
	struct ad_strpool scope_pool;
};

struct scope_chain {
	int n;
	Dwarf_Die die[];               /* innermost first */
};

/* ---- errors */

static struct ad_error *dwfl_error(const char *fmt, const char *what)
{
	return ad_error_create(AD_ERROR_DWARF, fmt, what, dwfl_errmsg(-1));
}

/* ---- modules */

/* Debuginfo is looked up locally only (the file itself, then
 * /usr/lib/debug/.build-id): dwfl_standard_find_debuginfo would ask
 * debuginfod servers over the network when DEBUGINFOD_URLS is set, which
 * is no place for a sampler to block. */
static int find_debuginfo_locally(Dwfl_Module *mod, void **userdata, const char *modname,
				  Dwarf_Addr base, const char *file_name,
				  const char *debuglink_file, GElf_Word debuglink_crc,
				  char **debuginfo_file_name)
{
	return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = find_debuginfo_locally,
};

static bool is_vdso(const struct ad_mapping *m)
{
	return m->path && strcmp(m->path, "[vdso]") == 0;
}

/* The first mapping of a file (offset 0) is where its ELF image starts. */
static bool is_file_start(const struct ad_mapping *m)
{
	return m->path && m->path[0] == '/' && m->offset == 0;
}

/* Which ELF files are mapped where: an unwinder made for one set of
 * modules cannot unwind through another (a library loaded since). */
static uint64_t modules_signature(const struct ad_snapshot *snap)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < snap->nmappings; i++) {
		const struct ad_mapping *m = &snap->mappings[i];
		if (!is_file_start(m) && !is_vdso(m))
			continue;
		for (const char *p = m->path; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
		for (int shift = 0; shift < 64; shift += 8)
			h = (h ^ ((m->start >> shift) & 0xff)) * 0x100000001b3ull;
	}
	return h;
}

static bool already_reported(const struct ad_snapshot *snap, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (is_file_start(&snap->mappings[j]) &&
		    strcmp(snap->mappings[j].path, snap->mappings[i].path) == 0)
			return true;
	return false;
}

/* The file as the target sees it: its path may be in another mount
 * namespace, or deleted since it was mapped. */
static int open_mapped_file(pid_t pid, const struct ad_mapping *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	char alt[PATH_MAX];
	if (snprintf(alt, sizeof(alt), "/proc/%d/root%s", (int)pid, m->path) < (int)sizeof(alt)) {
		fd = open(alt, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	snprintf(alt, sizeof(alt), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start,
		 m->end);
	return open(alt, O_RDONLY | O_CLOEXEC);
}

/* A core's files by their paths only (its pid may be another process's
 * now), and only regular files: a core may name a FIFO or a device. */
static int open_core_file(const struct ad_mapping *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Files that are not ELF (locale archives, data files) are skipped. */
static bool report_file(Dwfl *dwfl, const struct ad_snapshot *snap, const struct ad_mapping *m)
{
	int fd = snap->from_core ? open_core_file(m) : open_mapped_file(snap->pid, m);
	if (fd < 0)
		return false;
	/* On success the module owns fd. */
	if (!dwfl_report_elf(dwfl, m->path, m->path, fd, m->start, false)) {
		close(fd);
		return false;
	}
	return true;
}

/* The vDSO exists only in memory: copy it into a memfd so libdwfl can open
 * it like a file and use its CFI (a thread sampled inside clock_gettime). */
static void report_vdso(Dwfl *dwfl, const struct ad_snapshot *snap, const struct ad_mapping *m)
{
	uint64_t size = m->end - m->start;
	if (size == 0 || size > VDSO_MAX_SIZE)
		return;
	void *image = malloc(size);
	if (!image)
		return;
	struct ad_error *err = ad_read(snap->reader, m->start, image, size);
	int fd = -1;
	if (!err)
		fd = memfd_create("asyncdump-vdso", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, image, size) == (ssize_t)size) {
		if (!dwfl_report_elf(dwfl, "[vdso]", "[vdso]", fd, m->start, false))
			close(fd);
	} else if (fd >= 0) {
		close(fd);
	}
	ad_error_destroy(err);
	free(image);
}

static struct ad_error *report_modules(Dwfl *dwfl, const struct ad_snapshot *snap)
{
	bool have_exe = false;
	dwfl_report_begin(dwfl);
	for (size_t i = 0; i < snap->nmappings; i++) {
		const struct ad_mapping *m = &snap->mappings[i];
		if (is_vdso(m)) {
			report_vdso(dwfl, snap, m);
			continue;
		}
		if (!is_file_start(m) || already_reported(snap, i))
			continue;
		bool reported = report_file(dwfl, snap, m);
		if (snap->exe && strcmp(m->path, snap->exe) == 0) {
			if (!reported)
				return ad_error_create(AD_ERROR_NO_DEBUGINFO,
						       "cannot open the executable %s of process "
						       "%d for unwinding: %s",
						       m->path, (int)snap->pid, dwfl_errmsg(-1));
			have_exe = true;
		}
	}
	if (dwfl_report_end(dwfl, NULL, NULL) != 0)
		return dwfl_error("reporting the modules of %s to libdwfl failed: %s",
				  snap->exe ? snap->exe : "the process");
	if (!have_exe)
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "the executable %s of process %d is not among its mappings; "
				       "was the snapshot taken from a complete /proc/PID/maps?",
				       snap->exe ? snap->exe : "(unknown)", (int)snap->pid);
	return NULL;
}

/* ---- thread callbacks: the snapshot as libdwfl's process */

static const struct ad_thread *thread_after(const struct ad_snapshot *snap,
					    const struct ad_thread *prev)
{
	size_t next = prev ? (size_t)(prev - snap->threads) + 1 : 0;
	return next < snap->nthreads ? &snap->threads[next] : NULL;
}

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	struct ad_unwinder *u = dwfl_arg;
	if (!u->snap)
		return 0;
	const struct ad_thread *t = thread_after(u->snap, *thread_argp);
	if (!t)
		return 0;
	*thread_argp = (void *)t;
	return t->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	struct ad_unwinder *u = dwfl_arg;
	if (!u->snap)
		return false;
	for (size_t i = 0; i < u->snap->nthreads; i++) {
		if (u->snap->threads[i].tid == tid) {
			*thread_argp = (void *)&u->snap->threads[i];
			return true;
		}
	}
	return false;
}

/* set_initial_registers() gets no unwinder: the guess travels with the
 * thread through these, set around each dwfl_getthread_frames(). */
static __thread bool seed_has_rbp;
static __thread uint64_t seed_rbp;

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *dwfl_arg)
{
	struct ad_unwinder *u = dwfl_arg;
	uint64_t word;
	struct ad_error *err = ad_read(u->snap->reader, addr, &word, sizeof(word));
	if (err) {
		ad_error_destroy(err);
		return false;
	}
	*result = word;
	return true;
}

static void regs_to_dwarf(const struct ad_regs *r, Dwarf_Word out[AD_DWARF_NREGS])
{
	out[AD_DWARF_RAX] = r->rax;
	out[AD_DWARF_RDX] = r->rdx;
	out[AD_DWARF_RCX] = r->rcx;
	out[AD_DWARF_RBX] = r->rbx;
	out[AD_DWARF_RSI] = r->rsi;
	out[AD_DWARF_RDI] = r->rdi;
	out[AD_DWARF_RBP] = r->rbp;
	out[AD_DWARF_RSP] = r->rsp;
	out[AD_DWARF_R8] = r->r8;
	out[AD_DWARF_R9] = r->r9;
	out[AD_DWARF_R10] = r->r10;
	out[AD_DWARF_R11] = r->r11;
	out[AD_DWARF_R12] = r->r12;
	out[AD_DWARF_R13] = r->r13;
	out[AD_DWARF_R14] = r->r14;
	out[AD_DWARF_R15] = r->r15;
	out[AD_DWARF_RIP] = r->rip;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct ad_thread *t = thread_arg;
	if (t->partial_regs) {
		/* Read without a stop: the others are unknown, not zero. */
		Dwarf_Word sp = t->regs.rsp, bp = seed_rbp;
		dwfl_thread_state_register_pc(thread, t->regs.rip);
		return dwfl_thread_state_registers(thread, AD_DWARF_RSP, 1, &sp) &&
		       (!seed_has_rbp || dwfl_thread_state_registers(thread, AD_DWARF_RBP, 1, &bp));
	}
	Dwarf_Word regs[AD_DWARF_NREGS];
	regs_to_dwarf(&t->regs, regs);
	return dwfl_thread_state_registers(thread, 0, AD_DWARF_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* ---- the unwinder */

struct ad_error *ad_unwinder_create(const struct ad_snapshot *snap, const char *debuginfo_dirs,
				    struct ad_debuginfo *di, struct ad_unwinder **ret)
{
	if (!snap || !snap->reader || !di)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "unwinding needs a snapshot with a memory reader and the "
				       "executable's debuginfo");
	struct ad_unwinder *u = calloc(1, sizeof(*u));
	if (!u)
		return &ad_error_nomem;
	u->pid = snap->pid;
	ad_u64map_init(&u->scopes);
	ad_strpool_init(&u->scope_pool);
	ad_debuginfo_ref(di);
	u->di = di;
	struct ad_error *err = ad_debuginfo_search_path(debuginfo_dirs, &u->search_path);
	if (err) {
		ad_debuginfo_unref(di);
		free(u);
		return err;
	}
	u->callbacks = dwfl_callbacks;
	u->callbacks.debuginfo_path = &u->search_path;
	u->dwfl = dwfl_begin(&u->callbacks);
	if (!u->dwfl) {
		free(u->search_path);
		free(u);
		return dwfl_error("starting libdwfl for %s failed: %s", "unwinding");
	}
	/* The snapshot serves the module images read from memory (vDSO). */
	u->snap = snap;
	err = report_modules(u->dwfl, snap);
	u->snap = NULL;
	u->modules_signature = modules_signature(snap);
	const struct ad_mapping *exe = ad_snapshot_exe_mapping(snap);
	if (!err && exe) {
		u->exe_module = dwfl_addrmodule(u->dwfl, exe->start);
		u->exe_bias = ad_debuginfo_load_bias(di, exe->start);
	}
	if (!err && !dwfl_attach_state(u->dwfl, NULL, snap->pid, &thread_callbacks, u))
		err = dwfl_error("preparing to unwind the threads of %s failed: %s",
				 snap->exe ? snap->exe : "the process");
	if (err) {
		ad_unwinder_destroy(u);
		return err;
	}
	*ret = u;
	return NULL;
}

void ad_unwinder_destroy(struct ad_unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u->search_path);
	ad_u64map_deinit(&u->scopes);
	ad_strpool_deinit(&u->scope_pool);
	ad_debuginfo_unref(u->di);
	free(u);
}

bool ad_unwinder_matches(const struct ad_unwinder *u, const struct ad_snapshot *snap,
			 const struct ad_debuginfo *di)
{
	return u && snap && snap->pid == u->pid && u->di == di &&
	       modules_signature(snap) == u->modules_signature;
}

/* ---- frames */

struct frames_builder {
	struct ad_unwinder *u;
	struct ad_unwind *uw;
	size_t cap;
	bool pc_unknown;     /* libdwfl could not give the next frame's pc */
	struct ad_error *err;
};

static struct ad_unwind_frame *new_frame(struct frames_builder *b)
{
	struct ad_unwind *uw = b->uw;
	if (uw->nframes == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 32;
		struct ad_unwind_frame *frames = realloc(uw->frames, cap * sizeof(*frames));
		if (!frames)
			return NULL;
		uw->frames = frames;
		b->cap = cap;
	}
	struct ad_unwind_frame *f = &uw->frames[uw->nframes++];
	memset(f, 0, sizeof(*f));
	return f;
}

static bool is_function_tag(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/* The CFI of f's pc in its module's .eh_frame (source 0) or .debug_frame
 * (1: only where .eh_frame has nothing: asking for it loads the module's
 * whole DWARF, a libc's separate debug file decompressed, the cost of a
 * process's first capture); free() it. */
static bool cfi_frame(const struct ad_unwind_frame *f, int source, Dwarf_Frame **ret)
{
	if (!f->module)
		return false;
	Dwarf_Addr bias = 0;
	Dwarf_CFI *cfi = source == 0 ? dwfl_module_eh_cfi(f->module, &bias)
				     : dwfl_module_dwarf_cfi(f->module, &bias);
	return cfi && dwarf_cfi_addrframe(cfi, f->lookup_pc - bias, ret) == 0;
}

/* Whether f is where a stack starts (_start, clone3): its CFI leaves the
 * return address undefined. */
static bool is_stack_start(const struct ad_unwind_frame *f)
{
	for (int i = 0; i < 2; i++) {
		Dwarf_Frame *frame;
		if (!cfi_frame(f, i, &frame))
			continue;
		Dwarf_Op ops_mem[3], *ops;
		size_t nops;
		/* libdw: undefined is no expression at ops_mem; "same value"
		 * is no expression at NULL. */
		bool undefined = dwarf_frame_register(frame, AD_DWARF_RIP, ops_mem, &ops, &nops) == 0 &&
				 nops == 0 && ops != NULL;
		free(frame);
		return undefined;
	}
	return false;
}

/* The CFA of a frame from the module's CFI: almost always "register +
 * offset" (rsp+N, or rbp+16 after the prologue). */
static bool compute_cfa(const struct ad_unwind_frame *f, uint64_t *ret)
{
	for (int i = 0; i < 2; i++) {
		Dwarf_Frame *frame;
		if (!cfi_frame(f, i, &frame))
			continue;
		Dwarf_Op *ops;
		size_t nops;
		bool ok = false;
		if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1) {
			unsigned reg = ~0u;
			int64_t offset = 0;
			if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
				reg = ops[0].atom - DW_OP_breg0;
				offset = (int64_t)ops[0].number;
			} else if (ops[0].atom == DW_OP_bregx) {
				reg = (unsigned)ops[0].number;
				offset = (int64_t)ops[0].number2;
			}
			if (reg < AD_DWARF_NREGS && (f->regs_known & (1u << reg))) {
				*ret = f->regs[reg] + (uint64_t)offset;
				ok = true;
			}
		}
		free(frame);
		if (ok)
			return true;
	}
	return false;
}

/* Fills the physical part of `f` (pc, registers, module) from libdwfl's frame. */
static bool read_physical(Dwfl *dwfl, Dwfl_Frame *state, struct ad_unwind_frame *f)
{
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return false;
	f->pc = pc;
	f->is_activation = activation;
	f->lookup_pc = activation || pc == 0 ? pc : pc - 1;
	for (unsigned r = 0; r < AD_DWARF_NREGS; r++) {
		Dwarf_Word v;
		if (dwfl_frame_reg(state, r, &v) == 0) {
			f->regs[r] = v;
			f->regs_known |= 1u << r;
		}
	}
	f->module = dwfl_addrmodule(dwfl, f->lookup_pc);
	f->has_cfa = compute_cfa(f, &f->cfa);
	return true;
}

static bool is_pc_scope_tag(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_lexical_block;
}

/* ---- scopes at a pc */

struct scope_walk {
	Dwarf_Addr pc;
	int len;                          /* path[0..len) ends at the innermost scope */
	Dwarf_Die path[SCOPE_MAX_DEPTH];  /* outermost first */
};

/* The inlined calls and lexical blocks containing pc, from `parent` in. */
static void find_scopes(Dwarf_Die *parent, struct scope_walk *w, int depth)
{
	Dwarf_Die child;
	if (depth == SCOPE_MAX_DEPTH || dwarf_child(parent, &child) != 0)
		return;
	do {
		if (!is_pc_scope_tag(dwarf_tag(&child)) || dwarf_haspc(&child, w->pc) <= 0)
			continue;
		w->path[depth] = child;
		w->len = depth + 1;
		/* Scopes containing pc nest: siblings cannot contain it too. */
		find_scopes(&child, w, depth + 1);
		return;
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* The DIEs enclosing the innermost scope at DWARF address pc, innermost
 * first (lexical blocks, inlined calls, up to the subprogram), in the
 * unwinder's pool; NULL: no memory. */
static const struct scope_chain *walk_scope_chain(struct ad_unwinder *u, uint64_t pc)
{
	struct scope_walk *w = malloc(sizeof(*w));
	if (!w)
		return NULL;
	w->pc = pc;
	w->len = 0;
	struct ad_error *err = ad_debuginfo_function_die_locked(u->di, pc, &w->path[0]);
	if (!err) {
		w->len = 1;
		find_scopes(&w->path[0], w, 1);
	} else if (ad_error_is_fatal(err)) {
		free(w);
		return NULL;
	} else {
		ad_error_destroy(err); /* no DWARF for this code: a frame without a function */
	}
	struct scope_chain *c =
		ad_strpool_alloc(&u->scope_pool, sizeof(*c) + (size_t)w->len * sizeof(c->die[0]));
	if (c) {
		c->n = w->len;
		for (int i = 0; i < w->len; i++)
			c->die[i] = w->path[w->len - 1 - i];
	}
	free(w);
	return c;
}

/* The scope chain at the frame's pc. Only the executable's code is looked
 * up: the functions that matter here (block_on frames, their variables) are
 * Rust code linked into it, and other modules' DWARF (a libc's separate
 * debug file) would be most of a first capture. -1: no memory. The caller
 * holds the debuginfo's lock. */
static int scope_chain(struct ad_unwinder *u, struct ad_unwind_frame *f, const Dwarf_Die **ret)
{
	if (!f->module || f->module != u->exe_module)
		return 0;
	f->bias = u->exe_bias;
	uint64_t pc = f->lookup_pc - u->exe_bias;
	const struct scope_chain *c = ad_u64map_get(&u->scopes, pc);
	if (!c) {
		if (u->scopes.len >= SCOPE_CACHE_MAX) {
			ad_u64map_clear(&u->scopes);
			ad_strpool_reset(&u->scope_pool);
		}
		if (!(c = walk_scope_chain(u, pc)) || !ad_u64map_put(&u->scopes, pc, (void *)c))
			return -1;
	}
	*ret = c->die;
	return c->n;
}

static struct ad_error *expand_inline_chain(struct frames_builder *b,
					    const struct ad_unwind_frame *physical,
					    const Dwarf_Die *chain, int n)
{
	int sub = -1;
	for (int i = 0; i < n && sub < 0; i++)
		if (dwarf_tag((Dwarf_Die *)&chain[i]) == DW_TAG_subprogram)
			sub = i;
	if (sub < 0)
		return NULL;
	int first = 0;
	for (int i = 0; i <= sub; i++) {
		if (!is_function_tag(dwarf_tag((Dwarf_Die *)&chain[i])))
			continue;
		struct ad_unwind_frame *f = new_frame(b);
		if (!f)
			return &ad_error_nomem;
		*f = *physical;
		f->has_function = true;
		f->inlined = i < sub;
		f->function = chain[i];
		f->subprogram = chain[sub];
		f->nscopes = (size_t)(i - first + 1);
		f->scopes = malloc(f->nscopes * sizeof(*f->scopes));
		if (!f->scopes) {
			f->nscopes = 0;
			return &ad_error_nomem;
		}
		memcpy(f->scopes, &chain[first], f->nscopes * sizeof(*f->scopes));
		first = i + 1;
	}
	return NULL;
}

static int frame_callback(Dwfl_Frame *state, void *arg)
{
	struct frames_builder *b = arg;
	struct ad_unwind *uw = b->uw;
	if (uw->nphysical == AD_UNWIND_MAX_FRAMES) {
		uw->truncated = true;
		return DWARF_CB_ABORT;
	}
	struct ad_unwind_frame physical = {.physical = uw->nphysical};
	if (!read_physical(b->u->dwfl, state, &physical)) {
		b->pc_unknown = true;
		return DWARF_CB_ABORT;
	}
	uw->nphysical++;
	const Dwarf_Die *chain = NULL;
	pthread_mutex_lock(&b->u->di->lock);
	int n = scope_chain(b->u, &physical, &chain);
	pthread_mutex_unlock(&b->u->di->lock);
	if (n < 0) {
		b->err = &ad_error_nomem;
		return DWARF_CB_ABORT;
	}
	size_t before = uw->nframes;
	b->err = expand_inline_chain(b, &physical, chain, n);
	if (b->err)
		return DWARF_CB_ABORT;
	if (uw->nframes == before) {
		/* No DWARF here (libc, stripped code): still a frame. */
		struct ad_unwind_frame *f = new_frame(b);
		if (!f) {
			b->err = &ad_error_nomem;
			return DWARF_CB_ABORT;
		}
		*f = physical;
	}
	return DWARF_CB_OK;
}

static struct ad_error *unwind_once(struct ad_unwinder *u, const struct ad_snapshot *snap,
				    pid_t tid, bool has_rbp, uint64_t rbp, struct ad_unwind **ret);

#define RBP_SCAN_BYTES 16384 /* of stack above the stack pointer */
#define RBP_MAX_TRIES 8

static bool is_executable(const struct ad_snapshot *snap, uint64_t address)
{
	const struct ad_mapping *m = ad_snapshot_mapping(snap, address);
	return m && m->perms[2] == 'x';
}

/* Whether `ret` follows a call instruction: e8 rel32, or ff /2 (call
 * through a register or memory, 2 to 7 bytes). */
static bool follows_call(const struct ad_snapshot *snap, uint64_t ret)
{
	uint8_t code[7];
	struct ad_error *err = ad_read(snap->reader, ret - sizeof(code), code, sizeof(code));
	if (err) {
		ad_error_destroy(err);
		return false;
	}
	if (code[2] == 0xe8)
		return true;
	for (size_t len = 2; len <= 7; len++)
		if (code[7 - len] == 0xff && ((code[8 - len] >> 3) & 7) == 2)
			return true;
	return false;
}

/* A thread read without a stop (only rip and rsp known) whose unwinding
 * stopped at a frame-pointer frame: no frame between it and the system
 * call saved rbp (else the unwinder would have found it on the stack), so
 * rbp then was that frame's, which points at [saved rbp][return address]
 * on the stack above: the nearest 16-aligned slot followed by an address
 * just after a call (slots between the stack pointer and it hold the
 * frame's own locals; farther ones, older frames). A slot of an older
 * frame may unwind too, skipping frames: the nearest slot whose unwinding
 * reaches where the stack starts is taken. */
static struct ad_error *guess_frame_pointer(struct ad_unwinder *u, const struct ad_snapshot *snap,
					    const struct ad_thread *thread, struct ad_unwind **uw)
{
	uint64_t sp = (*uw)->frames[(*uw)->nframes - 1].regs[AD_DWARF_RSP];
	if (!((*uw)->frames[(*uw)->nframes - 1].regs_known & (1u << AD_DWARF_RSP)))
		sp = thread->regs.rsp;
	unsigned tries = 0;
	for (uint64_t at = (sp + 15) & ~(uint64_t)15; at < sp + RBP_SCAN_BYTES && tries < RBP_MAX_TRIES;
	     at += 16) {
		uint64_t ret;
		struct ad_error *err = ad_read_u64(snap->reader, at + 8, &ret);
		if (err) {
			ad_error_destroy(err);
			break;
		}
		if (!is_executable(snap, ret) || !follows_call(snap, ret))
			continue;
		tries++;
		struct ad_unwind *other;
		if ((err = unwind_once(u, snap, thread->tid, true, at, &other))) {
			if (ad_error_is_fatal(err))
				return err;
			ad_error_destroy(err);
			continue;
		}
		if (other->complete) {
			ad_unwind_destroy(*uw);
			*uw = other;
			return NULL;
		}
		ad_unwind_destroy(other);
	}
	return NULL;
}

struct ad_error *ad_unwind_thread(struct ad_unwinder *u, const struct ad_snapshot *snap,
				  pid_t tid, struct ad_unwind **ret)
{
	const struct ad_thread *thread = NULL;
	for (size_t i = 0; i < snap->nthreads && !thread; i++)
		if (snap->threads[i].tid == tid)
			thread = &snap->threads[i];
	if (!thread)
		return ad_error_create(AD_ERROR_NOT_FOUND,
				       "process %d had no thread %d when it was sampled",
				       (int)snap->pid, (int)tid);
	if (!ad_unwinder_matches(u, snap, u->di))
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT,
				       "this unwinder was made for another process, or for other "
				       "mappings, than the snapshot of process %d: make a new one",
				       (int)snap->pid);
	if (thread->running)
		return ad_error_create(AD_ERROR_NOT_FOUND, "thread %d of process %d was running on "
				       "a CPU and was not stopped: no stack to unwind", (int)tid,
				       (int)snap->pid);
	struct ad_unwind *uw;
	struct ad_error *err = unwind_once(u, snap, tid, false, 0, &uw);
	if (!err && thread->partial_regs && !uw->complete)
		err = guess_frame_pointer(u, snap, thread, &uw);
	if (err)
		return err;
	*ret = uw;
	return NULL;
}

static struct ad_error *unwind_once(struct ad_unwinder *u, const struct ad_snapshot *snap,
				    pid_t tid, bool has_rbp, uint64_t rbp, struct ad_unwind **ret)
{
	struct ad_unwind *uw = calloc(1, sizeof(*uw));
	if (!uw)
		return &ad_error_nomem;
	uw->tid = tid;
	uw->unwinder = u;
	uw->debuginfo = u->di;
	struct frames_builder b = {.u = u, .uw = uw};
	u->snap = snap;
	seed_has_rbp = has_rbp;
	seed_rbp = rbp;
	int rc = dwfl_getthread_frames(u->dwfl, tid, frame_callback, &b);
	seed_has_rbp = false;
	u->snap = NULL;
	struct ad_error *err = b.err;
	if (!err && (rc == -1 || b.pc_unknown)) {
		/* The usual end of a stack is an error too ("no matching
		 * address range" past the outermost frame): keep the reason. */
		if (uw->nframes == 0)
			err = ad_error_create(AD_ERROR_DWARF,
					      "cannot unwind thread %d of process %d: %s",
					      (int)tid, (int)snap->pid, dwfl_errmsg(-1));
		else if (!(uw->end_reason = strdup(dwfl_errmsg(-1))))
			err = &ad_error_nomem;
	}
	if (err) {
		ad_unwind_destroy(uw);
		return err;
	}
	uw->complete = uw->nframes && !uw->truncated && is_stack_start(&uw->frames[uw->nframes - 1]);
	*ret = uw;
	return NULL;
}

void ad_unwind_destroy(struct ad_unwind *uw)
{
	if (!uw)
		return;
	for (size_t i = 0; i < uw->nframes; i++)
		free(uw->frames[i].scopes);
	free(uw->frames);
	free(uw->end_reason);
	free(uw);
}
