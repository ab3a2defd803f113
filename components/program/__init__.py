"""How `__main__.py` composes the components, in two halves: the cluster and what surrounds it
(`cluster.py`), and what runs on it once the store can be read (`workload.py`). Plain functions
over the components, never components themselves: a new parent would change every URN."""
