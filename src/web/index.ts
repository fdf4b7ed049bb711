/**
 * The web console (issue 9): `startWeb` serves it; the rest is exported for the CLI and tests.
 *
 * @example
 *   const web = await startWeb({ runDir: '/run/lvs-pulse', passwordFile: '/etc/lvs-pulse/web.passwd' });
 *   console.log(web.url); // http://127.0.0.1:3636
 *   await web.close();
 */
export {
  buildWeb,
  DEFAULT_HOST,
  DEFAULT_PORT,
  PUBLIC_ROUTES,
  SESSION_COOKIE,
  startWeb,
  type Web,
  type WebOptions,
  WebOptionsError,
  type WebServer,
} from './server';
export { readPushKeys } from './peer-push';
export { clientKey, LoginThrottle, VerifyQueue } from './throttle';
export { hostAllowed, hostPolicy, originAllowed } from './hosts';
export {
  DEFAULT_SCRYPT,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  PasswordFileError,
  readPasswordFile,
  type ScryptParams,
  verifyPassword,
  writePasswordFile,
} from './password';
export { controlClient, type DaemonClient } from './daemon-client';
export { applyEdit, type Edit, type FieldError, mapDiagnostics } from './edit';
export { ConfigEditor } from './editor';
export type { WebContext } from './context';
export { previousPath, saveAtomically } from './configfile';
export {
  NonceCache,
  type PeerTarget,
  PUSH_PATH,
  type PushPayload,
  pushKey,
  pushToPeer,
  signPush,
  verifyPush,
} from './peer';
