/* Giving counted code back the superinstructions sys.monitoring took away.
 *
 * CPython 3.12 forms superinstructions (LOAD_FAST__LOAD_FAST, STORE_FAST__LOAD_FAST, ...)
 * when it first quickens a code object. Instrumenting a code object for any monitoring
 * event (`_Py_Instrument`, as soon as a tool has events) turns every superinstruction
 * back into its first instruction, and nothing forms them again: with Ember's counter
 * on, interpreted code ran ~3.5% slower than under plain CPython, counted or not.
 *
 * So at the first event of a code object, when Ember's tool is the only one with events
 * (no debugger, profiler, coverage: no sys.settrace either, which is a tool too), the
 * counter forms them again here, by the rules of 3.12's `_PyCode_Quicken`: the same
 * pairs of base instructions, none across an instruction with inline caches, and the
 * first instruction of the pair rewritten in place (the second one stays, so a jump to
 * it, or a frame about to run it, runs it alone). Ember's own instrumented instructions
 * (RESUME, JUMP_FORWARD, JUMP_BACKWARD) take no part in a pair; any other instrumented
 * instruction means another tool's work, and the code is left alone. When instrumentation
 * changes later (a tool comes, Ember's goes), `_Py_Instrument` removes them again, as it
 * does for freshly quickened code.
 */

#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include "internal/pycore_code.h"
#include "internal/pycore_interp.h"
/* The opcode tables, under names of our own (the interpreter's copies are not exported). */
#define _PyOpcode_Jump ember_opcode_jump
#define _PyOpcode_Caches ember_opcode_caches
#define _PyOpcode_Deopt ember_opcode_deopt
#define NEED_OPCODE_TABLES
#include "internal/pycore_opcode.h"
#undef NEED_OPCODE_TABLES
#undef _PyOpcode_Jump
#undef _PyOpcode_Caches
#undef _PyOpcode_Deopt

#include "_native.h"

static int
others(const uint8_t *tools, int n, int own_tool)
{
    for (int e = 0; e < n; e++) {
        if (tools[e] & ~(1 << own_tool)) {
            return 1;
        }
    }
    return 0;
}

void
ember_fuse_superinstructions(PyObject *code_obj, int own_tool)
{
    PyCodeObject *code = (PyCodeObject *)code_obj;
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (others(interp->monitors.tools, _PY_MONITORING_UNGROUPED_EVENTS, own_tool)) {
        return;
    }
    _PyCoMonitoringData *mon = code->_co_monitoring;
    if (mon != NULL && others(mon->local_monitors.tools, _PY_MONITORING_LOCAL_EVENTS,
                              own_tool)) {
        return;
    }
    _Py_CODEUNIT *instructions = _PyCode_CODE(code);
    Py_ssize_t n = Py_SIZE(code);
    /* First check that only Ember's instrumented instructions are there. */
    for (Py_ssize_t i = 0; i < n; i++) {
        int op = instructions[i].op.code;
        if (op >= MIN_INSTRUMENTED_OPCODE) {
            if (op != INSTRUMENTED_RESUME && op != INSTRUMENTED_JUMP_FORWARD
                    && op != INSTRUMENTED_JUMP_BACKWARD) {
                return;
            }
            continue;
        }
        i += ember_opcode_caches[ember_opcode_deopt[op]];
    }
    int previous = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int op = instructions[i].op.code;
        if (op >= MIN_INSTRUMENTED_OPCODE) {
            previous = 0;  /* RESUME and the jumps: no caches, no pair */
            continue;
        }
        int base = ember_opcode_deopt[op];
        int caches = ember_opcode_caches[base];
        if (caches) {
            previous = 0;
            i += caches;
            continue;
        }
        switch (previous << 8 | base) {
            case LOAD_CONST << 8 | LOAD_FAST:
                instructions[i - 1].op.code = LOAD_CONST__LOAD_FAST;
                break;
            case LOAD_FAST << 8 | LOAD_CONST:
                instructions[i - 1].op.code = LOAD_FAST__LOAD_CONST;
                break;
            case LOAD_FAST << 8 | LOAD_FAST:
                instructions[i - 1].op.code = LOAD_FAST__LOAD_FAST;
                break;
            case STORE_FAST << 8 | LOAD_FAST:
                instructions[i - 1].op.code = STORE_FAST__LOAD_FAST;
                break;
            case STORE_FAST << 8 | STORE_FAST:
                instructions[i - 1].op.code = STORE_FAST__STORE_FAST;
                break;
        }
        previous = base;
    }
}
