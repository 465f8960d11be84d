import { describe, expect, it } from 'vitest';
import { type ConnectorPackage, loadConnector } from '../src/connector-loader.js';

describe('connector loading', () => {
  it('loads an installed connector (here: the workspace devDependency)', async () => {
    const module = await loadConnector<{ createKeyVaultConnector: unknown }>('@keyless/keyvault');
    expect(typeof module?.createKeyVaultConnector).toBe('function');
  });

  it('gives undefined for a connector installed neither beside the doctor nor in the working folder', async () => {
    const missing = '@keyless/not-installed' as ConnectorPackage;
    expect(await loadConnector(missing, '/')).toBeUndefined();
  });
});
