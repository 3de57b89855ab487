// The commands allowed before a valid hello: register, makeKeyPair, hello.
// Each has a documented failure answer, so an invalid one is recorded as a
// violation *and* answered, as the real server would not leave it hanging.
import { validatePrinterCommand } from '../polar/messages.js';
import type { EmulatorContext } from './context.js';
import { checkPublicKey, makeRsaKeyPair, verifyChallenge } from './rsa-keys.js';
import type { Session, SocketHub } from './socket-hub.js';
import { isRecord } from './socket-hub.js';
import type { RegisterFailureReason } from './types.js';

function registerFailed(hub: SocketHub, session: Session, reason: RegisterFailureReason, message?: string): void {
  const payload: Record<string, unknown> = { status: 'FAILED', reason };
  if (message !== undefined) payload.message = message;
  hub.emitTo(session, 'registerResponse', payload);
}

/** Which documented reason a schema failure maps to. */
function reasonForIssues(issues: string): RegisterFailureReason {
  if (/(^|; )(email|pin)\b/.test(issues)) return 'EMAIL_PIN_ERROR';
  if (/(^|; )publicKey\b/.test(issues)) return 'INVALID_KEY';
  return 'SERVER_ERROR';
}

export function handleRegister(ctx: EmulatorContext, hub: SocketHub, session: Session, payload: unknown): void {
  if (!isRecord(payload)) return hub.violation(session, 'register', 'payload must be a JSON object', payload);
  const forced = ctx.settings.failRegister;
  if (forced) {
    ctx.settings.failRegister = undefined;
    return registerFailed(hub, session, forced, 'forced by emulator control');
  }
  if (typeof payload.mfg !== 'string' || payload.mfg.trim() === '') {
    hub.violation(session, 'register', 'mfg: missing', payload);
    return registerFailed(hub, session, 'MFG_MISSING');
  }
  const v = validatePrinterCommand('register', payload);
  if (!v.ok) {
    hub.violation(session, 'register', v.reason, payload);
    return registerFailed(hub, session, reasonForIssues(v.reason), v.reason);
  }
  const msg = v.value;
  if (!ctx.manufacturers.has(msg.mfg.toLowerCase())) return registerFailed(hub, session, 'MFG_UNKNOWN');
  if (ctx.accounts) {
    const email = msg.email.trim().toLowerCase();
    if (!ctx.accounts.some((a) => a.email.toLowerCase() === email && a.pin === msg.pin)) {
      return registerFailed(hub, session, 'EMAIL_PIN_ERROR');
    }
  }
  const key = checkPublicKey(msg.publicKey);
  if (!key.ok) return registerFailed(hub, session, 'INVALID_KEY', key.reason);
  const rec = ctx.printers.register({ mac: msg.myInfo.MAC, email: msg.email, mfg: msg.mfg, mfgSn: msg.mfgSn, publicKey: msg.publicKey });
  session.serialNumber = rec.serialNumber;
  session.authenticated = false;
  ctx.log.info(`registered ${rec.serialNumber} (MAC ${msg.myInfo.MAC})`);
  hub.emitTo(session, 'registerResponse', { status: 'SUCCESS', serialNumber: rec.serialNumber, reason: 'SUCCESS' });
}

export async function handleMakeKeyPair(ctx: EmulatorContext, hub: SocketHub, session: Session, payload: unknown): Promise<void> {
  const v = validatePrinterCommand('makeKeyPair', payload);
  if (!v.ok) {
    hub.violation(session, 'makeKeyPair', v.reason, payload);
    hub.emitTo(session, 'keyPair', { status: 'FAILED', message: v.reason });
    return;
  }
  const behavior = ctx.settings.keyPairBehavior;
  if (behavior === 'fail') {
    hub.emitTo(session, 'keyPair', { status: 'FAILED', message: 'key generation failed (forced by emulator control)' });
    return;
  }
  try {
    const pair = await makeRsaKeyPair();
    // 'mismatch': the public half of one pair with the private half of another.
    const other = behavior === 'mismatch' ? await makeRsaKeyPair() : pair;
    hub.emitTo(session, 'keyPair', { status: 'SUCCESS', public: other.public, private: pair.private });
  } catch (err) {
    ctx.log.error(`makeKeyPair: ${String(err)}`);
    hub.emitTo(session, 'keyPair', { status: 'FAILED', message: 'key generation failed' });
  }
}

export function handleHello(ctx: EmulatorContext, hub: SocketHub, session: Session, payload: unknown): void {
  const reject = (status: 'FAILED' | 'DELETED', message: string): void => {
    session.authenticated = false;
    hub.emitTo(session, 'helloResponse', { status, message });
    ctx.log.info(`hello ${status} for ${session.serialNumber ?? session.socket.id}: ${message}`);
    hub.closeSoon(session);
  };
  if (isRecord(payload) && typeof payload.serialNumber === 'string') session.serialNumber = payload.serialNumber;
  if (ctx.settings.ignoreHellos > 0) {
    ctx.settings.ignoreHellos--;
    ctx.log.info(`hello from ${session.serialNumber ?? session.socket.id} left unanswered (emulator control)`);
    return;
  }
  if (ctx.settings.failHellos > 0) {
    ctx.settings.failHellos--;
    return reject('FAILED', 'forced by emulator control');
  }
  const v = validatePrinterCommand('hello', payload);
  if (!v.ok) {
    hub.violation(session, 'hello', v.reason, payload);
    return reject('FAILED', v.reason);
  }
  const rec = ctx.printers.get(v.value.serialNumber);
  if (!rec || rec.deleted) return reject('DELETED', rec ? 'printer was deleted' : 'unknown serial number');
  if (!verifyChallenge(rec.publicKey, session.challenge, v.value.signature)) return reject('FAILED', 'signature does not match');
  session.authenticated = true;
  const hello: Record<string, unknown> = { ...(payload as Record<string, unknown>) };
  delete hello.signature;
  rec.hello = hello;
  ctx.log.info(`hello SUCCESS for ${rec.serialNumber}`);
  hub.emitTo(session, 'helloResponse', { status: 'SUCCESS' });
}
