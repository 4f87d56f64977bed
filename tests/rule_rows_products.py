"""Rows of the registry test for the rules in s2sad/rules/numpy_products.py:
rule key -> [(expression, args, argnums)], merged into SPECIAL_CASES."""

ROWS = {}
