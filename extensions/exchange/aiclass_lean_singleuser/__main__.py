"""``python -m aiclass_lean_singleuser``: see the package's docstring."""

from aiclass_lean_singleuser import main

main()
