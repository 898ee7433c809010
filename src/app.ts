import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Config } from './config/config';
import { resolveSecretKey } from './config/secret';
import { adminRouter } from './admin/admin.router';
import { ChangeFeed } from './db/change-feed';
import { noteSqlFootprints } from './db/sql-footprint';
import { ResponseCache, responseCachePlugin, TableVersions } from './graphql/response-cache';
import { type Database, migrate, openDatabase } from './db/orm';
import { isDatabaseUnavailable } from './db/unavailable';
import type { GraphQLContext } from './graphql/context';
import {
  DATABASE_UNAVAILABLE_ERROR,
  errorLogging,
  formatError,
  throttledStatus,
} from './graphql/errors';
import { Loaders } from './graphql/loaders';
import { graphqlProtection, introspectionGate } from './graphql/protection';
import { buildFlagwardSchema } from './graphql/schema';
import { MAX_REQUEST_BODY_BYTES, refuseOversizedBody, tooLargeBody } from './http/body-limit';
import { managementCors } from './http/cors';
import { HttpDrain } from './http/graceful';
import { browserSessions } from './http/sessions';
import { healthRouter } from './http/health';
import { expressRouteLabel, methodLabel, pathOf, requestIdFor } from './http/request-info';
import { AccessLog } from './ops/access-log';
import { Metrics } from './ops/metrics';
import { principalMiddleware } from './http/principal.middleware';
import { PermissionService } from './permissions/permission.service';
import { EnvironmentChanges } from './environments/changes';
import { Realtime } from './rest/realtime';
import { SdkCache } from './rest/sdk-cache';
import { SdkApi } from './rest/sdk.router';
import { createServices, type Services } from './services';
import { createLogger, type Logger, requestContext, withRequestIds } from './shared/logger';
import { UsageRecorder } from './usage/usage-recorder';
import { ANONYMOUS } from './users/principal';
import { oauthRouter } from './users/oauth.router';
import { userPagesRouter } from './users/pages';
import { OrmSessionStore } from './users/session.service';
import { WebhookDispatcher } from './webhooks/dispatcher';

export interface FlagwardApp {
  readonly config: Config;
  readonly db: Database;
  readonly services: Services;
  readonly schema: GraphQLSchema;
  readonly express: Express;
  /** The realtime (SSE) hub; `listeners` counts open streams. */
  readonly realtime: Pick<Realtime, 'listeners'>;
  /** SDK usage and flag-analytics counts, buffered; `usage.flush()` writes them now. */
  readonly usage: Pick<UsageRecorder, 'flush'>;
  /** Sends webhook deliveries; `drain()` sends whatever is due now (tests). */
  readonly webhooks: Pick<WebhookDispatcher, 'drain'>;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ port: number; url: string }>;
  /**
   * Stops accepting, lets requests in progress finish (until `config.shutdownTimeoutMs`,
   * then cuts what is left), ends realtime streams, hands back unsent webhook claims,
   * writes usage counts, closes the database; safe to call twice.
   */
  close(): Promise<void>;
}

export interface AppOptions {
  readonly logger?: Logger;
  /** Apply pending migrations at start (default true). */
  readonly migrate?: boolean;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<FlagwardApp> {
  // Every line logged while serving a request carries its id, whoever logs it.
  const logger = withRequestIds(options.logger ?? createLogger(config.logLevel));
  const db = await openDatabase(config);
  let feed: ChangeFeed | undefined;
  try {
    if (options.migrate !== false) {
      const applied = await migrate(db.orm);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    const changes = new EnvironmentChanges();
    changes.attach(db.orm);
    const services = createServices(config, db.orm, logger);
    services.outbox.attach(db.orm);
    const dispatcher = new WebhookDispatcher(
      db.orm,
      config.webhooks,
      services.secrets,
      services.webhookSender,
      logger,
    );
    const usage = new UsageRecorder(db.orm, logger, config.usageFlushMs);
    const schema = await buildFlagwardSchema();
    const app = express();
    app.set('trust proxy', config.http.trustProxy);
    app.disable('x-powered-by');
    // Its gauges read the cache and the realtime hub when scraped (both made just below).
    const metrics = new Metrics({
      orm: db.orm,
      logger,
      streams: () => realtime.listeners,
      cachedEnvironments: () => cache.size,
      keptAnswers: () => answers.size,
    });
    // The Flagsmith SDK endpoints answer on node:http, ahead of (and apart from) Express with
    // its sessions, passport and Apollo; everything else goes on to Express.
    const cache = new SdkCache(db.orm, changes, logger, {
      pollMs: config.sdkCachePollMs,
      onLookup: (name, hit) => metrics.cacheLookup(name, hit),
      onStale: (what) => metrics.degradedAnswer(what),
    });
    // Answers to repeated GraphQL queries, dropped when a table they read is written: on this
    // node as its SQL is sent and commits, on others when PostgreSQL's notification arrives
    // (while those cannot be heard, nothing is answered from it).
    const tableVersions = new TableVersions();
    const answers = new ResponseCache(
      tableVersions,
      config.graphql.cacheBytes,
      () => feed === undefined || feed.connected,
      (lookup) => metrics.answerLookup(lookup),
    );
    await noteSqlFootprints(db.orm, (tables) => tableVersions.bump(tables));
    // Other nodes' changes, at once (PostgreSQL LISTEN/NOTIFY). The embedded database serves
    // this process only, whose own changes arrive in-process.
    feed = db.embedded
      ? undefined
      : new ChangeFeed(db.orm, {
          logger,
          onChange: (ids) => cache.invalidate(ids),
          onTables: (tables) => tableVersions.bump(tables),
          onResync: () => {
            cache.invalidateAll();
            answers.forgetAll();
          },
          onNotification: () => metrics.changeNotification(),
          onConnected: (up, reconnect) => metrics.changeListener(up, reconnect),
        });
    await feed?.start();
    const realtime = new Realtime(cache, logger);
    const sdk = new SdkApi({
      orm: db.orm,
      cache,
      usage,
      realtime,
      logger,
      answerCacheBytes: config.sdkAnswerCacheBytes,
      onDegraded: (what) => metrics.degradedAnswer(what),
    });
    const accessLog = new AccessLog(logger);
    const server: Server = createServer((req, res) => {
      const started = performance.now();
      const context = { requestId: requestIdFor(req) };
      const path = pathOf(req.url);
      const untrack = drain.track(req, res);
      let sdkRoute: string | undefined;
      res.on('close', () => {
        untrack();
        const method = methodLabel(req.method);
        const route =
          sdkRoute ?? expressRouteLabel((req as express.Request).route, path, res.statusCode);
        const durationMs = performance.now() - started;
        metrics.observeRequest(method, route, res.statusCode, durationMs / 1000);
        accessLog.record({
          requestId: context.requestId,
          method,
          route,
          status: res.statusCode,
          durationMs,
          aborted: !res.writableFinished,
        });
      });
      requestContext.run(context, () => {
        if (refuseOversizedBody(req, res, path, context.requestId)) return;
        if (path === '/metrics' && config.metrics.enabled) {
          sdkRoute = '/metrics';
          res.setHeader('x-request-id', context.requestId);
          metrics.serve(req, res, config.metrics).catch((err: unknown) => {
            logger.error({ err }, 'metrics scrape failed');
            if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ detail: 'Internal server error' }));
          });
        } else {
          sdkRoute = sdk.handle(req, res, context.requestId, path);
          if (sdkRoute === undefined) app(req, res);
        }
      });
    });
    const drain = new HttpDrain(server);
    /** Some middleware (body parsing, session store) calls on outside the request's context. */
    const reenter: express.RequestHandler = (req, _res, next) => {
      requestContext.run({ requestId: req.requestId ?? randomUUID() }, next);
    };

    app.use((req, res, next) => {
      req.requestId = requestContext.getStore()?.requestId ?? requestIdFor(req);
      res.setHeader('x-request-id', req.requestId);
      next();
    });
    app.use(
      healthRouter(
        db.orm,
        2000,
        () => drain.stopping,
        (): Record<string, string> =>
          feed ? { notifications: feed.connected ? 'listening' : 'reconnecting' } : {},
      ),
    );

    const protection = graphqlProtection(config.graphql);
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      // Who may ask for the schema is decided per request (introspectionGate).
      introspection: config.graphql.introspection !== 'off',
      // The process's owner (the CLI's `serve`) handles signals by calling close(); Apollo's
      // own handler would stop it twice, and a second stop() never settles.
      stopOnTerminationSignals: false,
      formatError,
      validationRules: protection.validationRules,
      parseOptions: protection.parseOptions,
      allowBatchedHttpRequests: false,
      // Apollo's default, stated: a GET, or a POST with a form-like content type (what a
      // page can send without a preflight), needs a header only scripts can set
      // (Apollo-Require-Preflight, X-Apollo-Operation-Name); the session cookie is also
      // SameSite=Lax.
      csrfPrevention: true,
      includeStacktraceInErrorResponses: false,
      plugins: [
        ...protection.plugins,
        errorLogging(logger),
        throttledStatus(),
        introspectionGate(config.graphql.introspection),
        responseCachePlugin(answers),
        ApolloServerPluginLandingPageDisabled(),
        // No cache hints are declared: without this, Apollo times every field to compute them.
        ApolloServerPluginCacheControlDisabled(),
        // No drain plugin: close() drains the HTTP server itself (HttpDrain) before stopping Apollo.
      ],
    });
    await apollo.start();

    const sessions = browserSessions({
      secret: resolveSecretKey(config.secretKey, config.dataDir),
      store: new OrmSessionStore(db.orm),
      ttlMs: config.sessionTtlMs,
    });

    app.use(
      '/graphql',
      // Before the caller is read: a kept answer's age counts from here.
      (req: express.Request, _res: express.Response, next: express.NextFunction) => {
        req.answersTick = tableVersions.now();
        next();
      },
      managementCors(config.http.corsAllowedOrigins, config.publicUrl),
      express.json({ limit: MAX_REQUEST_BODY_BYTES }),
      reenter,
      sessions,
      services.passport.initialize(),
      services.passport.session(),
      principalMiddleware(db.orm, services),
      reenter,
      expressMiddleware(apollo, {
        context: async ({ req, res }): Promise<GraphQLContext> => {
          const em = db.orm.em.fork();
          const principal = req.principal ?? ANONYMOUS;
          return {
            em,
            loaders: new Loaders(em),
            principal,
            permissions: new PermissionService(em, principal),
            services,
            req,
            res,
            requestId: req.requestId ?? randomUUID(),
            typeChecks: new WeakMap(),
          };
        },
      }),
    );

    app.use(userPagesRouter(db.orm, services));
    // Google and GitHub sign-in share the session (and its cookie) with /graphql.
    app.use(oauthRouter(db.orm, services, sessions));
    app.use(adminRouter(db.orm, services, sessions));

    app.use((_req, res) => {
      res.status(404).json({ detail: 'Not found.' });
    });
    app.use(
      (err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
        const status =
          (err as { status?: number; statusCode?: number }).status ??
          (err as { statusCode?: number }).statusCode;
        if (status === 413) {
          res.status(413).json(tooLargeBody(req.path));
          return;
        }
        if (status && status >= 400 && status < 500) {
          res.status(status).json({ detail: (err as Error).message });
          return;
        }
        if (isDatabaseUnavailable(err)) {
          // E.g. the session or token lookup before GraphQL runs: a clear 503, not a 500.
          logger.warn({ err, requestId: req.requestId }, 'database unavailable');
          res.status(503).set('Retry-After', '5');
          if (req.path.startsWith('/graphql')) res.json({ errors: [DATABASE_UNAVAILABLE_ERROR] });
          else res.json({ detail: DATABASE_UNAVAILABLE_ERROR.message });
          return;
        }
        logger.error({ err, requestId: req.requestId }, 'unhandled error');
        res.status(500).json({ detail: 'Internal server error', requestId: req.requestId });
      },
    );

    let closing: Promise<void> | undefined;
    const shutdown = async (): Promise<void> => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      // The webhook worker stops claiming now; sends in progress may run to the deadline,
      // after which they are handed back (due at once) for another process.
      const webhooksStopped = dispatcher.close(deadline);
      // Event streams never end by themselves: end them (a clean end of stream), so their
      // clients reconnect, elsewhere.
      await realtime.close();
      // Stop accepting; requests in progress finish (answered with Connection: close);
      // idle keep-alive connections are closed; at the deadline the rest are cut.
      const { cut, durationMs } = await drain.drain(deadline);
      accessLog.flush();
      if (cut > 0)
        logger.warn(
          { cut, timeoutMs: config.shutdownTimeoutMs },
          'shutdown timeout: connections still open were cut',
        );
      else logger.info({ durationMs }, 'HTTP connections drained');
      await apollo.stop();
      await feed?.close();
      await cache.close();
      await webhooksStopped;
      // Counts of every request answered above are written now.
      await usage.close();
      services.mailer.close();
      await db.close();
    };

    usage.start();
    if (config.webhooks.worker) dispatcher.start(services.outbox);
    return {
      config,
      db,
      services,
      schema,
      express: app,
      realtime,
      usage,
      webhooks: dispatcher,
      listen() {
        return new Promise((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.http.port, config.http.host, () => {
            server.off('error', reject);
            const { port } = server.address() as AddressInfo;
            const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
            resolve({ port, url: `http://${host}:${port}` });
          });
        });
      },
      close() {
        closing ??= shutdown();
        return closing;
      },
    };
  } catch (err) {
    await feed?.close();
    await db.close();
    throw err;
  }
}
