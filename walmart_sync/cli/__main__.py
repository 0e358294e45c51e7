import sys

from walmart_sync.cli import main

sys.exit(main())
