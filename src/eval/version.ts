/**
 * The engine version recorded with every run (RunIdentity.engine.version).
 * It must equal package.json's "version" (test/unit/eval-report.test.ts checks it):
 * a constant, so the app bundle does not carry package.json.
 */
export const ENGINE_VERSION = '0.1.0';
