import sys

from poster_composer.cli import main

sys.exit(main())
