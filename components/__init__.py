"""Reusable ComponentResources for Aidbox on AKS with externally stored secrets."""
