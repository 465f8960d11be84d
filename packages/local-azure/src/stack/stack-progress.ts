/** The services `keyless-local up` can start; the identity endpoint always runs. */
export const localServiceNames = ['identity', 'keyvault', 'blob', 'sql', 'postgres', 'redis'] as const;
export type LocalServiceName = (typeof localServiceNames)[number];

export interface StackProgressEvent {
  service: LocalServiceName | 'stack';
  phase: 'starting' | 'ready' | 'seeding' | 'stopping' | 'stopped' | 'failed';
  /** e.g. the URL a service listens on. Never a secret. */
  detail?: string;
}

export type StackProgressListener = (event: StackProgressEvent) => void;
