/** The services `keyless-local up` can start; the identity endpoint always runs. */
export const localServiceNames = ['identity', 'keyvault', 'blob', 'sql', 'postgres', 'redis'] as const;
/** One of `localServiceNames`. */
export type LocalServiceName = (typeof localServiceNames)[number];

/** A step of starting or stopping the stack, as `keyless-local up` prints it. */
export interface StackProgressEvent {
  /** The service, or `stack` for the whole. */
  service: LocalServiceName | 'stack';
  /** What happened. */
  phase: 'starting' | 'ready' | 'seeding' | 'stopping' | 'stopped' | 'failed';
  /** e.g. the URL a service listens on. Never a secret. */
  detail?: string;
}

/** Receives each progress event. */
export type StackProgressListener = (event: StackProgressEvent) => void;
