import sys

from rsclip.cli import main

sys.exit(main())
