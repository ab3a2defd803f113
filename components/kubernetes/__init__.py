"""In-cluster plumbing: Helm releases, the CSI driver, SecretProviderClass, scraping."""
