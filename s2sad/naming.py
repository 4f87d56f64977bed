"""Deterministic, collision-checked names for generated code.

User variables keep their name on first definition (`h`); redefinitions get
`h_1`, `h_2`; compiler temporaries are `_t1`, `_t2`, ... in creation order;
adjoints are `h_bar` and tangents `h_dot`. Every name is unique against every
name the function already uses, so generated code never shadows user code.
"""

import re

import gast

from s2sad import trees

_VERSIONED = re.compile(r"^(.*?)_(\d+)$")


class Namer:
    def __init__(self, taken=()):
        self.taken = set(taken)
        self._temps = 0
        self._next = {}  # stem -> the suffix to try first (names only grow)

    def copy(self):
        new = Namer(self.taken)
        new._temps = self._temps
        new._next = dict(self._next)
        return new

    def reserve(self, name):
        self.taken.add(name)
        return name

    def fresh(self, base):
        """`base` if free, else `base_1`, `base_2`, ...; reserves the result."""
        if base not in self.taken:
            return self.reserve(base)
        match = _VERSIONED.match(base)
        stem = match.group(1) if match and match.group(1) else base
        i = self._next.get(stem, 1)
        while f"{stem}_{i}" in self.taken:
            i += 1
        self._next[stem] = i + 1
        return self.reserve(f"{stem}_{i}")

    def temp(self):
        """The next compiler temporary `_t1`, `_t2`, ..."""
        while True:
            self._temps += 1
            name = f"_t{self._temps}"
            if name not in self.taken:
                return self.reserve(name)

    def suffixed(self, name, suffix):
        """`x_bar` for `x`: a derived name, made unique."""
        return self.fresh(f"{name}_{suffix}")


def names_in(tree):
    """Every identifier that occurs in a gast tree."""
    found = set()
    for node in trees.walk(tree):
        if isinstance(node, gast.Name):
            found.add(node.id)
        elif isinstance(node, gast.FunctionDef):
            found.add(node.name)
    return found
