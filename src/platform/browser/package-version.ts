/** rxchan's own version, in a browser: a bundle has no package.json to read, so always 'unknown'. */
export function packageVersion(): string {
  return 'unknown';
}
