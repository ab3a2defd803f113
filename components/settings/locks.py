"""`locks`: CanNotDelete management locks on the state of record (the cluster, the Key Vaults,
the managed database). On by default on production, where turning them off is refused; off by
default elsewhere (a dev stack is destroyed often, and a lock stops `pulumi destroy`)."""

from __future__ import annotations

from .reader import Section


def parse_locks(top: Section, *, production: bool, cluster_mode: str) -> bool:
    if cluster_mode == "kubeconfig":
        if top.boolean("locks", False):
            top.fail(
                "locks",
                True,
                "not with cluster.mode kubeconfig: the program creates nothing in Azure to lock",
            )
        return False
    return top.boolean("locks", production)


def production_locks_problem(locks: bool, cluster_mode: str) -> tuple[str, object, str] | None:
    if locks or cluster_mode == "kubeconfig":
        return None
    return (
        "locks",
        False,
        "on production, CanNotDelete locks stay on the cluster, the Key Vaults and the "
        "database; lift one deliberately when you mean to delete "
        "(docs/operations.md, 'Delete locks')",
    )
