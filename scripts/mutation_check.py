"""Break the program in known ways, one at a time, and check that the test suite notices.

Run from the repository root with the virtualenv active: `python scripts/mutation_check.py`;
`--e2e` runs the mutants only the engine run (scripts/e2e.sh) can catch, each against its phase.
Each mutation runs the suite on a temporary copy; nothing in the working tree changes.
Exit status 1 if any mutation survived (a test that cannot fail).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

SRC = pathlib.Path(__file__).resolve().parent.parent
MUTS = [
    (
        "components/stores/parameters.py",
        '"secretPath": f"{secret_api_path}/{n}"',
        '"secretPath": secret_api_path',
    ),
    (
        "components/stores/vault/configure.py",
        "                delete_all_versions=True,\n",
        "",
    ),
    (
        "components/stores/vault/configure.py",
        "lambda pair, name=spec.name: pair[0].get(name, pair[1])",
        "lambda pair, name=spec.name: pair[1]",
    ),
    (
        "components/stores/vault_access.py",
        'cache = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME", "~")) / ".cache")',
        'cache = "/tmp"',
    ),
    (
        "components/stores/vault/configure.py",
        "depends_on=[mode.release, *d.ready]",
        "depends_on=[mode.release]",
    ),
    (
        "components/azure/key_vault.py",
        "                retain_on_delete=True,\n",
        "",
    ),
    ("components/kubernetes/helm.py", "atomic=wait,", "atomic=True,"),
    (
        "components/stores/vault_policy.py",
        'capabilities: Sequence[str] = ("read",)',
        'capabilities: Sequence[str] = ("read", "update")',
    ),
    (
        "components/kubernetes/helm_values.py",
        '"syncSecret": {"enabled": sync_secrets},',
        '"syncSecret": {"enabled": sync_secrets, "foo": 1},',
    ),
    (
        "components/aidbox/pod.py",
        '"serviceAccountName": s.aidbox.service_account,',
        '"serviceAccountName": s.aidbox.service_account, "foo": 1,',
    ),
    (
        "components/stores/parameters.py",
        '{"objectName": n, "objectType": "secret"}',
        '{"objectName": n}',
    ),
    ("components/azure/key_vault.py", 'ignore_changes=["properties"]', "ignore_changes=[]"),
    (
        "components/azure/key_vault.py",
        '"enable_rbac_authorization": True',
        '"enable_rbac_authorization": False',
    ),
    (
        "components/azure/grants.py",
        "delete_before_replace=True if replace_first else None",
        "delete_before_replace=None",
    ),
    (
        "components/azure/aks.py",
        'oidc_issuer_profile={"enabled": True}',
        'oidc_issuer_profile={"enabled": False}',
    ),
    ("components/azure/aks_access.py", 'format="exec",', 'format="azure",'),
    (
        "components/azure/aks.py",
        "disable_local_accounts=not s.local_accounts,",
        "disable_local_accounts=False,",
    ),
    ("components/azure/aks.py", '"enable_azure_rbac": True,', '"enable_azure_rbac": False,'),
    ("components/azure/aks.py", '"enable_auto_scaling": True,', '"enable_auto_scaling": False,'),
    (
        "components/azure/aks.py",
        '"node_taints": [SYSTEM_TAINT] if system else None,',
        '"node_taints": None,',
    ),
    # Cluster admins and secrets officers: configured principals, never the caller.
    ("components/azure/aks.py", "principals=s.admins,", "principals=s.cluster_admins,"),
    (
        "components/azure/aks.py",
        "scope=cluster.id,",
        'scope=cluster.id.apply(lambda i: i.rsplit("/providers/", 1)[0]),',
    ),
    (
        "components/azure/grants.py",
        "naming.role_assignment_name(scope_id.lower(), principal_id.lower(), role)",
        "naming.role_assignment_name(scope_id, principal_id.lower(), role)",
    ),
    ("components/azure/grants.py", "principal_type=principal.type,", 'principal_type="User",'),
    (
        "components/azure/key_vault.py",
        "principals=args.settings.secrets_officers,",
        "principals=(),",
    ),
    ("components/settings/production.py", "    if not c.admins:\n", "    if False:\n"),
    ("components/settings/principals.py", "if value == NIL_GUID:", "if False:"),
    # CI/CD: one identity per trust level, tokens that renew, the program's roles only.
    (
        ".github/workflows/pull-request.yml",
        "stack: [dev, dev-vault]",
        "stack: [dev, dev-vault, prod]",
    ),
    (
        ".github/workflows/deploy.yml",
        'on this runner.\n      PULUMI_RUN_PROGRAM: "true"\n',
        "on this runner.\n",
    ),
    (".github/workflows/deploy.yml", "needs: preview-prod", "needs: up-dev"),
    (
        "scripts/bootstrap-backend.sh",
        '"prod|AZURE_PROD_CLIENT_ID|environment:$PROD_ENVIRONMENT"',
        '"prod|AZURE_PROD_CLIENT_ID|ref:refs/heads/main"',
    ),
    (
        "scripts/bootstrap-backend.sh",
        'ensure_role "$principal_id" ServicePrincipal "$ROLE_READER" "$NONPROD_SCOPE"',
        'ensure_role "$principal_id" ServicePrincipal "$ROLE_CONTRIBUTOR" "$NONPROD_SCOPE"',
    ),
    (
        "scripts/bootstrap-backend.sh",
        'scope="$NONPROD_SCOPE" state="$container_scope" key="$key_scope"',
        'scope="$PROD_SCOPE" state="$container_scope" key="$key_scope"',
    ),
    (
        "components/azure/roles.py",
        'KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",',
        "",
    ),
    ("scripts/ci/federated-token.sh", "audience=api%3A%2F%2FAzureADTokenExchange", "audience=x"),
    ("components/azure/kubeconfig.py", '"user": {\n', '"user": {"token": "t",\n'),
    (
        "components/kubernetes/network_policies.py",
        '"default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},',
        '"default-deny": {"podSelector": {}, "policyTypes": ["Ingress"]},',
    ),
    (
        "components/kubernetes/network_policies.py",
        'DATABASE = {"app.kubernetes.io/name": "aidbox-db"}',
        'DATABASE = {"app.kubernetes.io/name": "postgres"}',
    ),
    (
        "components/azure/key_vault.py",
        '"default_action": keyvault.NetworkRuleAction.DENY,',
        '"default_action": keyvault.NetworkRuleAction.ALLOW,',
    ),
    (  # the Key Vault made to wait for the cluster (through an input)
        "components/stores/azure.py",
        "                tags=args.tags,\n                vnet_id",
        '                tags={**args.tags, "c": cluster.cluster_name},\n                vnet_id',
    ),
    ("components/settings/production.py", "or EVERYWHERE in c.api_server_authorized_ranges", ""),
    ("components/settings/cluster.py", "if zones and location in", "if False and location in"),
    ("__main__.py", 'pulumi.export("vnetId"', 'pulumi.export("kubeconfig"'),
    ("policy/rules/azure/key_vault.py", 'elif action != "Deny":', 'elif action == "Allow!":'),
    (
        "components/stores/azure.py",
        'return _Identity("vm", "kubelet", cluster.kubelet_object_id',
        'return _Identity("vm", "kubelet", cluster.kubelet_client_id',
    ),
    (
        "components/stores/parameters.py",
        '"useVMManagedIdentity": "true"',
        '"useVMManagedIdentity": "false"',
    ),
    (
        "components/kubernetes/secret_provider_class.py",
        '"readOnly": True,\n        "volumeAttributes"',
        '"readOnly": False,\n        "volumeAttributes"',
    ),
    (
        "components/stores/vault/configure.py",
        "bound_service_account_names=[reader.service_account]",
        'bound_service_account_names=["default"]',
    ),
    (
        "components/stores/vault/configure.py",
        'disable_read=v.mode != "dev" or None',
        "disable_read=None",
    ),
    (
        "components/stores/vault/configure.py",
        'ignore_changes=["dataJson"]',
        "ignore_changes=[]",
    ),
    ("components/aidbox/render.py", '"valueCode": "masked"', '"valueCode": "unknown"'),
    ("components/settings/vault.py", 'if capabilities != ("read",):', "if False:"),
    (
        "components/kubernetes/helm_values.py",
        '"enableSecretRotation": True',
        '"enableSecretRotation": False',
    ),
    ("components/aidbox/postgres.py", "protect=args.protect", "protect=False"),
    (
        "components/aidbox/component.py",
        "if s.aidbox.min_replicas > 1 or s.aidbox.autoscaling:",
        "if s.aidbox.min_replicas > 5:",
    ),
    (
        "components/kubernetes/secret_provider_class.py",
        "depends_on=[*args.depends_on, *args.binding.ready]",
        "depends_on=[*args.binding.ready]",
    ),
    ("components/stores/vault/configure.py", "        headers=d.headers,\n", ""),
    ("components/stores/vault/configure.py", 'if v.mode != "dev":', "if False:"),
    (
        "components/stores/vault/external.py",
        "ca_cert_path=VAULT_CA_FILE if v.ca_cert_file else None,",
        "ca_cert_path=None,",
    ),
    (
        "components/kubernetes/helm_values.py",
        '"extraArgs": f\'-dev-root-token-id="${{{VAULT_DEV_TOKEN_ENV}}}"\',',
        "",
    ),
    ("components/azure/unseal_key.py", "scope=vault.id,", "scope=args.resource_group_name,"),
    (
        "components/aidbox/component.py",
        '"checksum/aidbox-config": render.checksum(*sorted(files.values()))',
        '"checksum/aidbox-config": "static"',
    ),
    (
        "components/settings/csi.py",
        "if seconds is None or not 10 <= seconds <= 86400:",
        "if seconds is None:",
    ),
    (
        "components/stores/azure.py",
        "{WORKLOAD_CLIENT_ID_ANNOTATION: identity.client_id}",
        '{"x": identity.client_id}',
    ),
    (
        "components/kubernetes/helm_values.py",
        'values["tokenRequests"] = [{"audience": AZURE_TOKEN_AUDIENCE}]',
        "pass",
    ),
    # Chart values that real Helm renders (tests/test_helm_render.py).
    (
        "components/kubernetes/helm_values.py",
        '"global": {"enabled": False, "externalVaultAddr": address}',
        '"global": {"externalVaultAddr": address}',
    ),
    (
        "components/kubernetes/helm_values.py",
        'values["linux"] = {"podAnnotations"',
        'values["windows"] = {"podAnnotations"',
    ),
    (
        "components/kubernetes/helm_values.py",
        '"secrets-store-csi-driver": {"install": False}',
        '"secrets-store-csi-driver": {"install": True}',
    ),
    # Aidbox's own secrets are always mirrored now, so the driver always syncs.
    ("__main__.py", "sync_secrets=bool(secret_objects(settings.secrets))", "sync_secrets=False"),
    ("components/kubernetes/helm.py", "atomic=wait,", "atomic=False,"),
    # Identifiers state depends on (tests/test_identity.py).
    (
        "components/naming.py",
        '"5b6a3d0e-7c1f-4f5e-9a63-2d8e4c1b9f10"',
        '"5b6a3d0e-7c1f-4f5e-9a63-2d8e4c1b9f11"',
    ),
    (
        "components/kubernetes/csi.py",
        'release_name="csi-secrets-store"',
        'release_name="csi-driver"',
    ),
    ("__main__.py", 'pulumi.export("aidboxUrl"', 'pulumi.export("aidboxURL"'),
    # Settings reaching where they land, in every mode and namespace (tests/test_reach.py).
    (
        "components/stores/azure.py",
        'subject=f"system:serviceaccount:{s.namespace}:',
        'subject=f"system:serviceaccount:default:',
    ),
    (
        "components/azure/key_vault.py",
        "retention_days=args.settings.retention_days,",
        "retention_days=90,",
    ),
    ("components/stores/vault/store.py", "                    namespace=v.namespace,\n", ""),
    # The database's storage, the restart checksum, hardening.
    (
        "components/aidbox/postgres.py",
        '"/var/lib/postgresql/data/db"',
        '"/var/lib/postgresql/data"',
    ),
    ("components/aidbox/postgres.py", '"ReadWriteOnce"', '"ReadWriteMany"'),
    (
        "components/aidbox/component.py",
        "render.checksum(*sorted(files.values()))",
        "render.checksum(vault_config)",
    ),
    # The database shares Aidbox's ServiceAccount (no token either): turn it on in the pod.
    (
        "components/aidbox/postgres.py",
        '"automountServiceAccountToken": False,',
        '"automountServiceAccountToken": True,',
    ),
    (
        "components/aidbox/service_account.py",
        "automount_service_account_token=False",
        "automount_service_account_token=True",
    ),
    # Each production rule on its own (tests/test_production_rules.py).
    (
        "components/settings/production.py",
        "elif s.aidbox.replicas < 2 and not s.aidbox.autoscaling:",
        "elif False:",
    ),
    (
        "components/settings/production.py",
        "if s.azure and not s.azure.key_vault.purge_protection:",
        "if False:",
    ),
    ("components/settings/production.py", 'if s.vault and s.vault.mode == "dev":', "if False:"),
    (
        "components/settings/production.py",
        'if s.azure and s.azure.identity == "servicePrincipal":',
        "if False:",
    ),
    ("components/settings/production.py", "if not s.aidbox.has_license:", "if False:"),
    # Input read the way users mean it (issue 13, part 2)
    (
        "components/settings/aidbox.py",
        "if quantity_value(request) > quantity_value(limit):",
        "if False:",
    ),
    ("components/settings/values.py", "sha256:[a-f0-9]{64}", "sha256:[a-f0-9]+"),
    (
        "components/settings/values.py",
        "return str(ipaddress.ip_network(text.strip(), strict=False))",
        "return text",
    ),
    ("components/settings/secrets.py", "if scope in clients:", "if False:"),
    ("components/settings/secrets.py", "if synced.name in PROGRAM_SECRETS:", "if False:"),
    ("components/settings/vault.py", "if v.helm_namespace == namespace:", "if False:"),
    ("components/settings/values.py", r'name = re.sub(r"\s+", "", text).lower()', "name = text"),
    (
        "components/settings/reader.py",
        "if hidden and value is not None",
        "if False and value is not None",
    ),
    ("components/stores/parameters.py", '"tenantID": tenant_id', '"tenantId": tenant_id'),
    (
        "components/stores/azure.py",
        '"namespace": self._cluster.namespace,',
        '"namespace": self._settings.namespace,',
    ),
    ("components/settings/production.py", "    if s.aidbox.dev_mode:", "    if False:"),
    (
        "components/settings/production.py",
        "if s.aidbox.autoscaling and s.aidbox.autoscaling.min_replicas < 2:",
        "if False:",
    ),
    # Issue 9: shared keys, nothing in manifests, rollout order, endpoint, image, policy.
    ("components/aidbox/component.py", "                    *binding.ready,\n", ""),
    ("components/aidbox/component.py", "                    *db.ready,\n", ""),
    ("components/stores/azure.py", "ready = [*common, *identity.ready]", "ready = [*common]"),
    (
        "components/aidbox/postgres.py",
        '{"name": "POSTGRES_PASSWORD_FILE", "value": f"{mount_dir}/{DB_PASSWORD}"}',
        '{"name": "POSTGRES_PASSWORD", "value": "aidbox"}',
    ),
    ("components/aidbox/render.py", '"true" if dev_mode else "false"', '"true"'),
    (
        "components/aidbox/component.py",
        "base_url = s.aidbox.base_url or in_cluster_url",
        "base_url = in_cluster_url",
    ),
    (
        "components/settings/production.py",
        "if tag is not None and not FIXED_TAG.match(tag):",
        "if tag is None:",
    ),
    (
        "components/settings/aidbox_env.py",
        "if SECRET_LOOKING_NAME.search(name) or looks_secret(text):",
        "if SECRET_LOOKING_NAME.search(name):",
    ),
    (
        "policy/rules/aidbox.py",
        "            return isinstance(ref, Mapping)",
        "            return True",
    ),
    # The managed database (tests/test_postgres_flexible.py).
    (
        "components/azure/postgres_flexible.py",
        '"public_network_access": "Disabled"',
        '"public_network_access": "Enabled"',
    ),
    (
        "components/azure/postgres_flexible.py",
        "ready=[server, database, extensions]",
        "ready=[server]",
    ),
    (
        "__main__.py",
        "protect=settings.production,\n            lock=settings.locks,\n"
        "        ),\n    )\nNetworkPolicies",
        "protect=False,\n            lock=settings.locks,\n        ),\n    )\nNetworkPolicies",
    ),
    (
        "components/settings/postgres.py",
        'default = "azureFlexible" if production and azure else PostgresSettings.mode',
        "default = PostgresSettings.mode",
    ),
    # cluster.mode existingAks and kubeconfig
    (
        "components/azure/existing_aks.py",
        "kubelet_object_id=kubelet.object_id if kubelet else None,",
        "kubelet_object_id=kubelet.client_id if kubelet else None,",
    ),
    (
        "components/azure/existing_aks.py",
        'oidc_on = bool(oidc) and flag(oidc.enabled, "oidcIssuerProfile.enabled")',
        "oidc_on = bool(oidc)",
    ),
    (
        "components/settings/stack.py",
        'if s.secret_store == "azure":\n            fail(',
        'if s.secret_store == "none":\n            fail(',
    ),
    (
        "components/kubernetes/kubeconfig_cluster.py",
        "context=self._endpoint.context,",
        "context=None,",
    ),
    (
        "components/program/cluster.py",
        'if platform is not None and (mode == "aks" or settings.azure is not None):',
        "if platform is not None:",
    ),
    (
        "components/settings/network.py",
        'allowed += [*FOREIGN_KEYS, "postgresSubnet"]',
        'allowed += [*FOREIGN_KEYS, "postgresSubnet", "podCidr"]',
    ),
    (
        "components/program/cluster.py",
        "                rotation_poll_interval=settings.csi.rotation_poll_interval,\n",
        "",
    ),
    (
        "components/settings/production.py",
        'elif s.azure and s.cluster.mode == "existingAks" and s.azure.identity != "workload":',
        "elif False:",
    ),
    (
        "components/azure/network.py",
        "return vnet_of(self.private_endpoint_subnet_id)",
        "return vnet_of(self.postgres_subnet or self.private_endpoint_subnet_id)",
    ),
    # The policy pack's role, rotation, env and Vault rules (tests/test_policy.py).
    (
        "policy/rules/azure/roles.py",
        'elif principal_type == "ServicePrincipal" and guid not in WORKLOAD_ROLES:',
        "elif False:",
    ),
    (
        "policy/rules/kubernetes/csi.py",
        "elif seconds > MAX_ROTATION_SECONDS:",
        "elif seconds >= MAX_ROTATION_SECONDS:",
    ),
    ("policy/rules/kubernetes/workloads.py", 'if has_key(env, "value"):', "if False:"),
    # Aidbox in production, issue 19: the default image (#1), JAVA_OPTS and probe timeouts (#2),
    # the address users reach (#6), every managed env name and development switch (#7).
    (
        "components/settings/aidbox.py",
        'DEFAULT_AIDBOX_IMAGE = "healthsamurai/aidboxone:2605"',
        'DEFAULT_AIDBOX_IMAGE = "healthsamurai/aidboxone:2605.1"',
    ),
    (
        "components/aidbox/render.py",
        '    env.append({"name": "JAVA_OPTS", "value": java_opts})\n',
        "",
    ),
    (
        "components/aidbox/pod.py",
        '        "timeoutSeconds": s.aidbox.probe_timeout_seconds,\n',
        "",
    ),
    ("components/settings/production.py", "    problems += check_reachable(s.aidbox)\n", ""),
    (
        "components/settings/aidbox.py",
        'r"(?:^localhost$|\\.svc$|\\.svc\\.cluster\\.local$|\\.cluster\\.local$)"',
        'r"(?:^localhost$|\\.svc\\.cluster\\.local$)"',
    ),
    ("policy/rules/aidbox.py", 'if scheme.lower() != "https":', "if False:"),
    (
        "components/settings/aidbox_env.py",
        '"BOX_WEB_BASE_URL": ("AIDBOX_BASE_URL",),',
        '"BOX_WEB_BASE_URL": (),',
    ),
    (
        "components/settings/aidbox_env.py",
        "if name in DEV_MODE_ENV and turns_on(value)",
        "if name in DEV_MODE_ENV[:2] and turns_on(value)",
    ),
    (
        "policy/rules/aidbox.py",
        'elif not (isinstance(value, str) and value.strip().lower() == "false"):',
        "elif False:",
    ),
    # The administrator password rotated outside Pulumi stays rotated (issue 18 #6).
    (
        "components/azure/postgres_flexible.py",
        'ignore_changes=["serverName", "administratorLoginPassword"],',
        'ignore_changes=["serverName"],',
    ),
    # Aidbox logs in as a role of its own, created by the administrator (issue 18 #6).
    (
        "components/aidbox/postgres.py",
        "            user=APP_ROLE,\n",
        "            user=args.user,\n",
    ),
    ("components/aidbox/db_role_sql.py", 'GRANT :"app" TO CURRENT_USER;', ""),
    ("components/aidbox/db_role_sql.py", 'ALTER DATABASE :"db" OWNER TO :"app";', ""),
    (
        "components/program/workload.py",
        "    database = dataclasses.replace(database, ready=(*database.ready, role.job))\n",
        "",
    ),
    # The init Bundle creates a Client only if absent, without basic on production (issue 18 #8).
    (
        "components/aidbox/render.py",
        'request = {"method": "POST", "url": "Client", "ifNoneExist": f"_id={spec.scope.id}"}',
        'request = {"method": "PUT", "url": f"Client/{spec.scope.id}"}',
    ),
    (
        "components/settings/secrets.py",
        "default = PRODUCTION_GRANT_TYPES if production else DEV_GRANT_TYPES",
        "default = DEV_GRANT_TYPES",
    ),
    # Metrics managed Prometheus reads (issue 19 #8).
    (
        "__main__.py",
        'namespaces=["kube-system", settings.namespace]',
        'namespaces=["kube-system"]',
    ),
    (
        "components/settings/csi.py",
        'SERVICE_MONITOR_APIS[1 if cluster_mode == "kubeconfig" else 0]',
        "SERVICE_MONITOR_APIS[1]",
    ),
    (
        "policy/rules/stores/vault.py",
        'elif kind == "LoadBalancer" and selected == value:',
        "elif False:",
    ),
    # Issue 18, defect 11: Azure's "true"/"false" strings read strictly, not by truthiness.
    (
        "components/azure/existing_aks.py",
        'return value.lower() == "true"\n    raise',
        "return bool(value)\n    raise",
    ),
    # Defect 4: global names from the deployment, kept where state holds them, read downstream
    # from the resource.
    (
        "components/azure/platform.py",
        "naming.deployment_scope(sub, args.resource_group_name)",
        'naming.deployment_scope("organization", args.resource_group_name)',
    ),
    (
        "components/azure/key_vault.py",
        'ignore_changes=None if configured else ["vaultName"],',
        "ignore_changes=None,",
    ),
    (
        "components/azure/key_vault.py",
        "self.vault_name = vault.name",
        "self.vault_name = pulumi.Output.from_input(configured or args.derived_name)",
    ),
    # Defect 5: no pool re-sends a node count the autoscaler owns; workloads wait for the pool.
    (
        "components/azure/aks.py",
        'ignore_changes=["agentPoolProfiles[0].count"],',
        "ignore_changes=None,",
    ),
    (
        "components/azure/aks.py",
        'parent=self, protect=args.protect, ignore_changes=["count"]',
        "parent=self, protect=args.protect",
    ),
    ("scripts/deploy_time.py", "            urns |= user_nodes", "            pass"),
    # Defect 10: an existing private DNS zone, of the right shape, instead of the program's own.
    ("components/azure/private_dns.py", "    if private_dns_zone_id is None:", "    if True:"),
    ("components/azure/postgres_flexible.py", "        if zone_id is None:", "        if True:"),
    (
        "components/settings/network.py",
        "        return zone == KEY_VAULT_ZONE",
        "        return True",
    ),
    # Issue 21 #6: names that fit, an unambiguous msi login, workload identity by default.
    ("components/azure/monitoring.py", "    if len(full) <= limit:\n", "    if True:\n"),
    (
        "components/azure/kubeconfig.py",
        'return [*args, "--client-id", client_id] if client_id else args',
        "return args",
    ),
    ("components/settings/azure.py", 'identity: str = "workload"', 'identity: str = "kubelet"'),
    # Issue 21 #5: the platform's clock.
    ("components/aks_versions.py", "if left < NOTICE_DAYS:", "if left < 0:"),
    (
        "components/settings/cluster.py",
        "kubernetes_version: str = DEFAULT_MINOR",
        'kubernetes_version: str = "1.34"',
    ),
    (
        "policy/rules/azure/aks.py",
        "problem = kubernetes_version_problem(version, date.today())",
        "problem = None",
    ),
    (
        "components/settings/load.py",
        'if settings.aidbox.host is not None and settings.cluster.mode != "kubeconfig":',
        "if False:",
    ),
    # Issue 21 #2: admission.
    (
        "components/kubernetes/target.py",
        'namespace_labels("restricted")',
        'namespace_labels("baseline")',
    ),
    (
        "components/kubernetes/helm_values.py",
        '"statefulSet": {"securityContext": VAULT_SERVER_SECURITY_CONTEXT},',
        "",
    ),
    (
        "components/stores/vault/store.py",
        '"annotations": {REASON_ANNOTATION: VAULT_NAMESPACE_REASON},',
        '"annotations": {},',
    ),
    (
        "components/kubernetes/pod_security.py",
        'if context.get("allowPrivilegeEscalation") is not False:',
        "if False:",
    ),
    ("components/azure/aks.py", '"disable_run_command": not s.run_command,', ""),
    ("components/azure/aks.py", "azure_policy=s.azure_policy,", "azure_policy=False,"),
    (
        "components/azure/aks.py",
        '"security_monitoring": {"enabled": settings.defender}',
        '"security_monitoring": {"enabled": False}',
    ),
    ("components/settings/production.py", "        if value != wanted:\n", "        if False:\n"),
    (
        "components/azure/admission.py",
        '"effect": {"value": "Deny"},',
        '"effect": {"value": "Audit"},',
    ),
    ("policy/rules/common.py", "elif value is not wanted:", "elif False:"),
    (
        "policy/rules/kubernetes/namespaces.py",
        "elif not (isinstance(reason, str) and reason.strip()):",
        "elif False:",
    ),
    # Issue 21 #3: images from a registry you own.
    ("components/azure/registry.py", '"admin_user_enabled": False,', '"admin_user_enabled": True,'),
    (
        "components/azure/registry.py",
        '"public_network_access": "Enabled" if settings.public_network_access else "Disabled",',
        '"public_network_access": "Enabled",',
    ),
    ("components/azure/registry.py", "principal_id=args.puller_object_id,", 'principal_id="x",'),
    ("components/settings/registry.py", "    if missing:\n", "    if False:\n"),
    (
        "components/settings/stack.py",
        'default_mode="acr" if production and cluster.mode == "aks" else "upstream",',
        'default_mode="upstream",',
    ),
    (
        "components/images.py",
        "return reference if server is None else parse(reference).at(server)",
        "return reference",
    ),
    ("components/kubernetes/helm.py", "    if image_registry is not None:\n", "    if False:\n"),
    (
        "policy/rules/kubernetes/images.py",
        "elif not (isinstance(image, str) and allowed(image, registries)):",
        "elif False:",
    ),
    (
        "policy/rules/azure/registry.py",
        "elif value != wanted and not (value is None and wanted is False):",
        "elif False:",
    ),
    ("policy/rules/azure/roles.py", "    if guid == ROLE_ACR_PULL:\n", "    if False:\n"),
    ("scripts/import-images.sh", '--image "$target" --force', '--image "$target"'),
    # Issue 21: only the extension allow-list before Aidbox; CI may assign policies.
    (
        "components/azure/postgres_flexible.py",
        "ready=[server, database, extensions],",
        "ready=[server, database],",
    ),
    (
        "scripts/bootstrap-backend.sh",
        '"$ROLE_RESOURCE_POLICY_CONTRIBUTOR" "$scope"',
        '"$ROLE_READER" "$scope"',
    ),
    # The merge of main into aks-admission: main's new pods under aks-admission's rules (pulled
    # from the registry you own, restricted where their namespace enforces it).
    (
        "components/aidbox/db_role.py",
        "db, image_from(args.image, args.image_registry), binding.mount_dir",
        "db, args.image, binding.mount_dir",
    ),
    ("components/aidbox/pod.py", '"image": image,', '"image": s.aidbox.image,'),
    (
        "components/kubernetes/vault_snapshot.py",
        '"image": pull(VAULT_IMAGE.reference, image_registry),',
        '"image": VAULT_IMAGE.reference,',
    ),
    (
        "components/kubernetes/vault_snapshot.py",
        '"image": pull(AZURE_CLI_IMAGE.reference, image_registry),',
        '"image": AZURE_CLI_IMAGE.reference,',
    ),
    ("components/stores/vault/snapshots.py", "image_registry=found[1],", "image_registry=None,"),
    (
        "components/images.py",
        "    found = [aidbox_image, postgres_image]",
        "    found = [aidbox_image]",
    ),
    ("components/images.py", "    if vault_snapshots:", "    if False:"),
    (
        "components/kubernetes/vault_snapshot.py",
        '    "readOnlyRootFilesystem": True,\n    "capabilities": {"drop": ["ALL"]},',
        '    "readOnlyRootFilesystem": True,',
    ),
    (
        "components/aidbox/postgres.py",
        '    "seccompProfile": {"type": "RuntimeDefault"},\n}\n',
        "}\n",
    ),
    ("scripts/deploy_time.py", '    "kubernetes:batch/v1:Job",\n)', ")"),
    # Issue 19 #3: the signing keys as one store entry, split by the start script.
    (
        "components/key_bundle.py",
        'return f"{private}\\n{public}\\n{SECRET_BEGIN}\\n{secret}\\n{SECRET_END}\\n"',
        'return f"{private}\\n{public}\\n"',
    ),
    (
        "components/aidbox/start.py",
        "'-----BEGIN PUBLIC KEY-----') _block=public ;;",
        "'-----BEGIN PUBLIC KEY-----') _block=private ;;",
    ),
    (
        "components/stores/vault/configure.py",
        "    if ctx.vault.seed_key_bundle_from_entries:",
        "    if False:",
    ),
    # Issue 19 #4: nothing the store holds passes through a Kubernetes Secret.
    (
        "components/aidbox/render.py",
        "    files |= {env: secret_file(mount_dir, name) for env, name in env_from_store}\n",
        "",
    ),
    (
        "components/aidbox/start.py",
        '  while [ "${{_value%"$_nl"}}" != "$_value" ]; do _value=${{_value%"$_nl"}}; done\n',
        "",
    ),
    (
        "components/kubernetes/helm_values.py",
        '"syncSecret": {"enabled": sync_secrets},',
        '"syncSecret": {"enabled": True},',
    ),
    (
        "policy/rules/aidbox.py",
        'if "-c" not in parts or shell not in SHELLS:',
        'if "-c" not in parts:',
    ),
    # Issue 19 #5: the database reads its own passwords only, as its own account.
    (
        "components/settings/managed.py",
        "Reader(DATABASE_READER, database_account, database),",
        "Reader(DATABASE_READER, database_account, (*aidbox, *database)),",
    ),
    (
        "components/program/workload.py",
        "service_account=database_account,\n                protect=settings.production,",
        "service_account=account,\n                protect=settings.production,",
    ),
    (
        "components/azure/key_vault.py",
        'scope=pulumi.Output.concat(self.vault_id, "/secrets/", secret),',
        "scope=self.vault_id,",
    ),
    (
        "components/stores/vault/configure.py",
        "return render_read_policy([v.entry_api_path(name) for name in reader.secrets])",
        'return render_policy(f"{v.secret_api_path}/*")',
    ),
    (
        "policy/rules/azure/roles.py",
        "secret_ok = guid == ROLE_KV_SECRETS_USER",
        "secret_ok = True",
    ),
    # From the branches merged beside it (Vault production, stand-ins, day two).
    (
        "components/kubernetes/helm_values.py",
        'csi["agent"]["extraArgs"] = [f"-ca-cert={VAULT_CA_FILE}"]',
        "pass",
    ),
    (
        "components/stores/vault/configure.py",
        "vault_opts, pulumi.ResourceOptions(depends_on=[audit])",
        "vault_opts, pulumi.ResourceOptions(depends_on=[])",
    ),
    (
        "scripts/e2e/standins/vault_kv.py",
        "name=Prop(replace=True, required=True),",
        "name=Prop(required=True),",
    ),
    ("scripts/e2e/standins/vault_kv.py", 'if state.get("disableRead"):', "if False:"),
    (
        "scripts/e2e/standins/tls_provider.py",
        '"earlyRenewalHours": Prop(default=0),',
        '"earlyRenewalHours": Prop(replace=True, default=0),',
    ),
    (
        "scripts/e2e/standins/protocol.py",
        "if value is not None and (hidden or has_secret(inputs.get(key))):",
        "if value is not None and hidden:",
    ),
    (
        "scripts/e2e/standins/vault_client.py",
        "self.config, self._client = config, None",
        "self.config, self._client = config, Client(Settings.of(config))",
    ),
    (
        "components/settings/vault.py",
        'if segments and "v1" in (segments[0], segments[-1]):',
        "if False:",
    ),
    (
        "components/settings/vault_rules.py",
        'v.address.lower().startswith("http://")',
        'v.address.startswith("http://")',
    ),
    (
        "policy/rules/stores/vault.py",
        'address.strip().lower().startswith("http://")',
        'address.startswith("https://")',
    ),
    (
        "components/settings/vault_rules.py",
        "if v.snapshots is not None and not v.snapshots.enabled:",
        "if False:",
    ),
    ("policy/rules/stores/vault.py", "    if snapshots:\n        return\n", "    return\n"),
    (
        "components/azure/api_server_access.py",
        "    return [*configured, *(c for c in clients if not _covered(c, configured))]",
        "    return list(configured)",
    ),
    ("components/azure/existing_aks.py", "    if missing_ranges:", "    if False:"),
    (
        "components/azure/api_server_access.py",
        "    if not configured:\n        return None",
        "    if False:\n        return None",
    ),
    (
        "components/kubernetes/helm_values.py",
        '"apiAddr": ha.pod_address(8200),',
        '"apiAddr": "https://$(POD_IP):8200",',
    ),
    (
        "components/kubernetes/helm_values.py",
        '"annotations": {TLS_CHECKSUM_ANNOTATION: ha.tls_checksum},',
        '"annotations": {TLS_CHECKSUM_ANNOTATION: "fixed"},',
    ),
    (
        "components/kubernetes/helm_values.py",
        '        "image": VAULT_CSI_PROVIDER_IMAGE.values,\n',
        "",
    ),
    (
        "components/kubernetes/helm_values.py",
        '        "    unauthenticated_metrics_access = true\\n"\n',
        "",
    ),
    (
        "components/stores/vault/ha.py",
        "        exports |= snapshot_job(ctx, configured=deployer is not None)",
        "        pass",
    ),
    (
        "components/kubernetes/vault_snapshot.py",
        '                                "audience": audience,',
        '                                "audience": "https://kubernetes.default.svc",',
    ),
    (
        "components/stores/vault/snapshots.py",
        "                suspend=not configured,",
        "                suspend=False,",
    ),
    (
        "components/azure/snapshot_storage.py",
        '        "allow_shared_key_access": False,',
        '        "allow_shared_key_access": True,',
    ),
    (
        "components/azure/snapshot_storage.py",
        "            scope=container.id,",
        "            scope=account.id,",
    ),
    (
        "components/kubernetes/vault_snapshot.py",
        '    return f\'path "{SNAPSHOT_PATH}" {{\\n  capabilities = ["read"]\\n}}\\n\'',
        '    return f\'path "sys/*" {{\\n  capabilities = ["read"]\\n}}\\n\'',
    ),
    (
        "policy/rules/azure/roles.py",
        "        elif not (isinstance(scope, str) and SINGLE_CONTAINER_SCOPE.match(scope)):",
        "        elif False:",
    ),
    (
        "components/kubernetes/vault_network_policies.py",
        "        clients.append(_pods(SNAPSHOT_JOB))",
        "        pass",
    ),
    (
        "components/kubernetes/vault_network_policies.py",
        '    peers = {"from": [_pods(VAULT_SERVER)], "ports": _tcp(API_PORT, CLUSTER_PORT)}',
        '    peers = {"from": [_pods(VAULT_SERVER)], "ports": _tcp(API_PORT)}',
    ),
    (
        "components/kubernetes/vault_network_policies.py",
        'ANYWHERE_BUT_METADATA = {"ipBlock": {"cidr": "0.0.0.0/0", "except": [METADATA_SERVICE]}}',
        'ANYWHERE_BUT_METADATA = {"ipBlock": {"cidr": "0.0.0.0/0"}}',
    ),
    (
        "components/stores/vault/store.py",
        '        if s.cluster.mode != "kubeconfig":\n            # AKS',
        "        if False:\n            # AKS",
    ),
    # Issue 21 #1, egress: production's nodes leave through a firewall, the cluster waits for
    # it, the firewall allows what AKS needs, and the unsafe production combination is refused
    # in settings and in the policy pack.
    (
        "components/azure/aks.py",
        '"outbound_type": network.egress.outbound_type,',
        '"outbound_type": "loadBalancer",',
    ),
    (
        "components/azure/aks.py",
        "depends_on=[args.egress_ready] if args.egress_ready is not None else None,",
        "depends_on=None,",
    ),
    (
        "components/azure/network.py",
        "if route_table is not None and key in NODE_POOLS:",
        "if False:",
    ),
    ("components/azure/egress_rules.py", "fqdn_tags=[AKS_FQDN_TAG],", "fqdn_tags=[],"),
    # Imports run one way (tests/test_layers.py): the Azure layer never reaches up into Aidbox's.
    (
        "components/azure/postgres_flexible.py",
        "from ..database import APP_ROLE, Database",
        "from ..aidbox.db_role import APP_ROLE, Database",
    ),
    # With the stack's own registry, nothing public to allow, and no empty rule or collection.
    ("components/azure/egress_rules.py", '    if r.mode == "acr":\n        return ()', "    pass"),
    ("components/azure/egress_rules.py", "    if needs.registries:\n", "    if True:\n"),
    ("components/azure/egress_rules.py", "    if workloads:\n", "    if True:\n"),
    (
        "components/azure/egress_rules.py",
        "vault = vault_rule(needs) if needs.vault_address else None",
        "vault = None",
    ),
    ("components/azure/firewall.py", "and found[0] != expected:", "and False:"),
    ("components/settings/egress.py", "NARROW_PREFIX = 16", "NARROW_PREFIX = 0"),
    (
        "components/settings/egress.py",
        "if host is None or not egress.through_firewall:",
        "if True:",
    ),
    (
        "policy/rules/azure/egress.py",
        'FILTERED_OUTBOUND = ("userDefinedRouting",)',
        'FILTERED_OUTBOUND = ("userDefinedRouting", "loadBalancer")',
    ),
    # Issue 21 #4, subnets and locks: a security group on each subnet, delete locks on the state
    # of record and the resource group protected on production, refused off in settings and in
    # the policy pack; CI may create locks.
    ("components/azure/network.py", "if GROUP_OF[key] in groups:", "if False:"),
    ("components/azure/nsg.py", 'destination_port_range="443",', 'destination_port_range="*",'),
    ("components/azure/aks.py", "        if args.lock:\n", "        if False:\n"),
    ("components/azure/key_vault.py", "        if args.lock:\n", "        if False:\n"),
    ("components/azure/postgres_flexible.py", "        if args.lock:\n", "        if False:\n"),
    ("components/azure/unseal_key.py", "        if args.lock:\n", "        if False:\n"),
    ("components/azure/snapshot_storage.py", "        if args.lock:\n", "        if False:\n"),
    (
        "components/azure/platform.py",
        "opts=pulumi.ResourceOptions(parent=self, protect=args.protect),",
        "opts=pulumi.ResourceOptions(parent=self),",
    ),
    (
        "components/settings/locks.py",
        'top.boolean("locks", production)',
        'top.boolean("locks", False)',
    ),
    ("components/settings/locks.py", 'if locks or cluster_mode == "kubeconfig":', "if True:"),
    (
        "policy/rules/azure/locks.py",
        'DELETE_LOCK_LEVELS = ("CanNotDelete", "ReadOnly")',
        'DELETE_LOCK_LEVELS = ("CanNotDelete", "ReadOnly", "NotSpecified")',
    ),
    (
        "scripts/bootstrap-backend.sh",
        '      ensure_role "$principal_id" ServicePrincipal "$ROLE_LOCK_WRITER" "$scope"\n',
        "",
    ),
    # The README is the front door and links to docs/ (tests/test_docs.py): a link to a heading
    # that is not there, a page of docs/ left out of the README's index.
    (
        "docs/configuration.md",
        "(see [Rotate](operations.md#rotate))",
        "(see [Rotate](operations.md#rotation))",
    ),
    (
        "README.md",
        "- [docs/vault.md](docs/vault.md): the HashiCorp Vault variant",
        "- docs/vault.md: the HashiCorp Vault variant",
    ),
]


# Mutants the engine run sees (scripts/e2e.sh), each with the phase that must fail:
# `python scripts/mutation_check.py --e2e` (about a minute each, warm).
E2E_MUTS = [
    (  # the real API server's PodSecurity admission refuses the database's pods at restricted
        # (the suite's pure check of the standard sees this too: here the API server agrees)
        "components/aidbox/postgres.py",
        '    "seccompProfile": {"type": "RuntimeDefault"},\n}\n',
        "}\n",
        "up",
    ),
    (  # the API server refuses a nodePort on a ClusterIP Service (no schema test does); at
        # up, since a preview cannot dry-run objects in the namespace the same run creates
        "components/aidbox/component.py",
        '"ports": [{"name": "http", "port": render.WEB_PORT, "targetPort": "http"}],',
        '"ports": [{"name": "http", "port": render.WEB_PORT, "targetPort": "http",'
        ' "nodePort": 30080}],',
        "up",
    ),
    (  # a value that differs at every run: the second up is not a no-change up
        "components/aidbox/component.py",
        'annotations = {"checksum/aidbox-config": render.checksum(*sorted(files.values()))}',
        'annotations = {"checksum/aidbox-config": __import__("uuid").uuid4().hex}',
        "no-change-up",
    ),
    (  # the KV entries no longer ignore their seed: a changed seed overwrites a rotation
        "components/stores/vault/configure.py",
        'if v.mode != "dev":',
        "if False:",
        "rotation-kept",
    ),
    (  # a KV v1-style policy path: the pod's role cannot read its secrets
        "components/stores/vault/configure.py",
        "return render_read_policy([v.entry_api_path(name) for name in reader.secrets])",
        "return render_read_policy([v.entry_api_path(name).replace('/data/', '/', 1)"
        " for name in reader.secrets])",
        "up",
    ),
    (  # the database's policy reads every entry: its account reads Aidbox's keys
        "components/stores/vault/configure.py",
        "return render_read_policy([v.entry_api_path(name) for name in reader.secrets])",
        'return render_policy(f"{v.secret_api_path}/*")',
        "up",
    ),
    (  # the Vault provider's CA copied to the run's temporary folder: gone a day later
        "components/stores/vault/external.py",
        "ca_cert_file=str(Path(v.ca_cert_file).expanduser()) if v.ca_cert_file else None,",
        'ca_cert_file=__import__("shutil").copy(Path(v.ca_cert_file).expanduser(),'
        ' __import__("tempfile").gettempdir()) if v.ca_cert_file else None,',
        "fresh-refresh",
    ),
]


def run_e2e(mutation: tuple[str, str, str, str]) -> dict:
    """The engine run on a mutated copy; its report (scripts/e2e/engine.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        dst = pathlib.Path(tmp) / "repo"
        shutil.copytree(SRC, dst, ignore=shutil.ignore_patterns("venv", ".git", "*.pyc"))
        path, before, after, _ = mutation
        target = dst / path
        text = target.read_text()
        assert before in text, f"{path}: mutation no longer applies: {before!r}"
        target.write_text(text.replace(before, after, 1))
        report = pathlib.Path(tmp) / "report.json"
        subprocess.run(
            ["bash", "scripts/e2e.sh"],
            cwd=dst,
            env={**os.environ, "E2E_REPORT": str(report)},
            capture_output=True,
            text=True,
        )
        return json.loads(report.read_text()) if report.exists() else {}


def main_e2e() -> int:
    survived = 0
    for mutation in E2E_MUTS:
        path, _, after, phase = mutation
        report = run_e2e(mutation)
        failed = [name for name, r in report.items() if isinstance(r, dict) and not r["ok"]]
        first = failed[0] if failed else None
        if first == phase:
            detail = report[phase]["detail"].splitlines()[0][:110]
            print(f"caught   {path} in {phase}: {detail}")
        else:
            survived += 1
            print(f"SURVIVED {path}: {after[:50]!r} (expected {phase} to fail; failed: {failed})")
    return 1 if survived else 0


def run_suite(mutation: tuple[str, str, str] | None) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as tmp:
        dst = pathlib.Path(tmp) / "repo"
        shutil.copytree(SRC, dst, ignore=shutil.ignore_patterns("venv", ".git", "*.pyc"))
        if mutation:
            path, before, after = mutation
            target = dst / path
            text = target.read_text()
            assert before in text, f"{path}: mutation no longer applies: {before!r}"
            target.write_text(text.replace(before, after, 1))
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"],
            cwd=dst,
            capture_output=True,
            text=True,
        )


def main() -> int:
    """`python scripts/mutation_check.py [TEXT]`: only the mutations whose file or replaced
    text contains TEXT."""
    if sys.argv[1:] == ["--e2e"]:
        return main_e2e()
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    stale = [(p, b) for p, b, _ in MUTS if b not in (SRC / p).read_text()]
    if stale:
        print("mutations that no longer apply (update them):", *stale, sep="\n  ")
        return 2
    if run_suite(None).returncode:
        print("the unmutated suite fails: fix that first")
        return 2
    survived = 0
    for path, before, after in MUTS:
        if only not in path and only not in before:
            continue
        result = run_suite((path, before, after))
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        if result.returncode:
            print(f"caught   {path}: {after[:60]!r}\n         {failed[:1]}")
        else:
            survived += 1
            print(f"SURVIVED {path}: {after[:60]!r}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
