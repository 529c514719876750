/** The cluster layer: membership providers. Refs by name and keyed actors build on it. */
export { defaultMembershipConfig, type MembershipConfig, verifyMembershipConfig } from './config.js';
export { MAX_MEMBER_ACTORS, type Member, type MemberAddresses, type MemberInfo } from './member.js';
export type { Membership } from './membership.js';
export { memoryStateStore } from './memory-state.js';
export {
  type Claim,
  ClusterReason,
  type LeaseState,
  type Placement,
  type StateStore,
  type StoredState,
} from './placement.js';
export {
  type PostgresConnection,
  type PostgresMembershipOptions,
  postgresMembership,
} from './postgres/membership.js';
export { DEFAULT_SCHEMA, SCHEMA_VERSION } from './postgres/schema.js';
export { rendezvousOrder } from './rendezvous.js';
export { staticMembership } from './static.js';
