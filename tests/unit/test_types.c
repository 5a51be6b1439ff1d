/* SPDX-License-Identifier: MIT */
/* The debuginfo index, the type model and enum/niche decoding against real
 * DWARF: tests/targets/typesamples (Rust, with tests/unit/csample.c linked
 * in) in both profiles, its stripped variants, tests/unit/debuglevel_sample.rs
 * built with too little debuginfo, and the C program tests/unit/csample.
 *
 * Values are read three ways: the statics' initial contents from the ELF
 * file itself (no process), synthetic memory laid out by the test, and a
 * running typesamples for what only a process has (heap boxes, the parked
 * state machine, thread-locals). Expected values come from the sources: the
 * `const`s, marker and declarations of typesamples/src/main.rs, csample.c,
 * and what the running program prints about itself — never from asyncdump's
 * own output. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asyncdump/debuginfo.h"
#include "asyncdump/memory.h"
#include "asyncdump/type.h"
#include "asyncdump/value.h"
#include "decode.h"

/* typesamples prints READY at once; generous for a loaded machine. */
#define READY_TIMEOUT_MS 30000

#define OK(expr)                                                                         \
	do {                                                                             \
		struct ad_error *err_ = (expr);                                          \
		ck_assert_msg(!err_, "%s failed: %s", #expr, err_ ? err_->message : ""); \
	} while (0)

/* The call fails with `code` and a message containing `text` (NULL: any). */
static void assert_error(struct ad_error *err, enum ad_error_code code, const char *text,
			 const char *what)
{
	ck_assert_msg(err, "%s: succeeded, expected error %s", what, ad_error_code_name(code));
	ck_assert_msg(err->code == code, "%s: error %s (%s), expected %s", what,
		      ad_error_code_name(err->code), err->message, ad_error_code_name(code));
	ck_assert_msg(!text || strstr(err->message, text),
		      "%s: message \"%s\" does not mention \"%s\"", what, err->message, text);
	ad_error_destroy(err);
}

static const char *env_dir(const char *name)
{
	const char *dir = getenv(name);
	ck_assert_msg(dir && *dir, "%s is not set: run through `make check`", name);
	return dir;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "cannot open %s: %s", path, strerror(errno));
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	size_t n;
	while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			text = realloc(text, cap);
			ck_assert_ptr_nonnull(text);
		}
	}
	fclose(f);
	text[len] = '\0';
	return text;
}

/* ---- expectations from typesamples/src/main.rs */

static char *source; /* typesamples/src/main.rs */
static char source_path[PATH_MAX];

static void load_source(void)
{
	if (source)
		return;
	snprintf(source_path, sizeof(source_path), "%s/tests/targets/typesamples/src/main.rs",
		 env_dir("top_srcdir"));
	source = read_file(source_path);
}

/* 1-based line of the first line of the source that starts with `prefix`
 * (after indentation). */
static unsigned source_line_starting(const char *prefix)
{
	unsigned line = 1;
	for (const char *p = source; *p; line++) {
		const char *text = p + strspn(p, " \t");
		if (strncmp(text, prefix, strlen(prefix)) == 0)
			return line;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	ck_abort_msg("%s: no line starts with \"%s\"", source_path, prefix);
	return 0;
}

/* The line marked `// @mark NAME` at its end. */
static unsigned marker_line(const char *name)
{
	char mark[128];
	snprintf(mark, sizeof(mark), "// @mark %s", name);
	unsigned line = 1;
	for (const char *p = source; *p; p++) {
		if (*p == '\n')
			line++;
		else if (strncmp(p, mark, strlen(mark)) == 0 &&
			 (p[strlen(mark)] == '\n' || p[strlen(mark)] == '\0'))
			return line;
	}
	ck_abort_msg("%s: no marker %s", source_path, name);
	return 0;
}

/* The text of VALUE in `const NAME: TYPE = VALUE;` (static buffer). */
static const char *source_const(const char *name)
{
	static char value[256];
	char head[128];
	snprintf(head, sizeof(head), "\nconst %s: ", name);
	const char *p = strstr(source, head);
	ck_assert_msg(p, "%s: no const %s", source_path, name);
	const char *eq = strstr(p, " = "), *end = eq ? strchr(eq, ';') : NULL;
	ck_assert_msg(eq && end && (size_t)(end - eq - 3) < sizeof(value),
		      "%s: const %s unreadable", source_path, name);
	memcpy(value, eq + 3, (size_t)(end - eq - 3));
	value[end - eq - 3] = '\0';
	return value;
}

/* Rust integer literal digits without `_` separators. */
static void strip_underscores(const char *in, char *out, size_t len)
{
	size_t n = 0;
	for (; *in && n + 1 < len; in++)
		if (*in != '_')
			out[n++] = *in;
	out[n] = '\0';
}

static uint64_t const_u64(const char *name)
{
	char digits[128];
	strip_underscores(source_const(name), digits, sizeof(digits));
	char *end;
	errno = 0;
	uint64_t v = digits[0] == '-' ? (uint64_t)strtoll(digits, &end, 0)
				      : strtoull(digits, &end, 0);
	ck_assert_msg(!errno && *end == '\0', "const %s is not an integer: %s", name, digits);
	return v;
}

/* A hexadecimal u128 literal as two halves. */
static void const_u128(const char *name, uint64_t *high, uint64_t *low)
{
	char digits[128];
	strip_underscores(source_const(name), digits, sizeof(digits));
	ck_assert_msg(strncmp(digits, "0x", 2) == 0, "const %s is not hexadecimal", name);
	const char *hex = digits + 2;
	size_t n = strlen(hex);
	char high_digits[64] = "0";
	if (n > 16) {
		memcpy(high_digits, hex, n - 16);
		high_digits[n - 16] = '\0';
	}
	*high = strtoull(high_digits, NULL, 16);
	*low = strtoull(n > 16 ? hex + n - 16 : hex, NULL, 16);
}

/* A "string" literal without escapes (static buffer). */
static const char *const_str(const char *name)
{
	const char *v = source_const(name);
	size_t n = strlen(v);
	ck_assert_msg(n >= 2 && v[0] == '"' && v[n - 1] == '"' && !strchr(v, '\\'),
		      "const %s is not a plain string literal: %s", name, v);
	static char text[256];
	memcpy(text, v + 1, n - 2);
	text[n - 2] = '\0';
	return text;
}

/* A 'c' literal (UTF-8 in the source) as its code point. */
static uint32_t const_char(const char *name)
{
	const unsigned char *v = (const unsigned char *)source_const(name);
	ck_assert_msg(v[0] == '\'', "const %s is not a char literal", name);
	v++;
	if (v[0] < 0x80)
		return v[0];
	if ((v[0] & 0xe0) == 0xc0)
		return (uint32_t)(v[0] & 0x1f) << 6 | (v[1] & 0x3f);
	if ((v[0] & 0xf0) == 0xe0)
		return (uint32_t)(v[0] & 0x0f) << 12 | (uint32_t)(v[1] & 0x3f) << 6 | (v[2] & 0x3f);
	return (uint32_t)(v[0] & 0x07) << 18 | (uint32_t)(v[1] & 0x3f) << 12 |
	       (uint32_t)(v[2] & 0x3f) << 6 | (v[3] & 0x3f);
}

/* ---- the ELF file, read by the test itself (libelf) */

struct elf_file {
	int fd;
	Elf *elf;
};

static struct elf_file elf_open(const char *path)
{
	elf_version(EV_CURRENT);
	struct elf_file f = { open(path, O_RDONLY | O_CLOEXEC), NULL };
	ck_assert_msg(f.fd >= 0, "cannot open %s: %s", path, strerror(errno));
	f.elf = elf_begin(f.fd, ELF_C_READ, NULL);
	ck_assert_msg(f.elf && elf_kind(f.elf) == ELF_K_ELF, "%s: not ELF: %s", path,
		      elf_errmsg(-1));
	return f;
}

static void elf_close(struct elf_file *f)
{
	elf_end(f->elf);
	close(f->fd);
}

/* The link-time address of a symbol of .symtab. */
static uint64_t elf_symbol(const char *path, const char *name)
{
	struct elf_file f = elf_open(path);
	Elf_Scn *scn = NULL;
	uint64_t address = 0;
	while ((scn = elf_nextscn(f.elf, scn)) && !address) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;
			if (gelf_getsym(data, (int)i, &sym) && sym.st_shndx != SHN_UNDEF &&
			    (n = elf_strptr(f.elf, sh.sh_link, sym.st_name)) &&
			    strcmp(n, name) == 0) {
				address = sym.st_value;
				break;
			}
		}
	}
	elf_close(&f);
	ck_assert_msg(address, "%s: no symbol %s", path, name);
	return address;
}

/* The NT_GNU_BUILD_ID note in hex. */
static void elf_build_id(const char *path, char *hex, size_t len)
{
	struct elf_file f = elf_open(path);
	Elf_Scn *scn = NULL;
	hex[0] = '\0';
	while ((scn = elf_nextscn(f.elf, scn)) && !hex[0]) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) != 0)
				continue;
			const unsigned char *id = (const unsigned char *)data->d_buf + desc_off;
			for (size_t i = 0; i < nh.n_descsz && 2 * i + 2 < len; i++)
				snprintf(hex + 2 * i, 3, "%02x", id[i]);
			break;
		}
	}
	elf_close(&f);
	ck_assert_msg(hex[0], "%s has no build-id note", path);
}

/* The file's loadable segments at their link-time addresses (zero-filled
 * past the file contents): the statics' initial values, no process. */
static struct ad_reader *elf_image_reader(const char *path)
{
	struct elf_file f = elf_open(path);
	size_t n;
	ck_assert_int_eq(elf_getphdrnum(f.elf, &n), 0);
	struct ad_segment segs[32];
	size_t nsegs = 0;
	size_t file_size;
	const char *file = elf_rawfile(f.elf, &file_size);
	ck_assert_ptr_nonnull(file);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f.elf, (int)i, &ph) || ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		ck_assert_uint_lt(nsegs, 32);
		ck_assert_uint_le(ph.p_offset + ph.p_filesz, file_size);
		char *data = calloc(1, ph.p_memsz);
		ck_assert_ptr_nonnull(data);
		memcpy(data, file + ph.p_offset, ph.p_filesz);
		segs[nsegs++] = (struct ad_segment){ ph.p_vaddr, data, ph.p_memsz };
	}
	struct ad_reader *r;
	OK(ad_reader_synthetic_create(segs, nsegs, &r));
	for (size_t i = 0; i < nsegs; i++)
		free((void *)segs[i].data);
	elf_close(&f);
	return r;
}

/* ---- typesamples in both profiles: opened once for the whole suite */

enum { PROFILE_DEBUG, PROFILE_RELEASE, NPROFILES };
static const char *const profile_names[NPROFILES] = { "debug", "release" };

struct sample {
	char path[PATH_MAX];
	struct ad_debuginfo *di;
	struct ad_reader *file;    /* the ELF image at link-time addresses */
	uint64_t const_samples;    /* link-time addresses, from .symtab */
	uint64_t runtime_samples;
	uint64_t csample_values;
	/* the running program */
	pid_t pid;
	int out;                   /* its stdout, kept open: no SIGPIPE if it prints */
	char *info;                /* the lines it printed after READY */
	struct ad_reader *live;
	uint64_t bias;
};

static struct sample samples[NPROFILES];

/* The fixture of every test case: opens each binary once (the index is built
 * once per binary); forked tests share what the parent opened. */
static void open_samples(void)
{
	load_source();
	for (int i = 0; i < NPROFILES; i++) {
		struct sample *s = &samples[i];
		if (s->di)
			continue;
		snprintf(s->path, sizeof(s->path), "%s/%s/typesamples", env_dir("TARGETS_DIR"),
			 profile_names[i]);
		OK(ad_debuginfo_open(s->path, &s->di));
		s->file = elf_image_reader(s->path);
		s->const_samples = elf_symbol(s->path, "CONST_SAMPLES");
		s->runtime_samples = elf_symbol(s->path, "RUNTIME_SAMPLES");
		s->csample_values = elf_symbol(s->path, "csample_values");
	}
}

/* Reads what typesamples prints: READY <pid>, then the lines up to LAZY_TLS. */
static char *read_ready(int fd, pid_t pid, const char *what)
{
	size_t cap = 4096, len = 0;
	char *text = calloc(1, cap);
	ck_assert_ptr_nonnull(text);
	while (!strstr(text, "\nLAZY_TLS ") || text[len - 1] != '\n') {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ck_assert_msg(poll(&p, 1, READY_TIMEOUT_MS) > 0, "%s printed no READY within %d s",
			      what, READY_TIMEOUT_MS / 1000);
		ck_assert_uint_lt(len, cap - 1);
		ssize_t n = read(fd, text + len, cap - 1 - len);
		ck_assert_msg(n > 0, "%s exited before printing all of READY: %s", what, text);
		len += (size_t)n;
		text[len] = '\0';
	}
	char expected[32];
	snprintf(expected, sizeof(expected), "READY %d\n", (int)pid);
	ck_assert_msg(strncmp(text, expected, strlen(expected)) == 0, "%s printed \"%s\"", what,
		      text);
	return text;
}

/* The first mapping of the program's file (offset 0) in /proc/PID/maps. */
static uint64_t first_mapping_start(pid_t pid, const char *binary)
{
	char maps[64], real[PATH_MAX], line[PATH_MAX + 256];
	ck_assert_ptr_nonnull(realpath(binary, real));
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(maps, "r");
	ck_assert_msg(f, "cannot open %s: %s", maps, strerror(errno));
	uint64_t start = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, offset;
		int path_at = 0;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %n", &lo, &offset, &path_at) == 2 &&
		    path_at && offset == 0 && strcmp(line + path_at, real) == 0) {
			start = lo;
			break;
		}
	}
	fclose(f);
	ck_assert_msg(start, "%s is not mapped in process %d", real, (int)pid);
	return start;
}

/* Starts both profiles' typesamples once; main() stops them. They die with
 * the test program (PDEATHSIG) even if it is killed. */
static void start_samples(void)
{
	open_samples();
	for (int i = 0; i < NPROFILES; i++) {
		struct sample *s = &samples[i];
		if (s->pid)
			continue;
		int out[2];
		ck_assert_int_eq(pipe(out), 0);
		pid_t parent = getpid();
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(127);
			dup2(out[1], STDOUT_FILENO);
			close(out[0]);
			close(out[1]);
			execl(s->path, "typesamples", (char *)NULL);
			_exit(127);
		}
		s->pid = pid;
		close(out[1]);
		s->out = out[0];
		s->info = read_ready(out[0], pid, s->path);
		OK(ad_reader_live_create(pid, &s->live));
		s->bias = ad_debuginfo_load_bias(s->di, first_mapping_start(pid, s->path));
	}
}

static void stop_samples(void)
{
	for (int i = 0; i < NPROFILES; i++) {
		struct sample *s = &samples[i];
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			close(s->out);
		}
		ad_reader_destroy(s->live);
		ad_reader_destroy(s->file);
		ad_debuginfo_unref(s->di);
		free(s->info);
		memset(s, 0, sizeof(*s));
	}
	free(source);
	source = NULL;
}

/* The value of `KEY value` after READY (static buffer). */
static const char *info(const struct sample *s, const char *key)
{
	static char value[256];
	char head[64];
	snprintf(head, sizeof(head), "\n%s ", key);
	const char *p = strstr(s->info, head);
	ck_assert_msg(p, "typesamples printed no %s line: %s", key, s->info);
	p += strlen(head);
	size_t n = strcspn(p, "\n");
	ck_assert_uint_lt(n, sizeof(value));
	memcpy(value, p, n);
	value[n] = '\0';
	return value;
}

static uint64_t info_u64(const struct sample *s, const char *key)
{
	return strtoull(info(s, key), NULL, 0);
}

/* ---- typed values */

static const struct ad_type *find_type(struct sample *s, const char *name)
{
	const struct ad_type *t;
	OK(ad_debuginfo_find_type(s->di, name, &t));
	return t;
}

static struct ad_value value_at(struct sample *s, const struct ad_reader *r,
				const struct ad_type *t, uint64_t address)
{
	return (struct ad_value){ s->di, r, t, address };
}

static struct ad_value member(const struct ad_value *v, const char *name)
{
	struct ad_value m;
	OK(ad_value_member(v, name, &m));
	return m;
}

static struct ad_value path_of(const struct ad_value *v, const char *path)
{
	struct ad_value m;
	OK(ad_value_path(v, path, &m));
	return m;
}

static uint64_t uint_of(const struct ad_value *v)
{
	uint64_t x;
	OK(ad_value_uint(v, &x));
	return x;
}

/* The active variant's member name ("Some", "3", …) and its value. */
static const char *variant_of(const struct ad_value *v, struct ad_value *ret)
{
	const struct ad_variant *var;
	struct ad_value inner;
	OK(ad_value_variant(v, &var, &inner));
	if (ret)
		*ret = inner;
	return var->name;
}

static const struct ad_type *field_type(struct sample *s, const struct ad_type *t, const char *name)
{
	const struct ad_field *f = ad_type_field(t, name);
	ck_assert_msg(f, "type %s has no field %s", t->name, name);
	const struct ad_type *ft;
	OK(ad_field_type(s->di, f, &ft));
	return ft;
}

static const struct ad_type *const_samples_type(struct sample *s)
{
	return find_type(s, "typesamples::ConstSamples");
}

/* A field of CONST_SAMPLES as the ELF file holds it. */
static struct ad_value const_sample(struct sample *s, const char *field)
{
	struct ad_value all = value_at(s, s->file, const_samples_type(s), s->const_samples);
	return member(&all, field);
}

/* A field of RUNTIME_SAMPLES in the running program. */
static struct ad_value runtime_sample(struct sample *s, const char *field)
{
	struct ad_value all = value_at(s, s->live, find_type(s, "typesamples::RuntimeSamples"),
				       s->runtime_samples + s->bias);
	return member(&all, field);
}

static const struct ad_variant *variant_named(struct sample *s, const struct ad_type *t,
					      const char *name)
{
	const struct ad_variant *v = ad_type_variant_named(s->di, t, name);
	ck_assert_msg(v, "enum %s has no variant %s", t->name, name);
	return v;
}

static const struct ad_enumerator *enumerator(const struct ad_type *t, const char *name)
{
	for (size_t i = 0; i < t->nenumerators; i++)
		if (strcmp(t->enumerators[i].name, name) == 0)
			return &t->enumerators[i];
	ck_abort_msg("enum %s has no enumerator %s", t->name, name);
	return NULL;
}

/* ---- opening: what is refused, and how */

static void variant_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/typesamples-variants/%s", env_dir("TARGETS_DIR"), name);
}

/* The last path component of a type name, generic arguments aside; the
 * arguments may hold paths and function types ("->"). */
START_TEST(base_names_skip_paths_inside_generic_arguments)
{
	static const struct { const char *name, *base; } cases[] = {
		{ "a::b::C<x::Y, z::W>", "C" },
		{ "a::E<T>::Variant", "Variant" },
		{ "demo::foo::{async_fn_env#0}", "{async_fn_env#0}" },
		{ "demo::foo::{async_fn_env#0}<u8>", "{async_fn_env#0}" },
		{ "x::F<fn(u32) -> a::b::T>::Out", "Out" },
		{ "x::G<x::H<y::I<z::J>>, K>", "G" },
		{ "Plain", "Plain" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		ck_assert_str_eq(ad_type_base_name(cases[i].name, buf, sizeof(buf)), cases[i].base);
	}
	char small[4];
	ck_assert_str_eq(ad_type_base_name("a::Longer<T>", small, sizeof(small)), "Lon");
}
END_TEST

START_TEST(c_program_is_not_rust)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tests/unit/csample", env_dir("top_builddir"));
	ck_assert_msg(access(path, R_OK) == 0, "no %s: build it with `make check`", path);
	struct ad_debuginfo *di = NULL;
	assert_error(ad_debuginfo_open(path, &di), AD_ERROR_NOT_RUST, path, "opening csample");
	ck_assert_ptr_null(di);
}
END_TEST

START_TEST(stripped_binary_gets_build_advice)
{
	char path[PATH_MAX];
	variant_path(path, sizeof(path), "stripped");
	struct ad_debuginfo *di = NULL;
	struct ad_error *err = ad_debuginfo_open(path, &di);
	ck_assert_msg(err && strstr(err->message, path), "the message names the binary: %s",
		      err ? err->message : "(opened)");
	assert_error(err, AD_ERROR_NO_DEBUGINFO, "debug = true", "opening a stripped typesamples");
	ck_assert_ptr_null(di);
}
END_TEST

/* debug = 1 ("limited") and "line-tables-only": line tables, no types. */
static const char *const typeless_levels[] = { "1", "line-tables-only" };

START_TEST(typeless_build_gets_build_advice)
{
	char path[PATH_MAX], name[64];
	snprintf(name, sizeof(name), "debuglevel-%s", typeless_levels[_i]);
	variant_path(path, sizeof(path), name);
	struct ad_debuginfo *di = NULL;
	assert_error(ad_debuginfo_open(path, &di), AD_ERROR_NO_DEBUGINFO, "debug = true", path);
	ck_assert_ptr_null(di);
}
END_TEST

/* The control of the test above: the same program with full debuginfo. */
START_TEST(full_debuginfo_build_opens)
{
	char path[PATH_MAX];
	variant_path(path, sizeof(path), "debuglevel-2");
	struct ad_debuginfo *di;
	OK(ad_debuginfo_open(path, &di));
	ck_assert(ad_debuginfo_is_rust(di));
	const struct ad_type *t;
	OK(ad_debuginfo_find_type(di, "debuglevel_sample::Point", &t));
	ck_assert_int_eq(t->kind, AD_TYPE_STRUCT);
	ck_assert_uint_eq(t->size, 16);
	ck_assert_ptr_nonnull(ad_type_field(t, "x"));
	ck_assert_ptr_nonnull(ad_type_field(t, "y"));
	ad_debuginfo_unref(di);
}
END_TEST

START_TEST(debuglink_finds_separate_debug_file)
{
	char path[PATH_MAX];
	variant_path(path, sizeof(path), "debuglinked");
	struct ad_debuginfo *di;
	OK(ad_debuginfo_open(path, &di));
	const struct ad_type *t;
	OK(ad_debuginfo_find_type(di, "typesamples::ConstSamples", &t));
	ck_assert_int_eq(t->kind, AD_TYPE_STRUCT);
	ad_debuginfo_unref(di);
}
END_TEST

START_TEST(missing_file_is_an_os_error)
{
	char path[PATH_MAX];
	variant_path(path, sizeof(path), "no-such-binary");
	struct ad_debuginfo *di = NULL;
	struct ad_error *err = ad_debuginfo_open(path, &di);
	ck_assert_msg(err && err->errnum == ENOENT, "errnum ENOENT expected");
	assert_error(err, AD_ERROR_OS, path, "opening a missing file");
	ck_assert_ptr_null(di);
}
END_TEST

START_TEST(non_elf_file_is_refused)
{
	load_source();
	struct ad_debuginfo *di = NULL;
	assert_error(ad_debuginfo_open(source_path, &di), AD_ERROR_NOT_RUST, "ELF",
		     "opening a Rust source file");
	ck_assert_ptr_null(di);
}
END_TEST

/* ---- the index and lookups by name */

START_TEST(identity_of_the_binary)
{
	struct sample *s = &samples[_i];
	char build_id[128], real_root[PATH_MAX], expected_root[PATH_MAX], targets[PATH_MAX];
	ck_assert(ad_debuginfo_is_rust(s->di));
	ck_assert_str_eq(ad_debuginfo_path(s->di), s->path);
	elf_build_id(s->path, build_id, sizeof(build_id));
	ck_assert_ptr_nonnull(ad_debuginfo_build_id(s->di));
	ck_assert_str_eq(ad_debuginfo_build_id(s->di), build_id);
	/* cargo compiles workspace members from the workspace root. */
	const char *root = ad_debuginfo_source_root(s->di);
	ck_assert_msg(root, "no source root");
	snprintf(targets, sizeof(targets), "%s/tests/targets", env_dir("top_srcdir"));
	ck_assert_ptr_nonnull(realpath(targets, expected_root));
	ck_assert_msg(realpath(root, real_root), "source root %s does not exist", root);
	ck_assert_str_eq(real_root, expected_root);
	/* Relative files under it, joined once; absolute ones as they are. */
	const char *joined = ad_debuginfo_source_path(s->di, "typesamples/src/main.rs");
	char expected[PATH_MAX + 64];
	snprintf(expected, sizeof(expected), "%s/typesamples/src/main.rs", root);
	ck_assert_str_eq(joined, expected);
	ck_assert_ptr_eq(ad_debuginfo_source_path(s->di, "typesamples/src/main.rs"), joined);
	const char *absolute = "/usr/src/x.rs";
	ck_assert_ptr_eq(ad_debuginfo_source_path(s->di, absolute), absolute);
}
END_TEST

START_TEST(types_are_converted_once)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = const_samples_type(s), *again, *by_die;
	ck_assert_int_eq(t->kind, AD_TYPE_STRUCT);
	ck_assert_str_eq(t->name, "typesamples::ConstSamples");
	ck_assert(ad_type_is(t, "typesamples::ConstSamples"));
	again = const_samples_type(s);
	OK(ad_type_from_die(s->di, t->die, &by_die));
	ck_assert_ptr_eq(again, t);
	ck_assert_ptr_eq(by_die, t);
}
END_TEST

START_TEST(unknown_type_is_not_found)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = NULL;
	assert_error(ad_debuginfo_find_type(s->di, "typesamples::NoSuchType", &t),
		     AD_ERROR_NOT_FOUND, "typesamples::NoSuchType", "looking up a missing type");
	ck_assert_ptr_null(t);
	ck_assert(ad_debuginfo_has_type_prefix(s->di, "typesamples::"));
	ck_assert(ad_debuginfo_has_type_prefix(s->di, "core::option::Option<"));
	ck_assert(!ad_debuginfo_has_type_prefix(s->di, "no_such_crate::"));
}
END_TEST

/* Every field the source declares, at distinct offsets inside the struct. */
START_TEST(struct_fields_match_the_source)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = const_samples_type(s);
	unsigned first = source_line_starting("pub struct ConstSamples {") + 1;
	const char *p = source;
	for (unsigned line = 1; line < first; line++)
		p = strchr(p, '\n') + 1;
	size_t declared = 0;
	for (; *p && strncmp(p, "}", 1) != 0; p = strchr(p, '\n') + 1) {
		char name[64];
		ck_assert_int_eq(sscanf(p, " %63[a-z_0-9]:", name), 1);
		const struct ad_field *f = ad_type_field(t, name);
		ck_assert_msg(f, "ConstSamples has no field %s", name);
		const struct ad_type *ft = field_type(s, t, name);
		uint64_t size = ft->size;
		if (ft->kind == AD_TYPE_ARRAY && !size) {
			/* rustc gives arrays no byte size (0: unknown, type.h). */
			const struct ad_type *elem;
			OK(ad_type_target(s->di, ft, &elem));
			size = ft->count * elem->size;
		}
		ck_assert_msg(size && f->offset + size <= t->size, "field %s out of bounds", name);
		for (size_t k = 0; k < t->nfields; k++)
			ck_assert_msg(&t->fields[k] == f || t->fields[k].offset != f->offset ||
					      !ft->size,
				      "fields %s and %s share offset %" PRIu64, name,
				      t->fields[k].name, f->offset);
		declared++;
	}
	ck_assert_uint_eq(t->nfields, declared);
	ck_assert_ptr_null(ad_type_field(t, "no_such_field"));
}
END_TEST

/* ---- fieldless enums, base types, unions, arrays */

START_TEST(fieldless_enum_with_explicit_discriminants)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = field_type(s, const_samples_type(s), "fieldless");
	ck_assert_int_eq(t->kind, AD_TYPE_CENUM);
	ck_assert_str_eq(t->name, "typesamples::Fieldless");
	ck_assert_uint_eq(t->size, 2); /* #[repr(u16)] */
	ck_assert(!t->is_signed);
	ck_assert_uint_eq(t->nenumerators, 3);
	ck_assert_uint_eq(enumerator(t, "Low")->value, 3);
	ck_assert_uint_eq(enumerator(t, "Mid")->value, 70);
	ck_assert_uint_eq(enumerator(t, "High")->value, 500);
}
END_TEST

START_TEST(fieldless_enum_with_negative_discriminant)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = field_type(s, const_samples_type(s), "signed_fieldless");
	ck_assert_int_eq(t->kind, AD_TYPE_CENUM);
	ck_assert_uint_eq(t->size, 1); /* #[repr(i8)] */
	ck_assert_uint_eq(enumerator(t, "Negative")->value, (uint64_t)-2);
	ck_assert_uint_eq(enumerator(t, "Positive")->value, 5);
	ck_assert_msg(t->is_signed, "%s is #[repr(i8)]: is_signed must be set", t->name);
}
END_TEST

static void assert_base(struct sample *s, const char *field, const char *name, uint64_t size,
			bool is_signed)
{
	const struct ad_type *t = field_type(s, const_samples_type(s), field);
	ck_assert_msg(t->kind == AD_TYPE_BASE, "%s: kind %d", field, t->kind);
	ck_assert_str_eq(t->name, name);
	ck_assert_uint_eq(t->size, size);
	ck_assert_msg(t->is_signed == is_signed, "%s: is_signed %d", name, t->is_signed);
}

START_TEST(base_types)
{
	struct sample *s = &samples[_i];
	assert_base(s, "wide_int", "u128", 16, false);
	assert_base(s, "signed_int", "i32", 4, true);
	assert_base(s, "ratio", "f64", 8, false);
	assert_base(s, "flag", "bool", 1, false);
	assert_base(s, "letter", "char", 4, false);
}
END_TEST

START_TEST(union_and_array)
{
	struct sample *s = &samples[_i];
	const struct ad_type *bits = field_type(s, const_samples_type(s), "bits");
	ck_assert_int_eq(bits->kind, AD_TYPE_UNION);
	ck_assert_uint_eq(bits->size, 4);
	ck_assert_uint_eq(bits->nfields, 2);
	ck_assert_uint_eq(ad_type_field(bits, "word")->offset, 0);
	ck_assert_uint_eq(ad_type_field(bits, "real")->offset, 0);
	const struct ad_type *array = field_type(s, const_samples_type(s), "array"), *elem;
	ck_assert_int_eq(array->kind, AD_TYPE_ARRAY);
	ck_assert_uint_eq(array->count, 5);
	OK(ad_type_target(s->di, array, &elem));
	ck_assert_str_eq(elem->name, "u16");
	ck_assert_uint_eq(elem->size, 2);
}
END_TEST

/* ---- enum layouts as types */

START_TEST(option_box_is_a_null_niche)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = field_type(s, const_samples_type(s), "none_box"), *some, *param;
	ck_assert_int_eq(t->kind, AD_TYPE_ENUM);
	ck_assert(ad_type_is(t, "core::option::Option"));
	ck_assert_uint_eq(t->discr_size, 8);
	ck_assert_uint_eq(t->nvariants, 2);
	const struct ad_variant *none = variant_named(s, t, "None");
	const struct ad_variant *some_v = variant_named(s, t, "Some");
	/* Box is never null: None is the null pointer, Some everything else. */
	ck_assert(none->has_discr);
	ck_assert_uint_eq(none->discr, 0);
	ck_assert(!some_v->has_discr);
	ck_assert_ptr_eq(ad_type_variant_for(t, 0), none);
	ck_assert_ptr_eq(ad_type_variant_for(t, 0x7f0012345678), some_v);
	OK(ad_variant_type(s->di, some_v, &some));
	ck_assert_ptr_nonnull(ad_type_field(some, "__0"));
	/* T of Option<Box<u64>>: rustc describes Box<u64> as a pointer to u64. */
	OK(ad_type_first_param(s->di, t, &param));
	ck_assert_int_eq(param->kind, AD_TYPE_POINTER);
	const struct ad_type *pointee;
	OK(ad_type_target(s->di, param, &pointee));
	ck_assert_str_eq(pointee->name, "u64");
}
END_TEST

/* Nanoseconds is valid up to 999_999_999: None takes the next value. */
#define INSTANT_NONE_NICHE 1000000000u

START_TEST(option_instant_has_its_tag_in_tv_nsec)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = field_type(s, const_samples_type(s), "none_instant"), *some;
	ck_assert_int_eq(t->kind, AD_TYPE_ENUM);
	ck_assert_uint_eq(t->discr_size, 4);
	const struct ad_variant *none = variant_named(s, t, "None");
	ck_assert(none->has_discr);
	ck_assert_uint_eq(none->discr, INSTANT_NONE_NICHE);
	ck_assert(!variant_named(s, t, "Some")->has_discr);
	OK(ad_variant_type(s->di, variant_named(s, t, "Some"), &some));
	uint64_t tv_nsec;
	const struct ad_type *nsec_type;
	OK(ad_find_member(s->di, some, "tv_nsec", 6, &tv_nsec, &nsec_type));
	ck_assert_uint_eq(t->discr_offset, tv_nsec);
	ck_assert_uint_eq(nsec_type->size, 4);
}
END_TEST

/* ---- values: CONST_SAMPLES as the ELF file holds it */

START_TEST(const_options)
{
	struct sample *s = &samples[_i];
	struct ad_value v = const_sample(s, "none_box"), inner, some;
	ck_assert_str_eq(variant_of(&v, NULL), "None");
	assert_error(ad_value_unwrap_option(&v, &inner), AD_ERROR_NOT_FOUND, NULL,
		     "unwrapping None");
	assert_error(ad_value_member(&v, "Some", &inner), AD_ERROR_NOT_FOUND, "Some",
		     "the Some of None");
	v = const_sample(s, "none_instant");
	ck_assert_str_eq(variant_of(&v, NULL), "None");
	v = const_sample(s, "nonzero_none");
	ck_assert_str_eq(variant_of(&v, NULL), "None");
	v = const_sample(s, "nonzero_some");
	ck_assert_str_eq(variant_of(&v, &some), "Some");
	OK(ad_value_unwrap_option(&v, &inner));
	ck_assert_uint_eq(uint_of(&inner), const_u64("NONZERO_VALUE"));
	v = const_sample(s, "direct_some");
	ck_assert_str_eq(variant_of(&v, NULL), "Some");
	inner = path_of(&v, "Some.__0");
	ck_assert_uint_eq(uint_of(&inner), const_u64("OK_VALUE"));
}
END_TEST

START_TEST(const_results)
{
	struct sample *s = &samples[_i];
	struct ad_value v = const_sample(s, "ok"), inner;
	ck_assert_str_eq(variant_of(&v, &inner), "Ok");
	inner = member(&inner, "__0");
	ck_assert_uint_eq(uint_of(&inner), const_u64("OK_VALUE"));
	v = const_sample(s, "err_empty"); /* Err(String::new()) */
	ck_assert_str_eq(variant_of(&v, NULL), "Err");
	inner = path_of(&v, "Err.__0.vec.len");
	ck_assert_uint_eq(uint_of(&inner), 0);
	assert_error(ad_value_member(&v, "Ok", &inner), AD_ERROR_NOT_FOUND, "Ok", "the Ok of Err");
}
END_TEST

START_TEST(const_fieldless_values)
{
	struct sample *s = &samples[_i];
	struct ad_value v = const_sample(s, "fieldless"); /* Fieldless::Mid */
	ck_assert_uint_eq(uint_of(&v), enumerator(v.type, "Mid")->value);
	v = const_sample(s, "signed_fieldless"); /* SignedFieldless::Negative */
	ck_assert_uint_eq(uint_of(&v), enumerator(v.type, "Negative")->value & 0xff);
}
END_TEST

START_TEST(const_niche_in_bool)
{
	struct sample *s = &samples[_i];
	struct ad_value v = const_sample(s, "niche_set"), inner; /* Set(true) */
	ck_assert_str_eq(variant_of(&v, &inner), "Set");
	inner = member(&inner, "__0");
	ck_assert_uint_eq(uint_of(&inner), 1);
	v = const_sample(s, "niche_unset");
	ck_assert_str_eq(variant_of(&v, NULL), "Unset");
	v = const_sample(s, "niche_unknown");
	ck_assert_str_eq(variant_of(&v, NULL), "Unknown");
}
END_TEST

START_TEST(const_128_bit_tag)
{
	struct sample *s = &samples[_i];
	struct ad_value v = const_sample(s, "wide_small"), inner; /* Small(WIDE_SMALL_VALUE) */
	ck_assert_uint_eq(v.type->discr_size, 16);
	ck_assert_str_eq(variant_of(&v, &inner), "Small");
	inner = member(&inner, "__0");
	ck_assert_uint_eq(uint_of(&inner), const_u64("WIDE_SMALL_VALUE"));
	v = const_sample(s, "wide_huge"); /* Huge(WIDE_HUGE_VALUE) = 1 << 100 */
	ck_assert_str_eq(variant_of(&v, &inner), "Huge");
	inner = member(&inner, "__0");
	ck_assert_uint_eq(uint_of(&inner), const_u64("WIDE_HUGE_VALUE"));
}
END_TEST

/* An enum without a tag whose other variant holds Infallible, declared after
 * and before the inhabited one. */
static const char *const tagless_fields[] = { "only", "never_first" };

START_TEST(const_tagless_enum)
{
	struct sample *s = &samples[_i % NPROFILES];
	struct ad_value v = const_sample(s, tagless_fields[_i / NPROFILES]), inner;
	ck_assert_uint_eq(v.type->discr_size, 0);
	ck_assert_str_eq(variant_of(&v, &inner), "Value");
	inner = member(&inner, "__0");
	ck_assert_uint_eq(uint_of(&inner), const_u64("ONLY_VALUE"));
}
END_TEST

START_TEST(const_scalars)
{
	struct sample *s = &samples[_i];
	struct ad_value v = const_sample(s, "bits");
	v = member(&v, "word");
	ck_assert_uint_eq(uint_of(&v), const_u64("BITS_WORD"));
	v = const_sample(s, "array"); /* [1, 2, 3, 5, 8] */
	static const uint64_t array[] = { 1, 2, 3, 5, 8 };
	for (size_t i = 0; i < 5; i++) {
		uint64_t x;
		OK(ad_read_uint(s->file, v.address + 2 * i, 2, &x));
		ck_assert_uint_eq(x, array[i]);
	}
	v = const_sample(s, "wide_int");
	uint64_t halves[2], high, low;
	OK(ad_read(s->file, v.address, halves, sizeof(halves)));
	const_u128("WIDE_INT", &high, &low);
	ck_assert_uint_eq(halves[0], low);
	ck_assert_uint_eq(halves[1], high);
	v = const_sample(s, "signed_int");
	ck_assert_uint_eq(uint_of(&v), (uint32_t)const_u64("SIGNED_INT"));
	v = const_sample(s, "ratio"); /* 0.25 */
	double ratio;
	OK(ad_read(s->file, v.address, &ratio, sizeof(ratio)));
	ck_assert_double_eq(ratio, 0.25);
	v = const_sample(s, "flag");
	ck_assert_uint_eq(uint_of(&v), 1);
	v = const_sample(s, "letter");
	ck_assert_uint_eq(uint_of(&v), const_char("LETTER"));
}
END_TEST

/* ---- values: synthetic memory, real types */

#define SYN_VALUE 0x10000u
#define SYN_HEAP 0x20000u

static struct ad_reader *synthetic(const void *value, size_t len, const void *heap, size_t heap_len)
{
	struct ad_segment segs[2] = { { SYN_VALUE, value, len }, { SYN_HEAP, heap, heap_len } };
	struct ad_reader *r;
	OK(ad_reader_synthetic_create(segs, heap ? 2 : 1, &r));
	return r;
}

START_TEST(synthetic_option_box)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = field_type(s, const_samples_type(s), "none_box");
	uint64_t pointer = SYN_HEAP, boxed = 0xfeedbeef;
	struct ad_reader *r = synthetic(&pointer, sizeof(pointer), &boxed, sizeof(boxed));
	struct ad_value v = value_at(s, r, t, SYN_VALUE), inner, target;
	ck_assert_str_eq(variant_of(&v, NULL), "Some");
	OK(ad_value_unwrap_option(&v, &inner));
	ck_assert_int_eq(inner.type->kind, AD_TYPE_POINTER);
	uint64_t address;
	OK(ad_value_pointer(&inner, &address));
	ck_assert_uint_eq(address, SYN_HEAP);
	OK(ad_value_deref(&inner, &target));
	ck_assert_uint_eq(target.address, SYN_HEAP);
	ck_assert_uint_eq(uint_of(&target), boxed);
	ad_reader_destroy(r);

	pointer = 0;
	r = synthetic(&pointer, sizeof(pointer), NULL, 0);
	v = value_at(s, r, t, SYN_VALUE);
	ck_assert_str_eq(variant_of(&v, NULL), "None");
	assert_error(ad_value_unwrap_option(&v, &inner), AD_ERROR_NOT_FOUND, NULL,
		     "unwrapping None");
	ad_reader_destroy(r);
}
END_TEST

/* tv_sec, tv_nsec of an Option<Instant> laid out through its own type. */
static struct ad_reader *synthetic_instant(struct sample *s, const struct ad_type *t, uint64_t sec,
					   uint32_t nsec)
{
	const struct ad_type *some, *ft;
	uint64_t sec_at, nsec_at;
	OK(ad_variant_type(s->di, variant_named(s, t, "Some"), &some));
	OK(ad_find_member(s->di, some, "tv_sec", 6, &sec_at, &ft));
	OK(ad_find_member(s->di, some, "tv_nsec", 6, &nsec_at, &ft));
	unsigned char bytes[64] = { 0 };
	ck_assert_uint_le(t->size, sizeof(bytes));
	memcpy(bytes + sec_at, &sec, sizeof(sec));
	memcpy(bytes + nsec_at, &nsec, sizeof(nsec));
	return synthetic(bytes, t->size, NULL, 0);
}

static uint64_t instant_part(struct sample *s, const struct ad_value *some, const char *name)
{
	uint64_t off;
	const struct ad_type *ft;
	OK(ad_find_member(s->di, some->type, name, 6, &off, &ft));
	struct ad_value part = value_at(s, some->reader, ft, some->address + off);
	return uint_of(&part);
}

START_TEST(synthetic_option_instant)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = field_type(s, const_samples_type(s), "none_instant");
	struct ad_reader *r = synthetic_instant(s, t, 12345, 999999999);
	struct ad_value v = value_at(s, r, t, SYN_VALUE), some;
	ck_assert_str_eq(variant_of(&v, &some), "Some");
	ck_assert_uint_eq(instant_part(s, &some, "tv_sec"), 12345);
	ck_assert_uint_eq(instant_part(s, &some, "tv_nsec"), 999999999);
	ad_reader_destroy(r);

	r = synthetic_instant(s, t, 12345, INSTANT_NONE_NICHE);
	v = value_at(s, r, t, SYN_VALUE);
	ck_assert_str_eq(variant_of(&v, NULL), "None");
	ad_reader_destroy(r);

	r = synthetic_instant(s, t, 0, 0);
	v = value_at(s, r, t, SYN_VALUE);
	ck_assert_str_eq(variant_of(&v, NULL), "Some");
	ad_reader_destroy(r);
}
END_TEST

static const char parked_env[] = "typesamples::parked_at_pending::{async_fn_env#0}";

/* The state machine of parked_at_pending with __state set to `state`. */
static struct ad_reader *synthetic_env(const struct ad_type *env, uint8_t state)
{
	unsigned char bytes[256] = { 0 };
	ck_assert_uint_le(env->size, sizeof(bytes));
	ck_assert_uint_eq(env->discr_size, 1);
	bytes[env->discr_offset] = state;
	return synthetic(bytes, env->size, NULL, 0);
}

START_TEST(synthetic_coroutine_states)
{
	struct sample *s = &samples[_i];
	const struct ad_type *env = find_type(s, parked_env);
	ck_assert_int_eq(env->kind, AD_TYPE_ENUM);
	/* __state: 0 Unresumed, 1 Returned, 2 Panicked, 3 the first await. */
	static const struct { uint8_t state; const char *suffix; } states[] = {
		{ 0, "::Unresumed" }, { 1, "::Returned" }, { 2, "::Panicked" }, { 3, "::Suspend0" },
	};
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct ad_reader *r = synthetic_env(env, states[i].state);
		struct ad_value v = value_at(s, r, env, SYN_VALUE), inner;
		const struct ad_variant *var;
		OK(ad_value_variant(&v, &var, &inner));
		ck_assert_uint_eq(strtoul(var->name, NULL, 10), states[i].state);
		ck_assert_msg(ends_with(inner.type->name, states[i].suffix), "state %u is %s",
			      states[i].state, inner.type->name);
		ck_assert_uint_eq(inner.address, SYN_VALUE);
		ad_reader_destroy(r);
	}
	const struct ad_variant *suspend = variant_named(s, env, "Suspend0");
	ck_assert_uint_eq(suspend->line, marker_line("parked_at_pending_awaits_pending"));
	ck_assert_msg(suspend->file && ends_with(suspend->file, "typesamples/src/main.rs"),
		      "Suspend0 is declared in %s", suspend->file ? suspend->file : "(none)");
	ck_assert_uint_eq(variant_named(s, env, "Unresumed")->line,
			  source_line_starting("async fn parked_at_pending("));

	/* A state no variant has: corrupt memory is an error, not a guess. */
	struct ad_reader *r = synthetic_env(env, 200);
	struct ad_value v = value_at(s, r, env, SYN_VALUE), inner;
	const struct ad_variant *var = NULL;
	assert_error(ad_value_variant(&v, &var, &inner), AD_ERROR_UNKNOWN_LAYOUT, "200",
		     "a corrupt __state");
	ck_assert_ptr_null(var);
	ad_reader_destroy(r);
}
END_TEST

START_TEST(synthetic_corrupt_direct_tag)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = field_type(s, const_samples_type(s), "direct_some");
	ck_assert_uint_gt(t->discr_size, 0);
	unsigned char bytes[16] = { 0 };
	ck_assert_uint_le(t->size, sizeof(bytes));
	bytes[t->discr_offset] = 0x5a;
	struct ad_reader *r = synthetic(bytes, t->size, NULL, 0);
	struct ad_value v = value_at(s, r, t, SYN_VALUE), inner;
	assert_error(ad_value_variant(&v, NULL, &inner), AD_ERROR_UNKNOWN_LAYOUT, t->name,
		     "a corrupt Option<u32> tag");
	assert_error(ad_value_unwrap_option(&v, &inner), AD_ERROR_UNKNOWN_LAYOUT, NULL,
		     "unwrapping a corrupt Option<u32>");
	ad_reader_destroy(r);
}
END_TEST

START_TEST(synthetic_faults_carry_the_address)
{
	struct sample *s = &samples[_i];
	const struct ad_type *box = field_type(s, const_samples_type(s), "none_box");
	const struct ad_type *instant = field_type(s, const_samples_type(s), "none_instant");
	/* Nothing at all at the value's address. */
	uint64_t pointer = SYN_HEAP + 0x1000;
	struct ad_reader *r = synthetic(&pointer, sizeof(pointer), NULL, 0);
	struct ad_value v = value_at(s, r, box, 0x5000), inner, target;
	struct ad_error *err = ad_value_variant(&v, NULL, &inner);
	ck_assert_msg(err && err->address == 0x5000, "fault at 0x5000 expected");
	assert_error(err, AD_ERROR_FAULT, NULL, "an unmapped Option<Box>");
	/* Some(pointer to nothing): following it faults at the pointer. */
	v = value_at(s, r, box, SYN_VALUE);
	OK(ad_value_unwrap_option(&v, &inner));
	OK(ad_value_deref(&inner, &target));
	uint64_t x;
	err = ad_value_uint(&target, &x);
	ck_assert_msg(err && err->address == SYN_HEAP + 0x1000, "fault at the box expected");
	assert_error(err, AD_ERROR_FAULT, NULL, "reading through a dangling Box");
	/* A value cut short: the tag of Option<Instant> is past the segment. */
	v = value_at(s, r, instant, SYN_VALUE);
	ck_assert_uint_ge(instant->discr_offset, sizeof(pointer));
	assert_error(ad_value_variant(&v, NULL, &inner), AD_ERROR_FAULT, NULL,
		     "a truncated Option<Instant>");
	ad_reader_destroy(r);
}
END_TEST

START_TEST(value_misuse_is_a_clean_error)
{
	struct sample *s = &samples[_i];
	unsigned char zeros[256] = { 0 };
	struct ad_reader *r = synthetic(zeros, sizeof(zeros), NULL, 0);
	const struct ad_type *all = const_samples_type(s);
	struct ad_value v = value_at(s, r, all, SYN_VALUE), m;
	uint64_t x;
	assert_error(ad_value_discr(&v, &x), AD_ERROR_INVALID_ARGUMENT, "ConstSamples",
		     "the discriminant of a struct");
	assert_error(ad_value_member(&v, "no_such_field", &m), AD_ERROR_UNKNOWN_LAYOUT,
		     "no_such_field", "a missing field");
	assert_error(ad_value_path(&v, "ok.Ok.no_such_field", &m), AD_ERROR_NOT_FOUND, NULL,
		     "a path through an inactive variant");
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_error(ad_value_path(&v, long_name, &m), AD_ERROR_INVALID_ARGUMENT, NULL,
		     "an overlong path component");
	m = member(&v, "wide_int");
	assert_error(ad_value_uint(&m, &x), AD_ERROR_UNKNOWN_LAYOUT, "u128",
		     "a 16-byte value as an integer");
	/* Option<Box<u64>>::Some's pointer, null: no deref. */
	const struct ad_type *box = field_type(s, all, "none_box"), *some;
	OK(ad_variant_type(s->di, variant_named(s, box, "Some"), &some));
	struct ad_value p = value_at(s, r, field_type(s, some, "__0"), SYN_VALUE);
	assert_error(ad_value_deref(&p, &m), AD_ERROR_FAULT, "null", "dereferencing null");
	/* Not an Option: returned unchanged. */
	OK(ad_value_unwrap_option(&v, &m));
	ck_assert_ptr_eq(m.type, all);
	ck_assert_uint_eq(m.address, v.address);
	ad_reader_destroy(r);
}
END_TEST

/* ---- values: the running program */

START_TEST(live_load_bias_and_symbols)
{
	struct sample *s = &samples[_i];
	uint64_t runtime = info_u64(s, "CONST_SAMPLES");
	ck_assert_uint_eq(runtime - s->bias, s->const_samples);
	ck_assert_uint_eq(info_u64(s, "RUNTIME_SAMPLES") - s->bias, s->runtime_samples);
	const char *name;
	uint64_t offset;
	OK(ad_debuginfo_symbol_at(s->di, runtime - s->bias + 3, &name, &offset));
	ck_assert_str_eq(name, "CONST_SAMPLES");
	ck_assert_uint_eq(offset, 3);
	OK(ad_debuginfo_symbol_at(s->di, info_u64(s, "RUNTIME_SAMPLES") - s->bias, &name, &offset));
	ck_assert_str_eq(name, "RUNTIME_SAMPLES");
	ck_assert_uint_eq(offset, 0);
	assert_error(ad_debuginfo_symbol_at(s->di, 0, &name, &offset), AD_ERROR_NOT_FOUND, NULL,
		     "the symbol at 0");
}
END_TEST

START_TEST(live_type_sizes)
{
	struct sample *s = &samples[_i];
	ck_assert_uint_eq(const_samples_type(s)->size, info_u64(s, "CONST_SAMPLES_SIZE"));
	ck_assert_uint_eq(find_type(s, "typesamples::RuntimeSamples")->size,
			  info_u64(s, "RUNTIME_SAMPLES_SIZE"));
}
END_TEST

START_TEST(live_box_instant_and_err)
{
	struct sample *s = &samples[_i];
	struct ad_value v = runtime_sample(s, "some_box"), inner, target;
	OK(ad_value_unwrap_option(&v, &inner));
	OK(ad_value_deref(&inner, &target));
	ck_assert_uint_eq(uint_of(&target), const_u64("BOXED_VALUE"));

	/* INSTANT Instant { tv_sec: S, tv_nsec: N } */
	const char *printed = info(s, "INSTANT"), *sec = strstr(printed, "tv_sec: "),
		   *nsec = strstr(printed, "tv_nsec: ");
	ck_assert_msg(sec && nsec, "unexpected INSTANT line: %s", printed);
	uint64_t expected_sec = strtoull(sec + 8, NULL, 10);
	uint64_t expected_nsec = strtoull(nsec + 9, NULL, 10);
	v = runtime_sample(s, "some_instant");
	ck_assert_str_eq(variant_of(&v, NULL), "Some");
	OK(ad_value_unwrap_option(&v, &inner));
	ck_assert_uint_eq(instant_part(s, &inner, "tv_sec"), expected_sec);
	ck_assert_uint_eq(instant_part(s, &inner, "tv_nsec"), expected_nsec);

	/* Err(String::from(ERR_TEXT)) */
	const char *text = const_str("ERR_TEXT");
	v = runtime_sample(s, "err");
	ck_assert_str_eq(variant_of(&v, NULL), "Err");
	struct ad_value vec = path_of(&v, "Err.__0.vec"), len = member(&vec, "len");
	ck_assert_uint_eq(uint_of(&len), strlen(text));
	uint64_t ptr_at, address;
	const struct ad_type *ptr_type;
	OK(ad_find_member(s->di, vec.type, "ptr", 4, &ptr_at, &ptr_type));
	struct ad_value ptr = value_at(s, s->live, ptr_type, vec.address + ptr_at);
	OK(ad_value_pointer(&ptr, &address));
	char bytes[64] = { 0 };
	ck_assert_uint_lt(strlen(text), sizeof(bytes));
	OK(ad_read(s->live, address, bytes, strlen(text)));
	ck_assert_str_eq(bytes, text);
}
END_TEST

/* Some(Box<dyn …>): the fat pointer's data pointer and vtable address. */
static void fat_pointer(struct sample *s, const struct ad_value *option, uint64_t *data,
			uint64_t *vtable)
{
	struct ad_value inner, field;
	const struct ad_type *ft;
	uint64_t off;
	OK(ad_value_unwrap_option(option, &inner));
	OK(ad_find_member(s->di, inner.type, "pointer", 4, &off, &ft));
	field = value_at(s, s->live, ft, inner.address + off);
	OK(ad_value_pointer(&field, data));
	OK(ad_find_member(s->di, inner.type, "vtable", 4, &off, &ft));
	field = value_at(s, s->live, ft, inner.address + off);
	OK(ad_value_pointer(&field, vtable));
}

START_TEST(live_trait_object_through_its_vtable)
{
	struct sample *s = &samples[_i];
	struct ad_value v = runtime_sample(s, "shape");
	uint64_t data, vtable;
	fat_pointer(s, &v, &data, &vtable);
	const struct ad_type *concrete;
	OK(ad_debuginfo_vtable_type(s->di, vtable - s->bias, &concrete));
	ck_assert_str_eq(concrete->name, "typesamples::Square");
	struct ad_value square = value_at(s, s->live, concrete, data);
	struct ad_value side = member(&square, "side");
	ck_assert_uint_eq(uint_of(&side), const_u64("SQUARE_SIDE"));
	/* Not a vtable: a static's address. */
	assert_error(ad_debuginfo_vtable_type(s->di, s->const_samples, &concrete),
		     AD_ERROR_NOT_FOUND, NULL, "the vtable type of CONST_SAMPLES");
}
END_TEST

START_TEST(live_coroutine_env)
{
	struct sample *s = &samples[_i];
	struct ad_value v = runtime_sample(s, "parked");
	uint64_t data, vtable;
	fat_pointer(s, &v, &data, &vtable);
	ck_assert_uint_eq(data, info_u64(s, "PARKED_ENV"));
	const struct ad_type *env;
	OK(ad_debuginfo_vtable_type(s->di, vtable - s->bias, &env));
	ck_assert_str_eq(env->name, parked_env);
	/* (Each codegen unit has its own copy of the type: compare by name.) */
	ck_assert_uint_eq(env->size, find_type(s, parked_env)->size);

	struct ad_value state = value_at(s, s->live, env, data), inner;
	const struct ad_variant *var;
	OK(ad_value_variant(&state, &var, &inner));
	ck_assert_msg(ends_with(inner.type->name, "::Suspend0"), "parked in %s", inner.type->name);
	ck_assert_uint_eq(var->line, marker_line("parked_at_pending_awaits_pending"));
	struct ad_value arg = member(&inner, "arg"), local = member(&inner, "local");
	ck_assert_uint_eq(uint_of(&arg), const_u64("PARKED_ARG"));
	ck_assert_uint_eq(uint_of(&local), const_u64("PARKED_ARG") + 1); /* let local = arg + 1 */
	struct ad_value awaitee = member(&inner, "__awaitee");
	ck_assert_str_eq(awaitee.type->name, "core::future::pending::Pending<()>");
	/* By variant name, through ad_value_member. */
	inner = member(&state, "Suspend0");
	ck_assert_str_eq(member(&inner, "arg").type->name, "u64");
	assert_error(ad_value_member(&state, "Unresumed", &inner), AD_ERROR_NOT_FOUND, "Unresumed",
		     "an inactive state");
}
END_TEST

START_TEST(live_generic_function_and_its_parameter)
{
	struct sample *s = &samples[_i];
	uint64_t pc = info_u64(s, "GENERIC_PROBE") - s->bias;
	const char *name;
	OK(ad_debuginfo_function_at(s->di, pc, &name));
	ck_assert_str_eq(name, "typesamples::generic_probe<typesamples::Probe>");
	const struct ad_type *t;
	OK(ad_debuginfo_function_template_param(s->di, pc, "T", &t));
	ck_assert_str_eq(t->name, "typesamples::Probe");
	ck_assert_ptr_nonnull(ad_type_field(t, "weight"));
	assert_error(ad_debuginfo_function_template_param(s->di, pc, "U", &t), AD_ERROR_NOT_FOUND,
		     "U", "a missing template parameter");
	assert_error(ad_debuginfo_function_at(s->di, 0, &name), AD_ERROR_NOT_FOUND, NULL,
		     "the function at 0");
}
END_TEST

/* A thread-local of the main thread, as a value of its TLS variable's type,
 * located from the thread pointer the program printed. */
static struct ad_value thread_local(struct sample *s, const char *name)
{
	uint64_t dtpoff;
	int64_t block;
	const struct ad_type *t;
	OK(ad_debuginfo_find_tls(s->di, name, &dtpoff, &t));
	OK(ad_debuginfo_static_tls_offset(s->di, &block));
	return value_at(s, s->live, t, info_u64(s, "THREAD_POINTER") + (uint64_t)block + dtpoff);
}

/* The member of `v` whose type is `type_name` (or `v` itself). */
static struct ad_value typed_member(struct sample *s, const struct ad_value *v,
				    const char *type_name)
{
	uint64_t offset;
	OK(ad_find_typed_member(s->di, v->type, type_name, 8, &offset));
	return value_at(s, v->reader, find_type(s, type_name), v->address + offset);
}

START_TEST(live_thread_locals)
{
	struct sample *s = &samples[_i];
	struct ad_value tls = thread_local(s, "typesamples::CONST_TLS::");
	struct ad_value v = typed_member(s, &tls, "core::cell::Cell<u64>"), x;
	ck_assert_uint_eq(v.address, info_u64(s, "CONST_TLS"));
	OK(ad_value_strip_wrappers(&v, &x));
	ck_assert_str_eq(x.type->name, "u64");
	ck_assert_uint_eq(uint_of(&x), const_u64("CONST_TLS_VALUE"));

	tls = thread_local(s, "typesamples::LAZY_TLS::");
	v = typed_member(s, &tls, "core::cell::RefCell<alloc::string::String>");
	ck_assert_uint_eq(v.address, info_u64(s, "LAZY_TLS"));
	OK(ad_value_strip_wrappers(&v, &x));
	ck_assert_str_eq(x.type->name, "alloc::string::String");
	x = path_of(&x, "vec.len");
	ck_assert_uint_eq(uint_of(&x), strlen(const_str("LAZY_TLS_TEXT")));

	uint64_t dtpoff;
	const struct ad_type *t;
	assert_error(ad_debuginfo_find_tls(s->di, "typesamples::NO_SUCH_TLS::", &dtpoff, &t),
		     AD_ERROR_NOT_FOUND, "NO_SUCH_TLS", "a missing thread-local");
}
END_TEST

/* The lazy storage's value is UnsafeCell<MaybeUninit<RefCell<String>>>:
 * every layer is transparent, down to the String. (MaybeUninit holds a
 * ManuallyDrop, which rustc >= 1.9x makes hold a MaybeDangling.) */
START_TEST(live_wrappers_are_stripped)
{
	struct sample *s = &samples[_i];
	struct ad_value tls = thread_local(s, "typesamples::LAZY_TLS::");
	struct ad_value value = member(&tls, "value"), x;
	OK(ad_value_strip_wrappers(&value, &x));
	ck_assert_str_eq(x.type->name, "alloc::string::String");
	const struct ad_type *refcell = find_type(s, "core::cell::RefCell<alloc::string::String>");
	ck_assert_uint_eq(x.address,
			  info_u64(s, "LAZY_TLS") + ad_type_field(refcell, "value")->offset);
}
END_TEST

/* ---- C types linked into the Rust program (tests/unit/csample.c) */

START_TEST(c_types)
{
	struct sample *s = &samples[_i];
	const struct ad_type *point = find_type(s, "csample_point");
	ck_assert_int_eq(point->kind, AD_TYPE_STRUCT);
	ck_assert_uint_eq(point->size, 8);
	ck_assert_uint_eq(ad_type_field(point, "x")->offset, 0);
	ck_assert_uint_eq(ad_type_field(point, "y")->offset, 4);
	const struct ad_type *x = field_type(s, point, "x");
	ck_assert_int_eq(x->kind, AD_TYPE_BASE);
	ck_assert_uint_eq(x->size, 4);
	ck_assert(x->is_signed);
	/* A typedef is transparent. */
	const struct ad_type *typedefd = find_type(s, "csample_point_t");
	ck_assert_int_eq(typedefd->kind, AD_TYPE_STRUCT);
	ck_assert_uint_eq(typedefd->size, 8);
	ck_assert_ptr_nonnull(ad_type_field(typedefd, "y"));

	const struct ad_type *bits = find_type(s, "csample_bits"), *bytes, *byte;
	ck_assert_int_eq(bits->kind, AD_TYPE_UNION);
	ck_assert_uint_eq(bits->size, 4);
	ck_assert_uint_eq(bits->nfields, 3);
	bytes = field_type(s, bits, "bytes");
	ck_assert_int_eq(bytes->kind, AD_TYPE_ARRAY);
	ck_assert_uint_eq(bytes->count, 4);
	OK(ad_type_target(s->di, bytes, &byte));
	ck_assert_str_eq(byte->name, "unsigned char");
	ck_assert(!byte->is_signed);

	const struct ad_type *color = find_type(s, "csample_color");
	ck_assert_int_eq(color->kind, AD_TYPE_CENUM);
	ck_assert_uint_eq(color->size, 4);
	ck_assert_uint_eq(enumerator(color, "CSAMPLE_RED")->value, (uint64_t)-1);
	ck_assert_uint_eq(enumerator(color, "CSAMPLE_GREEN")->value, 7);
	ck_assert_uint_eq(enumerator(color, "CSAMPLE_BLUE")->value, 300);
	ck_assert_msg(color->is_signed, "enum csample_color has a negative enumerator");

	const struct ad_type *all = find_type(s, "csample_all");
	ck_assert_uint_eq(field_type(s, all, "small")->size, 1);
	ck_assert(field_type(s, all, "small")->is_signed);
	ck_assert_uint_eq(field_type(s, all, "big")->size, 8);
	ck_assert(!field_type(s, all, "big")->is_signed);
}
END_TEST

START_TEST(c_values_from_the_file)
{
	struct sample *s = &samples[_i];
	const struct ad_type *t = find_type(s, "csample_all");
	struct ad_value all = value_at(s, s->file, t, s->csample_values), v;
	v = path_of(&all, "point.x");
	ck_assert_uint_eq(uint_of(&v), (uint32_t)-3);
	v = path_of(&all, "point.y");
	ck_assert_uint_eq(uint_of(&v), 4);
	v = path_of(&all, "bits.word");
	ck_assert_uint_eq(uint_of(&v), 0x40490fdbu);
	v = member(&all, "color");
	ck_assert_uint_eq(uint_of(&v), enumerator(v.type, "CSAMPLE_BLUE")->value);
	v = member(&all, "small");
	ck_assert_uint_eq(uint_of(&v), (uint8_t)-5);
	v = member(&all, "big");
	ck_assert_uint_eq(uint_of(&v), 1ull << 40);
	v = member(&all, "history");
	uint64_t second;
	OK(ad_read_uint(s->file, v.address + 2, 2, &second));
	ck_assert_uint_eq(second, (uint16_t)-20);
}
END_TEST

/* ---- the suite */

static TCase *tcase(Suite *suite, const char *name, void (*setup)(void))
{
	TCase *tc = tcase_create(name);
	if (setup)
		tcase_add_unchecked_fixture(tc, setup, NULL);
	/* Type conversions under ASan on a loaded machine. */
	tcase_set_timeout(tc, 60);
	suite_add_tcase(suite, tc);
	return tc;
}

static void add_per_profile(TCase *tc, const TTest *test)
{
	tcase_add_loop_test(tc, test, 0, NPROFILES);
}

int main(void)
{
	Suite *suite = suite_create("types");

	TCase *tc = tcase(suite, "open", NULL);
	tcase_add_test(tc, base_names_skip_paths_inside_generic_arguments);
	tcase_add_test(tc, c_program_is_not_rust);
	tcase_add_test(tc, stripped_binary_gets_build_advice);
	tcase_add_loop_test(tc, typeless_build_gets_build_advice, 0,
			    sizeof(typeless_levels) / sizeof(typeless_levels[0]));
	tcase_add_test(tc, full_debuginfo_build_opens);
	tcase_add_test(tc, debuglink_finds_separate_debug_file);
	tcase_add_test(tc, missing_file_is_an_os_error);
	tcase_add_test(tc, non_elf_file_is_refused);

	tc = tcase(suite, "index", open_samples);
	add_per_profile(tc, identity_of_the_binary);
	add_per_profile(tc, types_are_converted_once);
	add_per_profile(tc, unknown_type_is_not_found);
	add_per_profile(tc, struct_fields_match_the_source);

	tc = tcase(suite, "types", open_samples);
	add_per_profile(tc, fieldless_enum_with_explicit_discriminants);
	add_per_profile(tc, fieldless_enum_with_negative_discriminant);
	add_per_profile(tc, base_types);
	add_per_profile(tc, union_and_array);
	add_per_profile(tc, option_box_is_a_null_niche);
	add_per_profile(tc, option_instant_has_its_tag_in_tv_nsec);

	tc = tcase(suite, "file values", open_samples);
	add_per_profile(tc, const_options);
	add_per_profile(tc, const_results);
	add_per_profile(tc, const_fieldless_values);
	add_per_profile(tc, const_niche_in_bool);
	add_per_profile(tc, const_128_bit_tag);
	/* Each field of tagless_fields in each profile. */
	tcase_add_loop_test(tc, const_tagless_enum, 0, 2 * NPROFILES);
	add_per_profile(tc, const_scalars);

	tc = tcase(suite, "synthetic", open_samples);
	add_per_profile(tc, synthetic_option_box);
	add_per_profile(tc, synthetic_option_instant);
	add_per_profile(tc, synthetic_coroutine_states);
	add_per_profile(tc, synthetic_corrupt_direct_tag);
	add_per_profile(tc, synthetic_faults_carry_the_address);
	add_per_profile(tc, value_misuse_is_a_clean_error);

	tc = tcase(suite, "live", start_samples);
	add_per_profile(tc, live_load_bias_and_symbols);
	add_per_profile(tc, live_type_sizes);
	add_per_profile(tc, live_box_instant_and_err);
	add_per_profile(tc, live_trait_object_through_its_vtable);
	add_per_profile(tc, live_coroutine_env);
	add_per_profile(tc, live_generic_function_and_its_parameter);
	add_per_profile(tc, live_thread_locals);
	add_per_profile(tc, live_wrappers_are_stripped);

	tc = tcase(suite, "c", open_samples);
	add_per_profile(tc, c_types);
	add_per_profile(tc, c_values_from_the_file);

	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	stop_samples();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
