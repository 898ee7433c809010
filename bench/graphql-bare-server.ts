/**
 * The GraphQL benchmark's baseline: a plain Apollo Server 5 (the same @apollo/server as
 * Flagward's, on Express 5 through @as-integrations/express5 with `express.json()`, as
 * Flagward serves /graphql) with a schema for the benchmark's query shape, resolving the
 * static data captured once from Flagward's answer. No authentication, no database, no
 * permission checks, no limits. The data is read from the JSON file named by
 * BENCH_GRAPHQL_DATA (`GraphqlBareData` below, written by graphql.bench.ts).
 *
 * `Query.features` answers the stored page (cut to `first`); `Feature.states` answers the
 * stored states of the environments asked for, in the order given; every other field is
 * Apollo's default resolver on the stored objects. The scalars (`DateTimeISO`, `FlagValue`)
 * pass values through as stored.
 *
 * Prints `LISTENING <url>` once ready; exits on SIGTERM/SIGINT. The bench runs it compiled to
 * plain JavaScript, as Flagward runs from its build.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';

/** A feature of the captured page, with its states by environment id. */
export interface BareFeature {
  readonly [field: string]: unknown;
  readonly statesByEnvironment: Readonly<Record<string, unknown>>;
}

/** Written by graphql.bench.ts, read here. */
export interface GraphqlBareData {
  readonly projectId: string;
  readonly totalCount: number;
  readonly pageInfo: Readonly<Record<string, unknown>>;
  readonly nodes: readonly BareFeature[];
}

/** The part of Flagward's schema the benchmark's query reads, with the same names and types. */
const TYPE_DEFS = /* GraphQL */ `
  scalar DateTimeISO
  scalar FlagValue

  enum FeatureType {
    MULTIVARIATE
    STANDARD
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
  }

  type Tag {
    id: ID!
    label: String!
    color: String!
  }

  type User {
    id: ID!
    email: String
    firstName: String!
    lastName: String!
  }

  type Environment {
    id: ID!
    name: String!
  }

  type FeatureState {
    id: ID!
    enabled: Boolean!
    value: FlagValue
    updatedAt: DateTimeISO!
    environment: Environment!
  }

  type Feature {
    id: ID!
    name: String!
    description: String
    type: FeatureType!
    isArchived: Boolean!
    createdAt: DateTimeISO!
    tags: [Tag!]!
    owners: [User!]!
    states(environmentIds: [ID!]!): [FeatureState!]!
  }

  type FeatureEdge {
    cursor: String!
    node: Feature!
  }

  type FeatureConnection {
    edges: [FeatureEdge!]!
    nodes: [Feature!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type Query {
    features(projectId: ID!, first: Int! = 50, after: String): FeatureConnection!
  }
`;

async function main(): Promise<void> {
  const file = process.env.BENCH_GRAPHQL_DATA;
  if (!file) throw new Error('BENCH_GRAPHQL_DATA must name the data file');
  const data = JSON.parse(readFileSync(file, 'utf8')) as GraphqlBareData;

  const resolvers = {
    Query: {
      features: (_root: unknown, args: { projectId: string; first: number }) => {
        if (args.projectId !== data.projectId) throw new Error('Project not found');
        const nodes = data.nodes.slice(0, args.first);
        return {
          nodes,
          edges: nodes.map((node) => ({ cursor: String(node.id), node })),
          pageInfo: data.pageInfo,
          totalCount: data.totalCount,
        };
      },
    },
    Feature: {
      states: (feature: BareFeature, args: { environmentIds: string[] }) =>
        args.environmentIds.flatMap((id) => feature.statesByEnvironment[id] ?? []),
    },
  };

  const apollo = new ApolloServer({ typeDefs: TYPE_DEFS, resolvers });
  await apollo.start();
  const app = express();
  app.disable('x-powered-by');
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, { context: () => Promise.resolve({}) }),
  );
  const server = createServer(app);
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`LISTENING http://127.0.0.1:${port}`);
  });
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => {
      void apollo.stop().then(() => process.exit(0));
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
