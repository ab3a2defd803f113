"""Secret stores: each builds its backend and returns a StoreBinding."""
