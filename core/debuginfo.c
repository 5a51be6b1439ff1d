/* SPDX-License-Identifier: MIT */
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debuginfo_internal.h"
#include "search.h"

static char *debuginfo_path_default = NULL;

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path_default,
};

static const char build_advice[] =
	"rebuild it with type debuginfo: in Cargo.toml, `[profile.release] debug = true` "
	"(or `debug = 2`; \"line-tables-only\" and `debug = 1` are not enough), and do not "
	"strip it (or install its separate debug file under /usr/lib/debug)";

static struct ad_error *read_build_id(struct ad_debuginfo *di)
{
	const void *bits;
	ssize_t n = dwelf_elf_gnu_build_id(di->elf, &bits);
	if (n <= 0)
		return NULL;
	di->build_id = malloc((size_t)n * 2 + 1);
	if (!di->build_id)
		return &ad_error_nomem;
	for (ssize_t i = 0; i < n; i++)
		sprintf(di->build_id + i * 2, "%02x", ((const unsigned char *)bits)[i]);
	return NULL;
}

static void read_program_headers(struct ad_debuginfo *di)
{
	size_t n;
	if (elf_getphdrnum(di->elf, &n) != 0)
		return;
	bool have_load = false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(di->elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && !have_load) {
			di->first_load_vaddr = ph.p_vaddr - ph.p_offset;
			have_load = true;
		} else if (ph.p_type == PT_TLS) {
			di->has_tls = true;
			di->tls_vaddr = ph.p_vaddr;
			di->tls_memsz = ph.p_memsz;
			di->tls_align = ph.p_align ? ph.p_align : 1;
		}
	}
}

static int cmp_symbols(const void *a, const void *b)
{
	uint64_t x = ((const struct ad_symbol *)a)->address, y = ((const struct ad_symbol *)b)->address;
	return x < y ? -1 : x > y;
}

/* The symbol table of `elf`: the program's, or for a stripped program the
 * separate debug file's (objcopy --only-keep-debug keeps .symtab). */
static struct ad_error *read_symbols(struct ad_debuginfo *di, Elf *elf)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		free(di->symbols);
		free(di->tls_symbols);
		di->nsymbols = di->ntls_symbols = 0;
		di->symbols = calloc(n, sizeof(*di->symbols));
		di->tls_symbols = calloc(n, sizeof(*di->tls_symbols));
		if (!di->symbols || !di->tls_symbols)
			return &ad_error_nomem;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			struct ad_symbol s = { sym.st_value, sym.st_size, name, GELF_ST_TYPE(sym.st_info) };
			if (s.type == STT_TLS)
				di->tls_symbols[di->ntls_symbols++] = s;
			else if (s.type == STT_FUNC || s.type == STT_OBJECT)
				di->symbols[di->nsymbols++] = s;
		}
		if (di->nsymbols)
			qsort(di->symbols, di->nsymbols, sizeof(*di->symbols), cmp_symbols);
		break;
	}
	return NULL;
}

/* The program's own sources: the comp_dir most CUs of non-dependency crates
 * share (dependencies come from a cargo registry or the Rust sysroot). */
static struct ad_error *find_source_root(struct ad_debuginfo *di)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(di->dwarf, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Attribute a;
		if (dwarf_offdie(di->dwarf, off + hsize, &cu)) {
			const char *dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &a));
			const char *name = dwarf_diename(&cu);
			if (dir && name && name[0] != '/' && !strstr(dir, "/registry/") &&
			    !strstr(dir, "/.cargo/") && !strstr(name, "library/")) {
				di->source_root = strdup(dir);
				return di->source_root ? NULL : &ad_error_nomem;
			}
		}
		off = next;
	}
	return NULL;
}

/* Whether ELF section `section` holds the bytes `needle` (a compressed one
 * is searched decompressed). */
bool ad_elf_section_contains(Elf *elf, const char *section, const char *needle)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)) || strcmp(name, section) != 0)
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) != 1)
			continue;
		if ((data = elf_getdata(scn, NULL)) && data->d_buf &&
		    memmem(data->d_buf, data->d_size, needle, strlen(needle)))
			return true;
	}
	return false;
}

/* Without DWARF: rustc ≥ 1.64 signs .comment; older ones leave their
 * runtime's symbols. */
bool ad_elf_looks_like_rust(Elf *elf)
{
	return ad_elf_section_contains(elf, ".comment", "rustc version") ||
	       ad_elf_section_contains(elf, ".strtab", "rust_eh_personality") ||
	       ad_elf_section_contains(elf, ".dynstr", "rust_eh_personality") ||
	       ad_elf_section_contains(elf, ".strtab", "rust_begin_unwind");
}

static struct ad_error *open_dwarf(struct ad_debuginfo *di)
{
	di->callbacks = offline_callbacks;
	di->callbacks.debuginfo_path = &di->search_path;
	di->dwfl = dwfl_begin(&di->callbacks);
	if (!di->dwfl)
		return ad_error_create(AD_ERROR_DWARF, "libdwfl: %s", dwfl_errmsg(-1));
	dwfl_report_begin(di->dwfl);
	/* libdwfl owns the descriptor it is given: hand it a duplicate of ours
	 * (the path may be /proc/PID/exe, named otherwise in messages). */
	int fd = dup(di->fd);
	di->module = fd < 0 ? NULL : dwfl_report_offline(di->dwfl, di->path, di->path, fd);
	dwfl_report_end(di->dwfl, NULL, NULL);
	if (!di->module)
		return ad_error_create(AD_ERROR_DWARF, "cannot read %s as an ELF file: %s", di->path,
				       dwfl_errmsg(-1));
	di->dwarf = dwfl_module_getdwarf(di->module, &di->dwarf_bias);
	if (!di->dwarf && !ad_elf_looks_like_rust(di->elf))
		return ad_error_create(AD_ERROR_NOT_RUST,
				       "%s is not a Rust program (no debuginfo, no rustc signature); "
				       "asyncdump reads async Rust programs",
				       di->path);
	if (!di->dwarf)
		return ad_error_create(AD_ERROR_NO_DEBUGINFO,
				       "%s has no DWARF debuginfo (%s); %s", di->path,
				       dwfl_errmsg(-1), build_advice);
	return NULL;
}

static void init_libelf(void)
{
	elf_version(EV_CURRENT);
}

/* The file the DWARF came from: a separate debug file, or the program. */
static const char *dwarf_file(const struct ad_debuginfo *di)
{
	const char *main_file = NULL, *debug_file = NULL;
	if (di->module)
		dwfl_module_info(di->module, NULL, NULL, NULL, NULL, NULL, &main_file, &debug_file);
	return debug_file ? debug_file : di->path;
}

const char *ad_debuginfo_corruption(const struct ad_debuginfo *di)
{
	return di->corrupt;
}

struct ad_error *ad_debuginfo_corrupt_error(const struct ad_debuginfo *di, const char *missing)
{
	return ad_error_create(AD_ERROR_DWARF,
			       "the DWARF debuginfo in %s is corrupt (%s), so %s cannot be "
			       "read; reinstall the program or its debug file, or rebuild it",
			       dwarf_file(di), di->corrupt ? di->corrupt : "malformed", missing);
}

struct ad_error *ad_debuginfo_open(const char *path, struct ad_debuginfo **ret)
{
	return ad_debuginfo_open_as(path, path, ret);
}

struct ad_error *ad_debuginfo_search_path(const char *debuginfo_dirs, char **ret)
{
	*ret = NULL;
	/* libdwfl's default is ":.debug:/usr/lib/debug": beside the file, its
	 * .debug subdirectory, then the system's (build-id and debuglink). */
	if (debuginfo_dirs && *debuginfo_dirs &&
	    asprintf(ret, ":.debug:%s:/usr/lib/debug", debuginfo_dirs) < 0) {
		*ret = NULL;
		return &ad_error_nomem;
	}
	return NULL;
}

struct ad_error *ad_debuginfo_open_as(const char *path, const char *display_name,
				      struct ad_debuginfo **ret)
{
	return ad_debuginfo_open_in(path, display_name, NULL, ret);
}

struct ad_error *ad_debuginfo_open_in(const char *path, const char *display_name,
				      const char *debuginfo_dirs, struct ad_debuginfo **ret)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_libelf);
	struct ad_debuginfo *di = calloc(1, sizeof(*di));
	if (!di)
		return &ad_error_nomem;
	atomic_init(&di->refcount, 1);
	pthread_mutex_init(&di->lock, NULL);
	ad_strpool_init(&di->pool);
	ad_strmap_init(&di->types);
	ad_strmap_init(&di->future_impls);
	ad_u64map_init(&di->type_cache);
	ad_u64map_init(&di->line_cache);
	ad_u64map_init(&di->member_cache);
	ad_strmap_init(&di->source_paths);
	di->fd = -1;
	struct ad_error *err = NULL;
	di->path = strdup(display_name ? display_name : path);
	if (!di->path) {
		err = &ad_error_nomem;
		goto fail;
	}
	if ((err = ad_debuginfo_search_path(debuginfo_dirs, &di->search_path)))
		goto fail;
	di->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (di->fd < 0) {
		err = ad_error_os(errno, "cannot open the program's binary %s", path);
		if (errno == EACCES)
			err->code = AD_ERROR_PERMISSION;
		goto fail;
	}
	di->elf = elf_begin(di->fd, ELF_C_READ_MMAP, NULL);
	if (!di->elf || elf_kind(di->elf) != ELF_K_ELF) {
		err = ad_error_create(AD_ERROR_NOT_RUST, "%s is not an ELF program", path);
		goto fail;
	}
	if ((err = read_build_id(di)) || (err = read_symbols(di, di->elf)))
		goto fail;
	read_program_headers(di);
	if ((err = open_dwarf(di)))
		goto fail;
	Elf *debug_elf = di->dwarf ? dwarf_getelf(di->dwarf) : NULL;
	if (!di->nsymbols && !di->ntls_symbols && debug_elf && debug_elf != di->elf &&
	    (err = read_symbols(di, debug_elf)))
		goto fail;
	if ((err = ad_dwarf_index_build(di)))
		goto fail;
	if (di->corrupt && (!di->is_rust || !di->has_types)) {
		err = ad_debuginfo_corrupt_error(di, "its debuginfo");
		goto fail;
	}
	if (!di->is_rust) {
		err = ad_error_create(AD_ERROR_NOT_RUST,
				      "%s is not a Rust program (no compilation unit from rustc in its "
				      "debuginfo); asyncdump reads async Rust programs",
				      path);
		goto fail;
	}
	if (!di->has_types) {
		err = ad_error_create(AD_ERROR_NO_DEBUGINFO,
				      "%s has line tables but no type debuginfo; %s", path,
				      build_advice);
		goto fail;
	}
	if ((err = find_source_root(di)))
		goto fail;
	*ret = di;
	return NULL;
fail:
	ad_debuginfo_unref(di);
	return err;
}

void ad_debuginfo_ref(struct ad_debuginfo *di)
{
	atomic_fetch_add(&di->refcount, 1);
}

static void free_type_cache(struct ad_debuginfo *di)
{
	/* Types live in the pool; only the map itself is freed. */
	ad_u64map_deinit(&di->type_cache);
}

void ad_debuginfo_unref(struct ad_debuginfo *di)
{
	if (!di || atomic_fetch_sub(&di->refcount, 1) != 1)
		return;
	free_type_cache(di);
	ad_u64map_deinit(&di->line_cache);
	ad_u64map_deinit(&di->member_cache);
	ad_strmap_deinit(&di->source_paths);
	ad_strmap_deinit(&di->types);
	ad_strmap_deinit(&di->future_impls);
	free(di->names);
	free(di->funcs);
	free(di->vars);
	free(di->tls_vars);
	free(di->symbols);
	free(di->tls_symbols);
	ad_strpool_deinit(&di->pool);
	if (di->dwfl)
		dwfl_end(di->dwfl);
	if (di->elf)
		elf_end(di->elf);
	if (di->fd >= 0)
		close(di->fd);
	pthread_mutex_destroy(&di->lock);
	free(di->path);
	free(di->search_path);
	free(di->build_id);
	free(di->source_root);
	free(di->corrupt);
	free(di);
}

const char *ad_debuginfo_path(const struct ad_debuginfo *di)
{
	return di->path;
}

const char *ad_debuginfo_build_id(const struct ad_debuginfo *di)
{
	return di->build_id;
}

bool ad_debuginfo_is_rust(const struct ad_debuginfo *di)
{
	return di->is_rust;
}

const char *ad_debuginfo_source_root(const struct ad_debuginfo *di)
{
	return di->source_root;
}

const char *ad_debuginfo_source_path(struct ad_debuginfo *di, const char *file)
{
	if (file[0] == '/' || !di->source_root)
		return file;
	pthread_mutex_lock(&di->lock);
	uint64_t known;
	const char *path = NULL;
	if (ad_strmap_get(&di->source_paths, file, &known)) {
		path = (const char *)(uintptr_t)known;
	} else {
		size_t nroot = strlen(di->source_root), nfile = strlen(file);
		char *joined = ad_strpool_alloc(&di->pool, nroot + 1 + nfile + 1);
		const char *key = joined ? ad_strpool_add(&di->pool, file, nfile) : NULL;
		if (key) {
			memcpy(joined, di->source_root, nroot);
			joined[nroot] = '/';
			memcpy(joined + nroot + 1, file, nfile + 1);
			if (ad_strmap_insert_new(&di->source_paths, key, (uint64_t)(uintptr_t)joined))
				path = joined;
		}
	}
	pthread_mutex_unlock(&di->lock);
	return path;
}

uint64_t ad_debuginfo_load_bias(const struct ad_debuginfo *di, uint64_t first_mapping_start)
{
	return first_mapping_start - di->first_load_vaddr;
}

struct ad_error *ad_debuginfo_find_type(struct ad_debuginfo *di, const char *name,
					const struct ad_type **ret)
{
	uint64_t die;
	if (!ad_strmap_get(&di->types, name, &die))
		return ad_error_create(AD_ERROR_NOT_FOUND, "type %s is not in the debuginfo of %s",
				       name, di->path);
	return ad_type_from_die(di, die, ret);
}

size_t ad_debuginfo_future_impl_count(const struct ad_debuginfo *di)
{
	return di->future_impls.len;
}

bool ad_debuginfo_implements_future(const struct ad_debuginfo *di, const char *type_name)
{
	char path[1024];
	size_t n = strcspn(type_name, "<");
	if (n >= sizeof(path))
		return false;
	memcpy(path, type_name, n);
	path[n] = '\0';
	uint64_t unused;
	return ad_strmap_get(&di->future_impls, path, &unused);
}

bool ad_debuginfo_has_type_prefix(struct ad_debuginfo *di, const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < di->types.cap; i++)
		if (di->types.keys[i] && strncmp(di->types.keys[i], prefix, n) == 0)
			return true;
	return false;
}

static bool func_starts_at_or_before(const void *element, const void *pc)
{
	return ((const struct ad_func_range *)element)->low <= *(const uint64_t *)pc;
}

static const struct ad_func_range *function_range_at(const struct ad_debuginfo *di, uint64_t pc)
{
	/* Ranges may nest (rare) but never partially overlap: take the last
	 * range starting at or before pc that still contains it. */
	size_t lo = ad_partition_point(di->funcs, di->nfuncs, sizeof(*di->funcs), &pc,
				       func_starts_at_or_before);
	for (size_t i = lo; i-- > 0;) {
		if (di->funcs[i].high > pc)
			return &di->funcs[i];
		if (lo - i > 64)
			break;
	}
	return NULL;
}

/* A concrete subprogram often names its abstract origin or specification:
 * the name and template parameters live there. */
static bool origin_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute a;
	if (dwarf_attr(die, DW_AT_abstract_origin, &a) || dwarf_attr(die, DW_AT_specification, &a))
		return dwarf_formref_die(&a, ret) != NULL;
	return false;
}

const char *ad_debuginfo_die_name_locked(struct ad_debuginfo *di, Dwarf_Die *die)
{
	Dwarf_Die cur = *die, origin;
	for (int i = 0; i < 4; i++) {
		const char *q = ad_dwarf_index_name(di, dwarf_dieoffset(&cur));
		if (q)
			return q;
		if (!origin_of(&cur, &origin))
			break;
		cur = origin;
	}
	return NULL;
}

static const char *function_name_locked(struct ad_debuginfo *di, Dwarf_Die *die)
{
	return ad_debuginfo_die_name_locked(di, die) ?: dwarf_diename(die);
}

struct ad_error *ad_debuginfo_function_die_locked(struct ad_debuginfo *di, uint64_t pc,
						  Dwarf_Die *ret)
{
	const struct ad_func_range *r = function_range_at(di, pc);
	if (!r || !dwarf_offdie(di->dwarf, r->die, ret))
		return ad_error_create(AD_ERROR_NOT_FOUND, "no function at address 0x%" PRIx64 " in %s",
				       pc, di->path);
	return NULL;
}

struct ad_error *ad_debuginfo_function_at(struct ad_debuginfo *di, uint64_t pc,
					  const char **name_ret)
{
	pthread_mutex_lock(&di->lock);
	Dwarf_Die die;
	struct ad_error *err = ad_debuginfo_function_die_locked(di, pc, &die);
	if (!err) {
		const char *name = function_name_locked(di, &die);
		if (name)
			*name_ret = name;
		else
			err = ad_error_create(AD_ERROR_NOT_FOUND, "function at 0x%" PRIx64 " has no name",
					      pc);
	}
	pthread_mutex_unlock(&di->lock);
	return err;
}

static bool find_template_param(Dwarf_Die *fn, const char *param, uint64_t *die_ret)
{
	Dwarf_Die cur = *fn, child, origin;
	for (int i = 0; i < 4; i++) {
		if (dwarf_child(&cur, &child) == 0) {
			do {
				const char *name = dwarf_diename(&child);
				Dwarf_Attribute a;
				Dwarf_Die type;
				if (dwarf_tag(&child) == DW_TAG_template_type_parameter && name &&
				    strcmp(name, param) == 0 && dwarf_attr(&child, DW_AT_type, &a) &&
				    dwarf_formref_die(&a, &type)) {
					*die_ret = dwarf_dieoffset(&type);
					return true;
				}
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		if (!origin_of(&cur, &origin))
			break;
		cur = origin;
	}
	return false;
}

struct ad_error *ad_debuginfo_function_template_param(struct ad_debuginfo *di, uint64_t pc,
						      const char *param,
						      const struct ad_type **ret)
{
	pthread_mutex_lock(&di->lock);
	Dwarf_Die die;
	uint64_t type_die = 0;
	struct ad_error *err = ad_debuginfo_function_die_locked(di, pc, &die);
	if (!err && !find_template_param(&die, param, &type_die))
		err = ad_error_create(AD_ERROR_NOT_FOUND,
				      "function %s has no template parameter %s",
				      function_name_locked(di, &die) ?: "?", param);
	if (!err)
		err = ad_type_from_die_locked(di, type_die, ret);
	pthread_mutex_unlock(&di->lock);
	return err;
}

static bool var_before(const void *element, const void *address)
{
	return ((const struct ad_addr_die *)element)->address < *(const uint64_t *)address;
}

struct ad_error *ad_debuginfo_vtable_type(struct ad_debuginfo *di, uint64_t vtable,
					  const struct ad_type **ret)
{
	size_t lo = ad_partition_point(di->vars, di->nvars, sizeof(*di->vars), &vtable, var_before);
	/* Several variables may share an address (identical vtables are merged):
	 * any {vtable} among them names a type with this layout. */
	for (size_t i = lo; i < di->nvars && di->vars[i].address == vtable; i++) {
		const char *name = ad_dwarf_index_name(di, di->vars[i].die);
		if (!name || !strstr(name, "{vtable}"))
			continue;
		pthread_mutex_lock(&di->lock);
		Dwarf_Die var, type;
		Dwarf_Attribute a;
		struct ad_error *err = NULL;
		const struct ad_type *vt;
		if (!dwarf_offdie(di->dwarf, di->vars[i].die, &var) ||
		    !dwarf_attr(&var, DW_AT_type, &a) || !dwarf_formref_die(&a, &type))
			err = ad_error_create(AD_ERROR_DWARF, "vtable variable %s has no type", name);
		if (!err)
			err = ad_type_from_die_locked(di, dwarf_dieoffset(&type), &vt);
		if (!err && !vt->containing_die)
			err = ad_error_create(AD_ERROR_NOT_FOUND,
					      "vtable %s does not name its concrete type "
					      "(DW_AT_containing_type; rustc < 1.60?)",
					      name);
		if (!err)
			err = ad_type_from_die_locked(di, vt->containing_die, ret);
		pthread_mutex_unlock(&di->lock);
		return err;
	}
	return ad_error_create(AD_ERROR_NOT_FOUND, "no vtable at address 0x%" PRIx64 " in %s",
			       vtable, di->path);
}

static bool symbol_starts_at_or_before(const void *element, const void *address)
{
	return ((const struct ad_symbol *)element)->address <= *(const uint64_t *)address;
}

struct ad_error *ad_debuginfo_symbol_at(struct ad_debuginfo *di, uint64_t address,
					const char **name_ret, uint64_t *offset_ret)
{
	size_t lo = ad_partition_point(di->symbols, di->nsymbols, sizeof(*di->symbols), &address,
				       symbol_starts_at_or_before);
	if (lo > 0) {
		const struct ad_symbol *s = &di->symbols[lo - 1];
		if (address < s->address + (s->size ? s->size : 1)) {
			*name_ret = s->name;
			*offset_ret = address - s->address;
			return NULL;
		}
	}
	return ad_error_create(AD_ERROR_NOT_FOUND, "no symbol at 0x%" PRIx64 " in %s", address,
			       di->path);
}

struct ad_error *ad_debuginfo_find_object(struct ad_debuginfo *di, const char *path,
					  uint64_t *address_ret)
{
	uint64_t size;
	return ad_debuginfo_find_object_sized(di, path, address_ret, &size);
}

struct ad_error *ad_debuginfo_find_object_sized(struct ad_debuginfo *di, const char *path,
						uint64_t *address_ret, uint64_t *size_ret)
{
	char mangled[512] = "_ZN";
	size_t n = 3;
	for (const char *p = path; *p;) {
		const char *end = strstr(p, "::");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int w = snprintf(mangled + n, sizeof(mangled) - n, "%zu%.*s", len, (int)len, p);
		if (w < 0 || (size_t)w >= sizeof(mangled) - n)
			return ad_error_create(AD_ERROR_INVALID_ARGUMENT, "path too long: %s", path);
		n += (size_t)w;
		p = end ? end + 2 : p + len;
	}
	for (size_t i = 0; i < di->nsymbols; i++) {
		const struct ad_symbol *s = &di->symbols[i];
		/* The hash component follows: 17h<16 hex digits>E. */
		if (s->type == STT_OBJECT && strncmp(s->name, mangled, n) == 0 &&
		    strncmp(s->name + n, "17h", 3) == 0) {
			*address_ret = s->address;
			*size_ret = s->size;
			return NULL;
		}
	}
	return ad_error_create(AD_ERROR_NOT_FOUND, "no static %s in %s", path, di->path);
}

/* Recent std emits a dead twin of each thread-local (type Storage<T, !>,
 * DTPOFF 0): the live one is the one an STT_TLS symbol of the same size
 * defines (…::__RUST_STD_INTERNAL_VAL; older std: …::__getit::__KEY). */
static bool tls_symbol_matches(const struct ad_debuginfo *di, uint64_t dtpoff, uint64_t size)
{
	for (size_t i = 0; i < di->ntls_symbols; i++)
		if (di->tls_symbols[i].address == dtpoff && di->tls_symbols[i].size == size &&
		    (strstr(di->tls_symbols[i].name, "__RUST_STD_INTERNAL_VAL") ||
		     strstr(di->tls_symbols[i].name, "__KEY")))
			return true;
	return false;
}

/* Static TLS of the executable (x86_64 variant II): the block ends at the
 * thread pointer, rounded as glibc's _dl_determine_tlsoffset does. */
static int64_t static_tls_block_offset(const struct ad_debuginfo *di)
{
	uint64_t align = di->tls_align;
	uint64_t firstbyte = (-(di->tls_vaddr & (align - 1))) & (align - 1);
	uint64_t off = ((di->tls_memsz - firstbyte + align - 1) / align) * align + firstbyte;
	return -(int64_t)off;
}

struct ad_error *ad_debuginfo_static_tls_offset(struct ad_debuginfo *di, int64_t *ret)
{
	if (!di->has_tls)
		return ad_error_create(AD_ERROR_NOT_FOUND, "%s has no thread-local storage", di->path);
	*ret = static_tls_block_offset(di);
	return NULL;
}

struct ad_error *ad_debuginfo_find_tls(struct ad_debuginfo *di, const char *name_contains,
				       uint64_t *dtpoff_ret, const struct ad_type **type_ret)
{
	if (!di->has_tls)
		return ad_error_create(AD_ERROR_NOT_FOUND, "%s has no thread-local storage", di->path);
	for (size_t i = 0; i < di->ntls_vars; i++) {
		const struct ad_tls_var *v = &di->tls_vars[i];
		if (!strstr(v->name, name_contains))
			continue;
		pthread_mutex_lock(&di->lock);
		Dwarf_Die var, type;
		Dwarf_Attribute a;
		const struct ad_type *t = NULL;
		struct ad_error *err = NULL;
		if (!dwarf_offdie(di->dwarf, v->die, &var) || !dwarf_attr(&var, DW_AT_type, &a) ||
		    !dwarf_formref_die(&a, &type))
			err = ad_error_create(AD_ERROR_DWARF, "thread-local %s has no type", v->name);
		else
			err = ad_type_from_die_locked(di, dwarf_dieoffset(&type), &t);
		pthread_mutex_unlock(&di->lock);
		if (err)
			return err;
		if (!tls_symbol_matches(di, v->dtpoff, t->size))
			continue;
		*dtpoff_ret = v->dtpoff;
		*type_ret = t;
		return NULL;
	}
	return ad_error_create(AD_ERROR_NOT_FOUND, "no thread-local named like %s in %s",
			       name_contains, di->path);
}

static bool function_named(const struct ad_debuginfo *di, uint64_t die, const char *function)
{
	const char *name = ad_dwarf_index_name(di, die);
	size_t n = strlen(function);
	return name && strncmp(name, function, n) == 0 && (name[n] == '\0' || name[n] == '<');
}

static bool path_ends_with(const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);
	return a >= b && strcmp(path + a - b, suffix) == 0 && (a == b || path[a - b - 1] == '/');
}

/* Counts the rows of the line table in [low, high) on a line of file_suffix
 * strictly between after and before. */
static void count_lines(struct ad_debuginfo *di, uint64_t low, uint64_t high,
			const char *file_suffix, unsigned after, unsigned before, unsigned *counts)
{
	Dwarf_Die cu;
	Dwarf_Lines *lines;
	size_t n;
	if (!dwarf_addrdie(di->dwarf, low, &cu) || dwarf_getsrclines(&cu, &lines, &n) != 0)
		return;
	for (size_t k = 0; k < n; k++) {
		Dwarf_Line *line = dwarf_onesrcline(lines, k);
		Dwarf_Addr addr;
		int lineno;
		const char *file;
		if (!line || dwarf_lineaddr(line, &addr) != 0 || addr < low || addr >= high ||
		    dwarf_lineno(line, &lineno) != 0 || lineno <= (int)after || lineno >= (int)before ||
		    !(file = dwarf_linesrc(line, NULL, NULL)) || !path_ends_with(file, file_suffix))
			continue;
		counts[lineno - (int)after]++;
	}
}

/* The inlined copies of the function whose abstract DIE is `origin`, in
 * the DIEs under `die` (its compilation unit: rustc inlines a crate's
 * own non-generic code within the unit that defines it). */
static void count_inlined(struct ad_debuginfo *di, Dwarf_Die *die, uint64_t origin, int depth,
			  const char *file_suffix, unsigned after, unsigned before, unsigned *counts)
{
	Dwarf_Die child;
	if (depth > 64 || dwarf_child(die, &child) != 0)
		return;
	do {
		Dwarf_Attribute a;
		Dwarf_Die o;
		if (dwarf_tag(&child) == DW_TAG_inlined_subroutine &&
		    dwarf_attr(&child, DW_AT_abstract_origin, &a) && dwarf_formref_die(&a, &o) &&
		    dwarf_dieoffset(&o) == origin) {
			Dwarf_Addr base, low, high;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&child, off, &base, &low, &high)) > 0)
				count_lines(di, low, high, file_suffix, after, before, counts);
		}
		count_inlined(di, &child, origin, depth + 1, file_suffix, after, before, counts);
	} while (dwarf_siblingof(&child, &child) == 0);
}

static unsigned dominant_line_locked(struct ad_debuginfo *di, const char *function,
				     const char *file_suffix, unsigned after, unsigned before,
				     unsigned *counts)
{
	bool out_of_line = false;
	for (size_t i = 0; i < di->nfuncs; i++) {
		const struct ad_func_range *r = &di->funcs[i];
		if (!function_named(di, r->die, function))
			continue;
		out_of_line = true;
		count_lines(di, r->low, r->high, file_suffix, after, before, counts);
	}
	/* Optimised builds inline small resume functions (the body of an
	 * #[instrument]ed fn) into their caller: count in the copies. */
	for (size_t i = 0; !out_of_line && i < di->nnames; i++) {
		Dwarf_Die fn, cu;
		if (!function_named(di, di->names[i].die, function) ||
		    !dwarf_offdie(di->dwarf, di->names[i].die, &fn) || dwarf_tag(&fn) != DW_TAG_subprogram ||
		    !dwarf_diecu(&fn, &cu, NULL, NULL))
			continue;
		count_inlined(di, &cu, di->names[i].die, 0, file_suffix, after, before, counts);
	}
	unsigned best = 0;
	for (unsigned l = 1; l < before - after; l++)
		if (counts[l] > counts[best])
			best = l;
	return best ? after + best : 0;
}

struct ad_error *ad_debuginfo_dominant_line(struct ad_debuginfo *di, uint64_t key,
					    const char *function, const char *file_suffix,
					    unsigned after, unsigned before, unsigned *ret)
{
	if (before <= after + 1 || before - after > 100000)
		return ad_error_create(AD_ERROR_NOT_FOUND, "no line between %u and %u", after, before);
	pthread_mutex_lock(&di->lock);
	uintptr_t cached = (uintptr_t)ad_u64map_get(&di->line_cache, key);
	unsigned line = cached ? (unsigned)(cached - 1) : 0;
	if (!cached) {
		unsigned *counts = calloc(before - after, sizeof(*counts));
		if (!counts) {
			pthread_mutex_unlock(&di->lock);
			return &ad_error_nomem;
		}
		line = dominant_line_locked(di, function, file_suffix, after, before, counts);
		free(counts);
		/* A failed insert only costs a recomputation next time. */
		ad_u64map_put(&di->line_cache, key, (void *)(uintptr_t)(line + 1));
	}
	pthread_mutex_unlock(&di->lock);
	if (!line)
		return ad_error_create(AD_ERROR_NOT_FOUND, "no line of %s in %s between %u and %u",
				       file_suffix, function, after, before);
	*ret = line;
	return NULL;
}

/* Whether v0-mangled `name` ("_R…") names something of the crate whose
 * identifier ("5serde") starts the legacy path `module` ("_ZN5serde…"): a
 * crate root is "C5serde" or "Cs<disambiguator>_5serde" there. */
static bool v0_names_crate_of(const char *name, const char *module)
{
	const char *ident = module + 3; /* past "_ZN" */
	char *after;
	unsigned long len = strtoul(ident, &after, 10);
	size_t n = (size_t)(after - ident) + len;
	char crate[64];
	if (after == ident || n >= sizeof(crate) || strnlen(ident, n) < n)
		return true; /* not a path read here: assume it, as before */
	memcpy(crate, ident, n);
	crate[n] = '\0';
	for (const char *p = strstr(name, crate); p; p = strstr(p + 1, crate))
		if (p[-1] == '_' || p[-1] == 'C')
			return true;
	return false;
}

bool ad_debuginfo_has_code_of(const struct ad_debuginfo *di, const char *module)
{
	size_t n = strlen(module);
	for (size_t i = 0; i < di->nsymbols; i++) {
		const char *name = di->symbols[i].name;
		if (di->symbols[i].type != STT_FUNC || !name)
			continue;
		if (strncmp(name, module, n) == 0)
			return true;
		/* A crate mangled with v0 spells its paths with backreferences,
		 * which a prefix cannot match: its having any code is taken as
		 * the module's. Other crates' v0 symbols (the standard library's, in
		 * recent toolchains) say nothing of it. */
		if (strncmp(name, "_R", 2) == 0 && v0_names_crate_of(name, module))
			return true;
	}
	return false;
}
