/* The attribute inline caches of compiled code: their slow paths, in C.
 *
 * Each LOAD_ATTR, STORE_ATTR and method-loading LOAD_ATTR site of a compiled body owns
 * one `AttrCache` (a zeroed global of its module). The compiled code checks the cache
 * inline for the common kind (instance values) and calls the functions here for
 * everything else; they check the cache for the other kinds, and on a miss do what
 * CPython does (PyObject_GetAttr, PyObject_SetAttr, _PyObject_GetMethod) after trying to
 * fill the cache for the next time.
 *
 * A cache entry holds a type and that type's `tp_version_tag` when it was filled. CPython
 * gives a type a new tag (or none) whenever the type or any of its bases changes
 * (`PyType_Modified`), so while `Py_TYPE(obj) == type && type->tp_version_tag == version`
 * everything the fill looked at in the type (its MRO, the descriptor found or not found,
 * its getattro/setattro slots) is as it was, and the descriptor it cached is still held
 * by the type's dict. These are the conditions of CPython 3.12's own specialisations
 * (Python/specialize.c), and only those cases are cached:
 *
 *   INSTANCE_VALUE  no class attribute of that name, the generic getattro (setattro),
 *                   a managed dict: the value is values[index] of the object's inline
 *                   values, `index` that of the name in the type's shared keys (found
 *                   by equality, as _PyDictKeys_StringLookup does). Taken only while the
 *                   object has no materialised __dict__ and (loads) the value is there;
 *                   otherwise the generic path. A store of a new attribute also adds
 *                   it to the values' insertion order, as STORE_ATTR_INSTANCE_VALUE does.
 *   SLOT            a member descriptor of type T_OBJECT_EX (`__slots__`): the value at
 *                   byte `index` of the object (NULL: the generic path raises). Not for
 *                   audited reads, nor for READONLY stores.
 *   MODULE          an exact module, no attribute of that name on the module type: the
 *                   value found in its dict, cached with the dict's `ma_version_tag`
 *                   (unique in the process, new at each change of the dict).
 *   METHOD_NO_DICT  (method loads) a method descriptor on the type, objects without an
 *                   instance dict: (descriptor, obj).
 *   METHOD_VALUES   (method loads) the same for objects with a managed dict whose
 *                   type's shared keys do not hold the name: cached with the shared
 *                   keys' entry count (shared keys only ever grow), taken while the
 *                   object has no materialised __dict__.
 *
 * A site that misses MAX_MISSES times (a polymorphic site) is left GENERIC: no more
 * fills, straight to CPython's generic call.
 *
 * The layout is mirrored by ember/lower/attrs.py (ATTR_CACHE) and checked by
 * ember.abi against `attr_cache_layout()`.
 */

#define PY_SSIZE_T_CLEAN
/* The internal headers (the inline-values layout, dict keys, module objects): this file
   is compiled against the headers of the interpreter that loads it. */
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include <structmember.h>
#include "internal/pycore_object.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_moduleobject.h"

#include "_native.h"

enum {
    EMPTY = 0,
    INSTANCE_VALUE = 1,
    SLOT = 2,
    MODULE = 3,
    METHOD_NO_DICT = 4,
    METHOD_VALUES = 5,
    GENERIC = 6,
};

#define MAX_MISSES 64

typedef struct {
    PyTypeObject *type;  /* borrowed: guarded by its version tag */
    uint32_t version;
    uint32_t kind;
    intptr_t index;      /* values index, slot offset, dict version tag, or keys count */
    PyObject *value;     /* borrowed: the module attribute, or the method descriptor */
    uint32_t misses;
    uint32_t unused;
} AttrCache;

/* Where the name is in shared keys (by identity, else by string equality), or -1. */
static Py_ssize_t
shared_index(PyDictKeysObject *keys, PyObject *name)
{
    if (keys == NULL || keys->dk_kind == DICT_KEYS_GENERAL) {
        return -1;
    }
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    Py_ssize_t n = keys->dk_nentries;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (entries[i].me_key == name) {
            return i;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = entries[i].me_key;
        if (key != NULL && PyUnicode_CheckExact(key) && PyUnicode_Compare(key, name) == 0) {
            return i;
        }
    }
    return -1;
}

static PyDictKeysObject *
cached_keys(PyTypeObject *tp)
{
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        return NULL;
    }
    return ((PyHeapTypeObject *)tp)->ht_cached_keys;
}

/* Count a miss; true when the site should stop trying. */
static int
give_up(AttrCache *c)
{
    if (c->kind == GENERIC) {
        return 1;
    }
    if (++c->misses >= MAX_MISSES) {
        c->type = NULL;
        c->kind = GENERIC;
        return 1;
    }
    return 0;
}

static void
set_entry(AttrCache *c, PyTypeObject *tp, unsigned int version, int kind, intptr_t index,
          PyObject *value)
{
    c->type = tp;
    c->version = version;
    c->kind = kind;
    c->index = index;
    c->value = value;
}

static inline PyDictValues *
instance_values(PyObject *obj)
{
    PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(obj);
    return _PyDictOrValues_IsValues(dorv) ? _PyDictOrValues_GetValues(dorv) : NULL;
}

/* The object a member descriptor applies to, at `offset`, or 0 if it does not apply. */
static Py_ssize_t
slot_offset(PyObject *descr, PyTypeObject *tp, int store)
{
    if (Py_TYPE(descr) != &PyMemberDescr_Type) {
        return 0;
    }
    PyMemberDescrObject *member = (PyMemberDescrObject *)descr;
    PyMemberDef *def = member->d_member;
    if (def->type != Py_T_OBJECT_EX || !PyType_IsSubtype(tp, member->d_common.d_type)) {
        return 0;
    }
    if (store ? (def->flags & Py_READONLY) : (def->flags & Py_AUDIT_READ)) {
        return 0;
    }
    return def->offset > 0 ? def->offset : 0;
}

/* --- LOAD_ATTR ------------------------------------------------------------------------ */

static void
fill_load(AttrCache *c, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name)) {
        return;
    }
    if (tp == &PyModule_Type) {
        PyObject *dict = ((PyModuleObject *)obj)->md_dict;
        /* Only a dict of str keys: then the lookup runs no __eq__ (CPython's
           LOAD_ATTR_MODULE asks the same of the module dict). */
        if (dict == NULL || !PyDict_CheckExact(dict)
                || ((PyDictObject *)dict)->ma_keys->dk_kind == DICT_KEYS_GENERAL
                || _PyType_Lookup(tp, name) != NULL) {
            return;
        }
        PyObject *value = PyDict_GetItemWithError(dict, name);
        if (value == NULL) {
            PyErr_Clear();
            return;
        }
        set_entry(c, tp, 0, MODULE, (intptr_t)((PyDictObject *)dict)->ma_version_tag, value);
        return;
    }
    if (tp->tp_getattro != PyObject_GenericGetAttr) {
        return;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    unsigned int version = tp->tp_version_tag;
    if (version == 0) {
        return;
    }
    if (descr == NULL) {
        Py_ssize_t ix = shared_index(cached_keys(tp), name);
        if (ix >= 0) {
            set_entry(c, tp, version, INSTANCE_VALUE, ix, NULL);
        }
        return;
    }
    Py_ssize_t offset = slot_offset(descr, tp, 0);
    if (offset > 0) {
        set_entry(c, tp, version, SLOT, offset, NULL);
    }
}

/* A cache hit of a kind the inline code does not take: a new reference, or NULL (not
   there: take the generic path). */
static PyObject *
load_hit(AttrCache *c, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp != c->type) {
        return NULL;
    }
    PyObject *res = NULL;
    switch (c->kind) {
    case MODULE: {
        PyObject *dict = ((PyModuleObject *)obj)->md_dict;
        if (dict != NULL && (intptr_t)((PyDictObject *)dict)->ma_version_tag == c->index) {
            res = c->value;
        }
        break;
    }
    case INSTANCE_VALUE:
        if (tp->tp_version_tag == c->version) {
            PyDictValues *values = instance_values(obj);
            if (values != NULL) {
                res = values->values[c->index];
            }
        }
        break;
    case SLOT:
        if (tp->tp_version_tag == c->version) {
            res = *(PyObject **)((char *)obj + c->index);
        }
        break;
    }
    return Py_XNewRef(res);
}

PyObject *
ember_load_attr(void *cache, PyObject *obj, PyObject *name)
{
    AttrCache *c = (AttrCache *)cache;
    PyObject *res = load_hit(c, obj);
    if (res != NULL) {
        return res;
    }
    if (!give_up(c)) {
        fill_load(c, obj, name);
        res = load_hit(c, obj);
        if (res != NULL) {
            return res;
        }
    }
    return PyObject_GetAttr(obj, name);
}

/* --- STORE_ATTR ----------------------------------------------------------------------- */

static void
fill_store(AttrCache *c, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name) || tp->tp_setattro != PyObject_GenericSetAttr) {
        return;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    unsigned int version = tp->tp_version_tag;
    if (version == 0) {
        return;
    }
    if (descr == NULL) {
        Py_ssize_t ix = shared_index(cached_keys(tp), name);
        if (ix >= 0) {
            set_entry(c, tp, version, INSTANCE_VALUE, ix, NULL);
        }
        return;
    }
    Py_ssize_t offset = slot_offset(descr, tp, 1);
    if (offset > 0) {
        set_entry(c, tp, version, SLOT, offset, NULL);
    }
}

/* 1 if stored through the cache (the value's reference taken), else 0. */
static int
store_hit(AttrCache *c, PyObject *obj, PyObject *value)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp != c->type || tp->tp_version_tag != c->version) {
        return 0;
    }
    PyObject **where = NULL;
    if (c->kind == INSTANCE_VALUE) {
        PyDictValues *values = instance_values(obj);
        if (values == NULL) {
            return 0;
        }
        where = &values->values[c->index];
        if (*where == NULL) {
            /* A new attribute of this object: it also goes into the insertion order, as
               STORE_ATTR_INSTANCE_VALUE does. */
            *where = Py_NewRef(value);
            _PyDictValues_AddToInsertionOrder(values, c->index);
            return 1;
        }
    }
    else if (c->kind == SLOT) {
        where = (PyObject **)((char *)obj + c->index);
    }
    else {
        return 0;
    }
    PyObject *old = *where;
    *where = Py_NewRef(value);
    Py_XDECREF(old);
    return 1;
}

int
ember_store_attr(void *cache, PyObject *obj, PyObject *name, PyObject *value)
{
    AttrCache *c = (AttrCache *)cache;
    if (store_hit(c, obj, value)) {
        return 0;
    }
    if (!give_up(c)) {
        fill_store(c, obj, name);
        if (store_hit(c, obj, value)) {
            return 0;
        }
    }
    return PyObject_SetAttr(obj, name, value);
}

/* --- method loads --------------------------------------------------------------------- */

static void
fill_method(AttrCache *c, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name) || tp->tp_getattro != PyObject_GenericGetAttr) {
        return;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    unsigned int version = tp->tp_version_tag;
    if (version == 0 || descr == NULL
            || !PyType_HasFeature(Py_TYPE(descr), Py_TPFLAGS_METHOD_DESCRIPTOR)) {
        return;
    }
    if (tp->tp_dictoffset == 0) {
        set_entry(c, tp, version, METHOD_NO_DICT, 0, descr);
        return;
    }
    PyDictKeysObject *keys = cached_keys(tp);
    if (keys != NULL && shared_index(keys, name) < 0) {
        set_entry(c, tp, version, METHOD_VALUES, keys->dk_nentries, descr);
    }
}

/* The descriptor (borrowed) if the cache answers for obj, else NULL. */
static PyObject *
method_hit(AttrCache *c, PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp != c->type || tp->tp_version_tag != c->version) {
        return NULL;
    }
    if (c->kind == METHOD_NO_DICT) {
        return c->value;
    }
    if (c->kind == METHOD_VALUES && instance_values(obj) != NULL
            && cached_keys(tp)->dk_nentries == c->index) {
        return c->value;
    }
    return NULL;
}

/* As _PyObject_GetMethod: 1 and *method = the unbound descriptor (new reference) when
   the call can pass obj as self; else 0 and *method = the attribute (new reference), or
   NULL with an exception set. */
int
ember_load_method(void *cache, PyObject *obj, PyObject *name, PyObject **method)
{
    AttrCache *c = (AttrCache *)cache;
    PyObject *descr = method_hit(c, obj);
    if (descr == NULL && !give_up(c)) {
        fill_method(c, obj, name);
        descr = method_hit(c, obj);
    }
    if (descr != NULL) {
        *method = Py_NewRef(descr);
        return 1;
    }
    *method = NULL;
    return _PyObject_GetMethod(obj, name, method);
}

/* --- for ember.abi --------------------------------------------------------------------- */

PyObject *
ember_attr_cache_layout(void)
{
    return Py_BuildValue(
        "{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
        "size", (Py_ssize_t)sizeof(AttrCache),
        "type", (Py_ssize_t)offsetof(AttrCache, type),
        "version", (Py_ssize_t)offsetof(AttrCache, version),
        "kind", (Py_ssize_t)offsetof(AttrCache, kind),
        "index", (Py_ssize_t)offsetof(AttrCache, index),
        "value", (Py_ssize_t)offsetof(AttrCache, value),
        "misses", (Py_ssize_t)offsetof(AttrCache, misses),
        "ht_cached_keys", (Py_ssize_t)offsetof(PyHeapTypeObject, ht_cached_keys),
        "EMPTY", EMPTY, "INSTANCE_VALUE", INSTANCE_VALUE, "SLOT", SLOT, "MODULE", MODULE,
        "METHOD_NO_DICT", METHOD_NO_DICT, "METHOD_VALUES", METHOD_VALUES,
        "GENERIC", GENERIC);
}
