/* Loading relocatable object code without LLVM: `ember._hotness.load_object`.
 *
 * The object is what MCJIT emits for the host with LLVM's large code model (see
 * ember/backend/loader.py, which calls this): allocated PROGBITS and NOBITS sections,
 * code in executable ones, and every reference to a symbol an R_X86_64_64 relocation
 * against an allocated section. Loading lays the sections out in fresh pages (code
 * first, then data), writes each symbol's address plus addend at each relocation, and
 * makes the code pages read+execute. `.eh_frame` (SHT_X86_64_UNWIND) is not loaded.
 *
 * Everything is checked before a page is mapped: another machine, section kind or
 * relocation type, a symbol in a section that is not loaded, an offset outside its
 * section, or a symbol `resolve` does not know raises ValueError and maps nothing.
 * Pages are never unmapped, as JIT code never is.
 *
 * It was Python (struct over every relocation): a large function's object took 0.3 s
 * of the program's GIL; here, microseconds per kilobyte.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "_native.h"

#ifndef SHT_X86_64_UNWIND
#define SHT_X86_64_UNWIND 0x70000001
#endif

static PyObject *
bad(const char *what)
{
    PyErr_Format(PyExc_ValueError, "object code Ember cannot load: %s", what);
    return NULL;
}

static size_t
round_up(size_t n, size_t align)
{
    return align > 1 ? (n + align - 1) / align * align : n;
}

/* load_object(data, resolve) -> {name: address} of the object's defined global
   symbols; resolve(name) -> address for each undefined one (KeyError: unknown). */
PyObject *
ember_load_object(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "load_object(data: bytes, resolve)");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    size_t size = (size_t)PyBytes_GET_SIZE(args[0]);
    PyObject *resolve = args[1];

    if (size < sizeof(Elf64_Ehdr) || memcmp(data, ELFMAG, SELFMAG) != 0) {
        return bad("not an ELF file");
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB
            || eh->e_type != ET_REL || eh->e_machine != EM_X86_64) {
        return bad("not a 64-bit little-endian x86-64 relocatable object");
    }
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size
            || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum) {
        return bad("section headers out of range");
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(data + eh->e_shoff);
    size_t nsec = eh->e_shnum;
    for (size_t i = 0; i < nsec; i++) {
        if (sh[i].sh_type != SHT_NOBITS
                && (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset)) {
            return bad("a section is out of range");
        }
    }

    /* Where each loaded section goes: offsets in the code or the data region. */
    size_t *where = PyMem_Calloc(nsec ? nsec : 1, sizeof(size_t));
    char *loaded = PyMem_Calloc(nsec ? nsec : 1, 1);
    PyObject *result = NULL;
    Elf64_Addr *address = NULL;
    if (where == NULL || loaded == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    size_t code_size = 0, data_size = 0;
    const Elf64_Shdr *symtab = NULL;
    for (size_t i = 0; i < nsec; i++) {
        const Elf64_Shdr *s = &sh[i];
        if (s->sh_type == SHT_SYMTAB) {
            symtab = s;
        }
        if (!(s->sh_flags & SHF_ALLOC) || s->sh_type == SHT_X86_64_UNWIND
                || s->sh_type == SHT_RELA) {
            continue;
        }
        if (s->sh_type != SHT_PROGBITS && s->sh_type != SHT_NOBITS) {
            bad("a section type is not handled");
            goto done;
        }
        size_t *region = (s->sh_flags & SHF_EXECINSTR) ? &code_size : &data_size;
        *region = round_up(*region, s->sh_addralign);
        where[i] = *region;
        *region += s->sh_size;
        loaded[i] = (s->sh_flags & SHF_EXECINSTR) ? 1 : 2;
    }
    if (symtab == NULL || symtab->sh_link >= nsec || symtab->sh_entsize != sizeof(Elf64_Sym)) {
        bad("no symbol table");
        goto done;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t code_pages = round_up(code_size ? code_size : 1, (size_t)page);
    size_t total = code_pages + round_up(data_size ? data_size : 1, (size_t)page);

    /* Every symbol's address, as an offset into the mapping for now (UNDEF: resolved). */
    const Elf64_Sym *syms = (const Elf64_Sym *)(data + symtab->sh_offset);
    size_t nsyms = symtab->sh_size / sizeof(Elf64_Sym);
    const Elf64_Shdr *strtab = &sh[symtab->sh_link];
    const char *strs = (const char *)(data + strtab->sh_offset);
    address = PyMem_Calloc(nsyms ? nsyms : 1, sizeof(Elf64_Addr));
    char *relative = PyMem_Calloc(nsyms ? nsyms : 1, 1);  /* 1: add the mapping's start */
    char *usable = PyMem_Calloc(nsyms ? nsyms : 1, 1);
    if (address == NULL || relative == NULL || usable == NULL) {
        PyMem_Free(relative);
        PyMem_Free(usable);
        PyErr_NoMemory();
        goto done;
    }
    for (size_t k = 0; k < nsyms; k++) {
        const Elf64_Sym *sym = &syms[k];
        if (sym->st_name >= strtab->sh_size) {
            PyMem_Free(relative);
            PyMem_Free(usable);
            bad("a symbol name is out of range");
            goto done;
        }
        const char *name = strs + sym->st_name;
        if (sym->st_shndx == SHN_UNDEF) {
            if (!*name) {
                usable[k] = 1;  /* the null symbol: address 0 */
                continue;
            }
            PyObject *got = PyObject_CallFunction(resolve, "s", name);
            if (got == NULL) {
                PyMem_Free(relative);
                PyMem_Free(usable);
                goto done;
            }
            address[k] = (Elf64_Addr)PyLong_AsUnsignedLongLong(got);
            Py_DECREF(got);
            if (PyErr_Occurred()) {
                PyMem_Free(relative);
                PyMem_Free(usable);
                goto done;
            }
            usable[k] = 1;
        }
        else if (sym->st_shndx == SHN_ABS) {
            address[k] = sym->st_value;
            usable[k] = 1;
        }
        else if (sym->st_shndx >= SHN_LORESERVE) {
            PyMem_Free(relative);
            PyMem_Free(usable);
            bad("a symbol has a special section index");
            goto done;
        }
        else if (sym->st_shndx < nsec && loaded[sym->st_shndx]) {
            size_t base = where[sym->st_shndx]
                          + (loaded[sym->st_shndx] == 2 ? code_pages : 0);
            address[k] = base + sym->st_value;
            relative[k] = 1;
            usable[k] = 1;
        }
    }

    /* The relocations, checked before anything is mapped. */
    for (size_t i = 0; i < nsec; i++) {
        const Elf64_Shdr *s = &sh[i];
        if (s->sh_type != SHT_RELA || s->sh_info >= nsec || !loaded[s->sh_info]) {
            continue;
        }
        const Elf64_Rela *rel = (const Elf64_Rela *)(data + s->sh_offset);
        size_t n = s->sh_size / sizeof(Elf64_Rela);
        size_t target_size = sh[s->sh_info].sh_size;
        for (size_t r = 0; r < n; r++) {
            size_t k = ELF64_R_SYM(rel[r].r_info);
            if (ELF64_R_TYPE(rel[r].r_info) != R_X86_64_64 || k >= nsyms || !usable[k]
                    || rel[r].r_offset > target_size || target_size - rel[r].r_offset < 8
                    || sh[s->sh_info].sh_type == SHT_NOBITS) {
                PyMem_Free(relative);
                PyMem_Free(usable);
                bad("a relocation is not an absolute 64-bit one of a loaded symbol");
                goto done;
            }
        }
    }

    char *start = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (start == MAP_FAILED) {
        PyMem_Free(relative);
        PyMem_Free(usable);
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    for (size_t i = 0; i < nsec; i++) {
        if (loaded[i] && sh[i].sh_type == SHT_PROGBITS && sh[i].sh_size) {
            char *to = start + where[i] + (loaded[i] == 2 ? code_pages : 0);
            memcpy(to, data + sh[i].sh_offset, sh[i].sh_size);
        }
    }
    for (size_t k = 0; k < nsyms; k++) {
        if (relative[k]) {
            address[k] += (Elf64_Addr)(uintptr_t)start;
        }
    }
    for (size_t i = 0; i < nsec; i++) {
        const Elf64_Shdr *s = &sh[i];
        if (s->sh_type != SHT_RELA || s->sh_info >= nsec || !loaded[s->sh_info]) {
            continue;
        }
        char *base = start + where[s->sh_info] + (loaded[s->sh_info] == 2 ? code_pages : 0);
        const Elf64_Rela *rel = (const Elf64_Rela *)(data + s->sh_offset);
        size_t n = s->sh_size / sizeof(Elf64_Rela);
        for (size_t r = 0; r < n; r++) {
            uint64_t value = address[ELF64_R_SYM(rel[r].r_info)] + (uint64_t)rel[r].r_addend;
            memcpy(base + rel[r].r_offset, &value, 8);
        }
    }
    PyMem_Free(relative);
    PyMem_Free(usable);
    if (mprotect(start, code_pages, PROT_READ | PROT_EXEC) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;  /* the pages stay mapped (never used): as on any other failure late */
    }

    result = PyDict_New();
    for (size_t k = 0; result != NULL && k < nsyms; k++) {
        const Elf64_Sym *sym = &syms[k];
        if (ELF64_ST_BIND(sym->st_info) == STB_LOCAL || !strs[sym->st_name]
                || sym->st_shndx == SHN_UNDEF || sym->st_shndx >= nsec
                || !loaded[sym->st_shndx]) {
            continue;
        }
        PyObject *value = PyLong_FromUnsignedLongLong(address[k]);
        if (value == NULL || PyDict_SetItemString(result, strs + sym->st_name, value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(result);
            break;
        }
        Py_DECREF(value);
    }

done:
    PyMem_Free(where);
    PyMem_Free(loaded);
    PyMem_Free(address);
    return result;
}

/* symbol_address(name) -> address of a symbol of the running process (the interpreter,
   libpython, libc), or 0: what the loaded code's undefined symbols bind to. */
PyObject *
ember_symbol_address(PyObject *Py_UNUSED(module), PyObject *name)
{
    const char *text = PyUnicode_AsUTF8(name);
    if (text == NULL) {
        return NULL;
    }
    void *address = dlsym(RTLD_DEFAULT, text);
    return PyLong_FromVoidPtr(address);
}

/* interpreter_address() -> this interpreter's PyInterpreterState (an address). */
PyObject *
ember_interpreter_address(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromVoidPtr(PyInterpreterState_Get());
}

/* fill_table(address, objects): write each object's address into the constants table of
   loaded code at `address` (the caller keeps the objects alive). */
PyObject *
ember_fill_table(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "fill_table(address, objects: list)");
        return NULL;
    }
    PyObject **table = PyLong_AsVoidPtr(args[0]);
    if (table == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "fill_table: no table");
        }
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(args[1]);
    for (Py_ssize_t i = 0; i < n; i++) {
        table[i] = PyList_GET_ITEM(args[1], i);
    }
    Py_RETURN_NONE;
}

/* readable(fd) -> bool: a read of fd would not block now (data, end of file or an
   error are all "readable"). */
PyObject *
ember_readable(PyObject *Py_UNUSED(module), PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred()) {
        return NULL;
    }
    struct pollfd p = {.fd = (int)fd, .events = POLLIN};
    int n = poll(&p, 1, 0);
    if (n < 0) {
        if (errno == EINTR) {
            Py_RETURN_FALSE;
        }
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyBool_FromLong(n > 0);
}
