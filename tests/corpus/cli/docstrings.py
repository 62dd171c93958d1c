"""Module docstring."""


def f():
    """Function docstring."""
    assert f, "never fails"
    return 1


print(__doc__, f.__doc__, f(), __debug__)
