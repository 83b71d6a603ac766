"""Reading annotation sheets (xlsx through openpyxl, csv through the csv module) into plain rows.

Real sheets have quirks this module absorbs: a preamble above the header (SAMM v2: 13 rows),
blank unnamed columns (newer CASME II versions), numbers stored as text or as ints
(``'01'`` vs ``1``, ``12`` vs ``'4+L10'``), formulas (read as their cached values) and ``'/'``
in frame columns. Database-specific meaning (which column is the apex, subject spelling) lives in
the adapters; this module only finds the header, the columns and the values.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .database_types import DatabaseError

#: How far down a sheet the header row is looked for (SAMM v2 has it on row 14).
HEADER_SEARCH_ROWS = 40


def normalise_name(name: object) -> str:
    """Column-name key: lower case, without spaces, underscores, dots or dashes (``'Onset Frame'`` → ``'onsetframe'``)."""
    return re.sub(r"[\s_.\-]+", "", str(name or "")).lower()


@dataclass
class Table:
    """One sheet: its header and data rows.

    path : the sheet file.  sheet : worksheet name ("" for csv).
    header_row : 1-based row number of the header.
    columns : normalised column name → 0-based column index (blank header cells left out).
    rows : ``(row_number, values)`` with 1-based spreadsheet row numbers; empty rows left out.
    """

    path: Path
    sheet: str
    header_row: int
    columns: dict[str, int]
    rows: list[tuple[int, tuple]] = field(default_factory=list)

    def column(self, *aliases: str, required: bool = True) -> int | None:
        """Index of the first column whose normalised name is one of ``aliases``.

        Raises `DatabaseError` naming the sheet and the columns it has when a required column is missing.
        """
        for a in aliases:
            if normalise_name(a) in self.columns:
                return self.columns[normalise_name(a)]
        if required:
            raise DatabaseError(f"{self.where()}: no column {' / '.join(aliases)} in the header on row "
                                f"{self.header_row} (columns: {', '.join(self.columns)})")
        return None

    def where(self, row: int | None = None) -> str:
        """``'file[sheet]'`` or ``'file[sheet] row N'`` for messages."""
        s = f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name
        return f"{s} row {row}" if row is not None else s


def _find_header(raw: Sequence[tuple], required: Iterable[Sequence[str]]) -> int | None:
    """0-based index of the first row holding one alias of every required column."""
    req = [{normalise_name(a) for a in group} for group in required]
    for i, row in enumerate(raw[:HEADER_SEARCH_ROWS]):
        names = {normalise_name(v) for v in row if v is not None and str(v).strip()}
        if all(names & group for group in req):
            return i
    return None


#: Delimiters a spreadsheet program writes into a "CSV" (';' where ',' is the decimal comma).
CSV_DELIMITERS = ",;\t|"


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample (``csv.Sniffer`` over `CSV_DELIMITERS`); ``','`` when undecidable.

    The sniffer looks at the lines near the top; a delimiter that splits no line is not taken.
    """
    try:
        found = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and any(found in line for line in sample.splitlines()):
        return found
    # Sniffer gives up on ragged files: take the candidate that splits the first non-empty line most.
    first = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv_rows(path: Path) -> list[tuple]:
    """Rows of a CSV file: UTF-8 with or without a BOM (or cp1252 as a fallback), delimiter sniffed.

    Raises `DatabaseError` naming the file when it cannot be read as text.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot read this sheet ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise DatabaseError(f"{path}: not a text CSV file ({exc}); save it as CSV UTF-8 or .xlsx") from exc
    delimiter = sniff_delimiter(text[:64 * 1024])
    import io
    return [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _raw_rows(path: Path, sheet: str | None) -> list[tuple[str, list[tuple]]]:
    """``[(sheet_name, rows)]`` for the wanted sheet or all sheets of a workbook / the csv file."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return [("", read_csv_rows(path))]
    if suffix not in (".xlsx", ".xlsm"):
        raise DatabaseError(f"{path}: unsupported sheet type {suffix!r}; save it as .xlsx or .csv "
                            "(old .xls files: open in a spreadsheet program and save as .xlsx)")
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for broken files
        raise DatabaseError(f"{path}: cannot read this workbook ({exc}); re-save it as .xlsx") from exc
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise DatabaseError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
            names = [sheet]
        else:
            names = list(wb.sheetnames)
        return [(n, [tuple(r) for r in wb[n].iter_rows(values_only=True)]) for n in names]
    finally:
        wb.close()


def read_table(path: Path | str, required: Iterable[Sequence[str]], sheet: str | None = None) -> Table:
    """Read the first sheet (or ``sheet``) whose header holds every ``required`` column.

    Parameters
    ----------
    path : .xlsx/.xlsm (read with openpyxl, ``read_only=True, data_only=True``: formulas give
        their cached values) or .csv (UTF-8, optional BOM; delimiter ``,`` ``;`` tab or ``|`` sniffed).
    required : one tuple of accepted names (aliases) per required column, e.g.
        ``[("Subject",), ("OnsetFrame", "Onset Frame", "Onset")]``; names compare normalised.
    sheet : worksheet name; ``None`` tries every worksheet in order.

    Raises
    ------
    DatabaseError : the file is missing or unreadable, or no header with those columns is found
        in the first `HEADER_SEARCH_ROWS` rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DatabaseError(f"annotation sheet {path} does not exist")
    required = [tuple(g) for g in required]
    for name, raw in _raw_rows(path, sheet):
        h = _find_header(raw, required)
        if h is None:
            continue
        columns: dict[str, int] = {}
        for j, v in enumerate(raw[h]):
            key = normalise_name(v)
            if key and key not in columns:
                columns[key] = j
        rows = [(h + 2 + i, r) for i, r in enumerate(raw[h + 1:])
                if any(v is not None and str(v).strip() for v in r)]
        return Table(path, name, h + 1, columns, rows)
    wanted = ", ".join(" / ".join(g) for g in required)
    raise DatabaseError(f"{path}: no sheet has a header row with the columns {wanted} "
                        f"(looked at the first {HEADER_SEARCH_ROWS} rows); is this the right sheet?")


def cell(values: tuple, index: int | None):
    """``values[index]``, or None when the column is absent or the row is short."""
    if index is None or index >= len(values):
        return None
    return values[index]


def as_text(value) -> str:
    """A cell as stripped text: None → ``''``, ``12`` / ``12.0`` → ``'12'`` (AU codes stay as coded)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class NotAFrame(ValueError):
    """A frame cell holds something other than a frame number (``'/'``, text); ``str`` says what."""


def as_frame(value) -> int | None:
    """A frame-number cell as int; None for an empty cell.

    Accepts ints, integral floats and digit strings. Raises `NotAFrame` for anything else
    (``'/'``, ``'?'``, fractions, negative numbers).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise NotAFrame(repr(value))
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        raise NotAFrame(repr(value))
    if n < 0:
        raise NotAFrame(repr(value))
    return n


def subject_id(value, prefix: str = "", width: int = 0) -> str:
    """A subject cell as the database's folder spelling.

    ``subject_id('01', 'sub', 2)`` → ``'sub01'``; ``subject_id(1, 'sub', 2)`` → ``'sub01'``;
    ``subject_id(6, '', 3)`` → ``'006'``; text that already carries the prefix is kept.
    Raises `DatabaseError`-free: an empty cell gives ``''`` (the adapter reports it).
    """
    text = as_text(value)
    if not text:
        return ""
    if text.isdigit():
        return f"{prefix}{int(text):0{width}d}"
    return text
