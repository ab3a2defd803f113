"""`python scripts/e2e/standins {random,tls,vault} [ENGINE_ADDRESS...]`: serve one stand-in
provider plugin (README.md here). E2E ONLY: never for a real deploy."""

import sys
from pathlib import Path

# Run as a directory, this folder would come first on sys.path and shadow nothing only by
# luck: import the package from the repository root instead.
sys.path[0] = str(Path(__file__).resolve().parents[3])

from scripts.e2e.standins.launchers import main  # noqa: E402

main(sys.argv[1:])
