import { redactKnownSecrets } from '@keyless/core/internal';
import type { FastifyServerOptions } from 'fastify';

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/** Field names whose values never reach a log line, wherever they appear. */
const secretFieldPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.authorization',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.secret',
  '*.value',
  'password',
  'token',
  'secret',
];

/**
 * Fastify's pino logger with two layers of redaction: pino's by field path, and keyless's
 * `redactKnownSecrets` over the finished line (anything token-shaped, and every secret value a
 * connector has read), so a driver error quoting a password is scrubbed too.
 */
export function loggerOptions(level: string, destination?: NodeJS.WritableStream): LoggerOptions {
  const stream = destination ?? process.stdout;
  return {
    level,
    redact: { paths: secretFieldPaths, censor: '[REDACTED]' },
    stream: {
      write(line: string) {
        stream.write(redactKnownSecrets(line));
      },
    },
  } as LoggerOptions;
}

export interface AppLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/**
 * The app is built before the server (the server needs it), so its logger starts as a plain line
 * writer and is pointed at Fastify's pino logger once that exists.
 */
export class DeferredLogger implements AppLogger {
  #target: AppLogger | undefined;

  attach(target: AppLogger): void {
    this.#target = target;
  }

  info(object: object, message: string): void {
    if (this.#target) this.#target.info(object, message);
    else process.stdout.write(`${redactKnownSecrets(`${message} ${JSON.stringify(object)}`)}\n`);
  }

  warn(object: object, message: string): void {
    if (this.#target) this.#target.warn(object, message);
    else process.stdout.write(`${redactKnownSecrets(`warning: ${message} ${JSON.stringify(object)}`)}\n`);
  }
}
