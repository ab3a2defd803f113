"""A stand-in for the Azure CLI, for tests/test_bootstrap.py: Azure cannot run here. It logs
every call (argv, one JSON line) to $STAND_IN_AZ_LOG and answers as an Azure where the state
account, the Key Vault, its keys and the identities exist, and no role assignment or federated
credential does yet: so scripts/bootstrap-backend.sh walks its whole path and creates every
grant and federation, which the test then reads from the log. `az account set` is remembered
(the current subscription) in $STAND_IN_AZ_LOG.subscription."""

import json
import os
import sys

args = sys.argv[1:]
with open(os.environ["STAND_IN_AZ_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\n")
current = os.environ["STAND_IN_AZ_LOG"] + ".subscription"


def option(name: str, default: str = "") -> str:
    return args[args.index(name) + 1] if name in args else default


def answer(text: str) -> None:
    if option("--output") != "none":
        print(text)
    sys.exit(0)


command = " ".join(a for a in args[:4] if not a.startswith("-"))
query = option("--query")
default = os.environ["STAND_IN_AZ_SUBSCRIPTION"]
if os.path.exists(current):
    with open(current, encoding="utf-8") as file:
        default = file.read()
subscription = option("--subscription", default)
if command.startswith("account set"):
    with open(current, "w", encoding="utf-8") as file:
        file.write(option("--subscription"))
    answer("")
if command.startswith("account show"):
    replies = {
        "id": subscription,
        "tenantId": "tenant-0000",
        "user.type": "user",
        "user.name": "admin@example.org",
    }
    answer(replies.get(query, ""))
if command.startswith("ad signed-in-user show"):
    answer("bootstrapping-user")
if command.startswith("storage account show") and query == "id":
    answer(f"/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.Storage/account")
if command.startswith("keyvault show"):
    replies = {
        "properties.enableRbacAuthorization": "true",
        "id": f"/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.KeyVault/kv",
    }
    answer(replies.get(query, ""))
if command.startswith("identity show"):
    name = option("--name")
    if name.endswith("-github"):  # the single identity of earlier versions: gone
        sys.exit(3)
    answer({"clientId": f"client-{name}", "principalId": f"principal-{name}"}.get(query, ""))
if command.startswith("identity federated-credential show"):
    sys.exit(3)  # not created yet
if command.startswith("role definition list"):
    answer("0")  # no custom role yet
if command.startswith("role assignment list"):
    answer("0")  # nothing assigned yet
if command.startswith("storage container-rm show") or command.startswith("keyvault key show"):
    sys.exit(0)  # exists
answer("")
