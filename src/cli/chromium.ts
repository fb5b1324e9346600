/**
 * Finding and launching Chrome/Chromium for everything that drives a real
 * browser: the Playwright config (test/gpu, test/e2e), and later the `cria` CLI.
 *
 * We never download a browser (no `npx playwright install`): we use the one
 * already on the machine, chosen by `CHROME_PATH` or found in the usual places.
 *
 * Node only: this file imports playwright-core and node:fs.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { CriaError } from '../shared/errors.ts';
import { checkCacheDir } from './cache-port.ts';

/** Keep the browser quiet and offline: no first-run UI, no background traffic. */
export const CHROMIUM_QUIET_ARGS: readonly string[] = [
  '--no-sandbox', // containers/CI often run as root, where Chrome's sandbox refuses to start
  '--disable-quic', // plain HTTP/1.1+TCP to our local server; nothing to gain from QUIC
  '--no-first-run', // skip first-run dialogs and default-browser prompts
  '--disable-background-networking', // no update checks, safe-browsing lists, etc.
  '--disable-component-update', // don't fetch components (Widevine, CRLSets, ...)
  '--disable-sync', // no account sync
];

/**
 * Chrome honours only the last `--enable-features` switch, and Playwright passes its
 * own before ours, so ours must repeat Playwright's (playwright-core 1.65). Without
 * them Playwright screenshots use the legacy path and Chrome makes a ListAccounts
 * request at startup. After upgrading Playwright, compare with
 * `DEBUG=pw:browser npx playwright test` (the launch line shows both switches).
 */
const PLAYWRIGHT_ENABLED_FEATURES = ['CDPScreenshotNewSurface', 'SkipListAccountsWithoutGaiaCookies'];

/**
 * Turn on WebGPU and run it on SwiftShader, the CPU Vulkan implementation bundled
 * with Chrome, so it works headless on machines without a GPU (CI, containers).
 * SwiftShader is slow but deterministic and always there.
 */
export const CHROMIUM_SWIFTSHADER_WEBGPU_ARGS: readonly string[] = [
  '--enable-unsafe-webgpu', // WebGPU on platforms/configs where it's not yet on by default (Linux)
  `--enable-features=${['Vulkan', ...PLAYWRIGHT_ENABLED_FEATURES].join(',')}`, // Vulkan: Dawn's Vulkan backend on Linux
  '--use-vulkan=swiftshader', // ...backed by SwiftShader's Vulkan (CPU)
  '--use-webgpu-adapter=swiftshader', // make requestAdapter() return the SwiftShader adapter
  '--enable-unsafe-swiftshader', // newer Chrome refuses SwiftShader as a fallback unless asked to
  '--disable-vulkan-surface', // headless: no window surface, so don't require VK_KHR_surface
];

/** The one set of flags used by the Playwright config, the tests and the `cria` CLI. */
export const CHROMIUM_WEBGPU_ARGS: readonly string[] = [...CHROMIUM_QUIET_ARGS, ...CHROMIUM_SWIFTSHADER_WEBGPU_ARGS];

export type Platform = 'linux' | 'darwin' | 'win32' | (string & {});
type Env = Record<string, string | undefined>;

/** Where we look for a browser on `platform`, in order (CHROME_PATH excluded). */
export function chromiumCandidates(platform: Platform = process.platform, env: Env = process.env): string[] {
  switch (platform) {
    case 'darwin': {
      const apps = [
        'Google Chrome.app/Contents/MacOS/Google Chrome',
        'Chromium.app/Contents/MacOS/Chromium',
        'Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary',
      ];
      const roots = ['/Applications', ...(env.HOME ? [join(env.HOME, 'Applications')] : [])];
      return roots.flatMap((root) => apps.map((app) => `${root}/${app}`));
    }
    case 'win32': {
      const roots = [env.PROGRAMFILES ?? 'C:\\Program Files', env['PROGRAMFILES(X86)'] ?? 'C:\\Program Files (x86)', env.LOCALAPPDATA];
      const exes = ['Google\\Chrome\\Application\\chrome.exe', 'Chromium\\Application\\chrome.exe', 'Microsoft\\Edge\\Application\\msedge.exe'];
      // Every Chrome before any Edge: Chrome is what we test against.
      return exes.flatMap((exe) => roots.filter((r): r is string => !!r).map((root) => `${root}\\${exe}`));
    }
    default:
      return [
        '/usr/bin/chromium',
        '/usr/bin/chromium-browser',
        '/usr/bin/google-chrome',
        '/usr/bin/google-chrome-stable',
        '/snap/bin/chromium',
        '/opt/google/chrome/chrome',
      ];
  }
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface FindChromiumOptions {
  env?: Env;
  platform?: Platform;
  /** For tests: decides whether a path is an executable file. */
  exists?: (path: string) => boolean;
}

/**
 * The browser to use: `CHROME_PATH` if set (and it must exist: a wrong
 * CHROME_PATH is an error, never silently replaced), else the first candidate
 * that exists. Throws a CriaError('bad-argument') saying where it looked.
 */
export function findChromium(opts: FindChromiumOptions = {}): string {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const exists = opts.exists ?? isFile;
  const fromEnv = env.CHROME_PATH?.trim();
  if (fromEnv) {
    if (exists(fromEnv)) return fromEnv;
    throw new CriaError(
      'bad-argument',
      `CHROME_PATH is set to "${fromEnv}", but no file is there. ` +
        'Point CHROME_PATH at a Chrome, Chromium or Edge executable, or unset it to search the usual places.',
      { chromePath: fromEnv },
    );
  }
  const candidates = chromiumCandidates(platform, env);
  const found = candidates.find(exists);
  if (found) return found;
  const hint =
    platform === 'linux'
      ? 'Install one (Debian/Ubuntu: `sudo apt-get install chromium`) or set CHROME_PATH, e.g. `CHROME_PATH=/path/to/chrome npm test`.'
      : 'Install Google Chrome or set CHROME_PATH to its executable, e.g. `CHROME_PATH="/path/to/chrome" npm test`.';
  throw new CriaError(
    'bad-argument',
    `No Chrome/Chromium found. Looked in CHROME_PATH (unset) and:\n${candidates.map((c) => `  ${c}`).join('\n')}\n${hint}`,
    { candidates },
  );
}

export interface LaunchChromiumOptions {
  /** Defaults to findChromium(). */
  executablePath?: string;
  /** Appended after CHROMIUM_WEBGPU_ARGS. */
  extraArgs?: readonly string[];
  /** Default true. Headed needs a display (e.g. xvfb-run on a server). */
  headless?: boolean;
  /**
   * Default true: Playwright closes the browser on SIGINT/SIGTERM/SIGHUP. False when the caller
   * handles them itself and needs the page alive a little longer (`cria eval` marks its run
   * stopped in the page's IndexedDB before closing).
   */
  handleSignals?: boolean;
}

/** Like launchChromium, with a profile kept in `userDataDir` (IndexedDB and caches survive the run). */
export async function launchPersistentChromium(userDataDir: string, opts: LaunchChromiumOptions = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.executablePath ?? findChromium(),
    args: [...CHROMIUM_WEBGPU_ARGS, ...(opts.extraArgs ?? [])],
    headless: opts.headless ?? true,
    ...signalOptions(opts),
  });
}

function signalOptions(opts: LaunchChromiumOptions): { handleSIGINT?: boolean; handleSIGTERM?: boolean; handleSIGHUP?: boolean } {
  return opts.handleSignals === false ? { handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false } : {};
}

/** Launch the local Chrome with WebGPU (SwiftShader) enabled. Close it with `browser.close()`. */
export async function launchChromium(opts: LaunchChromiumOptions = {}): Promise<Browser> {
  const executablePath = opts.executablePath ?? findChromium();
  return chromium.launch({
    executablePath,
    args: [...CHROMIUM_WEBGPU_ARGS, ...(opts.extraArgs ?? [])],
    headless: opts.headless ?? true,
    ...signalOptions(opts),
  });
}

/**
 * For CLI commands: launchChromium, or launchPersistentChromium with `cacheDir`, whose failures become
 * `bad-argument` errors that say what to do (a profile folder in use, a Chrome that does not start).
 */
export function launchForCli(cacheDir: string | undefined, opts: LaunchChromiumOptions & { debug?: boolean } = {}): Promise<Browser | BrowserContext> {
  const executablePath = opts.executablePath ?? findChromium();
  const launchOpts = { ...opts, executablePath };
  const launch = cacheDir ? launchPersistentChromium(cacheDir, launchOpts) : launchChromium(launchOpts);
  return launch.catch((e: Error) => {
    // a folder that cannot hold a profile also fails as "ProcessSingleton": say what is wrong with it
    // (cachePort checked it before the launch; this catches a folder changed since)
    if (cacheDir) checkCacheDir(cacheDir);
    if (cacheDir && /ProcessSingleton|profile.*in use|SingletonLock/i.test(e.message)) {
      throw new CriaError('bad-argument', `the cache folder ${cacheDir} is in use by another Chromium (another cria with the same --cache?); wait for it or use another folder`);
    }
    const why = opts.debug ? e.message : `${e.message.split('\n')[0]} (CRIA_DEBUG=1 shows more)`;
    throw new CriaError('bad-argument', `could not start ${executablePath}: ${why}\nSet CHROME_PATH to a working Chrome or Chromium.`, { chromePath: executablePath });
  });
}
