import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import session from 'express-session';
import type { GraphQLSchema } from 'graphql';
import type { Config } from './config/config';
import { resolveSecretKey } from './config/secret';
import { adminRouter } from './admin/admin.router';
import { type Database, migrate, openDatabase } from './db/orm';
import type { GraphQLContext } from './graphql/context';
import { errorLogging, formatError } from './graphql/errors';
import { Loaders } from './graphql/loaders';
import { graphqlProtection, introspectionGate } from './graphql/protection';
import { buildFlagwardSchema } from './graphql/schema';
import { healthRouter } from './http/health';
import { principalMiddleware } from './http/principal.middleware';
import { PermissionService } from './permissions/permission.service';
import { EnvironmentChanges } from './environments/changes';
import { Realtime } from './rest/realtime';
import { SdkCache } from './rest/sdk-cache';
import { SdkApi } from './rest/sdk.router';
import { createServices, type Services } from './services';
import { createLogger, type Logger } from './shared/logger';
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
  /** Stops accepting, drains in-flight requests, closes the database; safe to call twice. */
  close(): Promise<void>;
}

export interface AppOptions {
  readonly logger?: Logger;
  /** Apply pending migrations at start (default true). */
  readonly migrate?: boolean;
}

const MAX_BODY = '1mb';

export async function createApp(config: Config, options: AppOptions = {}): Promise<FlagwardApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase(config);
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
    // The Flagsmith SDK endpoints answer on node:http, ahead of (and apart from) Express with
    // its sessions, passport and Apollo; everything else goes on to Express.
    const cache = new SdkCache(db.orm, changes, logger, { pollMs: config.sdkCachePollMs });
    const realtime = new Realtime(cache, logger);
    const sdk = new SdkApi({
      orm: db.orm,
      cache,
      usage,
      realtime,
      logger,
      answerCacheBytes: config.sdkAnswerCacheBytes,
    });
    const server: Server = createServer((req, res) => {
      if (!sdk.handle(req, res)) app(req, res);
    });

    app.use((req, res, next) => {
      req.requestId = randomUUID();
      res.setHeader('x-request-id', req.requestId);
      next();
    });
    app.use(healthRouter(db.orm));

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
      allowBatchedHttpRequests: false,
      includeStacktraceInErrorResponses: false,
      plugins: [
        ...protection.plugins,
        errorLogging(logger),
        introspectionGate(config.graphql.introspection),
        ApolloServerPluginLandingPageDisabled(),
        ApolloServerPluginDrainHttpServer({ httpServer: server }),
      ],
    });
    await apollo.start();

    const sessions = session({
      name: 'flagward.sid',
      secret: resolveSecretKey(config.secretKey, config.dataDir),
      store: new OrmSessionStore(db.orm),
      resave: false,
      saveUninitialized: false,
      rolling: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: config.sessionTtlMs },
    });

    app.use(
      '/graphql',
      express.json({ limit: MAX_BODY }),
      sessions,
      services.passport.initialize(),
      services.passport.session(),
      principalMiddleware(db.orm, services),
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
        if (status && status >= 400 && status < 500) {
          res.status(status).json({ detail: (err as Error).message });
          return;
        }
        logger.error({ err, requestId: req.requestId }, 'unhandled error');
        res.status(500).json({ detail: 'Internal server error', requestId: req.requestId });
      },
    );

    let closing: Promise<void> | undefined;
    const shutdown = async (): Promise<void> => {
      // Open event streams would hold the drain until its grace period: end them first.
      await realtime.close();
      // The drain plugin stops the HTTP server and waits for in-flight requests.
      await apollo.stop();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      await cache.close();
      await dispatcher.close();
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
    await db.close();
    throw err;
  }
}
