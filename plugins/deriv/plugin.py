"""Hook implementations of the deriv package."""
