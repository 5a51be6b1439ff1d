/* SPDX-License-Identifier: MIT */
/* Core files as snapshots: a synthetic ELF core written here (notes, two
 * segments, one of them file-backed with pages left out), read back whole,
 * truncated, cut inside its notes, and compressed with zstd, xz and lz4. */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>
#include <zstd.h>

#include "asyncdump/core.h"

#define ANON 0x10000      /* anonymous, writable: all in the core */
#define ANON_LEN 0x2000
#define FILE_MAP 0x20000  /* a file's mapping: one page in the core, one left out */
#define FILE_LEN 0x2000
#define ENTRY (FILE_MAP + 0x1010)

static char dir[] = "/tmp/asyncdump-test-core.XXXXXX";
static char mapped_path[4096];

static void assert_ok(struct ad_error *err)
{
	ck_assert_msg(err == NULL, "unexpected error: %s", err ? err->message : "");
}

struct buf {
	char *data;
	size_t len;
};

static void put(struct buf *b, const void *data, size_t len)
{
	b->data = realloc(b->data, b->len + len);
	ck_assert_ptr_nonnull(b->data);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

static void pad4(struct buf *b)
{
	static const char zeros[4];
	put(b, zeros, (4 - b->len % 4) % 4);
}

static void note(struct buf *b, const char *name, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr nh = { (uint32_t)strlen(name) + 1, (uint32_t)len, type };
	put(b, &nh, sizeof(nh));
	put(b, name, nh.n_namesz);
	pad4(b);
	put(b, desc, len);
	pad4(b);
}

static void thread_note(struct buf *b, pid_t tid, uint64_t rsp, uint64_t fs_base)
{
	struct elf_prstatus st;
	memset(&st, 0, sizeof(st));
	st.pr_pid = tid;
	struct user_regs_struct regs = { 0 };
	regs.rsp = rsp;
	regs.rip = ENTRY;
	regs.fs_base = fs_base;
	memcpy(&st.pr_reg, &regs, sizeof(regs));
	note(b, "CORE", NT_PRSTATUS, &st, sizeof(st));
}

/* The page the core leaves out of the file's mapping: 0xab bytes. */
static void write_mapped_file(void)
{
	snprintf(mapped_path, sizeof(mapped_path), "%s/program", dir);
	FILE *f = fopen(mapped_path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < FILE_LEN; i++)
		fputc(i < 0x1000 ? 0x11 : 0xab, f);
	fclose(f);
}

/* The core: ehdr, 3 phdrs (note, anon, file), notes, then memory. Returns
 * its path; *total its size. */
static const char *write_core(const char *name, size_t *total)
{
	struct buf notes = { 0 };
	thread_note(&notes, 101, ANON + 0x1800, 0x7000);
	thread_note(&notes, 100, 0x7ffff000, 0x7100); /* the main thread, second */
	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof(ps));
	ps.pr_pid = 100;
	memcpy(ps.pr_fname, "synthetic", 10);
	note(&notes, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
	uint64_t auxv[] = { AT_ENTRY, ENTRY, AT_NULL, 0 };
	note(&notes, "CORE", NT_AUXV, auxv, sizeof(auxv));
	struct buf file = { 0 };
	uint64_t head[] = { 1, 0x1000, FILE_MAP, FILE_MAP + FILE_LEN, 0 };
	put(&file, head, sizeof(head));
	put(&file, mapped_path, strlen(mapped_path) + 1);
	note(&notes, "CORE", NT_FILE, file.data, file.len);
	free(file.data);

	size_t off = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
	size_t mem = (off + notes.len + 0xfff) & ~(size_t)0xfff;
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_NOTE, .p_offset = off, .p_filesz = notes.len },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = mem, .p_vaddr = ANON,
		  .p_filesz = ANON_LEN, .p_memsz = ANON_LEN },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = mem + ANON_LEN,
		  .p_vaddr = FILE_MAP, .p_filesz = 0x1000, .p_memsz = FILE_LEN },
	};
	struct buf core = { 0 };
	put(&core, &eh, sizeof(eh));
	put(&core, ph, sizeof(ph));
	put(&core, notes.data, notes.len);
	free(notes.data);
	while (core.len < mem)
		put(&core, "", 1);
	for (int i = 0; i < ANON_LEN; i++) {
		unsigned char c = (unsigned char)(i & 0xff);
		put(&core, &c, 1);
	}
	for (int i = 0; i < 0x1000; i++)
		put(&core, "\x22", 1); /* the process's copy of the file's first page */
	static char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(core.data, 1, core.len, f), core.len);
	fclose(f);
	*total = core.len;
	free(core.data);
	return path;
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_mapped_file();
}

static void teardown(void)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir, "/tmp/asyncdump-test-core.XXXXXX");
}

static void check_whole(struct ad_core *core)
{
	const struct ad_core_info *info = ad_core_info(core);
	ck_assert_int_eq(info->pid, 100);
	ck_assert_str_eq(info->comm, "synthetic");
	ck_assert_str_eq(info->exe, mapped_path);
	struct ad_snapshot *snap = ad_core_snapshot(core);
	ck_assert_int_eq(snap->pid, 100);
	ck_assert_str_eq(snap->exe, mapped_path);
	ck_assert_uint_eq(snap->nthreads, 2);
	/* tid order, as /proc/PID/task lists them; the main thread named */
	ck_assert_int_eq(snap->threads[0].tid, 100);
	ck_assert_str_eq(snap->threads[0].name, "synthetic");
	ck_assert_uint_eq(snap->threads[0].regs.fs_base, 0x7100);
	ck_assert_uint_eq(snap->threads[0].regs.rip, ENTRY);
	ck_assert_int_eq(snap->threads[1].tid, 101);
	ck_assert_str_eq(snap->threads[1].name, "");
	ck_assert_uint_eq(snap->nmappings, 2);
	ck_assert_ptr_null(snap->mappings[0].path);
	ck_assert_str_eq(snap->mappings[0].perms, "rw-p");
	ck_assert_str_eq(snap->mappings[1].path, mapped_path);
	ck_assert_str_eq(snap->mappings[1].perms, "r-xp");
	uint8_t b[4];
	assert_ok(ad_read(snap->reader, ANON + 0x123, b, 1));
	ck_assert_uint_eq(b[0], 0x23);
	/* a read across the dumped page and the page left out (from the file) */
	assert_ok(ad_read(snap->reader, FILE_MAP + 0xffe, b, 4));
	ck_assert_uint_eq(b[0], 0x22);
	ck_assert_uint_eq(b[1], 0x22);
	ck_assert_uint_eq(b[2], 0xab);
	ck_assert_uint_eq(b[3], 0xab);
	struct ad_error *err = ad_read(snap->reader, ANON + ANON_LEN, b, 1);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_FAULT);
	ck_assert_uint_eq(err->address, ANON + ANON_LEN);
	ad_error_destroy(err);
}

START_TEST(reads_a_whole_core)
{
	size_t total;
	const char *path = write_core("core", &total);
	struct ad_core *core;
	assert_ok(ad_core_open(path, NULL, &core));
	check_whole(core);
	ck_assert(!ad_core_truncated(core));
	ck_assert_uint_eq(ad_core_info(core)->compression, AD_CORE_PLAIN);
	ad_core_close(core);
}
END_TEST

START_TEST(a_truncated_core_reads_what_is_left_and_says_what_is_lost)
{
	size_t total;
	const char *path = write_core("core", &total);
	/* keep the anonymous segment's first 0x800 bytes */
	ck_assert_int_eq(truncate(path, (off_t)(total - 0x1000 - ANON_LEN + 0x800)), 0);
	struct ad_core *core;
	assert_ok(ad_core_open(path, NULL, &core));
	ck_assert(ad_core_truncated(core));
	ck_assert_uint_eq(ad_core_nwarnings(core), 1);
	const char *w = ad_core_warning(core, 0);
	ck_assert_msg(strstr(w, "is truncated: 6144 of 8192 bytes of memory are missing, in 1 "
			      "mappings: 0x10800-0x12000 (the stack of thread 101)"), "%s", w);
	struct ad_snapshot *snap = ad_core_snapshot(core);
	uint8_t b;
	assert_ok(ad_read(snap->reader, ANON + 0x7ff, &b, 1));
	ck_assert_uint_eq(b, 0xff);
	struct ad_error *err = ad_read(snap->reader, ANON + 0x7ff, &b, 2);
	ck_assert_ptr_nonnull(err);
	ck_assert_uint_eq(err->address, ANON + 0x800);
	ck_assert_msg(strstr(err->message, "was lost: the core is truncated"), "%s", err->message);
	ad_error_destroy(err);
	/* the file's read-only page the truncation lost is still in the file */
	assert_ok(ad_read(snap->reader, FILE_MAP, &b, 1));
	ck_assert_uint_eq(b, 0x11);
	ad_core_close(core);
}
END_TEST

START_TEST(a_core_cut_in_its_notes_is_refused)
{
	size_t total;
	const char *path = write_core("core", &total);
	ck_assert_int_eq(truncate(path, 300), 0);
	struct ad_core *core;
	struct ad_error *err = ad_core_open(path, NULL, &core);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err->message, "truncated before the end of its notes"), "%s",
		      err->message);
	ad_error_destroy(err);
	ck_assert_int_eq(truncate(path, 0), 0);
	err = ad_core_open(path, NULL, &core);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err->message, "not an ELF file"), "%s", err->message);
	ad_error_destroy(err);
}
END_TEST

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *data = malloc(*len);
	ck_assert_uint_eq(fread(data, 1, *len, f), *len);
	fclose(f);
	return data;
}

static const char *write_compressed(const char *from, enum ad_core_compression kind, size_t keep)
{
	size_t len;
	char *data = slurp(from, &len);
	size_t cap = len + 65536, out = 0;
	char *packed = malloc(cap);
	if (kind == AD_CORE_ZSTD) {
		out = ZSTD_compress(packed, cap, data, len, 3);
		ck_assert(!ZSTD_isError(out));
	} else if (kind == AD_CORE_XZ) {
		ck_assert_int_eq(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, (uint8_t *)data,
							 len, (uint8_t *)packed, &out, cap),
				 LZMA_OK);
	} else {
		out = LZ4F_compressFrame(packed, cap, data, len, NULL);
		ck_assert(!LZ4F_isError(out));
	}
	static char path[4200];
	snprintf(path, sizeof(path), "%s/core.%s", dir, ad_core_compression_name(kind));
	FILE *f = fopen(path, "w");
	size_t n = keep && keep < out ? keep : out;
	ck_assert_uint_eq(fwrite(packed, 1, n, f), n);
	fclose(f);
	free(data);
	free(packed);
	return path;
}

START_TEST(compressed_cores_read_as_the_plain_one)
{
	static const enum ad_core_compression kinds[] = { AD_CORE_ZSTD, AD_CORE_XZ, AD_CORE_LZ4 };
	size_t total;
	const char *plain = write_core("core", &total);
	char plain_path[4200];
	snprintf(plain_path, sizeof(plain_path), "%s", plain);
	for (size_t i = 0; i < 3; i++) {
		const char *path = write_compressed(plain_path, kinds[i], 0);
		struct ad_core_options options = { .tmpdir = dir };
		struct ad_core *core;
		assert_ok(ad_core_open(path, &options, &core));
		ck_assert_uint_eq(ad_core_info(core)->compression, kinds[i]);
		check_whole(core);
		ck_assert_uint_eq(ad_core_nwarnings(core), 0);
		ad_core_close(core);
		/* a bound below the core's size refuses it */
		options.max_bytes = 4096;
		struct ad_error *err = ad_core_open(path, &options, &core);
		ck_assert_ptr_nonnull(err);
		ck_assert_int_eq(err->code, AD_ERROR_TOO_LARGE);
		ad_error_destroy(err);
	}
}
END_TEST

START_TEST(a_partial_compressed_core_is_a_truncated_core)
{
	size_t total;
	const char *plain = write_core("core", &total);
	char plain_path[4200];
	snprintf(plain_path, sizeof(plain_path), "%s", plain);
	/* xz decodes as it reads: a stream cut before its end still gives
	 * the core's beginning (its notes). */
	size_t packed;
	const char *full = write_compressed(plain_path, AD_CORE_XZ, 0);
	free(slurp(full, &packed));
	const char *path = write_compressed(plain_path, AD_CORE_XZ, packed - 100);
	struct ad_core_options options = { .tmpdir = dir };
	struct ad_core *core;
	assert_ok(ad_core_open(path, &options, &core));
	ck_assert_uint_ge(ad_core_nwarnings(core), 1);
	ck_assert_msg(strstr(ad_core_warning(core, 0), "could not be decompressed whole"), "%s",
		      ad_core_warning(core, 0));
	ck_assert_int_eq(ad_core_info(core)->pid, 100);
	ad_core_close(core);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reads_a_whole_core);
	tcase_add_test(tc, a_truncated_core_reads_what_is_left_and_says_what_is_lost);
	tcase_add_test(tc, a_core_cut_in_its_notes_is_refused);
	tcase_add_test(tc, compressed_cores_read_as_the_plain_one);
	tcase_add_test(tc, a_partial_compressed_core_is_a_truncated_core);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
