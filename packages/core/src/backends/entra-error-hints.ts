/**
 * What to do about an Entra refusal, by its AADSTS code
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes). The description Entra
 * sent names issuer, subject and audience; the hint says where to fix it.
 */
export function entraCodeOf(description: string | undefined): number | undefined {
  const match = /^AADSTS(\d+)\b/.exec(description ?? '');
  return match ? Number(match[1]) : undefined;
}

export function hintForEntraCode(
  code: number,
  context: { clientId: string; tenantId: string },
): string | undefined {
  switch (code) {
    case 70021:
      return `add a federated credential on identity ${context.clientId} for the issuer, subject (system:serviceaccount:<namespace>:<service account>) and audience (api://AzureADTokenExchange) the error names — e.g. az identity federated-credential create --identity-name <name> --issuer <AKS OIDC issuer URL> --subject system:serviceaccount:<namespace>:<service account>`;
    case 700211:
      return `no federated credential on identity ${context.clientId} names this cluster's OIDC issuer: add one with the issuer from az aks show --query oidcIssuerProfile.issuerUrl`;
    case 700016:
      return `no identity or application with client id ${context.clientId} exists in tenant ${context.tenantId}: check AZURE_CLIENT_ID (the service account's azure.workload.identity/client-id annotation) and AZURE_TENANT_ID`;
    case 700024:
      return 'the service-account token in AZURE_FEDERATED_TOKEN_FILE has expired or is not yet valid: the kubelet rotates it at 80% of its lifetime, so check the node clock and that the projected volume is still being refreshed';
    case 700027:
      return "the service-account token was not signed by the keys the cluster's OIDC issuer publishes: the issuer's signing keys changed, or the token is not from this cluster";
    case 90002:
      return `tenant ${context.tenantId} does not exist at this authority: check AZURE_TENANT_ID and AZURE_AUTHORITY_HOST`;
    case 50027:
      return 'the content of AZURE_FEDERATED_TOKEN_FILE is not a valid JWT: it must be the projected service-account token';
    default:
      return undefined;
  }
}
