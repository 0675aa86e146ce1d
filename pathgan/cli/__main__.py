"""``python -m pathgan.cli``: the same as the ``pathgan`` console script."""

from . import main

raise SystemExit(main())
