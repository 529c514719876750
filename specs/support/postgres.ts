/** The throwaway PostgreSQL of the specs: the same harness examples/cluster uses (examples/lib/postgres.ts). */
export * from '../../examples/lib/postgres.js';
