"""`python -m carejourney ...` runs the same command line as `carejourney ...`, for an
environment whose scripts folder is not on PATH (a cluster node, a notebook's kernel)."""

import sys

from .launch import main

sys.exit(main())
