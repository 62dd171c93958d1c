"""The back end: LLVM engine, C API declarations, shared runtime-support code.

- `engine`: the one long-lived MCJIT engine; `get_engine().add(module, names)`.
- `capi`: the C API compiled code calls, declared once with real signatures.
- `support`: inline refcounting, the "a tool is active" and eval-breaker checks.
- `entry`: the vectorcall entry put on function objects, and its compilation.

Importing this package is free; llvmlite (about 200 ms to load LLVM) is imported by the
submodules, which are imported only when something is about to be compiled.
"""
