"""HashiCorp Vault as the secret store: a Vault in the cluster (dev, or ha: Raft, TLS,
auto-unseal) or an external one, its CSI provider, and the KV secret, Kubernetes auth, policy,
role (and the ha audit device) Aidbox reads through, via pulumi-vault.

The deployer reaches an in-cluster Vault through the Kubernetes API server's service proxy,
authenticated with its own Entra ID token: Vault has no public endpoint. Pods reach Vault at its
in-cluster Service.

One module per mode (`dev`, `ha` with `tls`, `external`), each returning the `Mode` record
(`records`) that `store` hands to `configure` (pulumi-vault); `pieces` holds what several
modes declare alike."""

from .records import HashiCorpVaultStoreArgs
from .store import HashiCorpVaultStore

__all__ = ["HashiCorpVaultStore", "HashiCorpVaultStoreArgs"]
