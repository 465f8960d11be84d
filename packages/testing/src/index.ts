export { type AppIdentityStack, startAppIdentityStack } from './app-identity-stack.js';
export { attackerCertificate } from './attacker-certificates.js';
export {
  type AttackWhere,
  nameBlindHttpClient,
  type SdkAttackRow,
  sdkClientAttackRows,
} from './azure-sdk-attack-rows.js';
export { catchError } from './catch-error.js';
export {
  type AgainstTheStackOptions,
  againstTheStackChecks,
  describeAgainstTheStackConformance,
  type StackCheck,
  type StackSession,
  startStackSession,
} from './conformance/against-the-stack.js';
export { type Canaries, canarySightings, errorViews, makeCanaries } from './conformance/canaries.js';
export {
  type ConfigurationConformanceOptions,
  type ConfigurationSetting,
  configurationChecks,
  describeConfigurationConformance,
  type TlsWeakeningRow,
} from './conformance/configuration.js';
export { type ConformanceCheck, describeChecks } from './conformance/conformance-check.js';
export {
  type ConnectorConformanceSuiteOptions,
  describeConnectorConformanceSuite,
} from './conformance/connector-conformance-suite.js';
export {
  describeErrorMappingConformance,
  type ErrorMappingConformanceOptions,
  type ErrorMappingRow,
  type ExpectedMappedError,
  errorMappingChecks,
  type KeylessErrorClass,
} from './conformance/error-mapping.js';
export {
  describeLifecycleConformance,
  type LifecycleConformanceOptions,
  type LifecycleConnector,
  lifecycleChecks,
} from './conformance/lifecycle.js';
export type { LifecycleTarget } from './conformance/lifecycle-target.js';
export {
  type ConnectorConformanceOptions,
  type ConnectorUnderTest,
  describeConnectorConformance,
} from './connector-conformance.js';
export { type LeakRecorder, leaksIn, startPlaintextRecorder } from './leak-recorder.js';
export { useManagedIdentityEnvironment } from './managed-identity-environment.js';
export { modulesResolvedBy, type ResolvedModule } from './module-imports.js';
export { type OneOffScriptResult, runOneOffScript } from './one-off-script.js';
export { findLeaks, OutputCapture, renderEveryWay } from './output-capture.js';
export { remoteLookingHost, resolveTestHostsToLoopback } from './test-host-names.js';
export {
  type InterceptorCertificate,
  type InterceptorPreamble,
  startTlsInterceptor,
  type TlsInterceptor,
  type TlsInterceptorOptions,
} from './tls-interceptor.js';
export {
  describeTokenProviderConformance,
  type TokenProviderConformanceOptions,
} from './token-provider-conformance.js';
