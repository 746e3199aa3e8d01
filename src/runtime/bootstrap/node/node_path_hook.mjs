// Module resolve hook, registered by bootstrap.cjs for ESM handlers.
//
// require() searches NODE_PATH but ESM import does not, so an ESM handler's
// `import ... from '@aws-sdk/client-sqs'` would miss the SDK kyoka provides
// on NODE_PATH. When Node's own ESM resolution finds no package for a bare
// specifier, retry it with require's resolution (which includes NODE_PATH).
// That picks a package's "require" entry point rather than its "import" one;
// ESM imports CommonJS fine, and a package bundled with the function is still
// found first through the normal path.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
// Not relative, absolute, a URL (node:, file:, data:) or a #subpath import.
const BARE = /^(?![./#]|[a-zA-Z][a-zA-Z\d+.-]*:)/;

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !BARE.test(specifier)) throw err;
    let file;
    try {
      file = require.resolve(specifier);
    } catch {
      throw err; // report Node's ESM error, not require's
    }
    return { url: pathToFileURL(file).href, shortCircuit: true };
  }
}
