import functools
import sys
from pathlib import Path

from kubernetes_validate import utils as _kubernetes_validate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# kubernetes-validate reads and parses its (large) schema files on every call; the schema
# tests validate hundreds of objects against the same few.
_kubernetes_validate.schema_contents = functools.cache(_kubernetes_validate.schema_contents)
