"""A per-epoch progress bar for ``verbose=2``: tqdm when installed, else plain.

It is one of the trainer's epoch-end reporters: ``on_epoch_end`` after each
committed epoch, ``close`` when training ends.
"""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """Show epoch, loss and time left; ``on_epoch_end`` after every epoch, then
    ``close``."""

    def __init__(self, total: int, file=None, validation: bool = False):
        self.total = int(total)
        self.validation = validation
        self.file = file if file is not None else sys.stderr
        self.start = time.perf_counter()
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._tqdm = None
        else:
            self._tqdm = tqdm(total=self.total, unit="epoch", file=self.file, leave=True)

    def on_epoch_end(self, epoch: int, record, verdict=None) -> None:
        """Report that ``epoch`` (1-based, of this call) finished with ``record``."""
        stats = {"loss": f"{record.train_loss:.4g}"}
        if self.validation:
            stats["val_loss"] = f"{record.val_loss:.4g}"
        if self._tqdm is not None:
            self._tqdm.set_postfix(stats, refresh=False)
            self._tqdm.update(1)
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / epoch * (self.total - epoch)
        width = 30
        done = round(width * epoch / self.total)
        extra = " ".join(f"{k} {v}" for k, v in stats.items())
        self.file.write(
            f"\r[{'#' * done}{'.' * (width - done)}] epoch {epoch}/{self.total} "
            f"{extra} {elapsed:.1f}s elapsed, ~{left:.1f}s left "
        )
        self.file.flush()

    def close(self) -> None:
        """Finish the bar (training may stop before ``total`` epochs)."""
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            self.file.write("\n")
            self.file.flush()
