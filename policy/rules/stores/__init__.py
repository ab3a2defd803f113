"""Rules on the secret stores the program runs itself (HashiCorp Vault)."""
