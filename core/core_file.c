/* SPDX-License-Identifier: MIT */
/* An ELF core as a snapshot (include/asyncdump/core.h).
 *
 * Only the program headers and the notes are read when the core is opened;
 * memory is read on demand with pread, through a block cache, so a core of
 * any size costs what the decoder touches. A PT_LOAD segment holds
 * p_filesz bytes of memory at p_offset: the rest of the mapping (p_memsz) was
 * left out by the dumper (the kernel's coredump_filter leaves out the
 * unchanged pages of files; gcore does the same) and is read from the file
 * NT_FILE names, as a live snapshot reads read-only mappings live. Bytes the
 * program headers promise past the end of the file were lost (a truncated
 * core): they read as faults, and the warnings say which mappings lost what. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>

#include "asyncdump/core.h"
#include "proc.h"
#include "segments.h"

#define MAX_PHDRS ((size_t)1 << 20)
#define MAX_NOTES_BYTES ((uint64_t)64 << 20)
#define MAX_THREADS 65536
#define MAX_WARNINGS 16
#define MISSING_LISTED 4 /* mappings named in the truncation warning */
#define CACHE_BLOCK 4096
#define ELF_HEADER_MAX 4096 /* of the executable, for its build-id note */
#define NOTE_MAX 4096
#define MAX_NOTE_SEGMENTS 8
#define DEFAULT_MAX_DECOMPRESSED ((uint64_t)16 << 30)

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

/* ---- memory */

struct mapped_file {
	char *path;
	int fd;       /* -1: not opened yet or cannot be */
	bool tried;
};

struct segment {
	uint64_t start, end;  /* p_vaddr, p_vaddr + p_memsz */
	uint64_t offset;      /* p_offset */
	uint64_t filesz;      /* bytes the core was meant to hold */
	uint64_t present;     /* of those, the bytes really in the file */
	int file;             /* index in files, -1: anonymous */
	uint64_t file_offset; /* of `start` in that file */
	bool writable;
};

AD_RANGE_TYPE(struct segment);

static bool is_read_only_file(const struct segment *s)
{
	return s->file >= 0 && !s->writable;
}

struct core_memory {
	int fd;
	const char *name;     /* points into struct ad_core */
	size_t nsegments;
	struct segment *segments; /* sorted by start */
	size_t nfiles;
	struct mapped_file *files;
};

/* Reads exactly len bytes at off, or fewer at the end of the file. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int file_fd(struct core_memory *m, int i)
{
	struct mapped_file *f = &m->files[i];
	if (!f->tried) {
		/* Regular files only: a core may name a FIFO or a device. */
		struct stat st;
		f->tried = true;
		f->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (f->fd >= 0 && (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode))) {
			close(f->fd);
			f->fd = -1;
		}
	}
	return f->fd;
}

/* n bytes at `rel` into segment s, from the core or from the mapped file. */
static struct ad_error *read_in_segment(struct core_memory *m, const struct segment *s,
					uint64_t rel, char *buf, size_t n)
{
	uint64_t at = s->start + rel;
	if (rel < s->present) {
		size_t k = s->present - rel < n ? (size_t)(s->present - rel) : n;
		ssize_t got = pread_full(m->fd, buf, k, s->offset + rel);
		if (got < 0)
			return ad_error_os(errno, "core %s: reading 0x%" PRIx64, m->name, at);
		if ((size_t)got < k)
			return ad_error_fault(at + (uint64_t)got, n - (size_t)got,
					      "core %s: 0x%" PRIx64 " is past the end of the core "
					      "(it shrank while being read)", m->name,
					      at + (uint64_t)got);
		if (k < n)
			return read_in_segment(m, s, rel + k, buf + k, n - k);
		return NULL;
	}
	/* What a truncation lost of a file's unchanged pages is still in the file. */
	if (rel < s->filesz && !is_read_only_file(s))
		return ad_error_fault(at, n, "core %s: 0x%" PRIx64 " was lost: the core is "
				      "truncated", m->name, at);
	if (s->file < 0)
		return ad_error_fault(at, n, "core %s: 0x%" PRIx64 " was left out of the core "
				      "and is no file's contents", m->name, at);
	int fd = file_fd(m, s->file);
	if (fd < 0)
		return ad_error_fault(at, n, "core %s: 0x%" PRIx64 " was left out of the core "
				      "and its file %s cannot be opened", m->name, at,
				      m->files[s->file].path);
	ssize_t got = pread_full(fd, buf, n, s->file_offset + rel);
	if (got < 0)
		return ad_error_fault(at, n, "core %s: reading 0x%" PRIx64 " from %s failed",
				      m->name, at, m->files[s->file].path);
	/* A mapping's last page past the end of its file reads as zeros. */
	memset(buf + got, 0, n - (size_t)got);
	return NULL;
}

/* What one segment holds of a read (segments.h). */
static struct ad_error *core_piece(void *ctx, const struct ad_piece_read *r, size_t *got)
{
	struct core_memory *m = ctx;
	const struct segment *s = ad_range_find(m->segments, m->nsegments, sizeof(*m->segments),
						r->at);
	if (!s)
		return ad_error_fault(r->at, r->want, "core %s: 0x%" PRIx64 " is not mapped "
				      "(reading %zu bytes at 0x%" PRIx64 ")", m->name, r->at,
				      r->len, r->address);
	*got = ad_range_clip(s->end, r->at, r->want);
	return read_in_segment(m, s, r->at - s->start, r->buf, *got);
}

static struct ad_error *core_wraps(void *ctx, const struct ad_piece_read *r)
{
	const struct core_memory *m = ctx;
	return ad_error_fault(r->at, r->want, "core %s: reading %zu bytes at 0x%" PRIx64
			      " wraps around", m->name, r->len, r->address);
}

static struct ad_error *core_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	return ad_read_pieces(ctx, address, buf, len, core_piece, core_wraps);
}

static void core_memory_destroy(void *ctx)
{
	struct core_memory *m = ctx;
	if (!m)
		return;
	for (size_t i = 0; i < m->nfiles; i++) {
		if (m->files[i].fd >= 0)
			close(m->files[i].fd);
		free(m->files[i].path);
	}
	free(m->files);
	free(m->segments);
	free(m);
}

static const struct ad_reader_ops core_ops = {
	.read = core_read,
	.destroy = core_memory_destroy,
};

/* ---- the core */

struct nt_file_entry {
	uint64_t start, end, offset; /* offset in bytes */
	const char *path;            /* into the notes buffer */
};

struct ad_core {
	char *name;
	int fd;
	int compressed_fd;           /* the file itself while fd reads its copy, or -1 */
	struct ad_core_info info;
	struct ad_reader *memory;    /* owns the core_memory */
	struct ad_snapshot *snap;    /* its reader is a cache over `memory` */
	size_t nwarnings;
	char *warnings[MAX_WARNINGS];
	/* While parsing. */
	Elf64_Phdr *phdrs;
	size_t nphdrs;
	char *notes[MAX_NOTE_SEGMENTS]; /* NT_FILE's paths point into them */
	size_t nnotes;
	size_t nnt_files;
	struct nt_file_entry *nt_files;
	uint64_t entry, vdso;
	bool has_prpsinfo;
	bool truncated;              /* memory the core should hold is lost */
	char *exe_override;
};

static struct ad_error *invalid(const struct ad_core *c, const char *what)
{
	return ad_error_create(AD_ERROR_INVALID_ARGUMENT, "%s is not a usable core file: %s",
			       c->name, what);
}

static struct ad_error *add_warning(struct ad_core *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct ad_error *add_warning(struct ad_core *c, const char *fmt, ...)
{
	if (c->nwarnings == MAX_WARNINGS)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&c->warnings[c->nwarnings], fmt, ap);
	va_end(ap);
	if (n < 0)
		return &ad_error_nomem;
	c->nwarnings++;
	return NULL;
}

static struct ad_error *read_headers(struct ad_core *c)
{
	Elf64_Ehdr eh;
	ssize_t got = pread_full(c->fd, &eh, sizeof(eh), 0);
	if (got < 0)
		return ad_error_os(errno, "cannot read %s", c->name);
	if ((size_t)got < sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return invalid(c, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return invalid(c, "not an x86_64 (64-bit little-endian) ELF file");
	if (eh.e_type != ET_CORE)
		return invalid(c, "an ELF file but not a core (a program or a library?)");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return invalid(c, "unexpected program header size");
	size_t n = eh.e_phnum;
	if (n == PN_XNUM) {
		/* More than 65534 segments: the count is in section 0's sh_info. */
		Elf64_Shdr sh0;
		if (pread_full(c->fd, &sh0, sizeof(sh0), eh.e_shoff) != (ssize_t)sizeof(sh0))
			return invalid(c, "truncated before its extended segment count");
		n = sh0.sh_info;
	}
	if (n == 0 || n > MAX_PHDRS)
		return invalid(c, "no or too many program headers");
	if (!(c->phdrs = calloc(n, sizeof(*c->phdrs))))
		return &ad_error_nomem;
	got = pread_full(c->fd, c->phdrs, n * sizeof(*c->phdrs), eh.e_phoff);
	if (got < 0)
		return ad_error_os(errno, "cannot read %s", c->name);
	if ((size_t)got < n * sizeof(*c->phdrs))
		return invalid(c, "truncated before the end of its program headers");
	c->nphdrs = n;
	return NULL;
}

static void copy_regs(const struct user_regs_struct *u, struct ad_regs *r)
{
	*r = (struct ad_regs){
		.rip = u->rip, .rsp = u->rsp, .rbp = u->rbp, .rbx = u->rbx,
		.r12 = u->r12, .r13 = u->r13, .r14 = u->r14, .r15 = u->r15,
		.rax = u->rax, .rcx = u->rcx, .rdx = u->rdx, .rsi = u->rsi, .rdi = u->rdi,
		.r8 = u->r8, .r9 = u->r9, .r10 = u->r10, .r11 = u->r11,
		.fs_base = u->fs_base, .gs_base = u->gs_base,
	};
}

static struct ad_error *add_thread(struct ad_core *c, const void *desc, size_t len)
{
	struct elf_prstatus st;
	if (len < sizeof(st))
		return add_warning(c, "a thread's NT_PRSTATUS note is too short (%zu bytes): "
				   "that thread is left out", len);
	memcpy(&st, desc, sizeof(st));
	struct ad_snapshot *snap = c->snap;
	if (snap->nthreads == MAX_THREADS)
		return NULL;
	struct ad_thread *t = realloc(snap->threads, (snap->nthreads + 1) * sizeof(*t));
	if (!t)
		return &ad_error_nomem;
	snap->threads = t;
	t = &snap->threads[snap->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = st.pr_pid;
	struct user_regs_struct u;
	_Static_assert(sizeof(u) == sizeof(st.pr_reg), "elf_gregset_t is user_regs_struct");
	memcpy(&u, &st.pr_reg, sizeof(u));
	copy_regs(&u, &t->regs);
	return NULL;
}

static void read_prpsinfo(struct ad_core *c, const void *desc, size_t len)
{
	struct elf_prpsinfo ps;
	if (len < sizeof(ps))
		return;
	memcpy(&ps, desc, sizeof(ps));
	c->has_prpsinfo = true;
	c->info.pid = ps.pr_pid;
	memcpy(c->info.comm, ps.pr_fname, sizeof(ps.pr_fname));
	c->info.comm[sizeof(ps.pr_fname)] = '\0';
}

static void read_auxv(struct ad_core *c, const void *desc, size_t len)
{
	const char *p = desc;
	for (size_t i = 0; i + 16 <= len; i += 16) {
		uint64_t type, value;
		memcpy(&type, p + i, 8);
		memcpy(&value, p + i + 8, 8);
		if (type == AT_ENTRY)
			c->entry = value;
		else if (type == AT_SYSINFO_EHDR)
			c->vdso = value;
	}
}

/* NT_FILE: count, page size, count × (start, end, page offset), then the
 * count paths, NUL-terminated. */
static struct ad_error *read_nt_file(struct ad_core *c, char *desc, size_t len)
{
	uint64_t count, page_size;
	if (len < 16)
		return add_warning(c, "the NT_FILE note is too short: no mapping has a file");
	memcpy(&count, desc, 8);
	memcpy(&page_size, desc + 8, 8);
	if (count > (len - 16) / 24)
		return add_warning(c, "the NT_FILE note is damaged: no mapping has a file");
	free(c->nt_files);
	if (!(c->nt_files = calloc(count ? count : 1, sizeof(*c->nt_files))))
		return &ad_error_nomem;
	char *path = desc + 16 + count * 24, *end = desc + len;
	size_t n = 0;
	for (uint64_t i = 0; i < count && path < end; i++) {
		char *nul = memchr(path, '\0', (size_t)(end - path));
		if (!nul)
			break;
		struct nt_file_entry *e = &c->nt_files[n++];
		memcpy(&e->start, desc + 16 + i * 24, 8);
		memcpy(&e->end, desc + 16 + i * 24 + 8, 8);
		memcpy(&e->offset, desc + 16 + i * 24 + 16, 8);
		e->offset *= page_size;
		e->path = path;
		path = nul + 1;
	}
	c->nnt_files = n;
	return NULL;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static struct ad_error *read_notes_segment(struct ad_core *c, char *buf, size_t len)
{
	size_t at = 0;
	while (at + sizeof(Elf64_Nhdr) <= len) {
		Elf64_Nhdr nh;
		memcpy(&nh, buf + at, sizeof(nh));
		size_t name_at = at + sizeof(nh);
		if (nh.n_namesz > len - name_at)
			break;
		size_t desc_at = name_at + align4(nh.n_namesz);
		if (desc_at > len || nh.n_descsz > len - desc_at)
			break;
		const char *name = buf + name_at;
		bool is_core = nh.n_namesz == 5 && memcmp(name, "CORE", 5) == 0;
		char *desc = buf + desc_at;
		struct ad_error *err = NULL;
		if (is_core && nh.n_type == NT_PRSTATUS)
			err = add_thread(c, desc, nh.n_descsz);
		else if (is_core && nh.n_type == NT_PRPSINFO)
			read_prpsinfo(c, desc, nh.n_descsz);
		else if (is_core && nh.n_type == NT_AUXV)
			read_auxv(c, desc, nh.n_descsz);
		else if (is_core && nh.n_type == NT_FILE)
			err = read_nt_file(c, desc, nh.n_descsz);
		if (err)
			return err;
		at = desc_at + align4(nh.n_descsz);
	}
	return NULL;
}

static struct ad_error *read_notes(struct ad_core *c)
{
	uint64_t total = 0;
	for (size_t i = 0; i < c->nphdrs; i++) {
		const Elf64_Phdr *p = &c->phdrs[i];
		if (p->p_type != PT_NOTE)
			continue;
		if (p->p_filesz > MAX_NOTES_BYTES - total)
			return invalid(c, "its notes are larger than 64 MiB");
		total += p->p_filesz;
		/* Notes are read into a buffer kept until the end: NT_FILE's
		 * paths point into it. */
		char *buf = malloc(p->p_filesz ? p->p_filesz : 1);
		if (!buf)
			return &ad_error_nomem;
		ssize_t got = pread_full(c->fd, buf, p->p_filesz, p->p_offset);
		if (got < 0) {
			free(buf);
			return ad_error_os(errno, "cannot read %s", c->name);
		}
		if ((uint64_t)got < p->p_filesz) {
			free(buf);
			return invalid(c, "truncated before the end of its notes (threads, "
				       "registers, mapped files)");
		}
		if (c->nnotes == MAX_NOTE_SEGMENTS) {
			free(buf);
			break;
		}
		c->notes[c->nnotes++] = buf;
		struct ad_error *err = read_notes_segment(c, buf, (size_t)got);
		if (err)
			return err;
	}
	if (!c->snap->nthreads)
		return invalid(c, "it has no thread (no NT_PRSTATUS note)");
	return NULL;
}

static const struct nt_file_entry *nt_file_at(const struct ad_core *c, uint64_t address)
{
	for (size_t i = 0; i < c->nnt_files; i++)
		if (address >= c->nt_files[i].start && address < c->nt_files[i].end)
			return &c->nt_files[i];
	return NULL;
}

static char perm(const Elf64_Phdr *p, unsigned flag, char yes)
{
	return (p->p_flags & flag) ? yes : '-';
}

static int file_index(struct core_memory *m, const char *path)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, path) == 0)
			return (int)i;
	return -1;
}

/* The path a mapping shows: the override for the executable's file. */
static const char *shown_path(const struct ad_core *c, const char *path)
{
	if (c->exe_override && c->info.exe && strcmp(path, c->info.exe) == 0)
		return c->exe_override;
	return path;
}

static struct ad_error *add_mapping(struct ad_core *c, struct core_memory *m,
				    const Elf64_Phdr *p, uint64_t file_size)
{
	struct ad_snapshot *snap = c->snap;
	struct ad_mapping *map = &snap->mappings[snap->nmappings];
	struct segment *s = &m->segments[m->nsegments];
	*map = (struct ad_mapping){ .start = p->p_vaddr, .end = p->p_vaddr + p->p_memsz };
	map->perms[0] = perm(p, PF_R, 'r');
	map->perms[1] = perm(p, PF_W, 'w');
	map->perms[2] = perm(p, PF_X, 'x');
	map->perms[3] = 'p';
	*s = (struct segment){ .start = map->start, .end = map->end, .offset = p->p_offset,
			       .filesz = p->p_filesz < p->p_memsz ? p->p_filesz : p->p_memsz,
			       .file = -1, .writable = (p->p_flags & PF_W) != 0 };
	s->present = p->p_offset >= file_size ? 0
		     : file_size - p->p_offset < s->filesz ? file_size - p->p_offset : s->filesz;
	const struct nt_file_entry *f = nt_file_at(c, map->start);
	if (f) {
		const char *path = shown_path(c, f->path);
		map->offset = f->offset + (map->start - f->start);
		if (!(map->path = strdup(path)))
			return &ad_error_nomem;
		int i = file_index(m, path);
		if (i < 0) {
			i = (int)m->nfiles++;
			m->files[i] = (struct mapped_file){ .path = strdup(path), .fd = -1 };
			if (!m->files[i].path)
				return &ad_error_nomem;
		}
		s->file = i;
		s->file_offset = map->offset;
	} else if (c->vdso && map->start == c->vdso) {
		if (!(map->path = strdup("[vdso]")))
			return &ad_error_nomem;
	}
	snap->nmappings++;
	m->nsegments++;
	return NULL;
}

static int by_start(const void *a, const void *b)
{
	const Elf64_Phdr *x = a, *y = b;
	return x->p_vaddr < y->p_vaddr ? -1 : x->p_vaddr > y->p_vaddr;
}

/* A warning naming the mappings whose memory the truncation lost. */
static struct ad_error *warn_truncated(struct ad_core *c, const struct core_memory *m)
{
	uint64_t lost = 0, kept = 0;
	size_t nlost = 0;
	char listed[1024] = "";
	size_t used = 0;
	for (size_t i = 0; i < m->nsegments; i++) {
		const struct segment *s = &m->segments[i];
		kept += s->present;
		if (s->present == s->filesz || is_read_only_file(s))
			continue;
		lost += s->filesz - s->present;
		if (nlost++ < MISSING_LISTED && used < sizeof(listed)) {
			const struct ad_mapping *map = &c->snap->mappings[i];
			char what[64];
			snprintf(what, sizeof(what), "%s", map->path ? map->path
				 : map->perms[1] == 'w' ? "anonymous, writable" : "anonymous");
			for (size_t t = 0; t < c->snap->nthreads; t++)
				if (c->snap->threads[t].regs.rsp >= s->start &&
				    c->snap->threads[t].regs.rsp < s->end)
					snprintf(what, sizeof(what), "the stack of thread %d",
						 (int)c->snap->threads[t].tid);
			int n = snprintf(listed + used, sizeof(listed) - used, "%s0x%" PRIx64
					 "-0x%" PRIx64 " (%s)", used ? ", " : "",
					 s->start + s->present, s->start + s->filesz,
					 map->path ? map->path : what);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (!lost)
		return NULL;
	c->truncated = true;
	return add_warning(c, "the core %s is truncated: %" PRIu64 " of %" PRIu64 " bytes of "
			   "memory are missing, in %zu mappings: %s%s; what lies there (tasks, "
			   "futures, stacks) is missing or undecodable", c->name, lost, lost + kept,
			   nlost, listed, nlost > MISSING_LISTED ? ", ..." : "");
}

static struct ad_error *build_memory(struct ad_core *c, uint64_t file_size)
{
	size_t nloads = 0;
	for (size_t i = 0; i < c->nphdrs; i++)
		if (c->phdrs[i].p_type == PT_LOAD && c->phdrs[i].p_memsz &&
		    c->phdrs[i].p_vaddr + c->phdrs[i].p_memsz > c->phdrs[i].p_vaddr)
			c->phdrs[nloads++] = c->phdrs[i];
	if (!nloads)
		return invalid(c, "it holds no memory (no PT_LOAD segment)");
	qsort(c->phdrs, nloads, sizeof(*c->phdrs), by_start);
	struct core_memory *m = calloc(1, sizeof(*m));
	struct ad_reader *r = calloc(1, sizeof(*r));
	if (!m || !r) {
		free(m);
		free(r);
		return &ad_error_nomem;
	}
	*r = (struct ad_reader){ &core_ops, m };
	c->memory = r;
	m->fd = c->fd;
	m->name = c->name;
	m->segments = calloc(nloads, sizeof(*m->segments));
	m->files = calloc(nloads, sizeof(*m->files));
	c->snap->mappings = calloc(nloads, sizeof(*c->snap->mappings));
	if (!m->segments || !m->files || !c->snap->mappings)
		return &ad_error_nomem;
	for (size_t i = 0; i < nloads; i++) {
		/* Overlapping segments would make lookups ambiguous: keep the first. */
		if (i && c->phdrs[i].p_vaddr < m->segments[m->nsegments - 1].end)
			continue;
		struct ad_error *err = add_mapping(c, m, &c->phdrs[i], file_size);
		if (err)
			return err;
	}
	return warn_truncated(c, m);
}

/* The executable: the mapped file holding the entry point. */
static struct ad_error *find_exe(struct ad_core *c)
{
	const struct nt_file_entry *f = c->entry ? nt_file_at(c, c->entry) : NULL;
	if (!f)
		return add_warning(c, "the core does not say which file is the executable "
				   "(no AT_ENTRY in a mapped file)");
	if (!(c->info.exe = strdup(f->path)))
		return &ad_error_nomem;
	return NULL;
}

/* Reads bytes only from the core itself (never from a mapped file): the
 * build-id must be the one the process had, not the file's of today. */
static bool read_dumped(const struct core_memory *m, uint64_t address, void *buf, size_t len)
{
	const struct segment *s = ad_range_find(m->segments, m->nsegments, sizeof(*m->segments),
						address);
	if (!s || address - s->start > s->present || len > s->present - (address - s->start))
		return false;
	return pread_full(m->fd, buf, len, s->offset + (address - s->start)) == (ssize_t)len;
}

static void hex(const unsigned char *bytes, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + i * 2, "%02x", bytes[i]);
}

/* The build-id note of the ELF image at `base`, from its first page. */
static struct ad_error *image_build_id(const struct core_memory *m, uint64_t base, char **ret)
{
	Elf64_Ehdr eh;
	if (!read_dumped(m, base, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64)
		return NULL;
	Elf64_Phdr ph[64];
	if (!read_dumped(m, base + eh.e_phoff, ph, eh.e_phnum * sizeof(*ph)))
		return NULL;
	uint64_t first_vaddr = UINT64_MAX;
	for (size_t i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			first_vaddr = ph[i].p_vaddr;
	if (first_vaddr == UINT64_MAX)
		return NULL;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_memsz > NOTE_MAX)
			continue;
		unsigned char buf[NOTE_MAX];
		size_t len = ph[i].p_memsz;
		if (!read_dumped(m, base + ph[i].p_vaddr - first_vaddr, buf, len))
			continue;
		for (size_t at = 0; at + sizeof(Elf64_Nhdr) <= len;) {
			Elf64_Nhdr nh;
			memcpy(&nh, buf + at, sizeof(nh));
			size_t desc_at = at + sizeof(nh) + align4(nh.n_namesz);
			if (desc_at > len || nh.n_descsz > len - desc_at)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp(buf + at + sizeof(nh), "GNU", 4) == 0 && nh.n_descsz <= 64) {
				char *id = malloc(nh.n_descsz * 2 + 1);
				if (!id)
					return &ad_error_nomem;
				hex(buf + desc_at, nh.n_descsz, id);
				*ret = id;
				return NULL;
			}
			at = desc_at + align4(nh.n_descsz);
		}
	}
	return NULL;
}

static struct ad_error *find_build_id(struct ad_core *c)
{
	const struct core_memory *m = c->memory->ctx;
	const struct ad_mapping *map = ad_snapshot_exe_mapping(c->snap);
	return map ? image_build_id(m, map->start, &c->info.build_id) : NULL;
}

static int by_tid(const void *a, const void *b)
{
	const struct ad_thread *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Threads in tid order, as /proc/PID/task lists them for a live sample; the
 * core keeps only the process's name, which is the main thread's. */
static void name_threads(struct ad_core *c)
{
	struct ad_snapshot *snap = c->snap;
	qsort(snap->threads, snap->nthreads, sizeof(*snap->threads), by_tid);
	if (!c->info.pid)
		c->info.pid = snap->threads[0].tid;
	for (size_t i = 0; i < snap->nthreads; i++)
		if (snap->threads[i].tid == c->info.pid)
			memcpy(snap->threads[i].name, c->info.comm, sizeof(snap->threads[i].name) - 1);
}

/* Deadlines are on CLOCK_MONOTONIC, which a core does not record: estimated
 * from its wall-clock time when it was written since this machine booted. */
static struct ad_error *set_times(struct ad_core *c, const struct ad_core_options *options,
				  const struct stat *st)
{
	struct ad_snapshot *snap = c->snap;
	c->info.time = options && options->has_time ? options->time : st->st_mtim;
	snap->captured_at = c->info.time;
	struct timespec now_real, now_mono;
	clock_gettime(CLOCK_REALTIME, &now_real);
	clock_gettime(CLOCK_MONOTONIC, &now_mono);
	int64_t ago = ((int64_t)now_real.tv_sec - c->info.time.tv_sec) * 1000000000 +
		      (now_real.tv_nsec - c->info.time.tv_nsec);
	int64_t mono = (int64_t)now_mono.tv_sec * 1000000000 + now_mono.tv_nsec - ago;
	if (ago >= 0 && mono > 0) {
		snap->monotonic.tv_sec = mono / 1000000000;
		snap->monotonic.tv_nsec = mono % 1000000000;
		return NULL;
	}
	return add_warning(c, "the core was written before this machine booted: the times "
			   "left to timers' deadlines are meaningless");
}

/* Whether the notes of the (decompressed prefix of the) core end past
 * `size`: read_headers() again afterwards. */
static bool notes_beyond(struct ad_core *c, uint64_t size)
{
	struct ad_error *err = read_headers(c);
	bool beyond = false;
	for (size_t i = 0; !err && i < c->nphdrs; i++)
		if (c->phdrs[i].p_type == PT_NOTE &&
		    (c->phdrs[i].p_offset > size || c->phdrs[i].p_filesz > size - c->phdrs[i].p_offset))
			beyond = true;
	ad_error_destroy(err);
	free(c->phdrs);
	c->phdrs = NULL;
	c->nphdrs = 0;
	return beyond;
}

/* A compressed core is replaced by its decompressed copy: c->fd then reads
 * that, and `st` describes it (but for the times, the original's). */
static struct ad_error *decompress(struct ad_core *c, const struct ad_core_options *options,
				   bool prefix, struct stat *st)
{
	unsigned char magic[8];
	ssize_t got = pread_full(c->fd, magic, sizeof(magic), 0);
	if (got < 0)
		return ad_error_os(errno, "cannot read %s", c->name);
	c->info.compression = ad_core_compression_of(magic, (size_t)got);
	if (c->info.compression == AD_CORE_PLAIN)
		return NULL;
	int fd;
	char *damage = NULL;
	struct ad_error *err = ad_core_decompress(
		c->fd, c->name, c->info.compression, options ? options->tmpdir : NULL,
		prefix ? AD_CORE_NOTES_PREFIX
		: options && options->max_bytes ? options->max_bytes : DEFAULT_MAX_DECOMPRESSED,
		prefix, &fd, &damage);
	if (err)
		return err;
	c->compressed_fd = c->fd;
	c->fd = fd;
	struct stat copy;
	if (fstat(fd, &copy) != 0) {
		free(damage);
		return ad_error_os(errno, "cannot stat the decompressed copy of %s", c->name);
	}
	st->st_size = copy.st_size;
	if (damage) {
		err = add_warning(c, "the %s-compressed core %s could not be decompressed whole (%s): "
				  "only its first %lld bytes are read", ad_core_compression_name(
				  c->info.compression), c->name, damage, (long long)copy.st_size);
		free(damage);
	}
	return err;
}

static struct ad_error *open_core(struct ad_core *c, const struct ad_core_options *options)
{
	struct stat st;
	if (fstat(c->fd, &st) != 0)
		return ad_error_os(errno, "cannot stat %s", c->name);
	if (!S_ISREG(st.st_mode))
		return invalid(c, "not a regular file");
	c->info.size = (uint64_t)st.st_size;
	bool prefix = options && options->notes_only;
	struct ad_error *err = decompress(c, options, prefix, &st);
	if (!err && prefix && c->compressed_fd >= 0 && notes_beyond(c, (uint64_t)st.st_size)) {
		/* gcore writes its notes after the memory: all of it is needed. */
		close(c->fd);
		c->fd = c->compressed_fd;
		c->compressed_fd = -1;
		err = decompress(c, options, false, &st);
	}
	if (err)
		return err;
	if ((err = read_headers(c)) || (err = read_notes(c)) || (err = find_exe(c)))
		return err;
	if (options && options->exe && !(c->exe_override = strdup(options->exe)))
		return &ad_error_nomem;
	const char *exe = c->exe_override ? c->exe_override : c->info.exe;
	if (exe && !(c->snap->exe = strdup(exe)))
		return &ad_error_nomem;
	if ((err = build_memory(c, (uint64_t)st.st_size)) || (err = find_build_id(c)) ||
	    (err = set_times(c, options, &st)))
		return err;
	name_threads(c);
	c->snap->from_core = true;
	c->info.nthreads = c->snap->nthreads;
	c->snap->pid = c->info.pid;
	return ad_reader_cached_create(c->memory, CACHE_BLOCK, &c->snap->reader);
}

static void free_parsing(struct ad_core *c)
{
	free(c->phdrs);
	for (size_t i = 0; i < c->nnotes; i++)
		free(c->notes[i]);
	free(c->nt_files);
	c->phdrs = NULL;
	c->nnotes = 0;
	c->nt_files = NULL;
}

struct ad_error *ad_core_open(const char *path, const struct ad_core_options *options,
			      struct ad_core **ret)
{
	struct ad_core *c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(path)) || !(c->snap = calloc(1, sizeof(*c->snap)))) {
		if (c)
			free(c->name);
		free(c);
		return &ad_error_nomem;
	}
	c->compressed_fd = -1;
	c->snap->stopped = true; /* a core is memory of one moment */
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	struct ad_error *err = c->fd < 0 ? ad_error_os(errno, "cannot open the core %s", path)
					 : open_core(c, options);
	free_parsing(c);
	if (err) {
		ad_core_close(c);
		return err;
	}
	*ret = c;
	return NULL;
}

void ad_core_close(struct ad_core *c)
{
	if (!c)
		return;
	ad_snapshot_destroy(c->snap);
	ad_reader_destroy(c->memory);
	free_parsing(c);
	if (c->fd >= 0)
		close(c->fd);
	if (c->compressed_fd >= 0)
		close(c->compressed_fd);
	for (size_t i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	ad_core_info_deinit(&c->info);
	free(c->exe_override);
	free(c->name);
	free(c);
}

const struct ad_core_info *ad_core_info(const struct ad_core *core)
{
	return &core->info;
}

struct ad_snapshot *ad_core_snapshot(struct ad_core *core)
{
	return core->snap;
}

bool ad_core_truncated(const struct ad_core *core)
{
	return core->truncated;
}

size_t ad_core_nwarnings(const struct ad_core *core)
{
	return core->nwarnings;
}

const char *ad_core_warning(const struct ad_core *core, size_t i)
{
	return i < core->nwarnings ? core->warnings[i] : NULL;
}

void ad_core_info_deinit(struct ad_core_info *info)
{
	if (!info)
		return;
	free(info->exe);
	free(info->build_id);
	info->exe = info->build_id = NULL;
}
