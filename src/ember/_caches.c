/* The attribute inline caches of compiled code: their slow paths, in C.
 *
 * Each LOAD_ATTR, STORE_ATTR and method-loading LOAD_ATTR site of a compiled body owns
 * one `AttrCache` (a zeroed global of its module): ENTRIES entries, most recently used
 * first. The compiled code checks entry 0 inline for the common kinds (instance values;
 * methods on objects without a dict or with inline values) and calls the functions
 * here for everything else: they look through every entry, move a hit to the front, and
 * on a miss do what CPython does (PyObject_GetAttr, PyObject_SetAttr,
 * _PyObject_GetMethod) after filling an entry for the next time. A site that sees two to
 * four classes (a method of a base class called on its subclasses' instances) keeps one
 * entry per class instead of thrashing one.
 *
 * An entry holds a type and that type's `tp_version_tag` when it was filled. CPython
 * gives a type a new tag (or none) whenever the type or any of its bases changes
 * (`PyType_Modified`), so while `Py_TYPE(obj) == type && type->tp_version_tag == version`
 * everything the fill looked at in the type (its MRO, the descriptor found or not found,
 * its getattro/setattro slots) is as it was, and the descriptor it cached is still held
 * by the type's dict. The kinds, each what CPython's generic path would do in that case
 * (Objects/object.c, _PyObject_GenericGetAttrWithDict and _PyObject_GetMethod):
 *
 *   INSTANCE_VALUE  no class attribute of that name, the generic getattro (setattro),
 *                   a managed dict: the value is values[index] of the object's inline
 *                   values, `index` that of the name in the type's shared keys (found
 *                   by equality, as _PyDictKeys_StringLookup does). Taken only while the
 *                   object has no materialised __dict__ and (loads) the value is there;
 *                   otherwise the generic path. A store of a new attribute also adds
 *                   it to the values' insertion order, as STORE_ATTR_INSTANCE_VALUE does.
 *   DICT_HINT       the same, but the object's __dict__ is materialised: `index` is
 *                   where the name was in that dict's entries, taken while the entry
 *                   there is that very name (LOAD_ATTR_WITH_HINT, STORE_ATTR_WITH_HINT).
 *   SLOT            a member descriptor of type T_OBJECT_EX (`__slots__`): the value at
 *                   byte `index` of the object (NULL: the generic path raises). Not for
 *                   audited reads, nor for READONLY stores.
 *   MODULE          an exact module, no attribute of that name on the module type: the
 *                   value found in its dict, cached with the dict's `ma_version_tag`
 *                   (unique in the process, new at each change of the dict).
 *   CLASS           (loads) the object is the class `type` itself, with the generic type
 *                   getattro, nothing of that name on its metaclass, and the attribute
 *                   found on the class is a plain value or a function (whose __get__
 *                   with no instance answers the function): that value
 *                   (LOAD_ATTR_CLASS). Guarded by the class's own version tag.
 *   DATA_DESCR      (loads) a data descriptor on the type (property, getset or member
 *                   descriptor): the instance dict cannot hide it, so the answer is its
 *                   __get__(obj, type), called as the generic path calls it.
 *   NO_DICT_ATTR    (loads) a class attribute that is not a data descriptor, on a type
 *                   whose objects have no dict, or a managed dict whose shared keys lack
 *                   the name while the object keeps inline values: the descriptor's
 *                   __get__(obj, type), or the value itself when it has none.
 *   METHOD_NO_DICT  (method loads) a method descriptor on the type, objects without an
 *                   instance dict: (descriptor, obj).
 *   METHOD_VALUES   (method loads) the same for objects with a managed dict whose
 *                   type's shared keys do not hold the name: cached with the shared
 *                   keys' entry count (shared keys only ever grow), taken while the
 *                   object has no materialised __dict__.
 *   METHOD_DICT     (method loads) the same for objects with a __dict__ (materialised, or
 *                   at tp_dictoffset): the dict is still looked up, as the generic path
 *                   does, and the method taken when the name is not there.
 *
 * A miss that cannot be cached (an uncommon descriptor, a __getattr__ class) backs off:
 * the next fill is tried only after 2, 4, ... up to MAX_SKIP more misses, so a site the
 * cache cannot serve costs little more than CPython's generic call.
 *
 * The layout is mirrored by ember/lower/attrs.py (ATTR_CACHE) and checked by
 * ember.abi against `attr_cache_layout()`; the inline code reads entry 0 only.
 */

#define PY_SSIZE_T_CLEAN
/* The internal headers (the inline-values layout, dict keys, module objects): this file
   is compiled against the headers of the interpreter that loads it. */
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include <structmember.h>
#include "internal/pycore_object.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_gc.h"
#include "internal/pycore_moduleobject.h"

#include "_native.h"

enum {
    EMPTY = 0,
    INSTANCE_VALUE = 1,
    SLOT = 2,
    MODULE = 3,
    METHOD_NO_DICT = 4,
    METHOD_VALUES = 5,
    DICT_HINT = 6,
    CLASS = 7,
    DATA_DESCR = 8,
    NO_DICT_ATTR = 9,
    METHOD_DICT = 10,
};

#define ENTRIES 4
#define MAX_SKIP 1024

typedef struct {
    PyTypeObject *type;  /* borrowed: guarded by its version tag */
    uint32_t version;
    uint32_t kind;
    intptr_t index;      /* values index, dict hint, slot offset, dict version tag, or
                            shared keys count */
    PyObject *value;     /* borrowed: the module attribute, the class attribute or the
                            descriptor */
} AttrEntry;

typedef struct {
    AttrEntry entry[ENTRIES];  /* most recently used first */
    uint32_t misses;           /* fills that found nothing to cache, in a row */
    uint32_t skip;             /* misses to go before the next fill */
} AttrCache;

/* Where the name is among the entries of `keys` (by identity, else by string equality),
   or -1. */
static Py_ssize_t
keys_index(PyDictKeysObject *keys, PyObject *name)
{
    if (keys == NULL) {
        return -1;
    }
    Py_ssize_t n = keys->dk_nentries;
    if (keys->dk_kind == DICT_KEYS_GENERAL) {
        PyDictKeyEntry *entries = DK_ENTRIES(keys);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (entries[i].me_key == name) {
                return i;
            }
        }
        return -1;
    }
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
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

static inline PyDictValues *
instance_values(PyObject *obj)
{
    PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(obj);
    return _PyDictOrValues_IsValues(dorv) ? _PyDictOrValues_GetValues(dorv) : NULL;
}

/* The materialised managed dict of obj (borrowed), or NULL. */
static inline PyDictObject *
managed_dict(PyObject *obj)
{
    PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(obj);
    return _PyDictOrValues_IsValues(dorv) ? NULL : (PyDictObject *)_PyDictOrValues_GetDict(dorv);
}

/* The value at `hint` of dict if its key there is `name`, else NULL (borrowed). */
static inline PyObject **
hint_slot(PyDictObject *dict, Py_ssize_t hint, PyObject *name)
{
    if (dict == NULL) {
        return NULL;
    }
    PyDictKeysObject *keys = dict->ma_keys;
    if (hint >= keys->dk_nentries || dict->ma_values != NULL) {
        return NULL;
    }
    if (DK_IS_UNICODE(keys)) {
        PyDictUnicodeEntry *ep = DK_UNICODE_ENTRIES(keys) + hint;
        return ep->me_key == name ? &ep->me_value : NULL;
    }
    PyDictKeyEntry *ep = DK_ENTRIES(keys) + hint;
    return ep->me_key == name ? &ep->me_value : NULL;
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

/* --- entries -------------------------------------------------------------------------- */

/* Whether entry e answers for obj: its type (for CLASS: the object itself) at the
   version it was filled at. MODULE entries are guarded by the module dict's version at
   the hit instead. */
static inline int
matches(AttrEntry *e, PyObject *obj)
{
    if (e->kind == CLASS) {
        return (PyObject *)e->type == obj && e->type->tp_version_tag == e->version;
    }
    if (e->kind == MODULE) {
        return Py_TYPE(obj) == e->type;
    }
    return e->kind != EMPTY && Py_TYPE(obj) == e->type
        && e->type->tp_version_tag == e->version;
}

/* Entry i comes to the front, where the inline code looks for the kinds it handles
   only there (a swap: entries 1.. are looked at in any order); returns the front. */
static AttrEntry *
to_front(AttrCache *c, int i)
{
    if (i > 0) {
        AttrEntry e = c->entry[i];
        c->entry[i] = c->entry[0];
        c->entry[0] = e;
    }
    return &c->entry[0];
}

/* A new front entry (the oldest one goes), unless an entry the same in every field is
   there already (then that one comes to the front). */
static void
push_entry(AttrCache *c, PyTypeObject *tp, unsigned int version, int kind, intptr_t index,
           PyObject *value)
{
    int i;
    for (i = 0; i < ENTRIES - 1; i++) {
        AttrEntry *e = &c->entry[i];
        if (e->type == tp && e->version == version && (int)e->kind == kind
                && e->index == index && e->value == value) {
            break;
        }
    }
    memmove(&c->entry[1], &c->entry[0], sizeof(AttrEntry) * i);
    AttrEntry *e = &c->entry[0];
    e->type = tp;
    e->version = version;
    e->kind = kind;
    e->index = index;
    e->value = value;
    c->misses = 0;
    c->skip = 0;
}

/* Whether to try a fill at this miss (the back-off of sites the cache cannot serve). */
static int
may_fill(AttrCache *c)
{
    if (c->skip > 0) {
        c->skip--;
        return 0;
    }
    return 1;
}

/* A fill found nothing to cache: wait 2, 4, ... MAX_SKIP misses before the next. */
static void
nothing_to_cache(AttrCache *c)
{
    if (c->misses < 10) {
        c->misses++;
    }
    c->skip = 1u << c->misses;
    if (c->skip > MAX_SKIP) {
        c->skip = MAX_SKIP;
    }
}

/* --- LOAD_ATTR ------------------------------------------------------------------------ */

/* Fill an entry for obj.name; 1 if one was made. */
/* An attribute no descriptor of the type governs, loaded or stored alike: in the
   object's materialised dict at a key index (DICT_HINT), or in its inline values at the
   type's cached keys' index (INSTANCE_VALUE). 0: neither applies. */
static int
fill_instance(AttrCache *c, PyObject *obj, PyTypeObject *tp, unsigned int version,
              PyObject *name)
{
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        return 0;
    }
    PyDictObject *dict = managed_dict(obj);
    if (dict != NULL) {
        Py_ssize_t hint = keys_index(dict->ma_keys, name);
        if (hint < 0 || dict->ma_values != NULL) {
            return 0;
        }
        push_entry(c, tp, version, DICT_HINT, hint, NULL);
        return 1;
    }
    Py_ssize_t ix = keys_index(cached_keys(tp), name);
    if (ix < 0) {
        return 0;
    }
    push_entry(c, tp, version, INSTANCE_VALUE, ix, NULL);
    return 1;
}

static int
fill_load(AttrCache *c, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name)) {
        return 0;
    }
    if (tp == &PyModule_Type) {
        PyObject *dict = ((PyModuleObject *)obj)->md_dict;
        /* Only a dict of str keys: then the lookup runs no __eq__ (CPython's
           LOAD_ATTR_MODULE asks the same of the module dict). */
        if (dict == NULL || !PyDict_CheckExact(dict)
                || ((PyDictObject *)dict)->ma_keys->dk_kind == DICT_KEYS_GENERAL
                || _PyType_Lookup(tp, name) != NULL) {
            return 0;
        }
        PyObject *value = PyDict_GetItemWithError(dict, name);
        if (value == NULL) {
            PyErr_Clear();
            return 0;
        }
        push_entry(c, tp, 0, MODULE, (intptr_t)((PyDictObject *)dict)->ma_version_tag,
                   value);
        return 1;
    }
    if (PyType_CheckExact(obj)) {
        PyTypeObject *cls = (PyTypeObject *)obj;
        PyObject *descr = _PyType_Lookup(cls, name);
        unsigned int version = cls->tp_version_tag;
        if (descr == NULL || version == 0 || _PyType_Lookup(tp, name) != NULL) {
            return 0;
        }
        if (Py_TYPE(descr)->tp_descr_get != NULL
                && !PyType_HasFeature(Py_TYPE(descr), Py_TPFLAGS_METHOD_DESCRIPTOR)) {
            return 0;
        }
        push_entry(c, cls, version, CLASS, 0, descr);
        return 1;
    }
    if (tp->tp_getattro != PyObject_GenericGetAttr) {
        return 0;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    unsigned int version = tp->tp_version_tag;
    if (version == 0) {
        return 0;
    }
    if (descr == NULL) {
        return fill_instance(c, obj, tp, version, name);
    }
    descrgetfunc get = Py_TYPE(descr)->tp_descr_get;
    if (get != NULL && Py_TYPE(descr)->tp_descr_set != NULL) {
        Py_ssize_t offset = slot_offset(descr, tp, 0);
        if (offset > 0) {
            push_entry(c, tp, version, SLOT, offset, NULL);
        }
        else {
            push_entry(c, tp, version, DATA_DESCR, 0, descr);
        }
        return 1;
    }
    /* Not a data descriptor: the instance dict comes first, so only where there is
       none, or inline values that cannot hold the name. */
    PyDictKeysObject *keys = cached_keys(tp);
    if (tp->tp_dictoffset == 0) {
        push_entry(c, tp, version, NO_DICT_ATTR, -1, descr);
        return 1;
    }
    if (keys != NULL && instance_values(obj) != NULL && keys_index(keys, name) < 0) {
        push_entry(c, tp, version, NO_DICT_ATTR, keys->dk_nentries, descr);
        return 1;
    }
    return 0;
}

/* descr.__get__(obj, type(obj)), holding descr meanwhile (the call may change the
   type, and so drop the type's reference), as the generic path does. */
static PyObject *
call_get(PyObject *descr, PyObject *obj)
{
    Py_INCREF(descr);
    PyObject *res = Py_TYPE(descr)->tp_descr_get(descr, obj, (PyObject *)Py_TYPE(obj));
    Py_DECREF(descr);
    return res;
}

/* The answer of entry e, which matches obj: a new reference; NULL with no exception
   when the entry does not apply to this object after all (generic path); NULL with an
   exception when a descriptor raised. */
static PyObject *
load_entry(AttrEntry *e, PyObject *obj, PyObject *name)
{
    switch (e->kind) {
    case MODULE: {
        PyObject *dict = ((PyModuleObject *)obj)->md_dict;
        if (dict != NULL && (intptr_t)((PyDictObject *)dict)->ma_version_tag == e->index) {
            return Py_NewRef(e->value);
        }
        return NULL;
    }
    case INSTANCE_VALUE: {
        PyDictValues *values = instance_values(obj);
        return values != NULL ? Py_XNewRef(values->values[e->index]) : NULL;
    }
    case DICT_HINT: {
        PyObject **slot = hint_slot(managed_dict(obj), e->index, name);
        return slot != NULL ? Py_XNewRef(*slot) : NULL;
    }
    case SLOT:
        return Py_XNewRef(*(PyObject **)((char *)obj + e->index));
    case CLASS:
        return Py_NewRef(e->value);
    case DATA_DESCR:
        return call_get(e->value, obj);
    case NO_DICT_ATTR: {
        if (e->index >= 0 && (instance_values(obj) == NULL
                              || cached_keys(Py_TYPE(obj))->dk_nentries != e->index)) {
            return NULL;
        }
        if (Py_TYPE(e->value)->tp_descr_get == NULL) {
            return Py_NewRef(e->value);
        }
        return call_get(e->value, obj);
    }
    }
    return NULL;
}

PyObject *
ember_load_attr(void *cache, PyObject *obj, PyObject *name)
{
    AttrCache *c = (AttrCache *)cache;
    int matched = 0;
    for (int i = 0; i < ENTRIES; i++) {
        if (matches(&c->entry[i], obj)) {
            matched = 1;
            PyObject *res = load_entry(&c->entry[i], obj, name);
            if (res != NULL || PyErr_Occurred()) {
                to_front(c, i);
                return res;
            }
        }
    }
    if (may_fill(c)) {
        if (fill_load(c, obj, name)) {
            PyObject *res = load_entry(&c->entry[0], obj, name);
            if (res != NULL || PyErr_Occurred()) {
                return res;
            }
        }
        else if (!matched) {
            nothing_to_cache(c);
        }
    }
    return PyObject_GetAttr(obj, name);
}

/* --- STORE_ATTR ----------------------------------------------------------------------- */

static int
fill_store(AttrCache *c, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name) || tp->tp_setattro != PyObject_GenericSetAttr) {
        return 0;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    unsigned int version = tp->tp_version_tag;
    if (version == 0) {
        return 0;
    }
    if (descr == NULL) {
        return fill_instance(c, obj, tp, version, name);
    }
    Py_ssize_t offset = slot_offset(descr, tp, 1);
    if (offset > 0) {
        push_entry(c, tp, version, SLOT, offset, NULL);
        return 1;
    }
    return 0;
}

/* 1 if stored through entry e (the value's reference taken), 0 if the entry does not
   apply to obj, -1 with an exception. */
static int
store_entry(AttrEntry *e, PyObject *obj, PyObject *name, PyObject *value)
{
    PyObject **where = NULL;
    if (e->kind == INSTANCE_VALUE) {
        PyDictValues *values = instance_values(obj);
        if (values == NULL) {
            return 0;
        }
        where = &values->values[e->index];
        if (*where == NULL) {
            /* A new attribute of this object: it also goes into the insertion order, as
               STORE_ATTR_INSTANCE_VALUE does. */
            *where = Py_NewRef(value);
            _PyDictValues_AddToInsertionOrder(values, e->index);
            return 1;
        }
    }
    else if (e->kind == DICT_HINT) {
        /* STORE_ATTR_WITH_HINT: replace a value that is there, give the dict a new
           version and keep it tracked if the value may need it, as a dict store does.
           A dict that has watchers goes through PyDict_SetItem, which tells them
           (_PyDict_SendEvent is not exported by a shared libpython). */
        PyDictObject *dict = managed_dict(obj);
        where = hint_slot(dict, e->index, name);
        if (where == NULL || *where == NULL) {
            return 0;
        }
        if (dict->ma_version_tag & DICT_VERSION_MASK) {
            return PyDict_SetItem((PyObject *)dict, name, value) < 0 ? -1 : 1;
        }
        PyInterpreterState *interp = PyInterpreterState_Get();
        uint64_t new_version = DICT_NEXT_VERSION(interp);
        PyObject *old = *where;
        *where = Py_NewRef(value);
        Py_DECREF(old);
        if (!_PyObject_GC_IS_TRACKED(dict) && _PyObject_GC_MAY_BE_TRACKED(value)) {
            _PyObject_GC_TRACK(dict);
        }
        dict->ma_version_tag = new_version;  /* in CPython's order */
        return 1;
    }
    else if (e->kind == SLOT) {
        where = (PyObject **)((char *)obj + e->index);
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
    int matched = 0;
    for (int i = 0; i < ENTRIES; i++) {
        if (matches(&c->entry[i], obj)) {
            matched = 1;
            int r = store_entry(&c->entry[i], obj, name, value);
            if (r != 0) {
                to_front(c, i);
                return r < 0 ? -1 : 0;
            }
        }
    }
    if (may_fill(c)) {
        if (fill_store(c, obj, name)) {
            int r = store_entry(&c->entry[0], obj, name, value);
            if (r != 0) {
                return r < 0 ? -1 : 0;
            }
        }
        else if (!matched) {
            nothing_to_cache(c);
        }
    }
    return PyObject_SetAttr(obj, name, value);
}

/* --- method loads --------------------------------------------------------------------- */

static int
fill_method(AttrCache *c, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name) || tp->tp_getattro != PyObject_GenericGetAttr) {
        return 0;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    unsigned int version = tp->tp_version_tag;
    if (version == 0 || descr == NULL
            || !PyType_HasFeature(Py_TYPE(descr), Py_TPFLAGS_METHOD_DESCRIPTOR)) {
        return 0;
    }
    if (tp->tp_dictoffset == 0) {
        push_entry(c, tp, version, METHOD_NO_DICT, 0, descr);
        return 1;
    }
    PyDictKeysObject *keys = cached_keys(tp);
    if (keys != NULL && instance_values(obj) != NULL && keys_index(keys, name) < 0) {
        push_entry(c, tp, version, METHOD_VALUES, keys->dk_nentries, descr);
        return 1;
    }
    if ((tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || tp->tp_dictoffset > 0) {
        push_entry(c, tp, version, METHOD_DICT, 0, descr);
        return 1;
    }
    return 0;
}

/* Whether entry e answers for obj: 1 and *method = the descriptor (a new reference)
   when obj can be passed as self; 1 and *attr = what the instance dict holds under the
   name (a new reference), as _PyObject_GetMethod answers it; 0 when the entry does not
   apply to obj; -1 with an exception (the dict lookup raised). */
static int
method_entry(AttrEntry *e, PyObject *obj, PyObject *name, PyObject **method,
             PyObject **attr)
{
    *method = *attr = NULL;
    if (e->kind == METHOD_NO_DICT) {
        *method = Py_NewRef(e->value);
        return 1;
    }
    if (e->kind == METHOD_VALUES) {
        if (instance_values(obj) != NULL
                && cached_keys(Py_TYPE(obj))->dk_nentries == e->index) {
            *method = Py_NewRef(e->value);
            return 1;
        }
        return 0;
    }
    if (e->kind != METHOD_DICT) {
        return 0;
    }
    /* What _PyObject_GetMethod does past the type lookup: the instance dict is looked
       up (holding the descriptor meanwhile), and the method taken when the name is not
       there. */
    PyObject *dict;
    if (Py_TYPE(obj)->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        if (instance_values(obj) != NULL) {
            return 0;
        }
        dict = (PyObject *)managed_dict(obj);
    }
    else {
        /* fill_method takes only a positive tp_dictoffset (fixed-size objects) */
        dict = *(PyObject **)((char *)obj + Py_TYPE(obj)->tp_dictoffset);
    }
    PyObject *descr = Py_NewRef(e->value);
    if (dict != NULL) {
        Py_INCREF(dict);
        PyObject *found = PyDict_GetItemWithError(dict, name);
        Py_XINCREF(found);
        Py_DECREF(dict);
        if (found != NULL) {
            Py_DECREF(descr);
            *attr = found;
            return 1;
        }
        if (PyErr_Occurred()) {
            Py_DECREF(descr);
            return -1;
        }
    }
    *method = descr;
    return 1;
}

/* As _PyObject_GetMethod: 1 and *method = the unbound descriptor (new reference) when
   the call can pass obj as self; else 0 and *method = the attribute (new reference), or
   NULL with an exception set. */
int
ember_load_method(void *cache, PyObject *obj, PyObject *name, PyObject **method)
{
    AttrCache *c = (AttrCache *)cache;
    PyObject *meth = NULL, *attr = NULL;
    int matched = 0;
    for (int i = 0; i < ENTRIES; i++) {
        if (matches(&c->entry[i], obj)) {
            matched = 1;
            int r = method_entry(&c->entry[i], obj, name, &meth, &attr);
            if (r != 0) {
                to_front(c, i);
                goto answer;
            }
        }
    }
    if (may_fill(c)) {
        if (fill_method(c, obj, name)) {
            if (method_entry(&c->entry[0], obj, name, &meth, &attr) != 0) {
                goto answer;
            }
        }
        else if (!matched) {
            nothing_to_cache(c);
        }
    }
    *method = NULL;
    return _PyObject_GetMethod(obj, name, method);
answer:
    if (meth != NULL) {
        *method = meth;
        return 1;
    }
    *method = attr;  /* NULL with an exception when the dict lookup raised */
    return 0;
}

/* --- for ember.abi --------------------------------------------------------------------- */

PyObject *
ember_attr_cache_layout(void)
{
    return Py_BuildValue(
        "{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
        "size", (Py_ssize_t)sizeof(AttrCache),
        "type", (Py_ssize_t)offsetof(AttrEntry, type),
        "version", (Py_ssize_t)offsetof(AttrEntry, version),
        "kind", (Py_ssize_t)offsetof(AttrEntry, kind),
        "index", (Py_ssize_t)offsetof(AttrEntry, index),
        "value", (Py_ssize_t)offsetof(AttrEntry, value),
        "misses", (Py_ssize_t)offsetof(AttrCache, misses),
        "ENTRY_SIZE", (Py_ssize_t)sizeof(AttrEntry),
        "ENTRIES", (Py_ssize_t)ENTRIES,
        "ht_cached_keys", (Py_ssize_t)offsetof(PyHeapTypeObject, ht_cached_keys),
        "EMPTY", EMPTY, "INSTANCE_VALUE", INSTANCE_VALUE, "SLOT", SLOT, "MODULE", MODULE,
        "METHOD_NO_DICT", METHOD_NO_DICT, "METHOD_VALUES", METHOD_VALUES,
        "DICT_HINT", DICT_HINT, "CLASS", CLASS, "DATA_DESCR", DATA_DESCR,
        "NO_DICT_ATTR", NO_DICT_ATTR, "METHOD_DICT", METHOD_DICT);
}
