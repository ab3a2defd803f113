"""Rules on Azure resources: Key Vault, its role assignments, the AKS cluster."""
