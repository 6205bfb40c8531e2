"""The desktop bundle's ``seld`` program: the SELD Studio command line (``core.cli``).

PyInstaller's entry script for the CLI executable (``packaging/seld_studio.spec``); in a
Python environment the same program is ``seld`` (``core.cli:main``). The bundle's training
tab starts it for a run (:func:`core.common.processes.seld_command`).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a data-loader worker started from the bundle runs its task
    from core.cli.seld import main

    sys.exit(main())
