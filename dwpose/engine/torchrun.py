"""``python -m dwpose.engine.torchrun [torchrun options] SCRIPT ...``: torchrun that passes user mistakes on.

A worker that exits with status 2 has already printed its one ``error:`` line (:mod:`dwpose.errors`).
Plain torchrun would add an error log line and its ``ChildFailedError`` traceback and exit with 1; this
wrapper stays quiet and exits with 2. Any other failure (a bug, a crash, a signal) keeps torchrun's full
report. ``tools/dist_train.sh`` and ``tools/dist_test.sh`` launch through it.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Optional, Sequence

from dwpose.errors import EXIT_USER_ERROR, guarded

# Exit codes of the workers torchrun stops after the first failure.
_STOPPED = {-int(signal.SIGTERM), -int(signal.SIGKILL)}


class _DropUserErrorReport(logging.Filter):
    """Drops torchrun's "failed (exitcode: 2) local_rank: ..." log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"(exitcode: {EXIT_USER_ERROR})" not in record.getMessage()


def is_user_error(exit_codes: set) -> bool:
    """Whether the failed workers' exit codes mean "a user mistake, already reported"."""
    return EXIT_USER_ERROR in exit_codes and exit_codes <= {EXIT_USER_ERROR, *_STOPPED}


def main(argv: Optional[Sequence[str]] = None) -> int:
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    logging.getLogger("torch.distributed.elastic.multiprocessing.api").addFilter(_DropUserErrorReport())
    args = torchrun.parse_args(list(sys.argv[1:] if argv is None else argv))

    def run() -> int:
        try:
            torchrun.run(args)
        except ChildFailedError as exc:
            if is_user_error({failure.exitcode for failure in exc.failures.values()}):
                return EXIT_USER_ERROR
            raise
        return 0

    return guarded(run, prog="torchrun")


if __name__ == "__main__":
    sys.exit(main())
