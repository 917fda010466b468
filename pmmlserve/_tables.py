"""CSV and Parquet tables for the command line: chunked reading, a writer whose file appears
only once complete, and a progress display.  pandas and pyarrow are imported when used."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from pmmlserve import Model

__all__ = ["table_format", "read_chunks", "Sink", "Progress"]


def table_format(path: str) -> str:
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def read_chunks(
    path: str, chunk_size: int, model: Model | None = None
) -> tuple[Iterator[pd.DataFrame], int | None]:
    """Chunks of a CSV or Parquet file, and the row count when the format records it."""
    import pandas as pd

    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        reader = pq.ParquetFile(path)
        chunks = (batch.to_pandas() for batch in reader.iter_batches(batch_size=chunk_size))
        return chunks, reader.metadata.num_rows
    # Text fields stay text: "007" is an id, not the number 7.
    dtype = {f.name: str for f in (model.input_fields if model else ()) if f.data_type == "string"}
    source = sys.stdin if path == "-" else path
    return iter(pd.read_csv(source, chunksize=chunk_size, dtype=dtype)), None


class Sink:
    """Writes chunks to CSV or Parquet: a file appears only once complete, under its name."""

    def __init__(self, path: str):
        self.path = path
        self.format = "csv" if path == "-" else table_format(path)
        self.partial = None if path == "-" else f"{path}.partial"
        self._csv = None
        self._parquet = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._parquet = pq.ParquetWriter(self.partial, table.schema)
            else:
                table = pa.Table.from_pandas(
                    frame, schema=self._parquet.schema, preserve_index=False
                )
            self._parquet.write_table(table)
            return
        first = self._csv is None
        if first:
            self._csv = (
                sys.stdout
                if self.partial is None
                else open(self.partial, "w", newline="", encoding="utf-8")
            )
        frame.to_csv(self._csv, header=first, index=False)

    def close(self, *, ok: bool) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None and self._csv is not sys.stdout:
            self._csv.close()
        if self.partial is not None and os.path.exists(self.partial):
            if ok:
                os.replace(self.partial, self.path)
            else:
                os.remove(self.partial)


class Progress:
    """A tqdm bar when tqdm is installed, else a plain counter line on stderr."""

    def __init__(self, total: int | None, enabled: bool):
        self._bar = None
        self._plain = False
        self._done = 0
        self._last = 0.0
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self._plain = True
            return
        self._bar = tqdm(total=total, unit="rows", unit_scale=True, file=sys.stderr, desc="scoring")

    def update(self, rows: int) -> None:
        self._done += rows
        if self._bar is not None:
            self._bar.update(rows)
        elif self._plain and time.monotonic() - self._last > 0.5:
            self._last = time.monotonic()
            print(f"\rscored {self._done} rows", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._plain:
            print(f"\rscored {self._done} rows", file=sys.stderr, flush=True)
