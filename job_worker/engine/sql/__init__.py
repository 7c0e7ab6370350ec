"""The engine's SQL, one named query per ``.sql`` file in this folder."""

from functools import cache
from pathlib import Path

SQL_FOLDER = Path(__file__).parent


@cache
def load_query(name: str) -> str:
    """Return the text of ``<name>.sql`` from this folder."""
    path = SQL_FOLDER / f"{name}.sql"
    if not path.is_file():
        raise LookupError(f"no engine query named {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8")
