/**
 * `@keyless/doctor`: `runDoctor()` — what `npx keyless doctor` runs — its report's types and the
 * text rendering of a report.
 */
export type { DoctorOptionsFile, IdentityOption, PasswordServiceOptions } from './doctor-configuration.js';
export type {
  ClockReport,
  DoctorFailure,
  DoctorReport,
  DoctorResourceKind,
  DoctorStatus,
  HostKind,
  HostReport,
  IdentityReport,
  ProbeReport,
  ResourceReport,
  TokenClaimsReport,
  TokenReport,
} from './doctor-report.js';
export { renderDoctorReport } from './report-table.js';
export { type DoctorOptions, runDoctor } from './run-doctor.js';
