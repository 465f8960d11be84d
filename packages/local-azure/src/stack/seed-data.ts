/** What `keyless-local up` puts in the stack, so the demo and a first script have something to read. */
export const seedData = {
  blob: {
    container: 'keyless-demo',
    blobName: 'hello.txt',
    content: 'Hello from the keyless local stack.\n',
  },
  keyVault: {
    demoSecretName: 'demo-message',
    demoSecretValue: 'keyless-canary-secret: read through Key Vault',
  },
  /** Password users; their passwords are random and live only in the servers and the Key Vault emulator. */
  postgres: { database: 'keyless', user: 'keyless_app', passwordSecretName: 'postgres-password' },
  redis: { user: 'keyless-app', passwordSecretName: 'redis-password' },
} as const;
