"""Rows of the registry test for the rules in s2sad/rules/numpy_linalg.py:
rule key -> [(expression, args, argnums)], merged into SPECIAL_CASES.

Inputs are made well conditioned in the expression itself (`+ 3.0 *
np.eye(3)`), so that central differences stay accurate. Symmetric inputs
(cholesky, eigh, eigvalsh, svd's hermitian=True) are built from x0, so the
differences are taken through the symmetrization. Eigenvectors and singular
vectors are defined up to sign (a phase, when complex): they are checked
through functions that do not depend on it (`np.abs(v) ** 2`, projectors
`v[:, 0:1] @ np.conj(v[:, 0:1]).T`, `u @ vt`, `u @ np.diag(s) @ vt`), so
tests/test_complex_rules.py can run the rows with complex inputs too.
"""

import numpy as np

from tests.rule_inputs import ALL, arr

SYM = "(x0 + np.conj(x0).T) / 2"  # symmetric (Hermitian) from a square x0
SYM_STACK = "(x0 + np.conj(np.swapaxes(x0, -1, -2))) / 2"
SPD = "x0 @ x0.T + 3.0 * np.eye(3)"  # symmetric positive definite
SPD_STACK = "x0 @ np.swapaxes(x0, -1, -2) + 3.0 * np.eye(3)"
WELL = "x0 + 3.0 * np.eye(3)"  # far from singular


ROWS = {
    np.linalg.inv: [
        (f"OP({WELL})", [arr(3, 3)], ALL),
        (f"OP({WELL})", [arr(2, 3, 3)], ALL),
        ("OP(x0)", [arr(2, 2)], ALL),
        ("OP(x0 + 2.0)", [arr(1, 1)], ALL),
    ],
    np.linalg.solve: [
        (f"OP({WELL}, x1)", [arr(3, 3), arr(3)], ALL),
        (f"OP({WELL}, x1)", [arr(3, 3), arr(3, 2)], ALL),
        (f"OP({WELL}, x1)", [arr(2, 3, 3), arr(3)], ALL),
        (f"OP({WELL}, x1)", [arr(2, 3, 3), arr(2, 3, 2)], ALL),
        (f"OP({WELL}, x1)", [arr(2, 3, 3), arr(3, 2)], ALL),
        (f"OP({WELL}, x1)", [arr(3, 3), arr(2, 3, 1)], ALL),
        (f"OP({WELL}, 2.0 * x1)", [arr(3, 3), arr(3)], (0,)),  # b constant
        (f"OP({WELL}, x1 - 1.0)", [arr(3, 3), arr(3, 2)], (1,)),  # a constant
        ("OP(2.0 * np.eye(3), x0)", [arr(3)], ALL),
        (f"OP({WELL}, np.arange(3.0))", [arr(3, 3)], ALL),
        (f"OP({WELL}, np.ones((2, 3, 2)))", [arr(3, 3)], ALL),
    ],
    np.linalg.det: [
        ("OP(x0)", [arr(3, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 3)], ALL),
        ("OP(x0)", [arr(1, 1)], ALL),
        (f"OP({WELL})", [arr(3, 3)], ALL),
    ],
    np.linalg.slogdet: [
        ("OP(x0)[1]", [arr(3, 3)], ALL),
        ("OP(x0)[1]", [arr(2, 3, 3)], ALL),
        ("OP(x0)[0] * OP(x0)[1]", [arr(3, 3)], ALL),
        ("OP(x0)[0] * np.exp(OP(x0)[1])", [arr(2, 3, 3)], ALL),
    ],
    np.linalg.pinv: [
        ("OP(x0)", [arr(4, 3)], ALL),
        ("OP(x0)", [arr(3, 4)], ALL),
        (f"OP({WELL})", [arr(3, 3)], ALL),
        ("OP(x0)", [arr(2, 4, 3)], ALL),
        ("OP(x0, rcond=1e-10)", [arr(3, 2)], ALL),
        ("OP(x0, rtol=1e-10)", [arr(2, 3)], ALL),
        (f"OP({SPD}, hermitian=True)", [arr(3, 3)], ALL),
    ],
    np.linalg.matrix_power: [
        ("OP(x0, 0)", [arr(3, 3)], ALL),
        ("OP(x0, 1)", [arr(3, 3)], ALL),
        ("OP(x0, 2)", [arr(3, 3)], ALL),
        ("OP(x0, 5)", [arr(3, 3)], ALL),
        ("OP(x0, n=3)", [arr(2, 3, 3)], ALL),
        (f"OP({WELL}, -1)", [arr(3, 3)], ALL),
        (f"OP({WELL}, -3)", [arr(2, 3, 3)], ALL),
    ],
    np.linalg.cholesky: [
        (f"OP({SPD})", [arr(3, 3)], ALL),
        (f"OP({SPD_STACK})", [arr(2, 3, 3)], ALL),
        (f"OP({SPD}, upper=True)", [arr(3, 3)], ALL),
        (f"OP({SYM} + 4.0 * np.eye(3))", [arr(3, 3)], ALL),
    ],
    np.linalg.eigh: [
        (f"OP({SYM})[0]", [arr(3, 3)], ALL),
        (f"np.abs(OP({SYM})[1]) ** 2", [arr(3, 3)], ALL),
        (f"OP({SYM})[1][:, 0:1] @ np.conj(OP({SYM})[1][:, 0:1]).T",
         [arr(3, 3)], ALL),
        (f"OP({SYM})[1] @ np.diag(OP({SYM})[0]) @ np.conj(OP({SYM})[1]).T",
         [arr(3, 3)], ALL),
        (f"OP({SYM_STACK})[0]", [arr(2, 3, 3)], ALL),
        (f"np.abs(OP({SYM_STACK})[1])", [arr(2, 3, 3)], ALL),
        (f"np.abs(OP({SYM}, UPLO='U')[1]) ** 2", [arr(3, 3)], ALL),
        ("OP(x0 + 1j * x1)[0]", [arr(3, 3), arr(3, 3)], ALL),
        ("np.abs(OP(x0 + 1j * x1, 'U')[1])", [arr(3, 3), arr(3, 3)], ALL),
        ("np.abs(OP(x0 + 1j * x1)[1])", [arr(2, 3, 3), arr(2, 3, 3)], ALL),
        (f"OP({SPD})[0]", [arr(3, 2)], ALL),
    ],
    np.linalg.eigvalsh: [
        (f"OP({SYM})", [arr(3, 3)], ALL),
        (f"OP({SYM_STACK})", [arr(2, 3, 3)], ALL),
        (f"OP({SYM}, UPLO='U')", [arr(3, 3)], ALL),
        ("OP(x0 + 1j * x1, UPLO='U')", [arr(2, 3, 3), arr(2, 3, 3)], ALL),
    ],
    np.linalg.eig: [
        ("np.abs(OP(x0)[0])", [arr(3, 3)], ALL),
        ("np.abs(OP(x0)[1])", [arr(3, 3)], ALL),
        # (newer NumPy gives complex eigenvalues even when they are real)
        (f"np.real(OP({SYM})[0])", [arr(3, 3)], ALL),
        ("np.real(OP(x0 + 1j * x1)[0] * (1.0 - 2.0j))", [arr(3, 3), arr(3, 3)],
         ALL),
        ("np.abs(OP(x0 + 1j * x1)[1])", [arr(3, 3), arr(3, 3)], ALL),
        ("np.abs(OP(x0 + 1j * x1)[1]) + "
         "np.imag(OP(x0 + 1j * x1)[0])[..., None]",
         [arr(2, 3, 3), arr(2, 3, 3)], ALL),
    ],
    np.linalg.eigvals: [
        ("np.abs(OP(x0))", [arr(3, 3)], ALL),
        ("np.real(OP(x0 + 1j * x1) * (2.0 + 1.0j))", [arr(2, 3, 3),
                                                       arr(2, 3, 3)], ALL),
    ],
    np.linalg.qr: [
        ("OP(x0)[0]", [arr(3, 3)], ALL),
        ("OP(x0)[1]", [arr(3, 3)], ALL),
        ("OP(x0)[0]", [arr(4, 3)], ALL),
        ("OP(x0)[1]", [arr(4, 3)], ALL),
        ("OP(x0, mode='reduced')[0]", [arr(2, 4, 3)], ALL),
        ("OP(x0)[1]", [arr(2, 4, 3)], ALL),
        ("OP(x0)[0] @ OP(x0)[1]", [arr(4, 2)], ALL),
    ],
    np.linalg.svd: [
        ("OP(x0, full_matrices=False)[1]", [arr(4, 3)], ALL),
        ("np.abs(OP(x0, full_matrices=False)[0]) ** 2", [arr(4, 3)], ALL),
        ("np.abs(OP(x0, full_matrices=False)[2]) ** 2", [arr(4, 3)], ALL),
        ("OP(x0, False)[0] @ OP(x0, False)[2]", [arr(4, 3)], ALL),
        ("OP(x0, False)[0] @ OP(x0, False)[2]", [arr(3, 4)], ALL),
        ("OP(x0, False)[0] @ np.diag(OP(x0, False)[1]) @ OP(x0, False)[2]",
         [arr(3, 4)], ALL),
        ("np.conj(OP(x0, False)[2][0:1]).T @ OP(x0, False)[2][0:1]",
         [arr(3, 4)], ALL),
        ("OP(x0)[1]", [arr(3, 3)], ALL),
        ("OP(x0)[0][:, 1:2] @ OP(x0)[2][1:2]", [arr(3, 3)], ALL),
        ("np.abs(OP(x0, full_matrices=False)[0]) ** 2", [arr(2, 4, 3)], ALL),
        ("np.abs(OP(x0, False)[2]) ** 2", [arr(2, 3, 4)], ALL),
        ("OP(x0, compute_uv=False)", [arr(4, 3)], ALL),
        ("OP(x0, compute_uv=False)", [arr(3, 4)], ALL),
        ("OP(x0, compute_uv=False)", [arr(2, 3, 3)], ALL),
        ("OP(x0, True, False)", [arr(3, 2)], ALL),
        (f"OP({SYM}, hermitian=True)[1]", [arr(3, 3)], ALL),
        (f"OP({SYM}, compute_uv=False, hermitian=True)", [arr(3, 3)], ALL),
        ("OP(x0 + 1j * x1, compute_uv=False)", [arr(4, 3), arr(4, 3)], ALL),
        ("OP(x0 + 1j * x1, compute_uv=False)", [arr(2, 3, 4), arr(2, 3, 4)],
         ALL),
        ("np.abs(OP(x0 + 1j * x1, False)[0])", [arr(4, 3), arr(4, 3)], ALL),
        ("np.abs(OP(x0 + 1j * x1, False)[2])", [arr(3, 4), arr(3, 4)], ALL),
        ("np.abs(OP(x0 + 1j * x1, False)[2]) + np.abs(OP(x0 + 1j * x1, "
         "False)[0]) @ np.eye(3)", [arr(3, 3), arr(3, 3)], ALL),
        ("np.real(OP(x0 + 1j * x1, False)[0] @ OP(x0 + 1j * x1, False)[2] "
         "* (1.0 + 2.0j))", [arr(2, 4, 3), arr(2, 4, 3)], ALL),
    ],
}
