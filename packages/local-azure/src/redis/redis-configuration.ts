export interface RedisServerSettings {
  port: number;
  folder: string;
  aclFile: string;
  tls?: { port: number; certPath: string; keyPath: string; caPath: string };
}

/** redis.conf for a private, throwaway instance: loopback only, nothing written to disk. */
export function renderRedisConfiguration(settings: RedisServerSettings): string {
  const lines = [
    `port ${settings.port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    'daemonize no',
    'save ""',
    'appendonly no',
    `dir "${settings.folder}"`,
    `aclfile "${settings.aclFile}"`,
    'logfile ""',
    'loglevel notice',
  ];
  if (settings.tls) {
    lines.push(
      `tls-port ${settings.tls.port}`,
      `tls-cert-file "${settings.tls.certPath}"`,
      `tls-key-file "${settings.tls.keyPath}"`,
      `tls-ca-cert-file "${settings.tls.caPath}"`,
      // Azure Cache for Redis does not ask clients for certificates either.
      'tls-auth-clients no',
    );
  }
  return `${lines.join('\n')}\n`;
}
