"""Rules for NumPy linear algebra (np.linalg): adjoint and tangent templates side by side."""
