import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { DemoApp } from './demo-app.js';
import { describeError } from './errors.js';
import { loggerOptions } from './logging.js';
import { registerBlobRoutes } from './routes/blob-routes.js';
import { registerDashboardRoutes } from './routes/dashboard-routes.js';
import { registerKeyVaultRoutes } from './routes/keyvault-routes.js';
import { registerLocalRoutes } from './routes/local-routes.js';
import { registerPageRoutes } from './routes/page-routes.js';
import { registerPostgresRoutes } from './routes/postgres-routes.js';
import { registerRedisRoutes } from './routes/redis-routes.js';
import { registerSqlRoutes } from './routes/sql-routes.js';
import { registerStatusRoutes } from './routes/status-routes.js';

export interface ServerOptions {
  logLevel: string;
  /** Where log lines go (default stdout); tests capture them to scan for canaries. */
  logDestination?: NodeJS.WritableStream;
}

export function buildServer(app: DemoApp, options: ServerOptions): FastifyInstance {
  const server = Fastify({
    logger: loggerOptions(options.logLevel, options.logDestination),
    // Connections the page keeps alive must not hold up a shutdown.
    forceCloseConnections: true,
    // One line per request below instead of two; the page's polls (status, metrics) log at debug.
    logController: new LogController({ disableRequestLogging: true }),
  });

  server.addHook('onResponse', async (request, reply) => {
    const quiet =
      request.url === '/api/status' ||
      request.url === '/api/metrics' ||
      (request.url === '/api/doctor' && request.method === 'GET') ||
      request.url.startsWith('/healthz') ||
      request.url.startsWith('/readyz');
    request.log[quiet ? 'debug' : 'info'](
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  server.setErrorHandler((error, request, reply) => {
    // Fastify's own errors (bad JSON, body too large) carry a 4xx statusCode.
    const fastifyStatus = (error as { statusCode?: number }).statusCode;
    const described = describeError(error);
    const status =
      fastifyStatus && fastifyStatus >= 400 && fastifyStatus < 500 && !('hint' in (error as object))
        ? fastifyStatus
        : described.status;
    const level = status >= 500 ? 'warn' : 'info';
    request.log[level]({ code: described.code, status }, `request failed: ${described.message}`);
    reply
      .code(status)
      .send({ error: { code: described.code, message: described.message, hint: described.hint } });
  });
  server.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: {
        code: 'not-found',
        message: `no route ${request.method} ${request.url}`,
        hint: 'see the README for the API',
      },
    });
  });

  registerPageRoutes(server);
  registerStatusRoutes(server, app);
  registerBlobRoutes(server, app);
  registerKeyVaultRoutes(server, app);
  registerSqlRoutes(server, app);
  registerPostgresRoutes(server, app);
  registerRedisRoutes(server, app);
  registerLocalRoutes(server, app);
  registerDashboardRoutes(server, app);
  return server;
}
