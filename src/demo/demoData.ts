/**
 * The demo organisations of DESIGN.md. Ids are fixed so `npm run token -- alice` can mint
 * a token without reading the database, and so the README can name objects.
 */
import type { OrgRole, ShareRole, TeamRole, WorkflowStatus } from '../generated/prisma/enums.js';

export interface DemoUser {
  readonly key: string;
  readonly id: string;
  readonly tenant: 'acme' | 'globex';
  readonly subject: string;
  readonly email: string;
  readonly displayName: string;
  readonly roles: readonly OrgRole[];
  readonly description: string;
}

export const DEMO_TENANTS = {
  acme: { id: '0a1c0000-0000-4000-8000-000000000001', slug: 'acme', name: 'Acme Corporation' },
  globex: { id: '0b1e0000-0000-4000-8000-000000000002', slug: 'globex', name: 'Globex Industries' },
} as const;

const u = (n: number): string => `00000000-0000-4000-a000-${n.toString().padStart(12, '0')}`;

export const DEMO_USERS: readonly DemoUser[] = [
  {
    key: 'alice',
    id: u(1),
    tenant: 'acme',
    subject: 'demo|alice',
    email: 'alice@acme.example',
    displayName: 'Alice Admin',
    roles: ['ADMIN', 'MEMBER'],
    description: 'acme org admin, maintains Engineering',
  },
  {
    key: 'bob',
    id: u(2),
    tenant: 'acme',
    subject: 'demo|bob',
    email: 'bob@acme.example',
    displayName: 'Bob Engineer',
    roles: ['MEMBER'],
    description: 'acme engineer (Engineering)',
  },
  {
    key: 'carol',
    id: u(3),
    tenant: 'acme',
    subject: 'demo|carol',
    email: 'carol@acme.example',
    displayName: 'Carol VP',
    roles: ['VP', 'MEMBER'],
    description: 'acme VP (approves above 10,000)',
  },
  {
    key: 'dave',
    id: u(4),
    tenant: 'acme',
    subject: 'demo|dave',
    email: 'dave@acme.example',
    displayName: 'Dave Auditor',
    roles: ['AUDITOR'],
    description: 'acme auditor',
  },
  {
    key: 'erin',
    id: u(5),
    tenant: 'acme',
    subject: 'demo|erin',
    email: 'erin@acme.example',
    displayName: 'Erin Finance',
    roles: ['MEMBER'],
    description: 'acme, Finance team',
  },
  {
    key: 'mallory',
    id: u(6),
    tenant: 'globex',
    subject: 'demo|mallory',
    email: 'mallory@globex.example',
    displayName: 'Mallory Admin',
    roles: ['ADMIN', 'MEMBER'],
    description: 'globex org admin (the other tenant)',
  },
];

export const DEMO_TEAMS = [
  {
    id: '00000000-0000-4000-b000-000000000001',
    tenant: 'acme',
    name: 'Engineering',
    members: [
      ['alice', 'MAINTAINER'],
      ['bob', 'MEMBER'],
    ],
  },
  {
    id: '00000000-0000-4000-b000-000000000002',
    tenant: 'acme',
    name: 'Finance',
    members: [
      ['erin', 'MAINTAINER'],
      ['carol', 'MEMBER'],
    ],
  },
  {
    id: '00000000-0000-4000-b000-000000000003',
    tenant: 'globex',
    name: 'Operations',
    members: [['mallory', 'MAINTAINER']],
  },
] as const satisfies ReadonlyArray<{
  id: string;
  tenant: string;
  name: string;
  members: ReadonlyArray<readonly [string, TeamRole]>;
}>;

export const DEMO_WORKFLOWS = [
  {
    id: '00000000-0000-4000-c000-000000000500',
    tenant: 'acme',
    name: 'Cloud credits top-up',
    amount: '500.00',
    status: 'DRAFT',
    owner: 'bob',
    team: 'Engineering',
    shares: [],
  },
  {
    id: '00000000-0000-4000-c000-000000005000',
    tenant: 'acme',
    name: 'Laptop refresh',
    amount: '5000.00',
    status: 'PENDING_APPROVAL',
    owner: 'bob',
    team: 'Engineering',
    shares: [['erin', 'VIEWER']],
  },
  {
    id: '00000000-0000-4000-c000-000000025000',
    tenant: 'acme',
    name: 'Datacenter expansion',
    amount: '25000.00',
    status: 'PENDING_APPROVAL',
    owner: 'alice',
    team: 'Engineering',
    shares: [],
  },
  {
    id: '00000000-0000-4000-c000-000000900000',
    tenant: 'globex',
    name: 'Globex expansion plan',
    amount: '25000.00',
    status: 'PENDING_APPROVAL',
    owner: 'mallory',
    team: 'Operations',
    shares: [],
  },
] as const satisfies ReadonlyArray<{
  id: string;
  tenant: string;
  name: string;
  amount: string;
  status: WorkflowStatus;
  owner: string;
  team: string;
  shares: ReadonlyArray<readonly [string, ShareRole]>;
}>;

/**
 * Demo credentials. Their secrets are sealed with the server's key when seeded; the values
 * here are demo placeholders, not secrets of anything.
 */
export const DEMO_CREDENTIALS = [
  {
    id: '00000000-0000-4000-d000-000000000001',
    tenant: 'acme',
    owner: 'bob',
    name: 'CI deploy token',
    secret: 'demo-ci-deploy-token-for-bob',
  },
  {
    id: '00000000-0000-4000-d000-000000000002',
    tenant: 'acme',
    owner: 'alice',
    name: 'Billing API key',
    secret: 'demo-billing-api-key-for-alice',
  },
  {
    id: '00000000-0000-4000-d000-000000000003',
    tenant: 'globex',
    owner: 'mallory',
    name: 'Globex vault token',
    secret: 'demo-vault-token-for-mallory',
  },
] as const;

export function findDemoUser(key: string): DemoUser | undefined {
  return DEMO_USERS.find((d) => d.key === key);
}
