import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123134324_initial } from './Migration20261123134324_initial';
import { Migration20261123142735_hashing_keys } from './Migration20261123142735_hashing_keys';
import { Migration20261123154730_usage } from './Migration20261123154730_usage';
import { Migration20261123201608_webhooks } from './Migration20261123201608_webhooks';
import { Migration20261123210023_auth } from './Migration20261123210023_auth';
import { Migration20261123225412_login_methods_2fa } from './Migration20261123225412_login_methods_2fa';
import { Migration20261124090000_table_notifications } from './Migration20261124090000_table_notifications';

/**
 * Every migration, in order. Listed explicitly so the same list serves the compiled
 * server, the dev server and the tests (a test checks nothing in this folder is missing).
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261123134324_initial', class: Migration20261123134324_initial },
  { name: 'Migration20261123142735_hashing_keys', class: Migration20261123142735_hashing_keys },
  { name: 'Migration20261123154730_usage', class: Migration20261123154730_usage },
  { name: 'Migration20261123201608_webhooks', class: Migration20261123201608_webhooks },
  { name: 'Migration20261123210023_auth', class: Migration20261123210023_auth },
  {
    name: 'Migration20261123225412_login_methods_2fa',
    class: Migration20261123225412_login_methods_2fa,
  },
  {
    name: 'Migration20261124090000_table_notifications',
    class: Migration20261124090000_table_notifications,
  },
];
