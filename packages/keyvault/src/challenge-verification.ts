import { ConfigurationError } from '@keyless/core';
import { isLoopbackHost } from '@keyless/core/internal';

/** True for a vault URL whose host is this machine: only such a URL can be the local emulator. */
export function isLoopbackVaultUrl(vaultUrl: string | URL): boolean {
  return isLoopbackHost((typeof vaultUrl === 'string' ? new URL(vaultUrl) : vaultUrl).hostname);
}

/**
 * Whether the SDK's challenge-resource check is turned off for this vault.
 *
 * The SDK compares the host of the vault URL with the domain of the 401 challenge's `resource`
 * (`vault.azure.net`); a loopback emulator can never pass that, so the check is off for loopback
 * URLs. For any other URL the check is what stops a token for Key Vault being sent to a look-alike
 * host, so a request to turn it off is refused rather than silently ignored: the caller learns at
 * construction that their setting has no effect instead of believing it took.
 */
export function disableChallengeResourceVerificationFor(
  vaultUrl: string,
  requested: boolean | undefined,
): boolean {
  const loopback = isLoopbackVaultUrl(vaultUrl);
  if (!loopback && requested === true) {
    throw new ConfigurationError(
      // Named in backticks, as every keyless error names an option.
      'Invalid option `clientOptions.disableChallengeResourceVerification`: true is allowed only for a loopback vault URL (the local emulator)',
      {
        hint: 'remove it: a real vault (https://<name>.vault.azure.net) passes the check, and the check is what keeps the Key Vault token from going to another host',
      },
    );
  }
  // An explicit `false` for a loopback URL is respected: the caller asked for the check.
  return requested ?? loopback;
}
