"""What an external or `ha` Vault needs from the rest of the stack, and on production: an
https address, the external Vault's egress ranges where the API server is restricted, and an
`ha` Vault's snapshots. Pure: settings in, an error naming key and value out."""

from __future__ import annotations

from .cluster import ClusterSettings
from .reader import Section, fail
from .vault import VaultSettings


def check_vault_cluster(v: VaultSettings, cluster: ClusterSettings, top: Section) -> None:
    s = top.section("vault")
    if v.egress_cidrs and cluster.mode == "kubeconfig":
        s.fail(
            "egressCidrs",
            list(v.egress_cidrs),
            "not with cluster.mode kubeconfig: the program does not manage that cluster's API "
            "server access; admit the Vault's addresses there your cluster's way",
        )
    if v.egress_cidrs and cluster.mode == "aks" and cluster.private:
        s.fail(
            "egressCidrs",
            list(v.egress_cidrs),
            "not with cluster.private: a private API server has no public endpoint to admit "
            "them to; the Vault must reach its private address through your network (peering "
            "or VPN, and the private DNS zone), leave vault.egressCidrs empty",
        )
    zone = v.snapshots.private_dns_zone_id if v.snapshots else None
    if zone is not None and cluster.mode != "existingAks":
        s.section("snapshots").fail(
            "privateDnsZoneId",
            zone,
            "only with cluster.mode existingAks: on a network this program creates it links its "
            "own privatelink.blob.core.windows.net zone",
        )


def vault_production_checks(v: VaultSettings, cluster: ClusterSettings, top: Section) -> None:
    s = top.section("vault")
    if v.mode == "external" and v.address and v.address.lower().startswith("http://"):
        # Named although `vault` is a secret key: an address is no secret (it is the plain
        # stack output vaultAddress).
        fail(
            s.key("address"),
            v.address,
            "an https:// URL on production: over plain http the Vault token and every secret "
            "Aidbox reads cross the network in the clear",
        )
    # Where the program creates or checks the API server's access (not kubeconfig mode).
    restricted = cluster.mode == "existingAks" or (cluster.mode == "aks" and not cluster.private)
    if v.mode == "external" and not v.egress_cidrs and restricted:
        s.fail(
            "egressCidrs",
            [],
            "on production, the CIDRs the external Vault's requests leave from: it reviews "
            "every pod's token at the API server, which production restricts to authorized "
            "ranges (the program adds these; on existingAks it checks the cluster has them)",
        )
    if v.snapshots is not None and not v.snapshots.enabled:
        s.section("snapshots").fail(
            "enabled",
            False,
            "true on production: Raft snapshots are an ha Vault's only backup "
            "(docs/vault.md, 'ha: snapshots and restore')",
        )
