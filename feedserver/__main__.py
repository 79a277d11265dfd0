import sys

from feedserver.cli import main

sys.exit(main())
