"""Rules for NumPy products: adjoint and tangent templates side by side."""
