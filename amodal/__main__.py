"""`python -m amodal` is the `amodal` command."""
import sys

from amodal.cli.main import main

sys.exit(main())
