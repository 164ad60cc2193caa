"""`python -m carejourney.ssda903` rewrites MAPPING.md from the tables in codes.py."""

from .codes import write_mapping_markdown

print(write_mapping_markdown())
