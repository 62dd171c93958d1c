"""An uncaught exception several frames deep, with caret lines and a chained cause."""


class Store:
    def __init__(self):
        self.items = {"a": 1}

    def get(self, key):
        try:
            return self.items[key]
        except KeyError as exc:
            raise LookupError(f"no item {key!r}") from exc


def middle(store, keys):
    return [store.get(k) * 2 for k in keys]


def outer():
    return middle(Store(), ["a", "b"])


print(outer())
