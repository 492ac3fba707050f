"""The one Jinja2 set-up every C generator here uses: strict (an undefined name is an error, never
an empty string in the C), blocks trimmed so templates read like the C they produce."""
from __future__ import annotations

from pathlib import Path

import jinja2


def template_env(template_dir: Path, trim_blocks: bool = True) -> jinja2.Environment:
    """trim_blocks=False keeps the newline after a block tag (the MBDP templates are laid out for that)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)), undefined=jinja2.StrictUndefined,
                              trim_blocks=trim_blocks, lstrip_blocks=trim_blocks, keep_trailing_newline=True)
