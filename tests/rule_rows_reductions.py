"""Rows of the registry test for the rules in s2sad/rules/numpy_reductions.py:
rule key -> [(expression, args, argnums)], merged into SPECIAL_CASES."""

import numpy as np  # noqa: F401

from tests.rule_inputs import ALL, FLOAT, arr  # noqa: F401

ROWS = {}
