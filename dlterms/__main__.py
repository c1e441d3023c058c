import sys

from dlterms.cli import main

sys.exit(main())
