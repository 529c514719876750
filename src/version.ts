/** rxchan's own version (see src/platform/node/package-version.ts). */
export { packageVersion } from '#platform/package-version.js';
