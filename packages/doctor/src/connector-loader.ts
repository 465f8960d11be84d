import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The connector packages the doctor probes through; none is a dependency of the doctor. */
export type ConnectorPackage =
  | '@keyless/keyvault'
  | '@keyless/blob'
  | '@keyless/sql'
  | '@keyless/postgres'
  | '@keyless/redis';

/**
 * Loads a connector only when the configuration names its resource. The doctor probes through the
 * connector the application itself installed, so it is looked up from the doctor's own place first
 * (npm hoists an application's packages beside it), then from the working folder's project (pnpm
 * keeps each package's dependencies to itself). Undefined when neither has it: the report then says
 * which package to install.
 */
export async function loadConnector<Module>(
  name: ConnectorPackage,
  workingFolder: string = process.cwd(),
): Promise<Module | undefined> {
  try {
    return (await import(name)) as Module;
  } catch (error) {
    if (!isModuleNotFound(error, name)) throw error;
  }
  try {
    const require = createRequire(join(workingFolder, 'package.json'));
    return (await import(pathToFileURL(require.resolve(name)).href)) as Module;
  } catch (error) {
    if (isModuleNotFound(error, name)) return undefined;
    throw error;
  }
}

/**
 * The connector itself is missing — not one of its own imports (`@azure/storage-blob` under
 * `@keyless/blob`), which is reported as the connector's failure, naming that package.
 */
function isModuleNotFound(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${name}'`)
  );
}
