import warnings


def old():
    warnings.warn("old() is deprecated", DeprecationWarning, stacklevel=2)
    return 1


print("result", old())
warnings.warn("a user warning")
print("done")
