export { attackerCertificate } from './attacker-certificates.js';
export {
  type AttackWhere,
  nameBlindHttpClient,
  type SdkAttackRow,
  sdkClientAttackRows,
} from './azure-sdk-attack-rows.js';
export { catchError } from './catch-error.js';
export {
  type ConnectorConformanceOptions,
  type ConnectorUnderTest,
  describeConnectorConformance,
} from './connector-conformance.js';
export { type LeakRecorder, leaksIn, startPlaintextRecorder } from './leak-recorder.js';
export { useManagedIdentityEnvironment } from './managed-identity-environment.js';
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
