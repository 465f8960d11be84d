import { createRequire } from 'node:module';

const requireFromCore = createRequire(import.meta.url);

/**
 * Loads a library's CommonJS build, from where @keyless/core is installed. A token library is
 * loaded once, at the first token, and then its load time is most of a cold process's wait:
 * @azure/msal-node's CommonJS build is one bundled file where its ES build is some 120 modules
 * (msal-common included), and measured on Node 24 it loads in about 40 % of the time (50 ms against
 * 125 ms); @azure/identity's CommonJS build pulls that bundle too (issue 11, docs/benchmarks.md).
 * The price: an application that also imports the same library as an ES module holds two copies,
 * which keyless never mixes (it only hands its own objects to its own copy).
 * Throws the loader's MODULE_NOT_FOUND when the library is missing; LazyBackend turns that into a
 * ConfigurationError that says what to install.
 */
export function requireCommonJsBuild<Library>(name: string): Library {
  return requireFromCore(name) as Library;
}
