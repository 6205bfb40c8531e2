"""The desktop bundle's ``seld-studio`` program: the SELD Studio window (``seldgui``).

PyInstaller's entry script for the GUI executable (``packaging/seld_studio.spec``); in a
Python environment the same program is ``seldgui`` (``seldgui.app:main``).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a worker process started from the bundle runs its task, not the app
    from seldgui.app import main

    sys.exit(main())
