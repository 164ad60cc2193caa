"""`python -m carejourney.ssda903 > carejourney/ssda903/MAPPING.md`: the SSDA903 code mapping
(the tables in codes.py) as Markdown, on standard output. It writes no file itself, so
`--help` or a stray argument never touches the package."""

import argparse

from .codes import mapping_markdown

argparse.ArgumentParser(
    prog="python -m carejourney.ssda903",
    description="Print the SSDA903 code mapping (carejourney/ssda903/codes.py) as Markdown. "
                "Regenerate the package's copy with: python -m carejourney.ssda903 > carejourney/ssda903/MAPPING.md",
).parse_args()
print(mapping_markdown(), end="")
