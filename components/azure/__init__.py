"""Azure resources: the resource group, the AKS cluster, Key Vault."""
