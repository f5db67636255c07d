"""``python -m poster_pipeline_cli`` = the ``poster-pipeline`` console script."""

import sys

from poster_pipeline_cli.cli import main

sys.exit(main())
