"""The compression formats buildopt measures a file in, named once.

config (a budget's ``max_compressed``, an image's ``compressor``) and binary (the sizes) both
need the names, and neither may import the other (pyproject.toml's contracts), so they live
here, shared by all stages as errors.py and inputs.py are. Each format is the exact output of
the command beside it (buildopt.binary.compressed says how).
"""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["gzip", "xz", "zstd"]
FORMATS: tuple[Format, ...] = get_args(Format)
COMMANDS: dict[str, str] = {"gzip": "gzip -9 -n", "xz": "xz -9e", "zstd": "zstd -19"}
