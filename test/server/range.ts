/** The Range-capable file handler now lives in the product (the CLI serves model files with it). */
export { serveFileWithRanges } from '../../src/cli/serve-range.ts';
